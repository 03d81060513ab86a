public import CausewayCore
public import Foundation

/// What an agreement must satisfy beyond valid proofs: who may sign which role, and limits.
///
/// The default policy asks that every role in the agreement's `parties` carries a valid proof
/// from that party's own DID or from an agent it delegated to. A partner's configuration
/// narrows it: the roles that must be present, the DIDs that speak for each, and limits.
public struct VerificationPolicy: Sendable {
    /// Role → the DIDs that may hold it. `nil` accepts whatever DID the document names.
    public var roles: [String: [String]]?
    /// The largest acceptable `total`, in the agreement's currency.
    public var maxTotal: Decimal?
    /// Acceptable ISO 4217 currencies; `nil` accepts any.
    public var currencies: [String]?
    /// Acceptable agreement types; `nil` accepts any type this gateway knows.
    public var agreementTypes: [String]?
    /// Which key states of a KERI signer's AID are accepted: latest-only (the default) or
    /// historical (older establishment events with the agreement's digest anchored in the KEL).
    public var keri: KERIKeyStatePolicy
    /// Roles whose signature may be missing without a `party.unsigned` finding: they are simply not
    /// among the report's signers. Intake sets them for changes and cancellations, whose signers the
    /// partner's policy decides after verification (`changes:` and `cancellations:` in partner.yaml).
    public var optionalSigners: [String] = []

    public init(roles: [String: [String]]? = nil, maxTotal: Decimal? = nil, currencies: [String]? = nil,
                agreementTypes: [String]? = nil, keri: KERIKeyStatePolicy = .latestOnly) {
        self.roles = roles
        self.maxTotal = maxTotal
        self.currencies = currencies
        self.agreementTypes = agreementTypes
        self.keri = keri
    }

    /// The policy for this agreement: for a change or cancellation every role becomes optional to
    /// the verifier — the partner's `changes:` / `cancellations:` rules decide with the verified
    /// signers afterwards (intake; `PartnerRevisionPolicy`). Any other agreement: this policy.
    public func applying(to agreement: Agreement) -> VerificationPolicy {
        guard AgreementRevision.kind(ofType: agreement.type) != nil else { return self }
        var policy = self
        policy.optionalSigners = (roles?.keys.sorted() ?? []) + agreement.parties.map(\.role)
        return policy
    }

    /// Parties must sign; no partner limits.
    public static let `default` = VerificationPolicy()
}
