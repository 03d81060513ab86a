public import AdapterKit
import FileAdapter
public import Foundation
import HTTPAdapter
import PostgresAdapter
import ProcessAdapter
import SQLiteAdapter
import TrytonAdapter

/// An adapter kind the gateway can run: its descriptor (kind, action kinds, settings schema) and
/// how to build one target's adapter from validated settings.
public struct AdapterRegistration: Sendable {
    /// What a built target needs: the adapter, and a long-running body (a connection pool, a child
    /// process supervisor) that the gateway runs as a Service for as long as it serves.
    public struct Built: Sendable {
        public let adapter: any Adapter
        public let run: (@Sendable () async -> Void)?

        public init(adapter: any Adapter, run: (@Sendable () async -> Void)? = nil) {
            self.adapter = adapter
            self.run = run
        }
    }

    /// What the gateway knows that an adapter may need beyond its settings.
    public struct Context: Sendable {
        /// The folder of partner folders (where an xml action's schema is found).
        public let partners: URL

        public init(partners: URL) { self.partners = partners }
    }

    public typealias Make = @Sendable (_ target: String, _ settings: AdapterSettings, _ secrets: [String: String], _ context: Context)
        throws(AdapterConfigurationError) -> Built

    public let descriptor: AdapterDescriptor
    /// Builds a target's adapter. `settings` passed the descriptor's schema; `secrets` holds the
    /// resolved value of every setting of type `secret` that the target sets (never logged).
    public let make: Make

    public init(descriptor: AdapterDescriptor, make: @escaping Make) {
        self.descriptor = descriptor
        self.make = make
    }
}

/// The adapter kinds compiled into this gateway, registered explicitly by kind.
public enum AdapterRegistry {
    public static let builtIn: [AdapterRegistration] = [
        AdapterRegistration(descriptor: PostgresRowsAdapter.descriptor) { _, settings, secrets, _ throws(AdapterConfigurationError) in
            let adapter = try PostgresRowsAdapter(settings: settings, password: secrets["password"])
            return .init(adapter: adapter, run: { await adapter.run() })
        },
        AdapterRegistration(descriptor: SQLiteRowsAdapter.descriptor) { _, settings, _, _ throws(AdapterConfigurationError) in
            .init(adapter: try SQLiteRowsAdapter(settings: settings))
        },
        AdapterRegistration(descriptor: TrytonPurchaseAdapter.descriptor) { _, settings, secrets, _ throws(AdapterConfigurationError) in
            .init(adapter: try TrytonPurchaseAdapter(settings: settings, password: secrets["password"]))
        },
        AdapterRegistration(descriptor: HTTPTargetAdapter.descriptor) { _, settings, secrets, context throws(AdapterConfigurationError) in
            // The gateway's own partners folder, so that an xml action's schema is the partner's.
            let adapter = try HTTPTargetAdapter(settings: settings, secrets: secrets, partnersFolder: context.partners)
            return .init(adapter: adapter, run: { await adapter.run() })
        },
        AdapterRegistration(descriptor: FileDropAdapter.descriptor) { _, settings, _, _ throws(AdapterConfigurationError) in
            .init(adapter: try FileDropAdapter(settings: settings))
        },
        AdapterRegistration(descriptor: ExternalProcessAdapter.descriptor) { target, settings, secrets, _ throws(AdapterConfigurationError) in
            let adapter = try ExternalProcessAdapter(settings: settings, secret: secrets["secret"], target: target)
            return .init(adapter: adapter, run: { await adapter.run() })
        },
    ]

    /// The registration for `kind`, if compiled in.
    public static func registration(kind: String) -> AdapterRegistration? { builtIn.first { $0.descriptor.kind == kind } }

    /// Every kind, for error messages.
    public static var kinds: [String] { builtIn.map(\.descriptor.kind) }

    /// One configured target, built.
    public struct Target: Sendable {
        public let kind: String
        public let built: AdapterRegistration.Built
        /// Tells one set of resolved secrets from another within this process (a live reload
        /// treats a target whose secret file changed as changed); never the secrets themselves.
        public var secretsFingerprint: Int = 0
    }

    /// Builds every configured target: its kind registered, its settings valid against the
    /// adapter's schema, its secrets resolved. Returns the targets built and every problem, each
    /// named by its key (`targets.NAME.SETTING`).
    public static func build(_ configuration: GatewayConfiguration, environment: [String: String])
        -> (targets: [String: Target], problems: [String])
    {
        var problems: [String] = []
        var targets: [String: Target] = [:]
        let context = AdapterRegistration.Context(partners: URL(fileURLWithPath: configuration.partners))
        for (name, target) in configuration.targets.sorted(by: { $0.key < $1.key }) {
            let prefix = "targets.\(name)"
            guard let registration = registration(kind: target.adapter) else {
                problems.append("\(prefix).adapter: unknown adapter kind '\(target.adapter)'; known: \(kinds.joined(separator: ", "))")
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
                var hasher = Hasher()
                for (key, value) in secrets.sorted(by: { $0.key < $1.key }) { hasher.combine(key); hasher.combine(value) }
                do {
                    targets[name] = Target(kind: target.adapter, built: try registration.make(name, settings, secrets, context),
                                           secretsFingerprint: hasher.finalize())
                } catch {
                    problems += error.problems.map { "\(prefix).\($0)" }
                }
            }
        }
        return (targets, problems)
    }
}
