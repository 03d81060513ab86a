import CausewayCore
@testable import CausewayTrust
import Foundation
import Testing

/// Builds signed agreements and delegations in-process for verification tests.
struct Fixture {
    /// The gateway's clock in these tests: shortly after the fixtures were signed, inside the
    /// delegations' validity, so that the tests do not depend on the day they run.
    static let now = Timestamp(rfc3339: "2026-11-20T09:35:00Z")!

    let seller = try! SigningIdentity(seed: Array(repeating: 21, count: 32))
    let buyer = try! SigningIdentity(seed: Array(repeating: 22, count: 32))
    let agent = try! SigningIdentity(seed: Array(repeating: 23, count: 32))
    let stranger = try! SigningIdentity(seed: Array(repeating: 24, count: 32))

    func agreement(total: String = "1800.00", currency: String = "EUR", issued: String = "2026-11-20T09:30:00Z") -> JSONObject {
        [
            "type": "PurchaseAgreement", "id": "urn:uuid:11111111-2222-4333-8444-555555555555",
            "parties": [
                "buyer": ["id": .string(buyer.didKey.did), "name": "Konepaja Oy"],
                "seller": ["id": .string(seller.didKey.did), "name": "Stahlteile GmbH"],
            ],
            "issued": .string(issued), "currency": .string(currency),
            "lines": [
                ["sku": "STL-6205-2RS", "description": "Bearing", "quantity": "200", "unit": "pcs", "unitPrice": "7.85"],
                ["sku": "STL-22205-E", "description": "Grease", "quantity": "12.5", "unit": "kg", "unitPrice": "18.40"],
            ],
            "total": .string(total),
        ]
    }

    func credential(issuer: SigningIdentity? = nil, signer: SigningIdentity? = nil, limit: String = "50000.00",
                    currency: String = "EUR", counterparties: [String]? = nil, validFrom: String = "2026-01-01T00:00:00Z",
                    validUntil: String = "2027-01-01T00:00:00Z", roles: [String] = ["seller"]) throws -> JSONObject
    {
        let issuer = issuer ?? seller
        var scope: JSONObject = [
            "roles": .array(roles.map(JSONValue.string)), "agreementTypes": ["PurchaseAgreement"],
            "maxTotal": ["amount": .string(limit), "currency": .string(currency)],
        ]
        scope["counterparties"] = .array((counterparties ?? [buyer.didKey.did]).map(JSONValue.string))
        let credential: JSONObject = [
            "type": "DelegationCredential", "v": 1, "id": "urn:uuid:aaaaaaaa-0000-4000-8000-000000000001",
            "issuer": .string(issuer.didKey.did), "agent": .string(agent.didKey.did),
            "validFrom": .string(validFrom), "validUntil": .string(validUntil), "scope": .object(scope),
        ]
        // Signed before the tests' clock, whatever the validity window.
        return try EddsaJcs2022.addProof(to: credential, signer: signer ?? issuer, options: .init(created: "2026-01-01T00:00:00Z"))
    }

    func sign(_ document: JSONObject, by signers: [SigningIdentity], delegation: JSONObject? = nil,
              created: String = "2026-11-20T09:31:00Z") throws -> Agreement {
        var signed = document
        for signer in signers {
            let extra: [(String, JSONValue)] = signer.didKey == agent.didKey && delegation != nil ? [("delegation", .object(delegation!))] : []
            signed = try EddsaJcs2022.addProof(to: signed, signer: signer, options: .init(created: created, extraMembers: extra))
        }
        return Agreement(signed)
    }
}

@Suite("Agreement verification")
struct AgreementVerificationTests {
    let f = Fixture()

    func codes(_ report: VerificationReport) -> Set<String> { Set(report.errors.map(\.code.rawValue)) }

    @Test("both parties signed: verified, signers reported with roles")
    func bothSigned() throws {
        let report = AgreementVerifier(now: Fixture.now).verify(try f.sign(f.agreement(), by: [f.seller, f.buyer]))
        #expect(report.verified, "\(report.findings)")
        #expect(Set(report.signers.map(\.role)) == ["buyer", "seller"])
        #expect(report.signers.first { $0.role == "seller" }?.verificationMethod == f.seller.didKey.verificationMethod)
        #expect(report.digest == Agreement(f.agreement()).digest)
    }

    @Test("digest ignores proofs and member order")
    func digest() throws {
        let signed = try f.sign(f.agreement(), by: [f.seller])
        var reordered = JSONObject()
        for member in f.agreement().members.reversed() { reordered[member.key] = member.value }
        #expect(signed.digest == Agreement(reordered).digest)
        #expect(signed.digest.description.hasPrefix("sha256:"))
    }

    @Test("a missing party signature is party.unsigned")
    func unsigned() throws {
        let report = AgreementVerifier(now: Fixture.now).verify(try f.sign(f.agreement(), by: [f.buyer]))
        #expect(codes(report) == ["party.unsigned"])
        #expect(report.errors.first?.path == "$['parties']['seller']")
    }

    @Test("no proof at all")
    func noProof() {
        let report = AgreementVerifier(now: Fixture.now).verify(Agreement(f.agreement()))
        #expect(codes(report) == ["proof.missing", "party.unsigned"])
    }

    @Test("content rules: total mismatch, JSON numbers, bad currency, bad date — all reported at once")
    func contentRules() throws {
        var document = f.agreement(total: "1799.99", currency: "EURO", issued: "yesterday")
        var lines = document["lines"]!.arrayValue!
        var line = lines[0].objectValue!
        line["unitPrice"] = .number(7.85)
        lines[0] = .object(line)
        document["lines"] = .array(lines)
        let report = AgreementVerifier(now: Fixture.now).verify(try f.sign(document, by: [f.seller, f.buyer]))
        #expect(codes(report) == ["agreement.decimal_invalid", "agreement.currency_invalid", "agreement.timestamp_invalid"])
        #expect(report.errors.contains { $0.path == "$['lines'][0]['unitPrice']" })

        let mismatch = AgreementVerifier(now: Fixture.now).verify(try f.sign(f.agreement(total: "1799.99"), by: [f.seller, f.buyer]))
        #expect(codes(mismatch) == ["agreement.total_mismatch"])
        #expect(mismatch.errors.first?.message.contains("1800.00") == true)
    }

    @Test("equal totals written with other scales match: 1800 == 1800.00")
    func totalScale() throws {
        #expect(AgreementVerifier(now: Fixture.now).verify(try f.sign(f.agreement(total: "1800"), by: [f.seller, f.buyer])).verified)
    }

    @Test("a signature from a stranger's key does not sign the seller role")
    func stranger() throws {
        let report = AgreementVerifier(now: Fixture.now).verify(try f.sign(f.agreement(), by: [f.stranger, f.buyer]))
        #expect(codes(report) == ["party.unsigned"])
    }

    @Test("partner policy: roles, limits, currencies")
    func policy() throws {
        let agreement = try f.sign(f.agreement(), by: [f.seller, f.buyer])
        let allowed = VerificationPolicy(roles: ["seller": [f.seller.didKey.did], "buyer": [f.buyer.didKey.did]],
                                         maxTotal: Decimal(string: "250000.00"), currencies: ["EUR"])
        #expect(AgreementVerifier(policy: allowed, now: Fixture.now).verify(agreement).verified)

        let strict = VerificationPolicy(roles: ["seller": [f.stranger.didKey.did], "buyer": [f.buyer.didKey.did], "carrier": []],
                                        maxTotal: Decimal(string: "1000.00"), currencies: ["SEK"])
        let report = AgreementVerifier(policy: strict, now: Fixture.now).verify(agreement)
        #expect(codes(report) == ["party.not_authorized", "party.role_missing", "policy.limit_exceeded", "policy.currency_not_allowed"])
    }
}

@Suite("Delegation credentials")
struct DelegationTests {
    let f = Fixture()

    func verify(_ credential: JSONObject, document: JSONObject? = nil) throws -> VerificationReport {
        AgreementVerifier(now: Fixture.now).verify(try f.sign(document ?? f.agreement(), by: [f.agent, f.buyer], delegation: credential))
    }

    func codes(_ report: VerificationReport) -> Set<String> { Set(report.errors.map(\.code.rawValue)) }

    @Test("an in-scope credential lets the agent sign for the seller")
    func inScope() throws {
        let report = try verify(try f.credential())
        #expect(report.verified, "\(report.findings)")
        let seller = try #require(report.signers.first { $0.role == "seller" })
        #expect(seller.did == f.seller.didKey.did)
        #expect(seller.verificationMethod == f.agent.didKey.verificationMethod)
        #expect(seller.delegation?.issuer == f.seller.didKey.did)
    }

    @Test("a credential in the agreement's 'delegations' array counts too")
    func inBody() throws {
        var document = f.agreement()
        document["delegations"] = [.object(try f.credential())]
        let report = AgreementVerifier(now: Fixture.now).verify(try f.sign(document, by: [f.agent, f.buyer]))
        #expect(report.verified, "\(report.findings)")
    }

    @Test("without a credential an agent's proof does not count")
    func noCredential() throws {
        let report = AgreementVerifier(now: Fixture.now).verify(try f.sign(f.agreement(), by: [f.agent, f.buyer]))
        #expect(codes(report) == ["party.unsigned"])
    }

    @Test("amount over the limit")
    func overLimit() throws {
        let report = try verify(try f.credential(limit: "1000.00"))
        #expect(codes(report) == ["delegation.out_of_scope", "party.unsigned"])
        #expect(report.errors.contains { $0.path?.hasSuffix("['scope']['maxTotal']['amount']") == true })
    }

    @Test("wrong currency")
    func wrongCurrency() throws {
        let report = try verify(try f.credential(currency: "SEK"))
        #expect(codes(report) == ["delegation.out_of_scope", "party.unsigned"])
        #expect(report.errors.contains { $0.path?.hasSuffix("['currency']") == true })
    }

    @Test("expired")
    func expired() throws {
        let report = try verify(try f.credential(validFrom: "2025-01-01T00:00:00Z", validUntil: "2026-06-30T23:59:59Z"))
        #expect(codes(report) == ["delegation.expired", "party.unsigned"])
    }

    @Test("not yet valid")
    func notYetValid() throws {
        let report = try verify(try f.credential(validFrom: "2026-12-01T00:00:00Z", validUntil: "2027-12-01T00:00:00Z"))
        #expect(codes(report) == ["delegation.not_yet_valid", "party.unsigned"])
    }

    @Test("other counterparty")
    func otherCounterparty() throws {
        let report = try verify(try f.credential(counterparties: [f.stranger.didKey.did]))
        #expect(codes(report) == ["delegation.out_of_scope", "party.unsigned"])
        #expect(report.errors.contains { $0.path?.hasSuffix("['scope']['counterparties']") == true })
    }

    @Test("another role than the one signed")
    func otherRole() throws {
        let report = try verify(try f.credential(roles: ["buyer"]))
        #expect(codes(report) == ["delegation.out_of_scope", "party.unsigned"])
    }

    @Test("a credential signed by someone other than its issuer")
    func signedBySomeoneElse() throws {
        let report = try verify(try f.credential(signer: f.stranger))
        #expect(codes(report) == ["delegation.signature_invalid", "party.unsigned"])
    }

    @Test("a credential issued by another organisation")
    func otherIssuer() throws {
        let report = try verify(try f.credential(issuer: f.stranger))
        #expect(codes(report) == ["delegation.wrong_issuer", "party.unsigned"])
    }

    @Test("a tampered credential (limit raised after signing)")
    func tampered() throws {
        var credential = try f.credential(limit: "1000.00")
        var scope = credential["scope"]!.objectValue!
        scope["maxTotal"] = ["amount": "99999.00", "currency": "EUR"]
        credential["scope"] = .object(scope)
        let report = try verify(credential)
        #expect(codes(report) == ["delegation.signature_invalid", "party.unsigned"])
    }

    @Test("a malformed credential is reported, not thrown")
    func malformed() throws {
        let report = try verify(["type": "DelegationCredential", "issuer": .string(f.seller.didKey.did), "agent": .string(f.agent.didKey.did),
                                 "validUntil": "soon"])
        #expect(codes(report) == ["delegation.malformed", "party.unsigned"])
    }
}

@Suite("Malformed proofs are findings, not exceptions")
struct MalformedProofTests {
    let f = Fixture()

    func report(mutating proofChange: (inout JSONObject) -> Void) throws -> VerificationReport {
        let signed = try f.sign(f.agreement(), by: [f.seller, f.buyer])
        var document = signed.document
        var proofs = document["proof"]!.arrayValue!
        var first = proofs[0].objectValue!
        proofChange(&first)
        proofs[0] = .object(first)
        document["proof"] = .array(proofs)
        return AgreementVerifier(now: Fixture.now).verify(Agreement(document))
    }

    func codes(_ report: VerificationReport) -> Set<String> { Set(report.errors.map(\.code.rawValue)) }

    @Test("each kind of damage gets its own code", arguments: [
        ("proofPurpose", JSONValue.string("authentication"), "proof.purpose_invalid"),
        ("verificationMethod", .string("did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme"), "proof.verification_method_invalid"),
        ("proofValue", .string("not-base58!"), "proof.malformed"),
        ("proofValue", .number(1), "proof.malformed"),
        ("created", .string("yesterday"), "proof.malformed"),
        ("cryptosuite", .string("ecdsa-jcs-2019"), "proof.unsupported_cryptosuite"),
    ])
    func damage(member: String, value: JSONValue, code: String) throws {
        let result = try report { $0[member] = value }
        // (An unsupported cryptosuite is a warning when parties exist: the roles decide.)
        #expect(result.findings.contains { $0.code.rawValue == code }, "\(result.findings)")
        #expect(codes(result).contains("party.unsigned"))
        #expect(!result.verified)
    }

    @Test("a proof that is not an object, and a missing verification method")
    func shapes() throws {
        let signed = try f.sign(f.agreement(), by: [f.seller, f.buyer])
        var document = signed.document
        document["proof"] = .array(document["proof"]!.arrayValue! + ["just a string"])
        #expect(codes(AgreementVerifier(now: Fixture.now).verify(Agreement(document))).contains("proof.malformed"))
        let missing = try report { $0["verificationMethod"] = nil }
        #expect(codes(missing).contains("proof.malformed"))
    }

    @Test("duplicate proof ids are reported")
    func duplicateIDs() throws {
        var document = f.agreement()
        document = try EddsaJcs2022.addProof(to: document, signer: f.seller, options: .init(created: "2026-11-20T09:31:00Z", id: "urn:p:1"))
        document = try EddsaJcs2022.addProof(to: document, signer: f.buyer, options: .init(created: "2026-11-20T09:31:00Z", id: "urn:p:1"))
        #expect(codes(AgreementVerifier(now: Fixture.now).verify(Agreement(document))).contains("proof.duplicate_id"))
    }
}
