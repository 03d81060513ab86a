public import AdapterKit
public import CausewayCore
public import CausewayStore
public import Logging
import Synchronization

/// Reconciliation on a schedule inside `causeway serve`: every `interval` it compares the store,
/// the legacy systems (through the targets already running in this gateway) and the ledger, and
/// keeps the last report for `/v1/reconcile`, the dashboard's Reconciliation page and the
/// `causeway_reconcile_findings` metric. It reads only; repairs stay a person's decision
/// (`causeway reconcile --repair`).
public final class ReconcileSchedule: Sendable {
    /// The last completed run.
    public struct Run: Sendable {
        /// When it finished, Unix milliseconds.
        public let finishedAt: Int64
        public let report: ReconcileReport?
        /// Why it could not run (the store was unreachable, say).
        public let failure: String?
    }

    let reconciler: Reconciler
    let interval: Duration
    let logger: Logger
    let now: @Sendable () -> Int64
    let last = Mutex<Run?>(nil)

    public init(store: any AgreementStore, adapters: [String: any Adapter], gateway: String, interval: Duration, logger: Logger,
                now: @escaping @Sendable () -> Int64 = WallClock.milliseconds) {
        reconciler = Reconciler(store: store, adapters: adapters, gateway: gateway)
        self.interval = interval
        self.logger = logger
        self.now = now
    }

    /// The last completed run, if any.
    public var lastRun: Run? { last.withLock { $0 } }

    /// Runs a minute after start (or after `interval`, if shorter), then every `interval`, until
    /// cancelled: a restart does not read every legacy table at once.
    public func run() async {
        try? await Task.sleep(for: min(interval, .seconds(60)))
        while !Task.isCancelled {
            await runOnce()
            try? await Task.sleep(for: interval)
        }
    }

    /// One reconciliation; its result replaces the last one.
    public func runOnce() async {
        do {
            let report = try await reconciler.run()
            last.withLock { $0 = Run(finishedAt: now(), report: report, failure: nil) }
            if !report.isClean {
                let off = report.counts.filter { $0.0 != .matched && $0.1 > 0 }.map { "\($0.0.rawValue)=\($0.1)" }.joined(separator: " ")
                logger.warning("reconciliation found differences", metadata: ["findings": .string(off)])
            }
        } catch {
            last.withLock { $0 = Run(finishedAt: now(), report: nil, failure: "\(error)") }
            logger.warning("reconciliation could not run", metadata: ["error": .string("\(error)")])
        }
    }

    /// The last run as JSON: `{finished_at, report}` or `{finished_at, failure}`; `{}` before the first.
    public var json: JSONValue {
        guard let run = lastRun else { return [:] }
        var object: JSONObject = ["finished_at": .number(Double(run.finishedAt))]
        if let report = run.report { object["report"] = report.json }
        if let failure = run.failure { object["failure"] = .string(failure) }
        return .object(object)
    }

    /// Gauge values: findings of each class in the last report.
    public var gauges: [String: Double] {
        guard let report = lastRun?.report else { return [:] }
        var values: [String: Double] = [:]
        for (findingClass, count) in report.counts { values[GatewayMetrics.render(["class": findingClass.rawValue])] = Double(count) }
        return values
    }
}
