import CausewayCore
import CausewayTesting
import Foundation
import Testing

/// `/metrics` of a real `causeway serve` after the move to swift-prometheus and swift-metrics.
@Suite("Metrics through swift-prometheus", .serialized)
struct MetricsCLITests {
    /// Every family the hand-written exposition announced (taken from GatewayMetrics before the
    /// change); dashboards and alert rules in Deploy/ use these names.
    static let families: [(name: String, type: String)] = [
        ("causeway_agreements_received_total", "counter"), ("causeway_agreements_accepted_total", "counter"),
        ("causeway_agreements_known_total", "counter"), ("causeway_agreements_refused_total", "counter"),
        ("causeway_intake_duration_seconds", "histogram"), ("causeway_delivery_attempts_total", "counter"),
        ("causeway_deliveries_total", "counter"), ("causeway_retries_scheduled_total", "counter"),
        ("causeway_dead_letters_total", "counter"), ("causeway_delivery_duration_seconds", "histogram"),
        ("causeway_receipts_issued_total", "counter"), ("causeway_circuit_open", "gauge"), ("causeway_reconcile_findings", "gauge"),
        ("causeway_http_connections_open", "gauge"), ("causeway_http_connections_refused", "gauge"),
        ("causeway_http_connections_timed_out", "gauge"), ("causeway_keri_kel_updates_total", "counter"),
        ("causeway_keri_kel_invalid_total", "counter"), ("causeway_keri_kel_regressions_total", "counter"),
        ("causeway_keri_duplicity_total", "counter"), ("causeway_keri_resolutions_total", "counter"),
    ]

    /// The value of the sample `line` (name with labels) in an exposition, or nil.
    static func value(_ series: String, in exposition: String) -> Double? {
        for line in exposition.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }

    @Test("every family is still announced once with HELP and TYPE, values follow traffic, and Hummingbird's request metrics appear")
    func familiesAndTraffic() async throws {
        let gateway = try RunningGateway()
        defer { _ = gateway.stop() }
        try await gateway.waitUntilReady()
        let (status, before) = try await gateway.text("/metrics")
        #expect(status == 200)
        for family in Self.families {
            #expect(before.components(separatedBy: "# TYPE \(family.name) \(family.type)\n").count == 2, "\(family.name) once:\n\(before)")
            #expect(before.contains("# HELP \(family.name) "), "\(family.name) has HELP")
        }
        #expect(Self.value("causeway_agreements_received_total", in: before) == nil)

        let document = Array(try Data(contentsOf: TestPaths.repository.appendingPathComponent("Mappings/stahlteile/fixtures/agreements/one-line.json")))
        let digest = try Agreement(bytes: document).digest.description
        #expect(try await gateway.request("POST", "/v1/agreements", body: document).0 == 202)
        var delivered = false
        for _ in 0..<300 where !delivered {
            let detail = try? await gateway.request("GET", "/v1/agreements/\(digest)", token: gateway.viewerToken).1
            delivered = detail?["status"]?.stringValue == "delivered" && detail?["receipts"]?.arrayValue?.count == 1
            if !delivered { try await Task.sleep(for: .milliseconds(200)) }
        }
        #expect(delivered)
        // The receipt is counted after it is stored; give the loop its turn.
        var after = ""
        for _ in 0..<50 {
            after = try await gateway.text("/metrics").1
            if Self.value("causeway_receipts_issued_total", in: after) == 1 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(Self.value("causeway_agreements_received_total", in: after) == 1, "\(after)")
        #expect(Self.value(#"causeway_agreements_accepted_total{partner="stahlteile"}"#, in: after) == 1)
        #expect(Self.value(#"causeway_delivery_attempts_total{partner="stahlteile",target="erp-staging",outcome="delivered"}"#, in: after) == 1)
        #expect(Self.value("causeway_intake_duration_seconds_count", in: after) == 1)
        #expect(Self.value(#"causeway_delivery_duration_seconds_bucket{target="erp-staging",le="+Inf"}"#, in: after) == 1)
        #expect(Self.value("causeway_receipts_issued_total", in: after) == 1)
        #expect(Self.value(#"causeway_circuit_open{target="erp-staging"}"#, in: after) == 0)
        for family in Self.families {
            #expect(after.components(separatedBy: "# TYPE \(family.name) \(family.type)\n").count == 2, "\(family.name) once after traffic")
        }

        // Hummingbird's MetricsMiddleware, through swift-metrics into the same registry: the
        // requests above by route, method and status, and their durations.
        let requestSeries = after.split(separator: "\n").filter { $0.hasPrefix("hb_requests{") }
        #expect(Self.value(#"hb_requests{http_route="/v1/agreements",http_request_method="POST",http_response_status_code="202"}"#, in: after) == 1,
                "\(requestSeries)")
        #expect(Self.value(#"hb_requests{http_route="/readyz",http_request_method="GET",http_response_status_code="200"}"#, in: after) ?? 0 >= 1,
                "\(requestSeries)")
        #expect(after.contains("# TYPE http_server_request_duration histogram\n"), "\(after)")
        #expect(gateway.stop() == 0, "\(gateway.log.suffix(2000))")
    }
}
