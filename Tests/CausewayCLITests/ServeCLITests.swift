import CausewayCore
import CausewayTesting
import CausewayTrust
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

@Suite("causeway serve: the gateway over HTTP", .serialized)
struct ServeCLITests {
    @Test("intake, delivery into the legacy tables, status, receipts, resubmission, refusals, auth, graceful stop")
    func endToEnd() async throws {
        let gateway = try RunningGateway()
        defer { _ = gateway.stop() }
        try await gateway.waitUntilReady()

        let bytes = Array(try Data(contentsOf: TestPaths.repository.appendingPathComponent("Mappings/stahlteile/fixtures/agreements/multi-line.json")))
        var (status, body) = try await gateway.request("POST", "/v1/agreements", body: bytes)
        #expect(status == 202, "\(String(describing: body))")
        let digest = try #require(body?["digest"]?.stringValue)
        (status, _) = try await gateway.request("POST", "/v1/agreements", body: bytes)
        #expect(status == 200)

        // Delivered and receipted, visible with a viewer token.
        var receipts: [JSONValue] = []
        for _ in 0..<100 {
            (status, body) = try await gateway.request("GET", "/v1/agreements/\(digest)", token: gateway.viewerToken)
            receipts = body?["receipts"]?.arrayValue ?? []
            if body?["status"]?.stringValue == "delivered", !receipts.isEmpty { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(body?["status"]?.stringValue == "delivered", "\(gateway.log)")
        let receipt = try #require(receipts.first?.objectValue)
        #expect(ReceiptSigner.verify(receipt).isEmpty)
        #expect(receipt["agreement"]?["digest"]?.stringValue == digest)
        let (receiptStatus, fetched) = try await gateway.request("GET", "/v1/receipts/\(receipt["id"]!.stringValue!)", token: gateway.viewerToken)
        #expect(receiptStatus == 200)
        #expect(fetched == .object(receipt))
        let rows = try CommandRunner.run("/usr/bin/sqlite3", [gateway.directory.appendingPathComponent("erp.sqlite").path,
                                                              "SELECT count(*) FROM erp_purchase_order; SELECT count(*) FROM erp_purchase_order_line"])
        #expect(rows.stdout == "1\n4\n")

        // Refusals are problem+json with stable codes and change nothing.
        (status, body) = try await gateway.request("POST", "/v1/agreements", body: Array(#"{"a":1,"a":2}"#.utf8))
        #expect(status == 400)
        #expect(body?["code"]?.stringValue == "intake.malformed")
        #expect(body?["reason"]?.stringValue == "json.duplicate_member")
        (status, body) = try await gateway.request("POST", "/v1/agreements", body: Array(repeating: 0x20, count: (1 << 20) + 10))
        #expect(status == 413)
        let limit = Array(try Data(contentsOf: TestPaths.repository.appendingPathComponent("Mappings/stahlteile/fixtures/agreements/limit-exceeded.json")))
        (status, body) = try await gateway.request("POST", "/v1/agreements", body: limit)
        #expect(status == 422)
        #expect(body?["code"]?.stringValue == "intake.not_verified")

        // Tokens: none → 401, viewer cannot retry → 403, operator can.
        (status, _) = try await gateway.request("GET", "/v1/agreements")
        #expect(status == 401)
        (status, _) = try await gateway.request("POST", "/v1/agreements/\(digest)/retry", token: gateway.viewerToken)
        #expect(status == 403)
        (status, body) = try await gateway.request("POST", "/v1/agreements/\(digest)/retry", token: gateway.token)
        #expect(status == 202)
        #expect(body?["requeued"]?.numberValue == 0)
        (status, body) = try await gateway.request("GET", "/v1/agreements?partner=stahlteile", token: gateway.viewerToken)
        #expect(body?["agreements"]?.arrayValue?.count == 1)

        // Health names each target's circuit; metrics count what happened above, by label.
        (status, body) = try await gateway.request("GET", "/healthz")
        #expect(status == 200)
        #expect(body?["targets"]?["erp-staging"]?.stringValue == "closed")
        let (metricsStatus, metrics) = try await gateway.text("/metrics")
        #expect(metricsStatus == 200)
        for line in [
            #"causeway_agreements_accepted_total{partner="stahlteile"} 1"#,
            #"causeway_agreements_known_total 1"#,
            #"causeway_agreements_refused_total{code="intake.malformed"} 1"#,
            #"causeway_agreements_refused_total{code="intake.too_large"} 1"#,
            #"causeway_deliveries_total{partner="stahlteile",target="erp-staging"} 1"#,
            #"causeway_delivery_attempts_total{partner="stahlteile",target="erp-staging",outcome="delivered"} 1"#,
            #"causeway_receipts_issued_total 1"#,
            #"causeway_circuit_open{target="erp-staging"} 0"#,
            "# TYPE causeway_intake_duration_seconds histogram",
            #"causeway_delivery_duration_seconds_bucket{target="erp-staging",le="+Inf"} 1"#,
        ] {
            #expect(metrics.contains(line + "\n"), "missing from /metrics: \(line)\n\(metrics)")
        }

        #expect(gateway.stop() == 0, "\(gateway.log)")
    }

    @Test("the same gateway on a PostgreSQL store delivers and receipts")
    func postgresStore() async throws {
        guard let admin = ProcessInfo.processInfo.environment["CAUSEWAY_TEST_POSTGRES"] else {
            throw MissingTestInput(path: "CAUSEWAY_TEST_POSTGRES", hint: "needs the cluster that scripts/test starts")
        }
        let name = "causeway_serve_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let created = try CommandRunner.run("/usr/bin/psql", [admin, "-v", "ON_ERROR_STOP=1", "-c", "CREATE DATABASE \(name)"])
        #expect(created.status == 0, "\(created)")
        let gateway = try RunningGateway(store: admin.replacingOccurrences(of: "/postgres", with: "/\(name)"))
        defer { _ = gateway.stop() }
        try await gateway.waitUntilReady()
        let bytes = Array(try Data(contentsOf: TestPaths.repository.appendingPathComponent("Mappings/stahlteile/fixtures/agreements/kilograms.json")))
        var (status, body) = try await gateway.request("POST", "/v1/agreements", body: bytes)
        #expect(status == 202, "\(String(describing: body)) \(gateway.log)")
        let digest = try #require(body?["digest"]?.stringValue)
        for _ in 0..<100 {
            (status, body) = try await gateway.request("GET", "/v1/agreements/\(digest)", token: gateway.viewerToken)
            if body?["receipts"]?.arrayValue?.isEmpty == false { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(body?["status"]?.stringValue == "delivered", "\(gateway.log)")
        #expect(body?["receipts"]?.arrayValue?.count == 1)
        #expect(gateway.stop() == 0, "\(gateway.log)")
    }

    @Test("an unusable configuration stops start-up with exit 2, naming the problem")
    func badConfiguration() throws {
        let directory = try CommandRunner.temporaryDirectory("serve-bad")
        try Data("identity: missing.json\npartners: nowhere\n".utf8).write(to: directory.appendingPathComponent("causeway.yaml"))
        let r = try CommandRunner.causeway(["serve", "--config", "causeway.yaml"], in: directory)
        #expect(r.status == 2)
        #expect(r.stderr.contains("identity: missing.json"))
    }
}

@Suite("causeway submit, status, demo and ledger verify", .serialized)
struct GatewayCommandsTests {
    @Test("submit posts files and folders concurrently; status shows actions and receipts")
    func submitAndStatus() async throws {
        let gateway = try RunningGateway()
        defer { _ = gateway.stop() }
        try await gateway.waitUntilReady()
        let base = "http://127.0.0.1:\(gateway.port)"
        // The fixture agreements, without the changes and cancellations (sent concurrently, a change could
        // arrive before its original and be refused: that order is RevisionGatewayTests' subject).
        let fixtures = TestPaths.repository.appendingPathComponent("Mappings/stahlteile/fixtures/agreements")
        let copy = try CommandRunner.temporaryDirectory("submit-folder")
        for name in try FileManager.default.contentsOfDirectory(atPath: fixtures.path) where !name.contains(".v") {
            try FileManager.default.copyItem(at: fixtures.appendingPathComponent(name), to: copy.appendingPathComponent(name))
        }
        let folder = copy.path
        var r = try CommandRunner.causeway(["submit", "--gateway", base, folder])
        // The folder holds good agreements and ones the partner refuses: exit 1, each line says which.
        #expect(r.status == 1, "\(r)")
        #expect(r.stdout.contains("REFUSED  intake.not_verified"))
        #expect(r.stdout.contains("REFUSED  intake.mapping_failed"))
        let accepted = r.stdout.split(separator: "\n").filter { $0.hasPrefix("sha256:") }
        #expect(accepted.count == 6)
        let digest = String(try #require(accepted.first).split(separator: " ")[0])
        var delivered = false
        for _ in 0..<100 where !delivered {
            r = try CommandRunner.causeway(["status", "--gateway", base, digest], environment: ["CAUSEWAY_TOKEN": gateway.viewerToken])
            delivered = r.stdout.contains(" delivered ") && r.stdout.contains("receipt urn:uuid:")
            if !delivered { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(delivered, "\(r)")
        r = try CommandRunner.causeway(["status", "--gateway", base], environment: ["CAUSEWAY_TOKEN": gateway.viewerToken])
        #expect(r.stdout.split(separator: "\n").count == 6)
        r = try CommandRunner.causeway(["status", "--gateway", base])
        #expect(r.status == 2)
        #expect(r.stderr.contains("auth.token_required"))
        #expect(try CommandRunner.causeway(["submit", "--gateway", "http://127.0.0.1:1", folder]).status == 2)
    }

    @Test("demo --once delivers the samples; ledger verify confirms the chain, and names a tampered entry")
    func demo() throws {
        let directory = try CommandRunner.temporaryDirectory("demo").appendingPathComponent("demo")
        let port = TestPorts.free(in: 10_000...14_999)
        var r = try CommandRunner.causeway(["demo", "--once", "--dir", directory.path, "--port", String(port)], in: TestPaths.repository)
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.components(separatedBy: ": delivered → erp_purchase_order").count == 6)
        #expect(r.stdout.contains("Dashboard: http://127.0.0.1:\(port)/"), "the demo says where the dashboard is")
        let config = directory.appendingPathComponent("causeway.yaml").path
        r = try CommandRunner.causeway(["ledger", "verify", "--config", config])
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.hasPrefix("ledger intact: 5 entries"))
        // Edit one receipt in the store: the ledger check names it.
        let store = directory.appendingPathComponent("causeway.sqlite").path
        let edit = try CommandRunner.run("/usr/bin/sqlite3", [store, "UPDATE ledger SET receipt = replace(receipt, '\"committedAt\":\"', '\"committedAt\":\"X') WHERE seq = 2"])
        #expect(edit.status == 0, "\(edit)")
        r = try CommandRunner.causeway(["ledger", "verify", "--config", config])
        #expect(r.status == 1)
        #expect(r.stdout.contains("entry 2: edited"), "\(r)")
    }
}
