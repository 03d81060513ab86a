/// One thing a check found, with a stable code and a message that names the field.
///
/// Verification, policy checks and mapping all report findings rather than throwing on the
/// first problem, so that a user sees everything that is wrong at once. Messages describe the
/// problem without echoing payload values beyond identifiers the user must act on.
public struct Finding: Sendable, Hashable, CustomStringConvertible {
    /// How much a finding matters.
    public enum Severity: String, Sendable, Hashable, Comparable {
        /// The document is not acceptable.
        case error
        /// Worth knowing; does not change the outcome.
        case warning

        public static func < (lhs: Severity, rhs: Severity) -> Bool { lhs == .warning && rhs == .error }
    }

    /// A stable, dotted code such as `proof.signature_invalid`; see ``FindingCode``.
    public let code: FindingCode
    public let severity: Severity
    /// What is wrong and how to fix it, naming the field.
    public let message: String
    /// Where in the document, as an RFC 9535 normalized path (`$['lines'][1]['quantity']`), when known.
    public let path: String?

    public init(_ code: FindingCode, _ message: String, path: String? = nil, severity: Severity = .error) {
        self.code = code
        self.message = message
        self.path = path
        self.severity = severity
    }

    public var description: String {
        let location = path.map { " at \($0)" } ?? ""
        return "\(severity): \(code)\(location): \(message)"
    }
}

/// A stable finding code. The set grows; callers compare against the static members.
public struct FindingCode: Sendable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral {
    public let rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }
    public var description: String { rawValue }

    // MARK: Proofs
    /// The document has no `proof` member.
    public static let proofMissing: FindingCode = "proof.missing"
    /// A proof lacks a required member or has one of the wrong type.
    public static let proofMalformed: FindingCode = "proof.malformed"
    /// The proof uses a cryptosuite this gateway does not verify; not evidence of forgery.
    public static let proofUnsupportedCryptosuite: FindingCode = "proof.unsupported_cryptosuite"
    /// The signature does not match the document and proof options.
    public static let proofSignatureInvalid: FindingCode = "proof.signature_invalid"
    /// The verification method is not a usable Ed25519 `did:key` URL.
    public static let proofVerificationMethodInvalid: FindingCode = "proof.verification_method_invalid"
    /// The proof purpose is not `assertionMethod`.
    public static let proofPurposeInvalid: FindingCode = "proof.purpose_invalid"
    /// The proof's `@context` is not a prefix of the document's `@context`.
    public static let proofContextMismatch: FindingCode = "proof.context_mismatch"
    /// A `previousProof` names a proof id that the document does not hold.
    public static let proofPreviousMissing: FindingCode = "proof.previous_proof_missing"
    /// Two proofs carry the same `id`.
    public static let proofDuplicateID: FindingCode = "proof.duplicate_id"

    // MARK: Parties
    /// A role in `parties` has no valid proof from its DID or a delegated agent.
    public static let partyUnsigned: FindingCode = "party.unsigned"
    /// A party has no usable `id`.
    public static let partyInvalid: FindingCode = "party.invalid"
    /// The role's DID is not one the partner configuration lists for that role.
    public static let partyNotAuthorized: FindingCode = "party.not_authorized"
    /// A role the partner configuration requires is absent from `parties`.
    public static let partyRoleMissing: FindingCode = "party.role_missing"

    // MARK: Agreement content
    /// The document is not a JSON object or lacks a required member.
    public static let agreementFieldMissing: FindingCode = "agreement.field_missing"
    /// A member has the wrong type or an invalid value.
    public static let agreementFieldInvalid: FindingCode = "agreement.field_invalid"
    /// Money or a quantity is not a decimal string.
    public static let agreementDecimalInvalid: FindingCode = "agreement.decimal_invalid"
    /// `currency` is not an ISO 4217 code.
    public static let agreementCurrencyInvalid: FindingCode = "agreement.currency_invalid"
    /// A timestamp is not RFC 3339.
    public static let agreementTimestampInvalid: FindingCode = "agreement.timestamp_invalid"
    /// `total` differs from the sum of quantity × unit price over the lines.
    public static let agreementTotalMismatch: FindingCode = "agreement.total_mismatch"
    /// The `type` is not one this gateway knows.
    public static let agreementTypeUnsupported: FindingCode = "agreement.type_unsupported"

    // MARK: Delegation
    /// The delegation credential is malformed.
    public static let delegationMalformed: FindingCode = "delegation.malformed"
    /// The credential's signature does not verify, or it was not signed by its issuer.
    public static let delegationSignatureInvalid: FindingCode = "delegation.signature_invalid"
    /// The credential was issued by someone other than the party it would speak for.
    public static let delegationWrongIssuer: FindingCode = "delegation.wrong_issuer"
    /// The agreement falls outside the credential's scope (amount, currency, counterparty, type, role).
    public static let delegationOutOfScope: FindingCode = "delegation.out_of_scope"
    /// The credential's validity ended before the agreement was issued.
    public static let delegationExpired: FindingCode = "delegation.expired"
    /// The credential's validity starts after the agreement was issued.
    public static let delegationNotYetValid: FindingCode = "delegation.not_yet_valid"

    // MARK: Policy (partner configuration)
    /// The agreement's total is over the partner's limit.
    public static let policyLimitExceeded: FindingCode = "policy.limit_exceeded"
    /// The currency is not among the partner's currencies.
    public static let policyCurrencyNotAllowed: FindingCode = "policy.currency_not_allowed"
    /// The agreement type is not one the partner accepts.
    public static let policyTypeNotAllowed: FindingCode = "policy.type_not_allowed"
    /// A change or cancellation is signed by fewer roles than the partner's policy asks for.
    public static let policyRevisionSignersMissing: FindingCode = "policy.revision_signers_missing"
    /// A change or cancellation arrives after the partner's cut-off (days before delivery).
    public static let policyRevisionTooLate: FindingCode = "policy.revision_too_late"
    /// A change's new total is over the partner's limit for changes.
    public static let policyRevisionLimitExceeded: FindingCode = "policy.revision_limit_exceeded"
    /// A change or cancellation names different parties than the agreement it amends.
    public static let revisionPartiesChanged: FindingCode = "revision.parties_changed"
}
