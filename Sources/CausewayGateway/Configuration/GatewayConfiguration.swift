public import CausewayTrust
public import Foundation

/// Everything `causeway serve` needs, typed. Built at the edge (the CLI reads `causeway.yaml` and
/// the environment) and passed in; nothing deeper reads files or the environment.
public struct GatewayConfiguration: Sendable {
    /// Where the HTTP API listens. Default `127.0.0.1:8080`.
    public var host: String = "127.0.0.1"
    public var port: Int = 8080
    /// The store. Default `sqlite:causeway.sqlite`.
    public var store: StoreLocation = .sqlite(path: "causeway.sqlite")
    /// The gateway's key file (`causeway keys new`): it signs receipts. Required.
    public var identity: String = ""
    /// The folder of partner folders. Default `Mappings`.
    public var partners: String = "Mappings"
    /// Named legacy targets.
    public var targets: [String: TargetConfiguration] = [:]
    /// API tokens and their roles.
    public var tokens: [TokenConfiguration] = []
    /// The ledger's origin, unique per deployment. Default `causeway.local`.
    public var ledgerOrigin: String = "causeway.local"
    /// The shortest time between two signed checkpoints while the ledger grows, in seconds
    /// (`ledger.checkpoint_interval_seconds`). Default 2.
    public var checkpointIntervalSeconds: Double = 2
    /// The checkpoint file kept outside the store (`ledger.checkpoint_file`); nil: beside the
    /// SQLite file (`<file>.checkpoint`), or `causeway-checkpoint` in the working directory for PostgreSQL.
    public var checkpointFile: String?
    /// Largest accepted agreement in bytes. Default 1 MiB.
    public var maxBytes: Int = 1 << 20
    /// Delivery tuning.
    public var delivery: DeliverySettings = .init()
    /// Seconds between scheduled reconciliations inside `serve`; 0 turns them off. Default 3600.
    public var reconcileIntervalSeconds: Int = 3600
    /// The HTTP edge: timeouts, connection and concurrency limits, sign-in throttling (`http:`).
    public var http: EdgeSettings = .init()
    /// TLS on the listener (`http.tls:`; GatewayConfiguration+TLS.swift). Nil: plain HTTP.
    public var listenerTLS: ListenerTLSSettings?
    /// Bounds on the work verifying one agreement may cause, and the tolerated clock skew
    /// (`intake:` keys beside `max_bytes`; Docs/security.md).
    public var verification: VerificationLimits = .default
    /// The logs this gateway witnesses (C2SP tlog-witness; the `witness:` section). None by default.
    public var witness: WitnessSettings = .init()
    /// KERI signers' key state and the gateway's own AID (the `keri:` section).
    public var keri: KERISettings = .init()
    /// OpenTelemetry tracing (`tracing:`; GatewayConfiguration+Observability.swift). Nil: off.
    public var tracing: TracingSettings?
    /// The log's format and level (the `logging:` section; Docs/operations.md, "Logs").
    public var logging: LoggingSettings = .init()
    /// Retention of finished agreements (the `retention:` section; GatewayConfiguration+Retention.swift). Nil: off.
    public var retention: RetentionSettings?
    /// What `/readyz` checks besides the store (the `readiness:` section; GatewayConfiguration+Readiness.swift).
    public var readiness: ReadinessSettings = .init()

    public init() {}

    /// Where agreements, the outbox and the ledger live.
    public enum StoreLocation: Sendable, Hashable, CustomStringConvertible {
        /// One SQLite file (the embedded default).
        case sqlite(path: String)
        /// A PostgreSQL database shared by several instances; the password, if any, is a secret reference.
        case postgres(url: String, password: SecretReference?)

        public var description: String {
            switch self {
            case .sqlite(let path): "sqlite:\(path)"
            case .postgres(let url, _): url
            }
        }
    }

    /// One named target: an adapter kind and its settings (validated by the adapter's schema).
    public struct TargetConfiguration: Sendable, Hashable {
        public var adapter: String
        /// Settings as written (secrets still as `env:`/`file:` references).
        public var settings: [String: String]

        public init(adapter: String, settings: [String: String]) {
            self.adapter = adapter
            self.settings = settings
        }
    }

    /// An API token: viewers read, operators also act (retry).
    public struct TokenConfiguration: Sendable, Hashable {
        public enum Role: String, Sendable, Hashable, CaseIterable {
            case viewer, `operator`
        }

        public var name: String
        public var role: Role
        public var secret: SecretReference

        public init(name: String, role: Role, secret: SecretReference) {
            self.name = name
            self.role = role
            self.secret = secret
        }
    }

    /// Delivery workers and retries.
    public struct DeliverySettings: Sendable, Hashable {
        /// Claim-and-deliver loops per instance, each with its own batch. Default 4.
        public var workers: Int = 4
        /// Concurrent deliveries per partner, per loop. Default 4.
        public var partnerConcurrency: Int = 4
        /// Attempts before dead letter. Default 8.
        public var maxAttempts: Int = 8
        /// Claim lease in milliseconds. Default 60 000.
        public var leaseMilliseconds: Int64 = 60_000

        public init() {}
    }
}

extension GatewayConfiguration {
    /// Limits of the HTTP edge (the `http:` section of `causeway.yaml`; Docs/security.md). Every
    /// default is safe for a gateway facing the internet behind no proxy.
    public struct EdgeSettings: Sendable, Hashable {
        /// Open connections at once; a connection over the limit is answered 503 with `Retry-After`
        /// and closed. Default 512 (`serve` raises its open-file limit to fit).
        public var maxConnections: Int = 512
        /// Seconds a client has to send a complete request head, from connecting or from the end of
        /// the previous response. Default 10.
        public var headerTimeoutSeconds: Int = 10
        /// Seconds a client has to send a whole request body once its head arrived. Default 30.
        public var bodyTimeoutSeconds: Int = 30
        /// Seconds an idle keep-alive connection stays open. Default 60.
        public var idleTimeoutSeconds: Int = 60
        /// Agreements verified and stored at once; more are answered 503 with `Retry-After`. Default 64.
        public var maxInFlightIntake: Int = 64
        /// Bytes of an over-limit body read and discarded before the 413 answer (so that a client
        /// that writes its whole body first can read the answer; RFC 9112 §9.6). Default 4 MiB.
        public var drainBytes: Int = 4 << 20
        /// Failed sign-ins and bearer tokens one address may make per minute before 429. Default 10.
        public var authFailuresPerAddress: Int = 10
        /// Failed sign-ins and bearer tokens from all addresses per minute before 429 for everyone
        /// presenting credentials. Default 100.
        public var authFailuresGlobal: Int = 100
        /// Live-update streams one dashboard session may hold open. Default 16: a closed page's
        /// stream is noticed at its next keep-alive write (within 3 s), so quick navigation briefly
        /// holds a few.
        public var streamsPerSession: Int = 16

        public init() {}
    }

    /// The shortest API token `serve` and `config check` accept, in bytes.
    public static let minimumTokenBytes = 32
}

/// A secret named, never written: `env:NAME` or `file:PATH`.
public enum SecretReference: Sendable, Hashable, CustomStringConvertible {
    case environment(String)
    case file(String)

    /// Parses `env:NAME` / `file:PATH`; anything else is refused (secrets never sit in files).
    public init?(_ text: String) {
        if text.hasPrefix("env:"), text.count > 4 {
            self = .environment(String(text.dropFirst(4)))
        } else if text.hasPrefix("file:"), text.count > 5 {
            self = .file(String(text.dropFirst(5)))
        } else {
            return nil
        }
    }

    /// How it is written; safe to print (it names the secret, not its value).
    public var description: String {
        switch self {
        case .environment(let name): "env:\(name)"
        case .file(let path): "file:\(path)"
        }
    }

    /// The secret's value (trailing newline of a file removed).
    public func resolve(environment: [String: String] = ProcessInfo.processInfo.environment) throws(SecretError) -> String {
        switch self {
        case .environment(let name):
            guard let value = environment[name], !value.isEmpty else { throw SecretError(message: "environment variable \(name) is not set") }
            return value
        case .file(let path):
            guard let data = FileManager.default.contents(atPath: path) else { throw SecretError(message: "cannot read the secret file \(path)") }
            var value = String(decoding: data, as: UTF8.self)
            while value.hasSuffix("\n") || value.hasSuffix("\r") { value.removeLast() }
            guard !value.isEmpty else { throw SecretError(message: "the secret file \(path) is empty") }
            return value
        }
    }
}

/// A secret reference that cannot be resolved (the message names the reference, never a value).
public struct SecretError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
