public import CausewayCore
public import Foundation

/// A credential by which an organisation lets an agent sign agreements for it, within a scope.
///
/// ```json
/// {"type": "DelegationCredential", "v": 1, "id": "urn:uuid:…",
///  "issuer": "did:key:z6Mk…org", "agent": "did:key:z6Mk…agent",
///  "validFrom": "2026-01-01T00:00:00Z", "validUntil": "2027-01-01T00:00:00Z",
///  "scope": {"roles": ["seller"], "agreementTypes": ["PurchaseAgreement"],
///            "counterparties": ["did:key:z6Mk…buyer"],
///            "maxTotal": {"amount": "50000.00", "currency": "EUR"}},
///  "proof": {… eddsa-jcs-2022 by the issuer …}}
/// ```
///
/// An agent's proof counts for a role only when such a credential, issued and signed by the
/// role's DID, is attached (inside the agent's proof as `delegation`, or in the agreement's
/// `delegations` array) and the agreement lies within its scope.
public struct DelegationCredential: Sendable {
    public static let typeName = "DelegationCredential"

    public let document: JSONObject
    public let id: String?
    public let issuer: String
    public let agent: String
    public let validFrom: Timestamp?
    public let validUntil: Timestamp?
    public let roles: [String]?
    public let agreementTypes: [String]?
    public let counterparties: [String]?
    /// ``counterparties``, for exact look-ups.
    let counterpartySet: Set<ExactKey>?
    public let maxTotal: (amount: Decimal, currency: String)?
    /// `sha256:` of JCS of the whole credential, proof included.
    public let digest: ContentDigest

    /// Reads a credential's structure; signature and scope are checked by ``check(for:role:issued:agreementType:total:currency:counterparties:path:now:limits:)``.
    public init(_ document: JSONObject, path: String) throws(DelegationReadError) {
        func fail(_ message: String, _ field: String? = nil) -> DelegationReadError {
            DelegationReadError(message: message, path: field.map { path + "['\($0)']" } ?? path)
        }
        guard document["type"]?.stringValue == DelegationCredential.typeName else {
            throw fail("a delegation credential must have \"type\": \"DelegationCredential\"", "type")
        }
        guard let issuer = document["issuer"]?.stringValue else { throw fail("'issuer' must be the organisation's DID", "issuer") }
        guard let agent = document["agent"]?.stringValue else { throw fail("'agent' must be the agent's DID", "agent") }
        func time(_ key: String) throws(DelegationReadError) -> Timestamp? {
            guard let value = document[key] else { return nil }
            guard let text = value.stringValue, let timestamp = Timestamp(rfc3339: text) else {
                throw fail("'\(key)' must be an RFC 3339 date-time", key)
            }
            return timestamp
        }
        func strings(_ value: JSONValue?, _ key: String) throws(DelegationReadError) -> [String]? {
            guard let value else { return nil }
            guard let array = value.arrayValue, array.allSatisfy({ $0.stringValue != nil }) else {
                throw fail("'scope.\(key)' must be an array of strings", "scope")
            }
            return array.compactMap(\.stringValue)
        }
        let scope = document["scope"]?.objectValue ?? JSONObject()
        if let value = document["scope"], value.objectValue == nil { throw fail("'scope' must be an object", "scope") }
        self.document = document
        id = document["id"]?.stringValue
        self.issuer = issuer
        self.agent = agent
        validFrom = try time("validFrom")
        validUntil = try time("validUntil")
        roles = try strings(scope["roles"], "roles")
        agreementTypes = try strings(scope["agreementTypes"], "agreementTypes")
        counterparties = try strings(scope["counterparties"], "counterparties")
        counterpartySet = counterparties.map { Set($0.map(ExactKey.init)) }
        if let limit = scope["maxTotal"] {
            guard let amountText = limit["amount"]?.stringValue, let amount = DecimalText.parse(amountText),
                let currency = limit["currency"]?.stringValue, CurrencyCode(currency) != nil
            else {
                throw fail("'scope.maxTotal' must be {\"amount\": decimal string, \"currency\": ISO 4217 code}", "scope")
            }
            maxTotal = (amount, currency)
        } else {
            maxTotal = nil
        }
        digest = ContentDigest(of: JCS.canonicalize(.object(document)))
    }

    /// Whether this credential lets its agent speak for `partyDID` in `role` on this agreement.
    /// Returns the findings that stop it; empty means it counts.
    ///
    /// - Parameters:
    ///   - issued: the agreement's `issued`; the credential must cover it.
    ///   - now: the verifier's clock at receipt; the credential must be valid then too (within
    ///     `limits.clockSkewSeconds`). `nil` skips that check (tests of scope alone).
    public func check(for partyDID: String, role: String, issued: Timestamp?, agreementType: String?, total: Decimal?,
                      currency: String?, counterparties others: [String], path: String, now: Timestamp? = nil,
                      limits: VerificationLimits = .default) -> [Finding]
    {
        var work = VerificationWork()
        let clock = now.map { VerificationClock(now: $0, skewSeconds: limits.clockSkewSeconds) }
        return signatureFindings(path: path, limits: limits, clock: clock, work: &work)
            + scopeFindings(for: partyDID, role: role, issued: issued, clock: clock, agreementType: agreementType, total: total,
                            currency: currency, counterparties: others, path: path)
    }

    /// Whether the credential is signed by its issuer and unaltered: empty when it is.
    /// Checked once per credential, whatever the number of parties.
    func signatureFindings(path: String, limits: VerificationLimits, clock: VerificationClock?,
                           work: inout VerificationWork) -> [Finding]
    {
        let count = EddsaJcs2022.proofList(document["proof"]).count
        guard count <= limits.maxDelegationProofs else {
            return [Finding(.delegationTooManyProofs,
                            "the delegation credential has \(count) proofs; at most \(limits.maxDelegationProofs) are accepted (limit maxDelegationProofs)",
                            path: path + "['proof']")]
        }
        var proofLimits = limits
        proofLimits.maxProofs = limits.maxDelegationProofs
        let proofs = EddsaJcs2022.verifyProofs(in: document, canonicalBody: nil, limits: proofLimits, clock: clock, work: &work)
        if proofs.contains(where: { $0.isVerified && ($0.did?.did).isExactly(issuer) }) { return [] }
        // The issuer's proof failed on time (made in the future, expired): say so with its code.
        let timeCodes: [FindingCode] = [.proofCreatedInFuture, .proofExpired]
        for proof in proofs where (proof.did?.did).isExactly(issuer) {
            if let timed = proof.findings.first(where: { timeCodes.contains($0.code) }) {
                let inner = timed.path.map { String($0.dropFirst()) } ?? ""
                return [Finding(timed.code, "the delegation credential's proof: \(timed.message)", path: path + inner)]
            }
        }
        let reason: String
        if proofs.isEmpty {
            reason = "the delegation credential carries no proof"
        } else if proofs.contains(where: { $0.isVerified }) {
            reason = "the delegation credential is signed, but not by its issuer \(issuer)"
        } else {
            reason = "the delegation credential's signature does not verify — it was altered or signed by another key"
        }
        return [Finding(.delegationSignatureInvalid, reason, path: path + "['proof']")]
    }

    /// Issuer, validity and scope of the credential for one party.
    ///
    /// Validity is judged twice (decision 0008): at `issued`, as the agreement claims, and at the
    /// verifier's clock `now`, which the signer cannot choose — so a back-dated agreement cannot
    /// use a delegation that has expired, and one signed while the delegation was valid must reach
    /// the gateway before it expires.
    func scopeFindings(for partyDID: String, role: String, issued: Timestamp?, clock: VerificationClock?, agreementType: String?,
                       total: Decimal?, currency: String?, counterparties others: [String], path: String) -> [Finding]
    {
        var findings: [Finding] = []
        // Issued by the party it would speak for.
        if !issuer.isExactly(partyDID) {
            findings.append(Finding(.delegationWrongIssuer,
                                    "the delegation credential was issued by \(issuer), not by the \(role) party \(partyDID)",
                                    path: path + "['issuer']"))
        }
        // Validity window at the gateway's clock.
        if let clock {
            if let validUntil, clock.isPast(validUntil) {
                findings.append(Finding(.delegationExpired,
                                        "the delegation expired at \(validUntil), before this gateway received the agreement at \(clock.now) (\(clock.skewText))",
                                        path: path + "['validUntil']"))
            }
            if let validFrom, clock.isFuture(validFrom) {
                findings.append(Finding(.delegationNotYetValid,
                                        "the delegation is valid from \(validFrom), after this gateway received the agreement at \(clock.now) (\(clock.skewText))",
                                        path: path + "['validFrom']"))
            }
        }
        // Validity window at the agreement's issue time.
        if let issued {
            if let validUntil, issued > validUntil {
                findings.append(Finding(.delegationExpired,
                                        "the delegation expired at \(validUntil) before the agreement was issued at \(issued)",
                                        path: path + "['validUntil']"))
            }
            if let validFrom, issued < validFrom {
                findings.append(Finding(.delegationNotYetValid,
                                        "the delegation is valid from \(validFrom), after the agreement was issued at \(issued)",
                                        path: path + "['validFrom']"))
            }
        }
        // Scope.
        if let roles, !role.isExactlyOne(of: roles) {
            findings.append(Finding(.delegationOutOfScope, "the delegation covers roles \(roles.joined(separator: ", ")), not '\(role)'",
                                    path: path + "['scope']['roles']"))
        }
        if let agreementTypes {
            if agreementType.map({ $0.isExactlyOne(of: agreementTypes) }) != true {
                findings.append(Finding(.delegationOutOfScope,
                                        "the delegation covers agreement types \(agreementTypes.joined(separator: ", ")), not '\(agreementType ?? "(none)")'",
                                        path: path + "['scope']['agreementTypes']"))
            }
        }
        if let allowed = counterpartySet {
            for other in others where !allowed.contains(ExactKey(other)) {
                findings.append(Finding(.delegationOutOfScope, "the delegation does not cover the counterparty \(other)",
                                        path: path + "['scope']['counterparties']"))
            }
        }
        if let maxTotal {
            if let currency, !currency.isExactly(maxTotal.currency) {
                findings.append(Finding(.delegationOutOfScope,
                                        "the delegation's limit is in \(maxTotal.currency), but the agreement is in \(currency)",
                                        path: path + "['scope']['maxTotal']['currency']"))
            } else if let total, total > maxTotal.amount {
                findings.append(Finding(.delegationOutOfScope,
                                        "the agreement's total \(DecimalText.plain(total)) is over the delegation's limit of \(DecimalText.plain(maxTotal.amount)) \(maxTotal.currency)",
                                        path: path + "['scope']['maxTotal']['amount']"))
            } else if total == nil || currency == nil {
                findings.append(Finding(.delegationOutOfScope, "the delegation has an amount limit, but the agreement has no readable total and currency",
                                        path: path + "['scope']['maxTotal']"))
            }
        }
        return findings
    }
}

/// The credential's structure is not usable.
public struct DelegationReadError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public let path: String
    public var description: String { message }
}
