public import AdapterKit
import Foundation
import PostgresAdapter
import SQLiteAdapter

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

    public let descriptor: AdapterDescriptor
    /// Builds a target's adapter. `settings` passed the descriptor's schema; `secrets` holds the
    /// resolved value of every setting of type `secret` that the target sets (never logged).
    public let make: @Sendable (_ target: String, _ settings: AdapterSettings, _ secrets: [String: String]) throws(AdapterConfigurationError) -> Built

    public init(descriptor: AdapterDescriptor,
                make: @escaping @Sendable (_ target: String, _ settings: AdapterSettings, _ secrets: [String: String]) throws(AdapterConfigurationError) -> Built) {
        self.descriptor = descriptor
        self.make = make
    }
}

/// The adapter kinds compiled into this gateway, registered explicitly by kind.
public enum AdapterRegistry {
    public static let builtIn: [AdapterRegistration] = [
        AdapterRegistration(descriptor: PostgresRowsAdapter.descriptor) { _, settings, secrets throws(AdapterConfigurationError) in
            let adapter = try PostgresRowsAdapter(settings: settings, password: secrets["password"])
            return .init(adapter: adapter, run: { await adapter.run() })
        },
        AdapterRegistration(descriptor: SQLiteRowsAdapter.descriptor) { _, settings, _ throws(AdapterConfigurationError) in
            .init(adapter: try SQLiteRowsAdapter(settings: settings))
        },
    ]

    /// The registration for `kind`, if compiled in.
    public static func registration(kind: String) -> AdapterRegistration? { builtIn.first { $0.descriptor.kind == kind } }

    /// Every kind, for error messages.
    public static var kinds: [String] { builtIn.map(\.descriptor.kind) }
}
