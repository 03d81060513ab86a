public import CausewayCore
import Foundation

/// Decides whether a signed agreement is genuine and acceptable.
///
/// It checks every proof (eddsa-jcs-2022), that each role is signed by its party or by an agent
/// with an in-scope delegation, the content rules of known agreement types, and the policy.
/// Every finding is reported; nothing throws — an unreadable input is rejected earlier, by the
/// reader.
///
/// ```swift
/// let report = AgreementVerifier(policy: .default).verify(agreement)
/// if !report.verified { print(report.findings) }
/// ```
public struct AgreementVerifier: Sendable {
    public var policy: VerificationPolicy

    public init(policy: VerificationPolicy = .default) { self.policy = policy }

    public func verify(_ agreement: Agreement) -> VerificationReport {
        var findings: [Finding] = []
        let proofs = EddsaJcs2022.verifyProofs(in: agreement.document, canonicalBody: agreement.canonicalBody)
        if proofs.isEmpty {
            findings.append(Finding(.proofMissing, "the document has no 'proof'; every party must sign it", path: "$"))
        }

        // Content rules of known types.
        var purchase: PurchaseAgreement?
        if agreement.type == PurchaseAgreement.typeName {
            let checked = PurchaseAgreement.check(agreement.document)
            purchase = checked.agreement
            findings += checked.findings
        } else if agreement.hasParties, policy.agreementTypes == nil {
            findings.append(Finding(.agreementTypeUnsupported,
                                    "the type '\(agreement.type ?? "(none)")' has no content rules here; only its signatures were checked",
                                    path: "$['type']", severity: .warning))
        }
        if let types = policy.agreementTypes, !types.contains(agreement.type ?? "") {
            findings.append(Finding(.policyTypeNotAllowed,
                                    "the partner accepts \(types.joined(separator: ", ")), not '\(agreement.type ?? "(none)")'",
                                    path: "$['type']"))
        }

        var signers: [VerificationReport.Signer] = []
        if agreement.hasParties {
            let (roleSigners, roleFindings) = checkParties(agreement, proofs: proofs, purchase: purchase)
            signers = roleSigners
            findings += roleFindings
            // Proof problems: a failed or malformed proof is an error even if the roles are covered —
            // a forged proof in the set is itself a finding. Unsupported suites are warnings here.
            for check in proofs {
                for finding in check.findings {
                    let severity: Finding.Severity = check.status == .unsupported ? .warning : finding.severity
                    findings.append(Finding(finding.code, finding.message, path: finding.path, severity: severity))
                }
            }
        } else {
            // No parties: the document is verified on its proofs alone, and all must verify.
            for check in proofs { findings += check.findings }
            for check in proofs where check.isVerified {
                if let did = check.did {
                    signers.append(.init(role: "", did: did.did, verificationMethod: did.verificationMethod,
                                         proofDigest: check.proofDigest, delegation: nil))
                }
            }
        }

        // Partner limits.
        if let purchase {
            if let currencies = policy.currencies, !currencies.contains(purchase.currency.code) {
                findings.append(Finding(.policyCurrencyNotAllowed,
                                        "the partner accepts \(currencies.joined(separator: ", ")), not \(purchase.currency.code)",
                                        path: "$['currency']"))
            }
            if let maxTotal = policy.maxTotal, purchase.total > maxTotal {
                let scale = agreement.document["total"]?.stringValue.map(DecimalText.scale(of:)) ?? 2
                findings.append(Finding(.policyLimitExceeded,
                                        "the total \(DecimalText.plain(purchase.total, minimumScale: scale)) \(purchase.currency.code) is over the partner's limit of \(DecimalText.plain(maxTotal, minimumScale: scale))",
                                        path: "$['total']"))
            }
        }

        return VerificationReport(digest: agreement.digest, agreementID: agreement.id, type: agreement.type, signers: signers,
                                  proofs: proofs, findings: findings)
    }

    /// The delegation credentials attached to the agreement: in each proof's `delegation`
    /// member and in the agreement's `delegations` array, with their paths.
    func attachedCredentials(_ agreement: Agreement, proofs: [ProofCheck]) -> [(JSONObject, String, proofIndex: Int?)] {
        var credentials: [(JSONObject, String, proofIndex: Int?)] = []
        let rawProofs = agreement.proofs
        for check in proofs {
            if let credential = rawProofs[check.index]["delegation"]?.objectValue {
                credentials.append((credential, check.path + "['delegation']", check.index))
            }
        }
        if case .array(let array)? = agreement.document["delegations"] {
            for (index, value) in array.enumerated() {
                if let credential = value.objectValue { credentials.append((credential, "$['delegations'][\(index)]", nil)) }
            }
        }
        return credentials
    }

    func checkParties(_ agreement: Agreement, proofs: [ProofCheck], purchase: PurchaseAgreement?)
        -> ([VerificationReport.Signer], [Finding])
    {
        var findings: [Finding] = []
        var signers: [VerificationReport.Signer] = []
        guard case .object(let partiesObject)? = agreement.document["parties"] else {
            return ([], [Finding(.agreementFieldInvalid, "'parties' must be an object mapping roles to parties", path: "$['parties']")])
        }
        let parties = agreement.parties
        if let required = policy.roles {
            for role in required.keys.sorted() where partiesObject[role] == nil {
                findings.append(Finding(.partyRoleMissing, "the partner requires the role '\(role)', which 'parties' does not name",
                                        path: "$['parties']"))
            }
        }
        let verified = proofs.filter(\.isVerified)
        let credentials = attachedCredentials(agreement, proofs: proofs)
        let issued = purchase?.issued ?? agreement.document["issued"]?.stringValue.flatMap(Timestamp.init(rfc3339:))
        let total = purchase?.total ?? agreement.document["total"]?.stringValue.flatMap(DecimalText.parse)
        let currency = purchase?.currency.code ?? agreement.document["currency"]?.stringValue

        for party in parties {
            let path = "$['parties']['\(party.role)']"
            guard let partyDID = party.id else {
                findings.append(Finding(.partyInvalid, "the \(party.role) party needs an 'id' holding its DID", path: path + "['id']"))
                continue
            }
            if let allowed = policy.roles?[party.role], !allowed.contains(partyDID) {
                findings.append(Finding(.partyNotAuthorized,
                                        "\(partyDID) is not configured to act as \(party.role) for this partner (see 'roles' in partner.yaml)",
                                        path: path + "['id']"))
            }
            // Signed directly by the party's key?
            if let direct = verified.first(where: { $0.did?.did == partyDID }), let did = direct.did {
                signers.append(.init(role: party.role, did: partyDID, verificationMethod: did.verificationMethod,
                                     proofDigest: direct.proofDigest, delegation: nil))
                continue
            }
            // Signed by an agent holding an in-scope delegation from the party?
            let others = parties.filter { $0.role != party.role }.compactMap(\.id)
            var delegationFindings: [Finding] = []
            var accepted: VerificationReport.Signer?
            for check in verified {
                guard let agentDID = check.did?.did, accepted == nil else { continue }
                for (object, credentialPath, proofIndex) in credentials {
                    if let proofIndex, proofIndex != check.index { continue }
                    guard object["agent"]?.stringValue == agentDID else { continue }
                    let credential: DelegationCredential
                    do {
                        credential = try DelegationCredential(object, path: credentialPath)
                    } catch {
                        delegationFindings.append(Finding(.delegationMalformed, error.message, path: error.path))
                        continue
                    }
                    // A credential from another organisation is simply not this party's.
                    let problems = credential.check(for: partyDID, role: party.role, issued: issued, agreementType: agreement.type,
                                                    total: total, currency: currency, counterparties: others, path: credentialPath)
                    if credential.issuer != partyDID && credentials.count > 1 {
                        if !problems.contains(where: { $0.code != .delegationWrongIssuer }) { continue }
                    }
                    if problems.isEmpty {
                        accepted = .init(role: party.role, did: partyDID, verificationMethod: check.did!.verificationMethod,
                                         proofDigest: check.proofDigest,
                                         delegation: .init(id: credential.id, agent: credential.agent, issuer: credential.issuer,
                                                           digest: credential.digest))
                        break
                    }
                    delegationFindings += problems
                }
            }
            if let accepted {
                signers.append(accepted)
                continue
            }
            // Only report a delegation's problems when it could have been meant for this party.
            findings += delegationFindings
            findings.append(Finding(.partyUnsigned,
                                    "the \(party.role) role (\(partyDID)) carries no valid proof from that DID or from an agent it delegated to",
                                    path: path))
        }
        return (signers, findings)
    }
}
