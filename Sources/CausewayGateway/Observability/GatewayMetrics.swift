public import Prometheus
import Metrics
import Synchronization

/// The gateway's Prometheus metrics, kept in a swift-prometheus ``PrometheusCollectorRegistry``
/// and rendered in the text exposition format (version 0.0.4) at `GET /metrics`.
///
/// The registry belongs to the application (one per gateway, so that several gateways in one
/// process — the tests — count apart). `causeway serve` also hands it to swift-metrics
/// (``bootstrapSwiftMetrics(into:)``), so framework metrics such as Hummingbird's `hb_requests`
/// appear beside the gateway's own families.
///
/// Counters and histograms carry labels (partner, target, outcome, refusal code); label values
/// come from configuration and stable codes only, never from payloads, so their number stays
/// bounded. Gauges are read when scraped (swift-prometheus has no callback gauges, so they are
/// rendered here, in the same format). Every family is announced with HELP and TYPE lines, even
/// before its first sample.
public final class GatewayMetrics: Sendable {
    /// Latency buckets in seconds: 1 ms … 30 s.
    static let buckets: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

    struct Family: Sendable {
        enum Kind: String, Sendable { case counter, histogram, gauge }
        let name: String
        let kind: Kind
        let help: String
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

    static let help: [String: String] = Dictionary(uniqueKeysWithValues: families.map { ($0.name, $0.help) })

    /// Where the counters and histograms live; `/metrics` renders all of it.
    public let registry: PrometheusCollectorRegistry
    /// Families that have had a sample (the others are announced by HELP and TYPE alone).
    let sampled = Mutex<Set<String>>([])
    /// Gauges read at scrape time: family → (rendered labels → value).
    let gauges: @Sendable () -> [String: [String: Double]]

    /// The registry swift-metrics records into, once ``bootstrapSwiftMetrics(into:)`` has run.
    static let swiftMetricsRegistry = Mutex<PrometheusCollectorRegistry?>(nil)

    /// - Parameters:
    ///   - registry: the registry to count in. Nil: the one swift-metrics was bootstrapped with
    ///     (``bootstrapSwiftMetrics(into:)``, as `causeway serve` does), so that framework metrics
    ///     share the exposition; without that bootstrap (tests, embedders), a registry of its own.
    ///   - gauges: the gauge families' values, read at each scrape, keyed by ``render(_:)`` labels.
    public init(registry: PrometheusCollectorRegistry? = nil, gauges: @escaping @Sendable () -> [String: [String: Double]] = { [:] }) {
        self.registry = registry ?? Self.swiftMetricsRegistry.withLock { $0 } ?? PrometheusCollectorRegistry()
        self.gauges = gauges
    }

    /// Makes swift-metrics (`MetricsSystem`, process-wide, at most once per process) record into
    /// `registry`, and makes it the registry of the gateways built afterwards in this process.
    /// `causeway serve` calls it once before it builds its application; tests that build several
    /// gateways in one process do not, and each gateway then counts in a registry of its own.
    public static func bootstrapSwiftMetrics(into registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        swiftMetricsRegistry.withLock { $0 = registry }
    }

    // MARK: Recording

    public func increment(_ family: String, _ labels: KeyValuePairs<String, String> = [:], by amount: Int = 1) {
        registry.makeCounter(descriptor: descriptor(family), labels: labels.map { ($0.key, $0.value) }).increment(by: Int64(amount))
        note(family)
    }

    public func observe(_ family: String, _ labels: KeyValuePairs<String, String> = [:], seconds: Double) {
        registry.makeValueHistogram(descriptor: descriptor(family), labels: labels.map { ($0.key, $0.value) }, buckets: Self.buckets)
            .record(seconds)
        note(family)
    }

    func descriptor(_ family: String) -> MetricNameDescriptor {
        // An unlisted family still counts; it just has no HELP line.
        MetricNameDescriptor(metricName: family, unitName: "", helpText: Self.help[family] ?? "")
    }

    func note(_ family: String) {
        sampled.withLock { _ = $0.insert(family) }
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

    /// The text exposition: the registry's families (the gateway's and, under `serve`, the
    /// frameworks'), then HELP and TYPE of the gateway's families without samples yet, then the
    /// gauges read now.
    public func exposition() -> String {
        var out = registry.emitToString()
        let seen = sampled.withLock { $0 }
        let gaugeValues = gauges()
        for family in Self.families {
            switch family.kind {
            case .counter, .histogram:
                guard !seen.contains(family.name) else { continue }
                out += "# HELP \(family.name) \(family.help)\n# TYPE \(family.name) \(family.kind.rawValue)\n"
            case .gauge:
                out += "# HELP \(family.name) \(family.help)\n# TYPE \(family.name) gauge\n"
                for (labels, value) in (gaugeValues[family.name] ?? [:]).sorted(by: { $0.key < $1.key }) {
                    out += "\(family.name)\(labels.isEmpty ? "" : "{\(labels)}") \(Self.number(value))\n"
                }
            }
        }
        return out
    }

    /// `a="x",b="y"` with the exposition format's escapes (backslash, quote, newline): the key
    /// of a gauge value.
    public static func render(_ labels: KeyValuePairs<String, String>) -> String {
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
