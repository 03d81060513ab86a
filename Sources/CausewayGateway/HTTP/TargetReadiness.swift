import AdapterKit
import CausewayCore
import Foundation
import Hummingbird
import Logging
import Synchronization

/// The targets' connection checks for `/readyz`, run in the background every
/// `readiness.every_seconds` (each bounded by `readiness.timeout_seconds`) and cached, so that
/// `/readyz` only reads the last results: probing it often cannot load the ERP.
///
/// A target not yet checked (the first round is under way) does not make the instance not ready.
final class TargetReadiness: Sendable {
    /// One target's last check.
    struct Check: Sendable {
        /// The problems, each naming the setting and the fix; empty when the target was reached.
        var problems: [String]
        /// When it was checked (ms since the epoch).
        var at: Int64
    }

    /// The targets now (a live reload replaces them).
    let adapters: @Sendable () -> [String: any Adapter]
    let settings: GatewayConfiguration.ReadinessSettings
    let logger: Logger
    private let checks = Mutex<[String: Check]>([:])

    init(adapters: @escaping @Sendable () -> [String: any Adapter], settings: GatewayConfiguration.ReadinessSettings, logger: Logger) {
        self.adapters = adapters
        self.settings = settings
        self.logger = logger
    }

    /// The last check of each target checked so far.
    var results: [String: Check] { checks.withLock { $0 } }

    /// The targets whose last check failed, with their problems (empty when none did).
    var failing: [String: [String]] { results.filter { !$0.value.problems.isEmpty }.mapValues(\.problems) }

    /// `/readyz` once the store is ready: 200 `{"status": "ready", "targets": {NAME: "ok" | "unchecked"}}`,
    /// or (with `readiness.targets`) a 503 problem `targets.unavailable` naming each failing target
    /// and its problems in `targets` (`{NAME: [problem, …]}`); with `readiness.targets: false`
    /// failing targets are listed as `failing` in a 200.
    func readyz() throws -> Response {
        let results = results
        let failing = results.filter { !$0.value.problems.isEmpty }
        var states: JSONObject = [:]
        for name in adapters().keys.sorted() {
            states[name] = .string(results[name].map { $0.problems.isEmpty ? "ok" : "failing" } ?? "unchecked")
        }
        if failing.isEmpty || !settings.targets {
            return GatewayAPI.json(["status": "ready", "targets": .object(states)])
        }
        var named: JSONObject = [:]
        for (name, check) in failing.sorted(by: { $0.key < $1.key }) { named[name] = .array(check.problems.map(JSONValue.string)) }
        throw Problem.retryLater(503, "targets.unavailable", "A target cannot be reached",
                                 "not ready: \(failing.keys.sorted().joined(separator: ", ")) failed the connection check", seconds: max(1, settings.everySeconds))
            .with(extra: ["targets": .object(named)])
    }

    /// Checks every target until cancelled.
    func run() async {
        while !Task.isCancelled {
            await checkAll()
            try? await Task.sleep(for: .seconds(max(1, settings.everySeconds)))
        }
    }

    /// One round: every target at once, each within the timeout.
    func checkAll() async {
        let timeout = Duration.seconds(max(1, settings.timeoutSeconds))
        let adapters = adapters()
        // Targets removed by a reload are forgotten.
        checks.withLock { state in state = state.filter { adapters[$0.key] != nil } }
        await withTaskGroup(of: (String, [String]).self) { group in
            for (name, adapter) in adapters {
                group.addTask { (name, await Self.check(adapter, timeout: timeout)) }
            }
            for await (name, problems) in group {
                let previous = checks.withLock { state in
                    let before = state[name]
                    state[name] = Check(problems: problems, at: WallClock.milliseconds())
                    return before
                }
                if !problems.isEmpty, previous?.problems != problems {
                    logger.warning("target connection check failed", metadata: ["target": "\(name)", "problems": "\(problems.joined(separator: "; "))"])
                } else if problems.isEmpty, previous.map({ !$0.problems.isEmpty }) == true {
                    logger.info("target reachable again", metadata: ["target": "\(name)"])
                }
            }
        }
    }

    /// One adapter's check, failed when it takes longer than `timeout`. The check itself is not
    /// waited for past the timeout (an adapter's own deadline ends it later).
    static func check(_ adapter: any Adapter, timeout: Duration) async -> [String] {
        let once = Once()
        return await withCheckedContinuation { continuation in
            once.set(continuation)
            let work = Task {
                var problems: [String] = []
                do throws(AdapterConfigurationError) { try await adapter.checkConnection() } catch { problems = error.problems }
                once.resume(problems)
            }
            Task {
                try? await Task.sleep(for: timeout)
                once.resume(["connection: no answer within \(timeout.components.seconds) s; is the target reachable?"])
                work.cancel()
            }
        }
    }

    /// Resumes a continuation once, whichever side comes first.
    private final class Once: Sendable {
        private let continuation = Mutex<CheckedContinuation<[String], Never>?>(nil)
        func set(_ value: CheckedContinuation<[String], Never>) { continuation.withLock { $0 = value } }
        func resume(_ problems: [String]) { continuation.withLock { $0.take() }?.resume(returning: problems) }
    }
}

extension Problem {
    /// The same problem with more members in its body.
    func with(extra more: JSONObject) -> Problem {
        var copy = self
        for (key, value) in more { copy.extra[key] = value }
        return copy
    }
}
