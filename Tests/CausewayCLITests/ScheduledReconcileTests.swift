import CausewayCore
import CausewayTesting
import Foundation
import Testing

@Suite("Scheduled reconciliation inside serve", .serialized)
struct ScheduledReconcileTests {
    @Test("serve reconciles on its schedule: a deleted legacy order shows as missing in /v1/reconcile, the metric and the dashboard page")
    func scheduled() async throws {
        let gateway = try RunningGateway(extra: "reconcile:\n  every_seconds: 1")
        defer { _ = gateway.stop() }
        try await gateway.waitUntilReady()
        let digest = try await DashboardTests.submit("one-line", to: gateway, until: "delivered")

        // Before any tampering, the schedule reports everything matched.
        var last: JSONValue?
        for _ in 0..<100 {
            last = try await gateway.request("GET", "/v1/reconcile", token: gateway.viewerToken).1
            if last?["report"]?["summary"]?["counts"]?["matched"]?.numberValue == 1 { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(last?["report"]?["summary"]?["clean"] == .bool(true), "\(String(describing: last))")

        // Someone deletes the order in the legacy database.
        let erp = gateway.directory.appendingPathComponent("erp.sqlite").path
        let deleted = try CommandRunner.run("/usr/bin/sqlite3", [erp, "DELETE FROM erp_purchase_order_line; DELETE FROM erp_purchase_order;"])
        #expect(deleted.status == 0, "\(deleted)")
        for _ in 0..<100 {
            last = try await gateway.request("GET", "/v1/reconcile", token: gateway.viewerToken).1
            if last?["report"]?["summary"]?["counts"]?["missing"]?.numberValue == 1 { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(last?["report"]?["summary"]?["clean"] == .bool(false))
        let findings = last?["report"]?["findings"]?.arrayValue ?? []
        #expect(findings.contains { $0["class"]?.stringValue == "missing" && $0["digest"]?.stringValue == digest }, "\(findings)")

        let (_, metrics) = try await gateway.text("/metrics")
        #expect(metrics.contains(#"causeway_reconcile_findings{class="missing"} 1"# + "\n"), "\(metrics)")
        // Readers need a token.
        #expect(try await gateway.request("GET", "/v1/reconcile").0 == 401)

        // The dashboard's Reconciliation page names the finding and links the order.
        let (cookie, _) = try DashboardTests.signIn(gateway, token: gateway.viewerToken)
        let page = try DashboardTests.curl(gateway, "GET", "/reconcile", cookie: cookie)
        #expect(page.status == 200)
        #expect(page.body.contains("Differences found"), "\(page.body)")
        #expect(page.body.contains("<td>missing</td>"))
        #expect(page.body.contains("href=\"/orders/\(digest)\""))
        #expect(gateway.stop() == 0, "\(gateway.log.suffix(2000))")
    }
}
