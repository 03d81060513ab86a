import CausewayCore
import CausewayTrust
import Foundation
import Testing

/// The content rules of `PurchaseAgreementChange` and `PurchaseAgreementCancellation`
/// (Docs/agreement-format.md §10) and how the verifier treats them.
@Suite("Changes and cancellations: content rules")
struct AgreementRevisionTests {
    static let original = "sha256:" + String(repeating: "a", count: 64)
    static let previous = "sha256:" + String(repeating: "b", count: 64)

    static func change(_ edit: (inout JSONObject) -> Void = { _ in }) -> JSONObject {
        var document: JSONObject = [
            "type": "PurchaseAgreementChange", "id": "urn:c:3", "amends": .string(original), "supersedes": .string(previous),
            "version": 3, "issued": "2026-11-21T08:00:00Z", "currency": "EUR",
            "lines": [["sku": "A", "description": "a", "quantity": "3", "unit": "pcs", "unitPrice": "2.50"]], "total": "7.50",
        ]
        edit(&document)
        return document
    }

    static func cancellation(_ edit: (inout JSONObject) -> Void = { _ in }) -> JSONObject {
        var document: JSONObject = ["type": "PurchaseAgreementCancellation", "id": "urn:x:4", "amends": .string(original),
                                    "supersedes": .string(previous), "version": 4, "issued": "2026-11-22T08:00:00Z", "reason": "stop"]
        edit(&document)
        return document
    }

    @Test("a well-formed change and cancellation are read with their place in the chain")
    func wellFormed() throws {
        let (change, findings) = AgreementRevision.check(Self.change(), kind: .change)
        #expect(findings.isEmpty, "\(findings)")
        #expect(change?.version == 3)
        #expect(change?.amends.description == Self.original)
        #expect(change?.supersedes.description == Self.previous)
        #expect(change?.terms?.total == Decimal(string: "7.50"))
        let (cancel, cancelFindings) = AgreementRevision.check(Self.cancellation(), kind: .cancellation)
        #expect(cancelFindings.isEmpty, "\(cancelFindings)")
        #expect(cancel?.reason == "stop")
        #expect(cancel?.terms == nil)
        #expect(AgreementRevision.kind(ofType: "PurchaseAgreementChange") == .change)
        #expect(AgreementRevision.kind(ofType: "PurchaseAgreement") == nil)
    }

    @Test("each broken rule is a finding at its path", arguments: [
        ("amends missing", change { $0["amends"] = nil }, "agreement.field_missing", "$['amends']"),
        ("amends not a digest", change { $0["amends"] = "sha256:XYZ" }, "agreement.field_invalid", "$['amends']"),
        ("supersedes a number", change { $0["supersedes"] = 7 }, "agreement.field_invalid", "$['supersedes']"),
        ("version missing", change { $0["version"] = nil }, "agreement.field_missing", "$['version']"),
        ("version 1", change { $0["version"] = 1 }, "agreement.field_invalid", "$['version']"),
        ("version 2.5", change { $0["version"] = 2.5 }, "agreement.field_invalid", "$['version']"),
        ("version as text", change { $0["version"] = "3" }, "agreement.field_invalid", "$['version']"),
        ("version too large", change { $0["version"] = 10_001 }, "agreement.field_invalid", "$['version']"),
        ("version 2 not following the original", change { $0["version"] = 2 }, "agreement.field_invalid", "$['supersedes']"),
        ("version 3 following the original", change { $0["supersedes"] = .string(original) }, "agreement.field_invalid", "$['supersedes']"),
        ("new total wrong", change { $0["total"] = "8.00" }, "agreement.total_mismatch", "$['total']"),
        ("reason not text", change { $0["reason"] = 5 }, "agreement.field_invalid", "$['reason']"),
    ])
    func changeRules(name: String, document: JSONObject, code: String, path: String) {
        let (revision, findings) = AgreementRevision.check(document, kind: .change)
        #expect(revision == nil, "\(name)")
        #expect(findings.contains { $0.code.rawValue == code && $0.path == path }, "\(name): \(findings)")
    }

    @Test("a cancellation needs its reason and carries no terms", arguments: [
        ("reason missing", cancellation { $0["reason"] = nil }, "agreement.field_missing", "$['reason']"),
        ("reason empty", cancellation { $0["reason"] = "" }, "agreement.field_invalid", "$['reason']"),
        ("lines given", cancellation { $0["lines"] = [] }, "agreement.field_invalid", "$['lines']"),
        ("total given", cancellation { $0["total"] = "1.00" }, "agreement.field_invalid", "$['total']"),
        ("issued not a time", cancellation { $0["issued"] = "yesterday" }, "agreement.timestamp_invalid", "$['issued']"),
        ("id missing", cancellation { $0["id"] = nil }, "agreement.field_missing", "$['id']"),
    ])
    func cancellationRules(name: String, document: JSONObject, code: String, path: String) {
        let (revision, findings) = AgreementRevision.check(document, kind: .cancellation)
        #expect(revision == nil, "\(name)")
        #expect(findings.contains { $0.code.rawValue == code && $0.path == path }, "\(name): \(findings)")
    }

    @Test("the verifier applies the rules; a partner taking PurchaseAgreements takes revisions; roles may go unsigned only for revisions")
    func verifier() throws {
        let key = try SigningIdentity(seed: Array(repeating: 31, count: 32))
        let other = try SigningIdentity(seed: Array(repeating: 32, count: 32))
        var document = Self.change { $0["parties"] = ["buyer": ["id": .string(key.didKey.did)], "seller": ["id": .string(other.didKey.did)]] }
        document = try EddsaJcs2022.addProof(to: document, signer: key, options: .init(created: "2026-11-21T08:00:00Z"))
        let agreement = Agreement(document)
        let policy = VerificationPolicy(roles: nil, agreementTypes: ["PurchaseAgreement"])
        let strict = AgreementVerifier(policy: policy, now: Timestamp(rfc3339: "2026-12-01T00:00:00Z")).verify(agreement)
        #expect(!strict.findings.contains { $0.code == .policyTypeNotAllowed }, "\(strict.findings)")
        #expect(strict.findings.contains { $0.code == .partyUnsigned }, "without the revision policy every role must sign")
        let lenient = AgreementVerifier(policy: policy.applying(to: agreement), now: Timestamp(rfc3339: "2026-12-01T00:00:00Z")).verify(agreement)
        #expect(lenient.verified, "\(lenient.findings)")
        #expect(lenient.signers.map(\.role) == ["buyer"])
        // The original type is never lenient.
        var original = document
        original["type"] = "PurchaseAgreement"
        #expect(policy.applying(to: Agreement(original)).optionalSigners.isEmpty)
    }
}
