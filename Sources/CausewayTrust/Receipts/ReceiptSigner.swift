public import CausewayCore

/// Signs and verifies delivery receipts with the gateway's own key: a `did:key`, or a KERI AID
/// (`did:keri` / `did:webs`) whose proofs name the establishment event they were signed under.
public enum ReceiptSigner {
    /// The gateway as a KERI signer: its DID and the key state its current key belongs to.
    public struct KERISigner: Sendable {
        public let did: String
        public let state: KERIKeyState

        public init(did: String, state: KERIKeyState) {
            self.did = did
            self.state = state
        }
    }

    /// The receipt body with an eddsa-jcs-2022 proof by the gateway (proof purpose assertionMethod).
    /// With `keri`, the issuer must be the KERI DID and the proof names the key and the event.
    public static func sign(_ receipt: DeliveryReceipt, with gateway: SigningIdentity, keri: KERISigner? = nil,
                            created: String) throws(ProofCreationError) -> JSONObject
    {
        try sign(body: receipt.body, issuer: receipt.issuer, with: gateway, keri: keri, created: created)
    }

    /// Signs a receipt's unsigned body (``DeliveryReceipt/signable``) issued by `issuer`.
    public static func sign(body: JSONObject, issuer: String, with gateway: SigningIdentity, keri: KERISigner? = nil,
                            created: String) throws(ProofCreationError) -> JSONObject
    {
        if let keri {
            guard issuer == keri.did else { throw ProofCreationError(message: "the receipt's issuer is not the gateway's KERI DID") }
            return try KERISigning.addProofs(to: body, did: keri.did, state: keri.state, keys: [gateway.privateKey], created: created)
        }
        try requireKeyIssuer(issuer, gateway)
        return try EddsaJcs2022.addProof(to: body, signer: gateway, options: .init(created: created))
    }

    /// ``sign(body:issuer:with:keri:created:)`` and the signed receipt's canonical (JCS) bytes —
    /// what its Merkle leaf hashes and what the ledger stores. Signed by the did:key, the body's
    /// members are written once, for the proof and again, with the proof among them, for these
    /// bytes; a KERI signature canonicalizes the signed receipt afresh.
    public static func signCanonical(body: JSONObject, issuer: String, with gateway: SigningIdentity, keri: KERISigner? = nil,
                                     created: String) throws(ProofCreationError) -> (signed: JSONObject, canonical: [UInt8])
    {
        guard keri == nil, body["proof"] == nil else {
            let signed = try sign(body: body, issuer: issuer, with: gateway, keri: keri, created: created)
            return (signed, JCS.canonicalize(.object(signed)))
        }
        try requireKeyIssuer(issuer, gateway)
        let members = JCS.members(body)
        let proof = try EddsaJcs2022.createProof(for: body, signer: gateway, options: .init(created: created),
                                                 canonicalDocument: JCS.object(members))
        var signed = body
        signed["proof"] = .object(proof)
        return (signed, JCS.object(JCS.inserting("proof", .object(proof), into: members)))
    }

    /// A receipt signed with the did:key must name that DID as its issuer.
    private static func requireKeyIssuer(_ issuer: String, _ gateway: SigningIdentity) throws(ProofCreationError) {
        guard issuer == gateway.didKey.did else {
            throw ProofCreationError(message: "the receipt's issuer is not the signing key's DID")
        }
    }

    /// Checks a receipt offline: its type, its proof by its issuer (optionally a given gateway),
    /// and that its recorded ledger leaf matches its content. Returns every finding.
    ///
    /// A receipt issued by a KERI DID is checked against `keyStates` (the gateway's KEL): the key
    /// must be a signing key of the establishment event the proof names, whether or not a later
    /// rotation replaced it — a rotation leaves earlier receipts valid (their order is fixed by
    /// the ledger). Without the KEL the finding is `keri.aid_unknown`.
    public static func verify(_ receipt: JSONObject, expectedIssuer: String? = nil,
                              keyStates: (any KERIKeyStateSource)? = nil) -> [Finding] {
        var findings: [Finding] = []
        if receipt["type"]?.stringValue != "DeliveryReceipt" {
            findings.append(Finding("receipt.type", "the document is not a DeliveryReceipt", path: "$['type']"))
        }
        guard let issuer = receipt["issuer"]?.stringValue else {
            return findings + [Finding("receipt.issuer_missing", "the receipt names no issuer", path: "$['issuer']")]
        }
        if let expectedIssuer, !sameIssuer(issuer, expectedIssuer) {
            findings.append(Finding("receipt.issuer_unexpected", "the receipt was issued by \(issuer), not by \(expectedIssuer)", path: "$['issuer']"))
        }
        let checks = EddsaJcs2022.verifyProofs(in: receipt)
        if checks.isEmpty {
            findings.append(Finding(.proofMissing, "the receipt is not signed", path: "$"))
        } else if let keri = KERIDID(issuer) {
            let own = checks.filter { $0.isVerified && ($0.keri?.did).isExactly(issuer) }
            if own.isEmpty {
                findings.append(Finding(.proofSignatureInvalid, "the receipt's signature does not verify under a key of its issuer's AID", path: "$['proof']"))
            } else {
                // Historical by design: the receipt's place in the ledger, not the KEL, dates it.
                findings += KERISignerCheck.evaluate(own, did: issuer, aid: keri.aid, keyStates: keyStates, policy: .historical,
                                                     anchoredDigest: nil, path: "$['proof']", acceptingAnyEstablishment: true).1
            }
        } else if !checks.contains(where: { $0.isVerified && ($0.did?.did).isExactly(issuer) }) {
            findings.append(Finding(.proofSignatureInvalid, "the receipt's signature does not verify under its issuer's key", path: "$['proof']"))
        }
        if let recorded = receipt["ledger"]?["leaf"]?.stringValue {
            let actual = LedgerChain.leafHash(of: receipt)
            if recorded != actual.description {
                findings.append(Finding("receipt.leaf_mismatch", "the receipt's content does not hash to its ledger leaf", path: "$['ledger']['leaf']"))
            }
        } else {
            findings.append(Finding("receipt.leaf_missing", "the receipt has no ledger leaf", path: "$['ledger']"))
        }
        return findings
    }

    /// The same issuer: the same text, or two KERI DIDs (did:keri / did:webs) of one AID.
    static func sameIssuer(_ issuer: String, _ expected: String) -> Bool {
        if issuer.isExactly(expected) { return true }
        guard let a = KERIDID(issuer), let b = KERIDID(expected) else { return false }
        return a.aid == b.aid
    }
}
