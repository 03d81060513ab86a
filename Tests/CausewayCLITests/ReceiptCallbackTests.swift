import CausewayCore
import CausewayTesting
import CausewayTrust
import Foundation
import Testing

@Suite("Receipt callbacks", .serialized)
struct ReceiptCallbackTests {
    /// A partners folder whose stahlteile partner wants its receipts pushed to `url`.
    static func partners(callback url: String) throws -> URL {
        let partners = try CommandRunner.temporaryDirectory("callback-partners")
        let partner = partners.appendingPathComponent("stahlteile")
        try FileManager.default.copyItem(at: TestPaths.repository.appendingPathComponent("Mappings/stahlteile"), to: partner)
        let file = partner.appendingPathComponent("partner.yaml")
        let yaml = try String(contentsOf: file, encoding: .utf8)
        try Data((yaml + "\nreceipts: {callback: \"\(url)\"}\n").utf8).write(to: file)
        return partners
    }

    @Test("receipts reach the partner's callback in ledger order, through failures, once each, and not again after a restart")
    func pushed() async throws {
        let recorder = try await CallbackRecorder(fail: 2)
        defer { recorder.stop() }

        let gateway = try RunningGateway(partners: try Self.partners(callback: recorder.url))
        defer { _ = gateway.stop() }
        try await gateway.waitUntilReady()
        let fixtures = TestPaths.repository.appendingPathComponent("Mappings/stahlteile/fixtures/agreements")
        var digests: [String] = []
        for name in ["one-line", "multi-line", "kilograms"] {
            let bytes = Array(try Data(contentsOf: fixtures.appendingPathComponent("\(name).json")))
            let (status, body) = try await gateway.request("POST", "/v1/agreements", body: bytes)
            #expect(status == 202)
            digests.append(body?["digest"]?.stringValue ?? "")
        }

        let received = recorder.received
        let arrived = try await eventually(seconds: 30) { received().filter { $0["status"]?.numberValue == 200 }.count >= 3 }
        #expect(arrived, "\(gateway.log)")
        let all = received()
        // The first two pushes were refused (503) and retried; then each receipt arrived once.
        #expect(all.prefix(2).allSatisfy { $0["status"]?.numberValue == 503 })
        // Each push is a receipt bundle that verifies offline; below, its receipt.
        let bundles = all.filter { $0["status"]?.numberValue == 200 }
        for pushed in bundles {
            let bundle = try ReceiptBundle(json: pushed["body"] ?? .null)
            let issuer = bundle.receipt["issuer"]?.stringValue
            let verification = bundle.verify(gatewayDID: issuer)
            #expect(verification.isValid, "\(verification.findings)")
        }
        let accepted: [JSONValue] = bundles.map { pushed -> JSONValue in
            let receipt: JSONValue = pushed["body"]?["receipt"] ?? .null
            return .object(["key": pushed["key"] ?? .null, "body": receipt])
        }
        #expect(accepted.count == 3)
        let ids = accepted.compactMap { $0["body"]?["id"]?.stringValue }
        #expect(Set(ids).count == 3)
        #expect(accepted.map { $0["key"]?.stringValue } == ids.map { Optional($0) }, "Idempotency-Key is the receipt id")
        // In ledger order, for the agreements submitted, and exactly the receipts the gateway serves.
        let sequences = accepted.compactMap { $0["body"]?["ledger"]?["seq"]?.numberValue }
        #expect(sequences == sequences.sorted())
        #expect(Set(accepted.compactMap { $0["body"]?["agreement"]?["digest"]?.stringValue }) == Set(digests))
        for entry in accepted {
            let id = entry["body"]?["id"]?.stringValue ?? ""
            let (status, served) = try await gateway.request("GET", "/v1/receipts/\(id)", token: gateway.viewerToken)
            #expect(status == 200)
            #expect(served == entry["body"])
        }

        // The cursor is durable: a restarted gateway pushes nothing again.
        #expect(gateway.stop() == 0)
        try gateway.start()
        try await gateway.waitUntilReady()
        try await Task.sleep(for: .seconds(1.5))
        #expect(received().count == all.count, "receipts were pushed again after a restart")
    }
}
