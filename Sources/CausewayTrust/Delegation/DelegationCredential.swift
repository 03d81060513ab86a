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
    public let maxTotal: (amount: Decimal, currency: String)?
    /// `sha256:` of JCS of the whole credential, proof included.
    public let digest: ContentDigest

    /// Reads a credential's structure; signature and scope are checked by ``check(for:role:issued:agreementType:total:currency:counterparties:)``.
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
    public func check(for partyDID: String, role: String, issued: Timestamp?, agreementType: String?, total: Decimal?,
                      currency: String?, counterparties others: [String], path: String) -> [Finding]
    {
        var findings: [Finding] = []
        // 1. Signed by its issuer, and not altered.
        let proofs = EddsaJcs2022.verifyProofs(in: document)
        let signedByIssuer = proofs.contains { $0.isVerified && $0.did?.did == issuer }
        if !signedByIssuer {
            let reason: String
            if proofs.isEmpty {
                reason = "the delegation credential carries no proof"
            } else if proofs.contains(where: { $0.isVerified }) {
                reason = "the delegation credential is signed, but not by its issuer \(issuer)"
            } else {
                reason = "the delegation credential's signature does not verify — it was altered or signed by another key"
            }
            findings.append(Finding(.delegationSignatureInvalid, reason, path: path + "['proof']"))
        }
        // 2. Issued by the party it would speak for.
        if issuer != partyDID {
            findings.append(Finding(.delegationWrongIssuer,
                                    "the delegation credential was issued by \(issuer), not by the \(role) party \(partyDID)",
                                    path: path + "['issuer']"))
        }
        // 3. Validity window at the agreement's issue time.
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
        // 4. Scope.
        if let roles, !roles.contains(role) {
            findings.append(Finding(.delegationOutOfScope, "the delegation covers roles \(roles.joined(separator: ", ")), not '\(role)'",
                                    path: path + "['scope']['roles']"))
        }
        if let agreementTypes {
            if agreementType.map(agreementTypes.contains) != true {
                findings.append(Finding(.delegationOutOfScope,
                                        "the delegation covers agreement types \(agreementTypes.joined(separator: ", ")), not '\(agreementType ?? "(none)")'",
                                        path: path + "['scope']['agreementTypes']"))
            }
        }
        if let allowed = counterparties {
            for other in others where !allowed.contains(other) {
                findings.append(Finding(.delegationOutOfScope, "the delegation does not cover the counterparty \(other)",
                                        path: path + "['scope']['counterparties']"))
            }
        }
        if let maxTotal {
            if let currency, currency != maxTotal.currency {
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
