public import AdapterKit
public import CausewayCore

extension Delivery {
    /// The same action as delivered for a change (`cancellation: false`) or cancellation at
    /// `version` of this delivery's agreement, as intake would make it: a digest of its own (so its
    /// own idempotency key), provenance naming the revision's type and carrying `revision` (amends and
    /// supersedes = this delivery's agreement digest).
    public func asRevision(version: Int, cancellation: Bool) throws -> Delivery {
        guard case .object(var record) = provenance.json, case .object(var agreement)? = record["agreement"] else {
            throw AdapterConfigurationError(problems: ["the provenance record is not an object"])
        }
        let digest = ContentDigest(of: Array("\(cancellation ? "cancellation" : "change") \(version) of \(agreementDigest)".utf8))
        agreement["type"] = .string(cancellation ? AgreementRevision.cancellationType : AgreementRevision.changeType)
        agreement["digest"] = .string(digest.description)
        record["agreement"] = .object(agreement)
        record["revision"] = ["version": .number(Double(version)), "amends": .string(agreementDigest.description),
                              "supersedes": .string(agreementDigest.description)]
        return Delivery(agreementDigest: digest, agreementID: agreementID, action: action,
                        provenance: try ProvenanceRecord(json: .object(record)), signedAgreement: signedAgreement, attempt: attempt)
    }
}
