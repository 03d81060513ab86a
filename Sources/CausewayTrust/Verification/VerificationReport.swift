public import CausewayCore

/// Everything verification found about one agreement.
///
/// `verified` is true only when no finding has severity `error`. The report is also the record
/// of the key state used: each signer's verification method and proof digest.
public struct VerificationReport: Sendable {
    /// Who signed which role.
    public struct Signer: Sendable, Hashable {
        public let role: String
        /// The party's DID (the organisation).
        public let did: String
        /// The verification method of the proof that signed (the agent's, when delegated).
        public let verificationMethod: String
        /// `sha256:` of JCS(proof).
        public let proofDigest: ContentDigest?
        /// The delegation credential used, when an agent signed.
        public let delegation: Delegation?
        /// For a KERI signer, the key state its proofs verified under (AID, sn, SAID, keys).
        public var keri: KERIKeyStateUsed? = nil
    }

    /// The delegation through which an agent signed.
    public struct Delegation: Sendable, Hashable {
        public let id: String?
        public let agent: String
        public let issuer: String
        public let digest: ContentDigest
    }

    public let digest: ContentDigest
    public let agreementID: String?
    public let type: String?
    public let signers: [Signer]
    public let proofs: [ProofCheck]
    /// The findings, at most ``VerificationLimits/maxFindings`` of them (then the last one is
    /// `verification.findings_truncated`, an error when an omitted finding was one).
    public let findings: [Finding]
    /// How many findings were left off ``findings``.
    public let omittedFindings: Int
    /// The work this verification did, counted for tests.
    @_spi(Testing) public let work: VerificationWork

    init(digest: ContentDigest, agreementID: String?, type: String?, signers: [Signer], proofs: [ProofCheck], findings: [Finding],
         omittedFindings: Int = 0, work: VerificationWork = VerificationWork())
    {
        self.digest = digest
        self.agreementID = agreementID
        self.type = type
        self.signers = signers
        self.proofs = proofs
        self.findings = findings
        self.omittedFindings = omittedFindings
        self.work = work
    }

    /// No error findings.
    public var verified: Bool { !findings.contains { $0.severity == .error } }

    /// The findings with severity `error`.
    public var errors: [Finding] { findings.filter { $0.severity == .error } }

    /// The report as JSON, the form `causeway verify --json` prints.
    public var json: JSONValue {
        var object = JSONObject()
        object["verified"] = .bool(verified)
        object["digest"] = .string(digest.description)
        object["id"] = agreementID.map(JSONValue.string) ?? .null
        object["type"] = type.map(JSONValue.string) ?? .null
        object["signers"] = .array(signers.map { signer in
            var entry = JSONObject()
            entry["role"] = .string(signer.role)
            entry["did"] = .string(signer.did)
            entry["verificationMethod"] = .string(signer.verificationMethod)
            if let digest = signer.proofDigest { entry["proofDigest"] = .string(digest.description) }
            if let delegation = signer.delegation {
                var d = JSONObject()
                if let id = delegation.id { d["id"] = .string(id) }
                d["agent"] = .string(delegation.agent)
                d["issuer"] = .string(delegation.issuer)
                d["digest"] = .string(delegation.digest.description)
                entry["delegation"] = .object(d)
            }
            if let keri = signer.keri {
                entry["keri"] = .object(JSONObject([("aid", .string(keri.aid)), ("s", .string(String(keri.sn, radix: 16))),
                                                    ("d", .string(keri.said)), ("keys", .array(keri.keys.map(JSONValue.string)))]))
            }
            return .object(entry)
        })
        object["proofs"] = .array(proofs.map { check in
            var entry = JSONObject()
            entry["index"] = .number(Double(check.index))
            entry["status"] = .string(check.status.rawValue)
            if let id = check.id { entry["id"] = .string(id) }
            if let method = check.verificationMethod { entry["verificationMethod"] = .string(method) }
            if let suite = check.cryptosuite { entry["cryptosuite"] = .string(suite) }
            return .object(entry)
        })
        object["findings"] = .array(findings.map { finding in
            var entry = JSONObject()
            entry["code"] = .string(finding.code.rawValue)
            entry["severity"] = .string(finding.severity.rawValue)
            entry["message"] = .string(finding.message)
            if let path = finding.path { entry["path"] = .string(path) }
            return .object(entry)
        })
        if omittedFindings > 0 { object["findingsOmitted"] = .number(Double(omittedFindings)) }
        return .object(object)
    }
}
