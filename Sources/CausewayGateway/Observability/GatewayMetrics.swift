import Synchronization

/// The gateway's Prometheus metrics, rendered in the text exposition format (version 0.0.4).
///
/// Counters and histograms carry labels (partner, target, outcome, refusal code); label values
/// come from configuration and stable codes only, never from payloads, so their number stays
/// bounded. Gauges are read when scraped.
public final class GatewayMetrics: Sendable {
    /// Latency buckets in seconds: 1 ms … 30 s.
    static let buckets: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

    struct Family: Sendable {
        enum Kind: String, Sendable { case counter, histogram, gauge }
        let name: String
        let kind: Kind
        let help: String
    }

    struct Histogram: Sendable {
        var counts = [Int](repeating: 0, count: GatewayMetrics.buckets.count)
        var sum = 0.0
        var count = 0

        mutating func observe(_ value: Double) {
            for (index, bound) in GatewayMetrics.buckets.enumerated() where value <= bound { counts[index] += 1 }
            sum += value
            count += 1
        }
    }

    struct State: Sendable {
        /// Family name → rendered label set → value.
        var counters: [String: [String: Int]] = [:]
        var histograms: [String: [String: Histogram]] = [:]
    }

    static let families: [Family] = [
        .init(name: "causeway_agreements_received_total", kind: .counter, help: "Agreements posted to intake."),
        .init(name: "causeway_agreements_accepted_total", kind: .counter, help: "Agreements verified and stored, by partner."),
        .init(name: "causeway_agreements_known_total", kind: .counter, help: "Resubmissions of an agreement already stored."),
        .init(name: "causeway_agreements_refused_total", kind: .counter, help: "Agreements refused at intake, by problem code."),
        .init(name: "causeway_intake_duration_seconds", kind: .histogram, help: "Time to verify, map and store one agreement."),
        .init(name: "causeway_delivery_attempts_total", kind: .counter,
              help: "Delivery attempts by partner, target and outcome (delivered, retryable, rejected, unknown, found, lookup_unavailable)."),
        .init(name: "causeway_deliveries_total", kind: .counter, help: "Actions delivered (committed in the target), by partner and target."),
        .init(name: "causeway_retries_scheduled_total", kind: .counter, help: "Attempts that ended with a retry scheduled, by partner and target."),
        .init(name: "causeway_dead_letters_total", kind: .counter, help: "Actions moved to the dead letter, by partner and target."),
        .init(name: "causeway_delivery_duration_seconds", kind: .histogram, help: "Time of one delivery attempt, by target."),
        .init(name: "causeway_receipts_issued_total", kind: .counter, help: "Signed receipts issued into the ledger."),
        .init(name: "causeway_circuit_open", kind: .gauge, help: "1 while a target's circuit is open (deliveries paused), else 0."),
        .init(name: "causeway_reconcile_findings", kind: .gauge, help: "Findings of each class in the last scheduled reconciliation."),
        .init(name: "causeway_http_connections_open", kind: .gauge, help: "HTTP connections open now."),
        .init(name: "causeway_http_connections_refused", kind: .gauge,
              help: "HTTP connections answered 503 at the connection limit since start."),
        .init(name: "causeway_http_connections_timed_out", kind: .gauge,
              help: "HTTP connections closed since start because a request head or body did not arrive in time."),
        .init(name: "causeway_keri_kel_updates_total", kind: .counter, help: "KERI KELs stored: first seen or extended (any source)."),
        .init(name: "causeway_keri_kel_invalid_total", kind: .counter, help: "KERI KELs offered that did not validate."),
        .init(name: "causeway_keri_kel_regressions_total", kind: .counter, help: "KERI KELs offered shorter than the one held (refused)."),
        .init(name: "causeway_keri_duplicity_total", kind: .counter,
              help: "KERI KELs offered with a different event at a known sequence number (refused, recorded in the store)."),
        .init(name: "causeway_keri_resolutions_total", kind: .counter, help: "did:webs KELs fetched from a party's server."),
    ]

    let state = Mutex(State())
    /// Gauges read at scrape time: family → (labels → value).
    let gauges: @Sendable () -> [String: [String: Double]]

    public init(gauges: @escaping @Sendable () -> [String: [String: Double]] = { [:] }) {
        self.gauges = gauges
    }

    // MARK: Recording

    public func increment(_ family: String, _ labels: KeyValuePairs<String, String> = [:], by amount: Int = 1) {
        let key = Self.render(labels)
        state.withLock { $0.counters[family, default: [:]][key, default: 0] += amount }
    }

    public func observe(_ family: String, _ labels: KeyValuePairs<String, String> = [:], seconds: Double) {
        let key = Self.render(labels)
        state.withLock { $0.histograms[family, default: [:]][key, default: Histogram()].observe(seconds) }
    }

    /// What one delivery attempt ended in.
    public func attempt(partner: String, target: String, outcome: String, next: AttemptNext, seconds: Double) {
        increment("causeway_delivery_attempts_total", ["partner": partner, "target": target, "outcome": outcome])
        observe("causeway_delivery_duration_seconds", ["target": target], seconds: seconds)
        switch next {
        case .delivered:
            increment("causeway_deliveries_total", ["partner": partner, "target": target])
        case .retry: increment("causeway_retries_scheduled_total", ["partner": partner, "target": target])
        case .deadLetter: increment("causeway_dead_letters_total", ["partner": partner, "target": target])
        }
    }

    /// The three ways an attempt can end, for metrics.
    public enum AttemptNext: Sendable { case delivered, retry, deadLetter }

    // MARK: Exposition

    /// The text exposition of every family, with HELP and TYPE lines.
    public func exposition() -> String {
        let snapshot = state.withLock { $0 }
        let gaugeValues = gauges()
        var out = ""
        for family in Self.families {
            out += "# HELP \(family.name) \(family.help)\n# TYPE \(family.name) \(family.kind.rawValue)\n"
            switch family.kind {
            case .counter:
                for (labels, value) in (snapshot.counters[family.name] ?? [:]).sorted(by: { $0.key < $1.key }) {
                    out += "\(family.name)\(labels.isEmpty ? "" : "{\(labels)}") \(value)\n"
                }
            case .gauge:
                for (labels, value) in (gaugeValues[family.name] ?? [:]).sorted(by: { $0.key < $1.key }) {
                    out += "\(family.name)\(labels.isEmpty ? "" : "{\(labels)}") \(Self.number(value))\n"
                }
            case .histogram:
                for (labels, histogram) in (snapshot.histograms[family.name] ?? [:]).sorted(by: { $0.key < $1.key }) {
                    let prefix = labels.isEmpty ? "" : labels + ","
                    for (index, bound) in Self.buckets.enumerated() {
                        out += "\(family.name)_bucket{\(prefix)le=\"\(Self.number(bound))\"} \(histogram.counts[index])\n"
                    }
                    out += "\(family.name)_bucket{\(prefix)le=\"+Inf\"} \(histogram.count)\n"
                    out += "\(family.name)_sum\(labels.isEmpty ? "" : "{\(labels)}") \(Self.number(histogram.sum))\n"
                    out += "\(family.name)_count\(labels.isEmpty ? "" : "{\(labels)}") \(histogram.count)\n"
                }
            }
        }
        return out
    }

    /// `a="x",b="y"` with the exposition format's escapes (backslash, quote, newline).
    static func render(_ labels: KeyValuePairs<String, String>) -> String {
        labels.map { key, value in
            var escaped = ""
            for character in value {
                switch character {
                case "\\": escaped += "\\\\"
                case "\"": escaped += "\\\""
                case "\n": escaped += "\\n"
                default: escaped.append(character)
                }
            }
            return "\(key)=\"\(escaped)\""
        }.joined(separator: ",")
    }

    static func number(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }
}
