/// Why a KERI stream, key event log or proof is refused.
///
/// Every refusal has a stable ``Code`` (for tests, metrics and the dashboard), a message that names
/// the field and what is wrong, and, when it happened inside an event, that event's sequence number.
/// Messages never echo payload bytes; they may quote identifiers, codes and digests.
public struct KERIError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The reason, stable across versions. New codes may be added.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        public let rawValue: String
        init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        // Framing and encoding.
        /// The stream is not CESR v1 text as this verifier reads it (unexpected byte, bad count code, bad base64).
        public static let malformedStream = Code("keri.stream.malformed")
        /// The stream ends inside an event, a counter or a primitive.
        public static let truncated = Code("keri.stream.truncated")
        /// The version string is not `KERI10JSON…_` at offset 6 (CESR/KERI 2, CBOR, MessagePack, ACDC…).
        public static let unsupportedVersion = Code("keri.version.unsupported")
        /// The version string's size does not frame a JSON event.
        public static let badVersionSize = Code("keri.version.size")
        /// A primitive or count code outside the supported subset.
        public static let unsupportedCode = Code("keri.code.unsupported")
        /// A key or signature type other than Ed25519 (Ed448, ECDSA, X25519…).
        public static let unsupportedKeyType = Code("keri.key_type.unsupported")
        /// A digest other than Blake3-256 (`E`).
        public static let unsupportedDigest = Code("keri.digest.unsupported")
        /// Witnesses, witness signatures or receipts (`bt` > 0, `b`/`br`/`ba`, `-B`/`-C`/`-D`).
        public static let witnessesUnsupported = Code("keri.witnesses.unsupported")
        /// Delegated events or delegation seals (`dip`, `drt`, `-G`).
        public static let delegationUnsupported = Code("keri.delegation.unsupported")
        /// Weighted (fractional) thresholds in `kt` or `nt`.
        public static let weightedThresholdUnsupported = Code("keri.threshold.weighted_unsupported")
        /// A basic (`D`) or non-transferable (`B`) prefix instead of a self-addressing `E` prefix.
        public static let basicPrefixUnsupported = Code("keri.prefix.basic_unsupported")
        /// An event type other than `icp`, `rot` and `ixn`.
        public static let unsupportedIlk = Code("keri.ilk.unsupported")
        /// A configuration trait other than `EO` and `DND`.
        public static let unsupportedTrait = Code("keri.config.unsupported_trait")
        /// A limit of ``KERILimits`` was exceeded.
        public static let limitExceeded = Code("keri.limit.exceeded")

        // Event bodies.
        /// The event body is not strict JSON (syntax, duplicate member, bad UTF-8).
        public static let invalidJSON = Code("keri.event.json")
        /// The fields are not exactly those of the event type, in order.
        public static let fieldList = Code("keri.event.fields")
        /// The body is not the compact canonical serialization keripy signs.
        public static let nonCanonical = Code("keri.event.non_canonical")
        /// A field has the wrong type or form (hex number, qb64 primitive, list).
        public static let invalidField = Code("keri.event.field")
        /// `d` is not the Blake3-256 SAID of the event.
        public static let saidMismatch = Code("keri.event.said_mismatch")
        /// The inception's `i` is not its SAID, or a later event's `i` is not the KEL's prefix.
        public static let prefixMismatch = Code("keri.event.prefix_mismatch")
        /// A threshold outside 1…count (or a key list that repeats a key or digest).
        public static let thresholdOutOfRange = Code("keri.event.threshold")
        /// A key is a small-order point or not canonically encoded.
        public static let weakKey = Code("keri.key.weak")

        // The key event log.
        /// The stream holds no event.
        public static let emptyLog = Code("keri.kel.empty")
        /// The first event is not an inception, or an inception appears later.
        public static let notInception = Code("keri.kel.not_inception")
        /// `s` is not the previous sequence number plus one (a gap or a reorder).
        public static let sequenceGap = Code("keri.kel.sequence")
        /// Two different events at one sequence number (duplicity).
        public static let duplicity = Code("keri.kel.duplicity")
        /// `p` is not the SAID of the preceding event.
        public static let priorMismatch = Code("keri.kel.prior_mismatch")
        /// An attached signature does not verify, or its index is out of range.
        public static let invalidSignature = Code("keri.signature.invalid")
        /// Fewer distinct verified key indices than the signing threshold `kt`.
        public static let signingThresholdNotMet = Code("keri.signature.threshold")
        /// The rotation's keys do not expose enough of the prior next-key digests (pre-rotation violated).
        public static let preRotationViolated = Code("keri.rotation.uncommitted_keys")
        /// A rotation after an inception or rotation with no next keys (the AID is abandoned).
        public static let abandoned = Code("keri.rotation.abandoned")
        /// An interaction event in an establishment-only (`EO`) KEL.
        public static let establishmentOnly = Code("keri.ixn.establishment_only")

        // Proofs.
        /// The proof is not one `-F` group of prefix, sequence number, SAID and `-A` signatures.
        public static let malformedProof = Code("keri.proof.malformed")
        /// The proof names another AID than the KEL's.
        public static let aidMismatch = Code("keri.proof.aid_mismatch")
        /// The proof's (sn, SAID) is not an event of the KEL.
        public static let unknownEvent = Code("keri.proof.unknown_event")
        /// The proof's event is an interaction, which has no keys.
        public static let notEstablishment = Code("keri.proof.not_establishment")
        /// Latest-only policy: the proof's establishment event is not the latest one.
        public static let staleKeyState = Code("keri.proof.stale_key_state")
        /// Historical policy: an older key state without evidence (anchor or first-seen record).
        public static let noHistoricalEvidence = Code("keri.proof.no_historical_evidence")
    }

    public let code: Code
    public let message: String
    /// The sequence number of the event the error is about, when there is one.
    public let sn: UInt64?

    public init(_ code: Code, _ message: String, sn: UInt64? = nil) {
        self.code = code
        self.message = message
        self.sn = sn
    }

    /// The same error, placed at an event.
    func at(sn: UInt64) -> KERIError { self.sn == nil ? KERIError(code, message, sn: sn) : self }

    public var description: String {
        if let sn { return "event sn \(sn): \(message) (\(code))" }
        return "\(message) (\(code))"
    }
}

/// Bounds on the work one KERI input can cause. The defaults are far above what a single-controller,
/// witness-less AID produces (an event of a 1-key AID is under 400 bytes).
public struct KERILimits: Sendable, Hashable {
    /// Largest stream (KEL or proof) in bytes. Default 1 MiB.
    public var maxStreamBytes: Int
    /// Largest event body in bytes (its version string size). Default 16 KiB.
    public var maxEventBytes: Int
    /// Most events in one KEL. Default 1000.
    public var maxEvents: Int
    /// Most attached signatures per event or proof group. Default 64.
    public var maxSignaturesPerEvent: Int
    /// Most keys (`k`) and next-key digests (`n`) per establishment event. Default 32.
    public var maxKeysPerEvent: Int
    /// Deepest nesting of `-V`/`-0V` attachment groups. Default 4.
    public var maxGroupDepth: Int

    public init(maxStreamBytes: Int = 1 << 20, maxEventBytes: Int = 16 * 1024, maxEvents: Int = 1000,
                maxSignaturesPerEvent: Int = 64, maxKeysPerEvent: Int = 32, maxGroupDepth: Int = 4) {
        self.maxStreamBytes = maxStreamBytes
        self.maxEventBytes = maxEventBytes
        self.maxEvents = maxEvents
        self.maxSignaturesPerEvent = maxSignaturesPerEvent
        self.maxKeysPerEvent = maxKeysPerEvent
        self.maxGroupDepth = maxGroupDepth
    }

    public static let `default` = KERILimits()
}
