extension GatewayConfiguration {
    /// The gateway as a C2SP `tlog-witness` for other logs (the `witness:` section of
    /// `causeway.yaml`; Docs/ledger.md, Witnesses). With no `logs`, `POST /witness/add-checkpoint`
    /// answers 404 for every origin.
    ///
    /// ```yaml
    /// witness:
    ///   name: erp.acme.example/witness       # the key name of its cosignatures; default: ledger.origin
    ///   state: /var/lib/causeway/witness     # default: beside a SQLite store (<store>.witness)
    ///   logs:
    ///     - origin: seller.example/causeway
    ///       key: seller.example/causeway+1c2d3e4f+AcZ…   # the log's vkey, or its did:key
    /// ```
    public struct WitnessSettings: Sendable, Hashable {
        /// The key name in the cosignature lines this gateway signs. Nil: the ledger origin.
        public var name: String?
        /// The folder of the witness's state: the last checkpoint cosigned per log, and the
        /// cosignatures this gateway collected for its own checkpoints. Nil: beside the store.
        public var state: String?
        /// The logs this gateway cosigns for.
        public var logs: [WitnessedLog] = []

        public init() {}
    }

    /// One log the gateway witnesses: its origin line and the key its checkpoints are signed with.
    public struct WitnessedLog: Sendable, Hashable {
        /// The checkpoint origin, exactly as its first line.
        public var origin: String
        /// A C2SP vkey (`name+hex key id+base64(0x01 ‖ key)`) or a `did:key` (whose key signs with
        /// the origin as key name, as Causeway gateways do).
        public var key: String

        public init(origin: String, key: String) {
            self.origin = origin
            self.key = key
        }
    }

    /// The witness state folder in effect: `witness.state`, or `<path>.witness` beside a SQLite
    /// store, or `causeway-witness` in the working directory for PostgreSQL.
    public var witnessStateDirectory: String {
        if let state = witness.state { return state }
        switch store {
        case .sqlite(let path): return path + ".witness"
        case .postgres: return "causeway-witness"
        }
    }

    /// The key name of this gateway's cosignatures.
    public var witnessName: String { witness.name ?? ledgerOrigin }
}
