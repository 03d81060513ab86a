/// A signed follow-up to a `PurchaseAgreement`: a change (complete new terms) or a cancellation.
///
/// Every follow-up names the agreement it belongs to by digest (`amends`, the original's), the
/// version it follows (`supersedes`, the digest of the original or of the last accepted change —
/// for a cancellation, the version it cancels) and its own position in the chain (`version`: the
/// original is 1, so a follow-up is 2 or more). The chain is checked at intake against what the
/// gateway stored: it must extend the latest accepted version (Docs/agreement-format.md, §10).
public struct AgreementRevision: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        /// `PurchaseAgreementChange`: new terms that replace the previous version's.
        case change
        /// `PurchaseAgreementCancellation`: the agreement ends.
        case cancellation
    }

    /// The type name of a change.
    public static let changeType = "PurchaseAgreementChange"
    /// The type name of a cancellation.
    public static let cancellationType = "PurchaseAgreementCancellation"
    /// The largest version number accepted (a chain longer than this is refused).
    public static let maxVersion = 10_000

    public let kind: Kind
    /// The original agreement's digest.
    public let amends: ContentDigest
    /// The digest of the version this one follows.
    public let supersedes: ContentDigest
    /// This document's position in the chain, 2 or more.
    public let version: Int
    /// Why (cancellations; optional on changes).
    public let reason: String?
    /// The new terms of a change (nil for a cancellation).
    public let terms: PurchaseAgreement?

    /// The follow-up kind a type name stands for, if it is one.
    public static func kind(ofType type: String?) -> Kind? {
        switch type {
        case changeType?: .change
        case cancellationType?: .cancellation
        default: nil
        }
    }

    /// Checks a change's or cancellation's own rules (not the chain, which needs the store) and
    /// returns the typed revision with every finding. A change also obeys every `PurchaseAgreement`
    /// content rule for its new terms.
    public static func check(_ document: JSONObject, kind: Kind) -> (revision: AgreementRevision?, findings: [Finding]) {
        var findings: [Finding] = []
        func digest(_ key: String) -> ContentDigest? {
            switch document[key] {
            case nil:
                findings.append(Finding(.agreementFieldMissing, "'\(key)' is required: the digest (sha256:…) of the agreement version it names",
                                        path: "$['\(key)']"))
            case .string(let text)?:
                if let digest = ContentDigest(text) { return digest }
                findings.append(Finding(.agreementFieldInvalid, "'\(key)' must be an agreement digest: sha256: and 64 lowercase hex digits",
                                        path: "$['\(key)']"))
            case let other?:
                findings.append(Finding(.agreementFieldInvalid, "'\(key)' must be a digest string, not \(other.typeName)", path: "$['\(key)']"))
            }
            return nil
        }
        let amends = digest("amends")
        let supersedes = digest("supersedes")
        var version: Int?
        switch document["version"] {
        case nil:
            findings.append(Finding(.agreementFieldMissing, "'version' is required: this document's place in the chain (the original is 1)",
                                    path: "$['version']"))
        case .number(let number)? where number.rounded() == number && number >= 2 && number <= Double(maxVersion):
            version = Int(number)
        case let other?:
            findings.append(Finding(.agreementFieldInvalid,
                                    "'version' must be a whole JSON number from 2 to \(maxVersion) (the original agreement is version 1), not \(other.typeName == "number" ? "that number" : other.typeName)",
                                    path: "$['version']"))
        }
        if let amends, let supersedes, version == 2, amends != supersedes {
            findings.append(Finding(.agreementFieldInvalid, "version 2 follows the original: 'supersedes' must equal 'amends'", path: "$['supersedes']"))
        }
        if let amends, let supersedes, let version, version > 2, amends == supersedes {
            findings.append(Finding(.agreementFieldInvalid, "version \(version) follows version \(version - 1), not the original: 'supersedes' names the last accepted version",
                                    path: "$['supersedes']"))
        }
        var reason: String?
        switch document["reason"] {
        case nil where kind == .cancellation:
            findings.append(Finding(.agreementFieldMissing, "'reason' is required: why the agreement is cancelled", path: "$['reason']"))
        case nil: break
        case .string(let text)? where !text.isEmpty: reason = text
        case let other?:
            findings.append(Finding(.agreementFieldInvalid, "'reason' must be a non-empty string, not \(other.typeName)", path: "$['reason']"))
        }

        var terms: PurchaseAgreement?
        switch kind {
        case .change:
            let checked = PurchaseAgreement.check(document)
            terms = checked.agreement
            findings += checked.findings
            guard terms != nil else { return (nil, findings) }
        case .cancellation:
            if document["id"]?.stringValue?.isEmpty ?? true {
                findings.append(Finding(.agreementFieldMissing, "'id' is required: this cancellation's own id, e.g. urn:uuid:…", path: "$['id']"))
            }
            if let text = document["issued"]?.stringValue {
                if Timestamp(rfc3339: text) == nil {
                    findings.append(Finding(.agreementTimestampInvalid, "'issued' must be an RFC 3339 date-time such as 2026-11-23T10:15:02Z",
                                            path: "$['issued']"))
                }
            } else {
                findings.append(Finding(.agreementFieldMissing, "'issued' is required", path: "$['issued']"))
            }
            for key in ["lines", "total"] where document[key] != nil {
                findings.append(Finding(.agreementFieldInvalid, "a cancellation carries no '\(key)': it ends the agreement", path: "$['\(key)']"))
            }
        }
        guard let amends, let supersedes, let version, !findings.contains(where: { $0.severity == .error }) else { return (nil, findings) }
        return (AgreementRevision(kind: kind, amends: amends, supersedes: supersedes, version: version, reason: reason, terms: terms), findings)
    }
}
