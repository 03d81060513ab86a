public import CausewayCore
import Foundation

/// Decides whether a signed agreement is genuine and acceptable.
///
/// It checks every proof (eddsa-jcs-2022), that each role is signed by its party or by an agent
/// with an in-scope delegation, the content rules of known agreement types, and the policy.
/// Every finding is reported (up to ``VerificationLimits/maxFindings``); nothing throws — an
/// unreadable input is rejected earlier, by the reader.
///
/// Work is bounded by ``limits`` (issue 11, finding 1). Time windows — a proof's `created` and
/// `expires`, a delegation's validity, the agreement's `issued` — are judged against ``now``, the
/// gateway's clock when the agreement arrived, never against a time the signer chose (finding 8).
/// Identifiers are compared by exact code points (finding 9).
///
/// ```swift
/// let report = AgreementVerifier(policy: .default, now: receivedAt).verify(agreement)
/// if !report.verified { print(report.findings) }
/// ```
public struct AgreementVerifier: Sendable {
    public var policy: VerificationPolicy
    /// Bounds on work and the tolerated clock skew.
    public var limits: VerificationLimits
    /// The gateway's clock when the agreement was received; `nil` reads the system clock at each
    /// ``verify(_:)`` (what `causeway verify` wants).
    public var now: Timestamp?
    /// Validated key event logs of KERI signers (`did:keri`, `did:webs` parties), supplied by the
    /// caller; `nil` knows no AID, so every KERI party is `keri.aid_unknown`.
    public var keyStates: (any KERIKeyStateSource)?

    /// - Parameters:
    ///   - policy: the partner's requirements.
    ///   - limits: bounds on work and the clock skew; the defaults are safe for a public intake.
    ///   - now: the time of receipt; `nil` for the system clock at verification.
    ///   - keyStates: the KELs of KERI signers, already validated (no I/O happens here).
    public init(policy: VerificationPolicy = .default, limits: VerificationLimits = .default, now: Timestamp? = nil,
                keyStates: (any KERIKeyStateSource)? = nil) {
        self.policy = policy
        self.limits = limits
        self.now = now
        self.keyStates = keyStates
    }

    /// The system clock, to the second.
    static func systemNow() -> Timestamp {
        Timestamp(epochSeconds: Int64(Date().timeIntervalSince1970.rounded(.down)))
    }

    public func verify(_ agreement: Agreement) -> VerificationReport {
        let clock = VerificationClock(now: now ?? AgreementVerifier.systemNow(), skewSeconds: limits.clockSkewSeconds)
        var work = VerificationWork()
        var findings: [Finding] = []
        let proofs = EddsaJcs2022.verifyProofs(in: agreement.document, canonicalBody: agreement.canonicalBody, limits: limits,
                                               clock: clock, work: &work)
        if proofs.isEmpty {
            findings.append(Finding(.proofMissing, "the document has no 'proof'; every party must sign it", path: "$"))
        }

        // Content rules of known types.
        var purchase: PurchaseAgreement?
        if agreement.type.isExactly(PurchaseAgreement.typeName) {
            let checked = PurchaseAgreement.check(agreement.document)
            purchase = checked.agreement
            findings += checked.findings
        } else if let kind = AgreementRevision.kind(ofType: agreement.type) {
            // A change or cancellation: its own rules here; the chain is checked at intake against the store.
            let checked = AgreementRevision.check(agreement.document, kind: kind)
            purchase = checked.revision?.terms
            findings += checked.findings
        } else if agreement.hasParties, policy.agreementTypes == nil {
            findings.append(Finding(.agreementTypeUnsupported,
                                    "the type '\(agreement.type ?? "(none)")' has no content rules here; only its signatures were checked",
                                    path: "$['type']", severity: .warning))
        }
        // A partner that takes PurchaseAgreements takes their changes and cancellations (its partner.yaml decides who signs them).
        let acceptedType = (AgreementRevision.kind(ofType: agreement.type) != nil ? PurchaseAgreement.typeName : agreement.type) ?? ""
        if let types = policy.agreementTypes, !acceptedType.isExactlyOne(of: types) {
            findings.append(Finding(.policyTypeNotAllowed,
                                    "the partner accepts \(types.joined(separator: ", ")), not '\(agreement.type ?? "(none)")'",
                                    path: "$['type']"))
        }
        // An agreement cannot be issued after it arrived.
        let issued = purchase?.issued ?? agreement.document["issued"]?.stringValue.flatMap(Timestamp.init(rfc3339:))
        if let issued, clock.isFuture(issued) {
            findings.append(Finding(.agreementIssuedInFuture,
                                    "'issued' (\(issued)) is after this gateway's clock (\(clock.now), \(clock.skewText))",
                                    path: "$['issued']"))
        }

        var signers: [VerificationReport.Signer] = []
        if agreement.hasParties {
            let (roleSigners, roleFindings) = checkParties(agreement, proofs: proofs, purchase: purchase, issued: issued, clock: clock,
                                                           work: &work)
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
            // KERI proofs: each signer DID's proofs against its AID's key state.
            var keriDIDs: [String] = []
            for check in proofs where check.isVerified {
                if let did = check.keri?.did, !keriDIDs.contains(where: { $0.isExactly(did) }) { keriDIDs.append(did) }
            }
            for did in keriDIDs {
                let own = proofs.filter { $0.isVerified && ($0.keri?.did).isExactly(did) }
                guard let aid = own.first?.keri?.aid else { continue }
                let (used, keriFindings) = KERISignerCheck.evaluate(own, did: did, aid: aid, keyStates: keyStates, policy: policy.keri,
                                                                     anchoredDigest: policy.keri == .historical ? KERI.digest(agreement.canonicalBody) : nil,
                                                                     path: "$['proof']")
                findings += keriFindings
                if let used {
                    signers.append(.init(role: "", did: did, verificationMethod: did + "#" + used.keys[0],
                                         proofDigest: own.first { $0.keri?.key == used.keys[0] }?.proofDigest, delegation: nil, keri: used))
                }
            }
        }

        // Partner limits.
        if let purchase {
            if let currencies = policy.currencies, !purchase.currency.code.isExactlyOne(of: currencies) {
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

        // At most maxFindings, and a count of the rest.
        var omitted = 0
        let cap = max(1, limits.maxFindings)
        if findings.count > cap {
            let rest = findings[cap...]
            omitted = rest.count
            let severity: Finding.Severity = rest.contains { $0.severity == .error } ? .error : .warning
            findings.removeSubrange(cap...)
            findings.append(Finding(.verificationFindingsTruncated,
                                    "\(omitted) more findings were left off (limit maxFindings = \(cap)); fix these first",
                                    path: "$", severity: severity))
        }
        return VerificationReport(digest: agreement.digest, agreementID: agreement.id, type: agreement.type, signers: signers,
                                  proofs: proofs, findings: findings, omittedFindings: omitted, work: work)
    }

    /// A delegation credential attached to the agreement, and where.
    struct AttachedCredential {
        let object: JSONObject
        let path: String
        /// The proof whose `delegation` member holds it; `nil` for the `delegations` array.
        let proofIndex: Int?
    }

    /// The delegation credentials attached to the agreement: in each proof's `delegation`
    /// member and in the agreement's `delegations` array, with their paths. Over
    /// ``VerificationLimits/maxDelegations`` none is returned, and the finding says so.
    func attachedCredentials(_ agreement: Agreement, proofs: [ProofCheck]) -> ([AttachedCredential], Finding?) {
        let rawProofs = agreement.proofs
        let inProofs = proofs.filter { rawProofs.indices.contains($0.index) && rawProofs[$0.index]["delegation"]?.objectValue != nil }
        let array = agreement.document["delegations"]?.arrayValue ?? []
        let count = inProofs.count + array.count
        guard count <= limits.maxDelegations else {
            return ([], Finding(.delegationTooMany,
                                "the agreement carries \(count) delegation credentials; at most \(limits.maxDelegations) are accepted (limit maxDelegations), so none was used",
                                path: array.count > limits.maxDelegations ? "$['delegations']" : "$"))
        }
        var credentials: [AttachedCredential] = []
        for check in inProofs {
            if let credential = rawProofs[check.index]["delegation"]?.objectValue {
                credentials.append(.init(object: credential, path: check.path + "['delegation']", proofIndex: check.index))
            }
        }
        for (index, value) in array.enumerated() {
            if let credential = value.objectValue { credentials.append(.init(object: credential, path: "$['delegations'][\(index)]", proofIndex: nil)) }
        }
        return (credentials, nil)
    }

    /// A credential read once: its structure, and whether its issuer signed it.
    enum ReadCredential {
        case malformed(Finding)
        case read(DelegationCredential, signature: [Finding])
    }

    func checkParties(_ agreement: Agreement, proofs: [ProofCheck], purchase: PurchaseAgreement?, issued: Timestamp?,
                      clock: VerificationClock, work: inout VerificationWork) -> ([VerificationReport.Signer], [Finding])
    {
        var findings: [Finding] = []
        var signers: [VerificationReport.Signer] = []
        guard case .object(let partiesObject)? = agreement.document["parties"] else {
            return ([], [Finding(.agreementFieldInvalid, "'parties' must be an object mapping roles to parties", path: "$['parties']")])
        }
        guard partiesObject.count <= limits.maxParties else {
            return ([], [Finding(.partyTooMany,
                                 "'parties' names \(partiesObject.count) roles; at most \(limits.maxParties) are accepted (limit maxParties), so no role was checked",
                                 path: "$['parties']")])
        }
        let parties = agreement.parties
        // Roles and DIDs are compared by exact code points, never by Unicode equivalence.
        var allowedByRole: [ExactKey: [String]] = [:]
        for (role, dids) in policy.roles ?? [:] { allowedByRole[ExactKey(role), default: []] += dids }
        if let required = policy.roles {
            let present = Set(partiesObject.keys.map(ExactKey.init))
            for role in required.keys.sorted() where !present.contains(ExactKey(role)) {
                findings.append(Finding(.partyRoleMissing, "the partner requires the role '\(role)', which 'parties' does not name",
                                        path: "$['parties']"))
            }
        }
        let verified = proofs.filter(\.isVerified)
        var directByDID: [ExactKey: ProofCheck] = [:]
        for check in verified {
            if let did = check.did?.did, directByDID[ExactKey(did)] == nil { directByDID[ExactKey(did)] = check }
        }
        let (credentials, tooMany) = attachedCredentials(agreement, proofs: proofs)
        if let tooMany { findings.append(tooMany) }
        var credentialsByAgent: [ExactKey: [Int]] = [:]
        for (index, credential) in credentials.enumerated() {
            if let agent = credential.object["agent"]?.stringValue { credentialsByAgent[ExactKey(agent), default: []].append(index) }
        }
        var read: [Int: ReadCredential] = [:]
        var reportedMalformed: Set<Int> = []
        let total = purchase?.total ?? agreement.document["total"]?.stringValue.flatMap(DecimalText.parse)
        let currency = purchase?.currency.code ?? agreement.document["currency"]?.stringValue

        for party in parties {
            let path = "$['parties']['\(party.role)']"
            guard let partyDID = party.id else {
                findings.append(Finding(.partyInvalid, "the \(party.role) party needs an 'id' holding its DID", path: path + "['id']"))
                continue
            }
            if let allowed = allowedByRole[ExactKey(party.role)], !KERIDID.party(partyDID, matchesAnyOf: allowed) {
                findings.append(Finding(.partyNotAuthorized,
                                        "\(partyDID) is not configured to act as \(party.role) for this partner (see 'roles' in partner.yaml)",
                                        path: path + "['id']"))
            }
            // A KERI party: its proofs name keys of its AID, checked against the AID's key state.
            if let keri = KERIDID(partyDID) {
                let own = verified.filter { ($0.keri?.did).isExactly(partyDID) }
                guard !own.isEmpty else {
                    if party.role.isExactlyOne(of: policy.optionalSigners) { continue }
                    findings.append(Finding(.partyUnsigned,
                                            "the \(party.role) role (\(partyDID)) carries no valid proof by a key of that AID",
                                            path: path))
                    continue
                }
                let (used, keriFindings) = KERISignerCheck.evaluate(own, did: partyDID, aid: keri.aid, keyStates: keyStates,
                                                                     policy: policy.keri,
                                                                     anchoredDigest: policy.keri == .historical ? KERI.digest(agreement.canonicalBody) : nil,
                                                                     path: path)
                findings += keriFindings
                if let used {
                    signers.append(.init(role: party.role, did: partyDID, verificationMethod: partyDID + "#" + used.keys[0],
                                         proofDigest: own.first { $0.keri?.key == used.keys[0] }?.proofDigest, delegation: nil,
                                         keri: used))
                }
                continue
            }
            // Signed directly by the party's key?
            if let direct = directByDID[ExactKey(partyDID)], let did = direct.did {
                signers.append(.init(role: party.role, did: partyDID, verificationMethod: did.verificationMethod,
                                     proofDigest: direct.proofDigest, delegation: nil))
                continue
            }
            // Signed by an agent holding an in-scope delegation from the party? Each credential is
            // read and signature-checked once, and scope-checked at most once per party.
            let others = parties.filter { !$0.role.isExactly(party.role) }.compactMap(\.id)
            var delegationFindings: [Finding] = []
            var accepted: VerificationReport.Signer?
            var tried: Set<Int> = []
            search: for check in verified {
                guard let agent = check.did else { continue }
                for index in credentialsByAgent[ExactKey(agent.did)] ?? [] {
                    let attached = credentials[index]
                    if let proofIndex = attached.proofIndex, proofIndex != check.index { continue }
                    guard tried.insert(index).inserted else { continue }
                    let outcome: ReadCredential
                    if let cached = read[index] {
                        outcome = cached
                    } else {
                        work.credentialsRead += 1
                        do {
                            let credential = try DelegationCredential(attached.object, path: attached.path)
                            outcome = .read(credential, signature: credential.signatureFindings(path: attached.path, limits: limits,
                                                                                               clock: clock, work: &work))
                        } catch {
                            outcome = .malformed(Finding(.delegationMalformed, error.message, path: error.path))
                        }
                        read[index] = outcome
                    }
                    switch outcome {
                    case .malformed(let finding):
                        if reportedMalformed.insert(index).inserted { delegationFindings.append(finding) }
                    case .read(let credential, let signature):
                        work.scopeChecks += 1
                        let problems = signature + credential.scopeFindings(for: partyDID, role: party.role, issued: issued, clock: clock,
                                                                            agreementType: agreement.type, total: total,
                                                                            currency: currency, counterparties: others,
                                                                            path: attached.path)
                        // A credential from another organisation is simply not this party's.
                        if !credential.issuer.isExactly(partyDID) && credentials.count > 1 {
                            if !problems.contains(where: { $0.code != .delegationWrongIssuer }) { continue }
                        }
                        if problems.isEmpty {
                            accepted = .init(role: party.role, did: partyDID, verificationMethod: agent.verificationMethod,
                                             proofDigest: check.proofDigest,
                                             delegation: .init(id: credential.id, agent: credential.agent, issuer: credential.issuer,
                                                               digest: credential.digest))
                            break search
                        }
                        delegationFindings += problems
                    }
                }
            }
            if let accepted {
                signers.append(accepted)
                continue
            }
            // A role the policy lets go unsigned (a cancellation one party may make alone) is simply not among the signers.
            if party.role.isExactlyOne(of: policy.optionalSigners) { continue }
            // Only report a delegation's problems when it could have been meant for this party.
            findings += delegationFindings
            findings.append(Finding(.partyUnsigned,
                                    "the \(party.role) role (\(partyDID)) carries no valid proof from that DID or from an agent it delegated to",
                                    path: path))
        }
        return (signers, findings)
    }
}
