import CausewayCore
import CausewayTesting
import Foundation
import Testing

/// The nordic-fasteners partner end to end through a real gateway: each agreement becomes a
/// confirmed purchase order in the real Tryton ERP (agreement attached, PO number in the receipt),
/// a UBL 2.1 Order that passed its XSD at the XML endpoint, and a portal notification carrying the
/// Idempotency-Key — three actions, three receipts.
@Suite("Nordic Fasteners end to end: Tryton, UBL over HTTP, portal", .serialized)
struct NordicEndToEndTests {
    struct Tryton {
        let url: String
        let user: String
    }

    static func tryton() throws -> Tryton {
        let environment = ProcessInfo.processInfo.environment
        guard let url = environment["CAUSEWAY_TEST_TRYTON"], let user = environment["CAUSEWAY_TEST_TRYTON_USER"],
              environment["CAUSEWAY_TEST_TRYTON_PASSWORD"] != nil
        else {
            throw MissingTestInput(path: "CAUSEWAY_TEST_TRYTON", hint: "start the ERP with: eval \"$(scripts/tryton-start)\" (scripts/test does)")
        }
        return Tryton(url: url, user: user)
    }

    /// The HTTP adapter tests' recording server, on a free port, logging every request.
    static func recordingServer(in directory: URL) async throws -> (Process, port: String, log: URL) {
        let portFile = directory.appendingPathComponent("http-port")
        let log = directory.appendingPathComponent("http-requests.jsonl")
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        server.arguments = [TestPaths.repository.appendingPathComponent("Tests/HTTPAdapterTests/Support/recording_server.py").path,
                            "--port-file", portFile.path, "--log", log.path]
        try server.run()
        for _ in 0..<100 {
            if let port = try? String(contentsOf: portFile, encoding: .utf8), !port.isEmpty {
                return (server, port.trimmingCharacters(in: .whitespacesAndNewlines), log)
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw MissingTestInput(path: "recording_server.py", hint: "did not start")
    }

    @Test("nordic agreements become confirmed Tryton purchases, UBL orders at the XML endpoint and portal notifications, each with a receipt")
    func nordic() async throws {
        let erp = try Self.tryton()
        let work = try CommandRunner.temporaryDirectory("nordic")
        let (server, port, requests) = try await Self.recordingServer(in: work)
        defer { kill(server.processIdentifier, SIGKILL) }
        let partners = work.appendingPathComponent("partners")
        try FileManager.default.createDirectory(at: partners, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: TestPaths.repository.appendingPathComponent("Mappings/nordic-fasteners"),
                                        to: partners.appendingPathComponent("nordic-fasteners"))
        let targets = """
              erp: {adapter: tryton, url: "\(erp.url)", user: "\(erp.user)", password: "env:CAUSEWAY_TEST_TRYTON_PASSWORD"}
              order-inbox: {adapter: http, base_url: "http://127.0.0.1:\(port)", lookup_path: "/lookup?idempotency_key={key}"}
              portal: {adapter: http, base_url: "http://127.0.0.1:\(port)", honours_idempotency_key: true, lookup_path: "/lookup?idempotency_key={key}"}
            """
        let gateway = try RunningGateway(targets: targets, partners: partners)
        defer { _ = gateway.stop() }
        try await gateway.waitUntilReady()

        let fixtures = TestPaths.repository.appendingPathComponent("Mappings/nordic-fasteners/fixtures/agreements")
        for name in ["one-line", "multi-line"] {
            let document = Array(try Data(contentsOf: fixtures.appendingPathComponent("\(name).json")))
            let agreement = try Agreement(bytes: document)
            let (status, body) = try await gateway.request("POST", "/v1/agreements", body: document)
            #expect(status == 202 || status == 200, "\(name): \(String(describing: body))")
            let digest = agreement.digest.description

            var detail: JSONValue?
            var delivered = false
            for _ in 0..<300 where !delivered {
                detail = try? await gateway.request("GET", "/v1/agreements/\(digest)", token: gateway.viewerToken).1
                delivered = detail?["status"]?.stringValue == "delivered" && detail?["receipts"]?.arrayValue?.count == 3
                if !delivered { try await Task.sleep(for: .milliseconds(200)) }
            }
            #expect(delivered, "\(name): \(String(describing: detail))\n\(gateway.log.suffix(3000))")
            let receipts = detail?["receipts"]?.arrayValue ?? []

            // The ERP action's receipt names the purchase by its number; Tryton has it confirmed,
            // with the signed agreement and the provenance record attached.
            let erpReceipt = receipts.first { $0["action"]?["target"]?.stringValue == "erp" }
            #expect(erpReceipt?["legacyRef"]?["system"]?.stringValue == "tryton")
            #expect(erpReceipt?["legacyRef"]?["kind"]?.stringValue == "purchase.purchase")
            let number = erpReceipt?["legacyRef"]?["id"]?.stringValue ?? ""
            #expect(!number.isEmpty)
            let query = try CommandRunner.run(TestPaths.python ?? "python3", [
                TestPaths.repository.appendingPathComponent("Tests/CausewayCLITests/Support/tryton_query.py").path, number,
            ])
            #expect(query.status == 0, "\(query)")
            let found = try JSONReader().read(Array(query.stdout.utf8))
            let purchases = found["purchases"]?.arrayValue ?? []
            #expect(purchases.count == 1, "one purchase numbered \(number)")
            #expect(["confirmed", "processing", "done"].contains(purchases.first?["state"]?.stringValue ?? ""))
            #expect(purchases.first?["reference"]?.stringValue == "\(digest)/0")
            let attached = found["attachments"]?.arrayValue ?? []
            let agreementCopy = attached.compactMap { $0["data"]?.stringValue }.first { $0.contains(agreement.id ?? "?") && $0.contains("proof") }
            #expect(agreementCopy != nil, "the signed agreement is attached to the purchase: \(attached.compactMap { $0["name"]?.stringValue })")
            #expect(attached.count >= 2, "agreement and provenance attached")

            // The UBL order reached the XML endpoint (it passed the partner's XSD before sending),
            // and the portal its notification, each with the action's Idempotency-Key.
            let lines = try String(contentsOf: requests, encoding: .utf8).split(separator: "\n").compactMap { try? JSONReader().read(Array($0.utf8)) }
            func header(_ request: JSONValue, _ name: String) -> String? {
                request["headers"]?.objectValue?.first { $0.key.lowercased() == name.lowercased() }?.value.stringValue
            }
            let ubl = lines.filter { header($0, "Idempotency-Key") == "\(digest)/1" && $0["method"]?.stringValue == "POST" }
            #expect(ubl.count == 1, "one UBL order for \(name)")
            let xml = ubl.first?["body"]?.stringValue ?? ""
            #expect(xml.contains("urn:oasis:names:specification:ubl:schema:xsd:Order-2"), "\(xml.prefix(300))")
            #expect(xml.contains(agreement.id ?? "?"))
            let portal = lines.filter { header($0, "Idempotency-Key") == "\(digest)/2" && $0["method"]?.stringValue == "POST" }
            #expect(portal.count == 1, "one portal notification for \(name)")
            #expect(portal.first?["path"]?.stringValue?.hasPrefix("/api/v1/order-notifications") == true)
            #expect(receipts.allSatisfy { $0["outcome"]?.stringValue == "delivered" })
        }
        #expect(gateway.stop() == 0, "\(gateway.log.suffix(2000))")
    }
}
