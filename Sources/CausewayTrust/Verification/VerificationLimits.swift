public import CausewayCore

/// Bounds on the work one verification may do, and the clock skew it tolerates.
///
/// Everything in an agreement that multiplies work — proofs, `previousProof` references,
/// delegation credentials, parties, `@context` — is counted before any signature is checked, and
/// an input over a limit is refused early with a finding that names the limit and the path.
/// With the defaults, verifying any body of up to 1 MiB does at most a few hundred signature
/// checks and a few dozen hashes of the body (issue 11, finding 1).
///
/// ```swift
/// var limits = VerificationLimits.default
/// limits.clockSkewSeconds = 60
/// let verifier = AgreementVerifier(policy: policy, limits: limits, now: receivedAt)
/// ```
public struct VerificationLimits: Sendable, Hashable {
    /// Most proofs in an agreement's (or credential's) `proof` member. Default 16.
    /// Over it: `proof.too_many` at `$['proof']`, and no proof is checked.
    public var maxProofs: Int
    /// Most ids in one proof's `previousProof`. Default 16.
    /// Over it: `proof.previous_too_many`; each id must also name another proof of the
    /// document, once, without forming a cycle (`proof.previous_invalid`, `proof.previous_proof_missing`).
    public var maxPreviousProofs: Int
    /// Most delegation credentials attached to one agreement (in proofs' `delegation` members and
    /// the `delegations` array together). Default 16. Over it: `delegation.too_many`, none is used.
    public var maxDelegations: Int
    /// Most proofs checked inside one delegation credential; only its issuer's proofs count.
    /// Default 4. Over it: `delegation.too_many_proofs`.
    public var maxDelegationProofs: Int
    /// Most roles in `parties`. Default 16. Over it: `party.too_many`, and no role is checked.
    public var maxParties: Int
    /// Most entries in an `@context` (document's or a proof's). Default 16.
    /// Over it (or over ``maxContextBytes``): `proof.context_too_large`.
    public var maxContextEntries: Int
    /// Largest canonical (JCS) size of an `@context`, in bytes. Default 8192.
    public var maxContextBytes: Int
    /// Most findings a report lists; the rest are counted in `VerificationReport.omittedFindings`
    /// and summarised by one `verification.findings_truncated` finding. Default 50.
    public var maxFindings: Int
    /// Clock skew tolerated between signers and this gateway, in seconds. Default 300 (5 minutes).
    /// A proof's `created` and the agreement's `issued` may lie at most this far after the
    /// verification time; a proof's `expires` and a delegation's `validUntil` may lie at most this
    /// far before it; a delegation's `validFrom` at most this far after it.
    public var clockSkewSeconds: Int

    public init(maxProofs: Int = 16, maxPreviousProofs: Int = 16, maxDelegations: Int = 16, maxDelegationProofs: Int = 4,
                maxParties: Int = 16, maxContextEntries: Int = 16, maxContextBytes: Int = 8192, maxFindings: Int = 50,
                clockSkewSeconds: Int = 300)
    {
        self.maxProofs = maxProofs
        self.maxPreviousProofs = maxPreviousProofs
        self.maxDelegations = maxDelegations
        self.maxDelegationProofs = maxDelegationProofs
        self.maxParties = maxParties
        self.maxContextEntries = maxContextEntries
        self.maxContextBytes = maxContextBytes
        self.maxFindings = maxFindings
        self.clockSkewSeconds = clockSkewSeconds
    }

    /// The safe defaults listed on each field.
    public static let `default` = VerificationLimits()
}

/// The instant against which validity windows are judged, with the tolerated skew.
struct VerificationClock: Sendable {
    /// The gateway's time when the agreement was received.
    let now: Timestamp
    let skewSeconds: Int64

    init(now: Timestamp, skewSeconds: Int) {
        self.now = now
        self.skewSeconds = Int64(max(0, skewSeconds))
    }

    /// Whether `time` lies more than the skew after now.
    func isFuture(_ time: Timestamp) -> Bool { time.epochSeconds > now.epochSeconds + skewSeconds
        || (time.epochSeconds == now.epochSeconds + skewSeconds && time.nanoseconds > now.nanoseconds) }

    /// Whether `time` lies more than the skew before now.
    func isPast(_ time: Timestamp) -> Bool { time.epochSeconds < now.epochSeconds - skewSeconds
        || (time.epochSeconds == now.epochSeconds - skewSeconds && time.nanoseconds < now.nanoseconds) }

    /// The tolerance, for messages.
    var skewText: String { "allowing \(skewSeconds) s of clock skew" }
}

/// Work done by one verification, counted so that tests and the fuzz target can bound it
/// without timing.
@_spi(Testing) public struct VerificationWork: Sendable, Hashable {
    /// Ed25519 signature checks performed (agreement and credential proofs).
    public var signatureChecks = 0
    /// SHA-256 hashes over a whole (form of a) document body, the agreement's or a credential's.
    public var documentHashes = 0
    /// Bytes fed to those hashes.
    public var hashedBytes = 0
    /// Delegation credentials read (parsed, signature checked): at most once each.
    public var credentialsRead = 0
    /// Scope checks of a credential against a party.
    public var scopeChecks = 0

    public init() {}
}

extension FindingCode {
    // MARK: Limits (issue 11, finding 1)
    /// More proofs than ``VerificationLimits/maxProofs``.
    public static let proofTooMany: FindingCode = "proof.too_many"
    /// A `previousProof` with more ids than ``VerificationLimits/maxPreviousProofs``.
    public static let proofPreviousTooMany: FindingCode = "proof.previous_too_many"
    /// A `previousProof` names the same id twice, its own proof, or forms a cycle.
    public static let proofPreviousInvalid: FindingCode = "proof.previous_invalid"
    /// An `@context` over ``VerificationLimits/maxContextEntries`` or ``VerificationLimits/maxContextBytes``.
    public static let proofContextTooLarge: FindingCode = "proof.context_too_large"
    /// More delegation credentials than ``VerificationLimits/maxDelegations``.
    public static let delegationTooMany: FindingCode = "delegation.too_many"
    /// A credential with more proofs than ``VerificationLimits/maxDelegationProofs``.
    public static let delegationTooManyProofs: FindingCode = "delegation.too_many_proofs"
    /// More roles than ``VerificationLimits/maxParties``.
    public static let partyTooMany: FindingCode = "party.too_many"
    /// The report lists only the first ``VerificationLimits/maxFindings`` findings.
    public static let verificationFindingsTruncated: FindingCode = "verification.findings_truncated"

    // MARK: Keys and signatures (finding 7)
    /// The `did:key` holds a small-order or non-canonically encoded Ed25519 key.
    public static let didKeyWeak: FindingCode = "did.key_weak"
    /// The signature's R is small-order or non-canonical, or its S is not below the group order.
    public static let proofSignatureNoncanonical: FindingCode = "proof.signature_noncanonical"

    // MARK: Time (finding 8)
    /// A proof's `created` lies after the gateway's clock (plus skew).
    public static let proofCreatedInFuture: FindingCode = "proof.created_in_future"
    /// A proof's `expires` has passed by the gateway's clock (minus skew).
    public static let proofExpired: FindingCode = "proof.expired"
    /// The agreement's `issued` lies after the gateway's clock (plus skew).
    public static let agreementIssuedInFuture: FindingCode = "agreement.issued_in_future"
}
