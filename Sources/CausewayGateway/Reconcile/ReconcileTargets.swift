public import AdapterKit
public import Foundation

/// The configured targets' adapters, built for a reconciliation the way `serve` builds them, with
/// the long-running parts (connection pools) that must run while they are used.
public struct ReconcileTargets: Sendable {
    public let adapters: [String: any Adapter]
    let runs: [@Sendable () async -> Void]
    /// The background parts of the other adapters, never started: run once in a cancelled task
    /// at the end, they only release what the adapter holds (an HTTP client must be shut down
    /// before it is freed; a process adapter's child is never spawned).
    let disposals: [@Sendable () async -> Void]

    /// Builds every configured target; a target that cannot be built is a configuration error.
    /// Only adapters that adopt `LegacyInventory` have their background parts started (nothing
    /// else is needed to reconcile, and a process adapter's child is never spawned).
    public static func build(_ configuration: GatewayConfiguration, environment: [String: String] = ProcessInfo.processInfo.environment)
        throws(ReconcileInputError) -> ReconcileTargets
    {
        let (built, problems) = AdapterRegistry.build(configuration, environment: environment)
        var adapters: [String: any Adapter] = [:]
        var runs: [@Sendable () async -> Void] = []
        var disposals: [@Sendable () async -> Void] = []
        for (name, target) in built {
            adapters[name] = target.built.adapter
            if let run = target.built.run {
                if target.built.adapter is any LegacyInventory { runs.append(run) } else { disposals.append(run) }
            }
        }
        guard problems.isEmpty else { throw ReconcileInputError(problems.joined(separator: "\n")) }
        return ReconcileTargets(adapters: adapters, runs: runs, disposals: disposals)
    }

    /// Runs `body` while the adapters' background parts run; stops them afterwards.
    public func whileRunning<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            for run in runs {
                group.addTask {
                    await run()
                    return nil
                }
            }
            do {
                let result = try await body()
                group.cancelAll()
                await dispose()
                return result
            } catch {
                group.cancelAll()
                await dispose()
                throw error
            }
        }
    }

    /// Runs each unstarted background part inside a task that is already cancelled, so that it
    /// goes straight to its clean-up.
    func dispose() async {
        for disposal in disposals {
            let task = Task {
                // Wait for the cancellation below, so that the body starts cancelled.
                while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
                await disposal()
            }
            task.cancel()
            await task.value
        }
    }
}
