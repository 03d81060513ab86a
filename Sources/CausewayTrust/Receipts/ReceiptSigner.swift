public import CausewayCore

/// Signs and verifies delivery receipts with the gateway's own `did:key`.
public enum ReceiptSigner {
    /// The receipt body with an eddsa-jcs-2022 proof by the gateway (proof purpose assertionMethod).
    public static func sign(_ receipt: DeliveryReceipt, with gateway: SigningIdentity, created: String) throws(ProofCreationError) -> JSONObject {
        guard receipt.issuer == gateway.didKey.did else {
            throw ProofCreationError(message: "the receipt's issuer is not the signing key's DID")
        }
        return try EddsaJcs2022.addProof(to: receipt.body, signer: gateway, options: .init(created: created))
    }

    /// Checks a receipt offline: its type, its proof by its issuer (optionally a given gateway),
    /// and that its recorded ledger leaf matches its content. Returns every finding.
    public static func verify(_ receipt: JSONObject, expectedIssuer: String? = nil) -> [Finding] {
        var findings: [Finding] = []
        if receipt["type"]?.stringValue != "DeliveryReceipt" {
            findings.append(Finding("receipt.type", "the document is not a DeliveryReceipt", path: "$['type']"))
        }
        guard let issuer = receipt["issuer"]?.stringValue else {
            return findings + [Finding("receipt.issuer_missing", "the receipt names no issuer", path: "$['issuer']")]
        }
        if let expectedIssuer, !issuer.isExactly(expectedIssuer) {
            findings.append(Finding("receipt.issuer_unexpected", "the receipt was issued by \(issuer), not by \(expectedIssuer)", path: "$['issuer']"))
        }
        let checks = EddsaJcs2022.verifyProofs(in: receipt)
        if checks.isEmpty {
            findings.append(Finding(.proofMissing, "the receipt is not signed", path: "$"))
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
}
