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
        var problems: [String] = []
        var adapters: [String: any Adapter] = [:]
        var runs: [@Sendable () async -> Void] = []
        var disposals: [@Sendable () async -> Void] = []
        for (name, target) in configuration.targets.sorted(by: { $0.key < $1.key }) {
            let prefix = "targets.\(name)"
            guard let registration = AdapterRegistry.registration(kind: target.adapter) else {
                problems.append("\(prefix).adapter: unknown adapter kind '\(target.adapter)'; known: \(AdapterRegistry.kinds.joined(separator: ", "))")
                continue
            }
            switch registration.descriptor.schema.validate(target.settings, prefix: prefix) {
            case .failure(let error): problems += error.problems
            case .success(let settings):
                var secrets: [String: String] = [:]
                for field in registration.descriptor.schema.fields where field.type == .secret {
                    guard let value = settings[field.name] else { continue }
                    do { secrets[field.name] = try SecretReference(value)?.resolve(environment: environment) } catch {
                        problems.append("\(prefix).\(field.name): \(error.message)")
                    }
                }
                do {
                    let built = try registration.make(name, settings, secrets, .init(partners: URL(fileURLWithPath: configuration.partners)))
                    adapters[name] = built.adapter
                    if let run = built.run {
                        if built.adapter is any LegacyInventory { runs.append(run) } else { disposals.append(run) }
                    }
                } catch {
                    problems += error.problems.map { "\(prefix).\($0)" }
                }
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
