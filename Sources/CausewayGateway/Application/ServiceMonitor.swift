public import CausewayCore
public import Logging
import ServiceLifecycle
import Synchronization

/// How each long-lived part of the gateway is doing, by name, for the log and `/healthz`.
///
/// Every long-lived loop runs under a name (``SupervisedService``, or a runtime task of
/// ``GatewayRuntime``): one that throws, or returns while the gateway still runs, is logged with
/// its name and restarted with backoff; one whose rounds fail (a store that cannot be reached)
/// reports it here and recovers on its next good round. `/healthz` lists them all.
public final class ServiceMonitor: Sendable {
    /// One service's state as `/healthz` shows it.
    public struct Status: Sendable, Equatable {
        /// `running`, `failing` (rounds fail; it keeps trying), `restarting` (it ended or threw and
        /// waits to start again), or `stopped` (retired or shut down).
        public var state: String
        /// How often it was restarted since the gateway started.
        public var restarts: Int
        /// The last failure (no payloads: errors name what went wrong, not the data).
        public var lastError: String?
        /// When the last failure happened, in epoch milliseconds.
        public var lastErrorAt: Int64?
    }

    private let statuses = Mutex<[String: Status]>([:])
    let logger: Logger

    public init(logger: Logger) { self.logger = logger }

    /// The service runs (again); clears a failing round.
    public func running(_ name: String) {
        statuses.withLock { statuses in
            var status = statuses[name] ?? Status(state: "running", restarts: 0)
            status.state = "running"
            statuses[name] = status
        }
    }

    /// A round of the service failed; it keeps running and tries again. Logged once per change of
    /// error, so a store outage does not flood the log.
    public func failing(_ name: String, _ error: any Error) {
        let message = "\(error)"
        let changed = statuses.withLock { statuses -> Bool in
            var status = statuses[name] ?? Status(state: "running", restarts: 0)
            let changed = status.state != "failing" || status.lastError != message
            status.state = "failing"
            status.lastError = message
            status.lastErrorAt = WallClock.milliseconds()
            statuses[name] = status
            return changed
        }
        if changed { logger.error("service failing; it keeps trying", metadata: ["service.name": .string(name), "error": .string(message)]) }
    }

    /// The service threw or ended while the gateway runs; it is restarted after `retryIn` seconds.
    func restarting(_ name: String, _ error: String, retryIn seconds: Double) {
        let restarts = statuses.withLock { statuses -> Int in
            var status = statuses[name] ?? Status(state: "running", restarts: 0)
            status.state = "restarting"
            status.restarts += 1
            status.lastError = error
            status.lastErrorAt = WallClock.milliseconds()
            statuses[name] = status
            return status.restarts
        }
        logger.error("service failed; restarting it", metadata: [
            "service.name": .string(name), "error": .string(error), "service.restarts": .stringConvertible(restarts),
            "retry_in_s": .stringConvertible(seconds),
        ])
    }

    /// The service stopped for good (shutdown, or its target was retired by a reload).
    public func stopped(_ name: String) {
        statuses.withLock { statuses in statuses[name]?.state = "stopped" }
    }

    /// Forgets a service that no longer exists (a removed target after a reload).
    func remove(_ name: String) { statuses.withLock { _ = $0.removeValue(forKey: name) } }

    /// Every service's status, by name.
    public var snapshot: [String: Status] { statuses.withLock { $0 } }

    /// Whether every service runs.
    public var healthy: Bool { snapshot.values.allSatisfy { $0.state == "running" || $0.state == "stopped" } }

    /// The `/healthz` form: `{name: {state, restarts, lastError?, lastErrorAt?}}`.
    public var json: JSONObject {
        var object: JSONObject = [:]
        for (name, status) in snapshot {
            var entry: JSONObject = ["state": .string(status.state), "restarts": .number(Double(status.restarts))]
            if let error = status.lastError { entry["lastError"] = .string(String(error.prefix(500))) }
            if let at = status.lastErrorAt { entry["lastErrorAt"] = .number(Double(at)) }
            object[name] = .object(entry)
        }
        return object
    }

    /// Runs `body` under `name` until the surrounding task is cancelled: when it throws or returns
    /// early it is logged and restarted with exponential backoff (0.5 s doubling to 30 s).
    /// `markStopped`: whether its end shows as `stopped` (false where a successor of the same
    /// name may already run: a target changed by a reload).
    func supervise(_ name: String, markStopped: Bool = true, _ body: @Sendable () async throws -> Void) async {
        var backoff = 0.5
        while !Task.isCancelled {
            running(name)
            let failure: String
            do {
                try await body()
                if Task.isCancelled { break }
                failure = "it ended while the gateway runs"
            } catch {
                if Task.isCancelled { break }
                failure = "\(error)"
            }
            restarting(name, failure, retryIn: backoff)
            do { try await Task.sleep(for: .milliseconds(Int64(backoff * 1000))) } catch { break }
            backoff = min(backoff * 2, 30)
        }
        if markStopped { stopped(name) }
    }
}

/// A named long-lived part of the gateway as a Service of the group: supervised by the
/// ``ServiceMonitor`` (failures logged and shown in `/healthz`, restarts with backoff) and
/// stopped when the group shuts down gracefully.
struct SupervisedService: Service, CustomStringConvertible {
    let name: String
    let monitor: ServiceMonitor
    let body: @Sendable () async throws -> Void

    init(_ name: String, monitor: ServiceMonitor, body: @escaping @Sendable () async throws -> Void) {
        self.name = name
        self.monitor = monitor
        self.body = body
    }

    /// Another Service (from a part built elsewhere), run under a name.
    init(_ name: String, monitor: ServiceMonitor, wrapping service: any Service) {
        self.init(name, monitor: monitor) { try await service.run() }
    }

    var description: String { name }

    func run() async throws {
        try await cancelWhenGracefulShutdown { await monitor.supervise(name, body) }
    }
}

/// Runs `onShutdown` when the group shuts down gracefully (after the services listed after it
/// have stopped); failures are logged, not thrown, so the rest of the shutdown goes on.
struct StoreShutdownService: Service {
    let logger: Logger
    let onShutdown: @Sendable () async throws -> Void
    func run() async throws {
        try? await gracefulShutdown()
        do { try await onShutdown() } catch { logger.error("store: closing failed", metadata: ["error": "\(error)"]) }
    }
}

/// A long-running loop as a Service: it stops when the group shuts down gracefully.
/// (Parts built outside the composition root return these; the root runs them under a name.)
struct LoopService: Service {
    let body: @Sendable () async throws -> Void
    func run() async throws { try await cancelWhenGracefulShutdown { try await body() } }
}
