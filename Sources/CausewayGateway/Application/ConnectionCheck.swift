import AdapterKit
public import Foundation

/// `causeway config check --connect`: every configured target built and connected to, as
/// `serve` would, and the store reached — without delivering, migrating or writing anything.
public enum ConnectionCheck {
    /// One checked part: `store`, or `targets.NAME`, and what is wrong with it (empty: reached).
    public struct Result: Sendable {
        public let part: String
        public let summary: String
        public let problems: [String]
    }

    /// Builds every target (settings against the adapter's schema, secrets resolved), runs what
    /// they run while serving (connection pools, child programs), checks each connection within
    /// `timeout`, then stops them. Targets that cannot be built are reported with their settings'
    /// problems and not checked.
    public static func targets(_ configuration: GatewayConfiguration, environment: [String: String], timeout: Duration) async -> [Result] {
        let (built, problems) = AdapterRegistry.build(configuration, environment: environment)
        var results: [Result] = []
        for name in configuration.targets.keys.sorted() where built[name] == nil {
            let prefix = "targets.\(name)"
            results.append(Result(part: prefix, summary: configuration.targets[name]?.adapter ?? "?",
                                  problems: problems.filter { $0.hasPrefix(prefix + ".") || $0.hasPrefix(prefix + ":") }))
        }
        let checked: [(String, String, [String])] = await withTaskGroup(of: Void.self) { running in
            for target in built.values { if let run = target.built.run { running.addTask { await run() } } }
            let outcome = await withTaskGroup(of: (String, String, [String]).self) { group in
                for (name, target) in built {
                    group.addTask { (name, target.kind, await TargetReadiness.check(target.built.adapter, timeout: timeout)) }
                }
                var all: [(String, String, [String])] = []
                for await item in group { all.append(item) }
                return all
            }
            running.cancelAll()
            return outcome
        }
        for (name, kind, problems) in checked {
            results.append(Result(part: "targets.\(name)", summary: kind, problems: problems.map { "targets.\(name).\($0)" }))
        }
        return results.sorted { $0.part < $1.part }
    }
}
