import CausewayCore
@testable import CausewayTrust
import Crypto
import Foundation
import Testing

/// Swift's `String ==` uses canonical equivalence; identifiers must match code point for code point.
@Suite("Identifiers are compared by exact code points (issue 11, finding 9)")
struct ExactIdentifierTests {
    let f = Fixture()

    func codes(_ report: VerificationReport) -> Set<String> { Set(report.errors.map(\.code.rawValue)) }

    /// A key whose did:key contains a `K`, and that DID with U+212A KELVIN SIGN in its place.
    func kelvin() throws -> (SigningIdentity, String) {
        for seed in 1...255 {
            let identity = try SigningIdentity(seed: [UInt8](repeating: UInt8(seed), count: 32))
            let scalars = Array(identity.didKey.did.unicodeScalars)
            guard scalars.dropFirst(8).contains("K") else { continue }
            var view = String.UnicodeScalarView()
            view.append(contentsOf: scalars.map { $0 == "K" ? "\u{212A}" : $0 })
            return (identity, String(view))
        }
        throw CancellationError()
    }

    @Test("a party DID spelled with a Kelvin sign is not signed by the key with K")
    func kelvinParty() throws {
        let (signer, spoofed) = try kelvin()
        #expect(spoofed == signer.didKey.did)  // Swift's String == says equal…
        #expect(!spoofed.isExactly(signer.didKey.did))  // …the code points differ.
        var document = f.agreement()
        document["parties"] = ["buyer": ["id": .string(f.buyer.didKey.did)], "seller": ["id": .string(spoofed)]]
        let report = AgreementVerifier(now: Fixture.now).verify(try f.sign(document, by: [signer, f.buyer]))
        #expect(!report.verified)
        #expect(codes(report).contains("party.unsigned"))
        #expect(!report.signers.contains { $0.role == "seller" })
    }

    @Test("the did:key cache does not hand the K key to its Kelvin spelling")
    func kelvinCache() throws {
        let (signer, spoofed) = try kelvin()
        _ = try DIDKey.cached(parsing: signer.didKey.verificationMethod)
        let spoofedMethod = spoofed + "#" + String(spoofed.unicodeScalars.dropFirst(8).map(Character.init))
        #expect(throws: DIDKeyError.self) { try DIDKey.cached(parsing: spoofedMethod) }
        #expect(throws: DIDKeyError.self) { try DIDKey(parsing: spoofed) }
    }

    static let precomposed = "did:web:caf\u{E9}.example"
    static let decomposed = "did:web:cafe\u{301}.example"

    @Test("a delegation's counterparty with a precomposed é does not cover a decomposed one")
    func counterpartyNormalization() throws {
        #expect(Self.precomposed == Self.decomposed)
        let credential = try f.credential(counterparties: [Self.precomposed])
        func report(buyer: String) throws -> VerificationReport {
            var document = f.agreement()
            document["parties"] = ["buyer": ["id": .string(buyer)], "seller": ["id": .string(f.seller.didKey.did)]]
            return AgreementVerifier(now: Fixture.now).verify(try f.sign(document, by: [f.agent], delegation: credential))
        }
        let same = try report(buyer: Self.precomposed)
        #expect(same.signers.contains { $0.role == "seller" }, "\(same.findings)")
        let other = try report(buyer: Self.decomposed)
        #expect(!other.signers.contains { $0.role == "seller" })
        #expect(other.findings.contains { $0.code == .delegationOutOfScope && $0.path?.hasSuffix("['scope']['counterparties']") == true })
    }

    @Test("partner roles and their DIDs match exactly")
    func policyNormalization() throws {
        var document = f.agreement()
        document["parties"] = ["buyer": ["id": .string(Self.decomposed)], "seller": ["id": .string(f.seller.didKey.did)]]
        let agreement = try f.sign(document, by: [f.seller])
        let policy = VerificationPolicy(roles: ["seller": [f.seller.didKey.did], "buyer": [Self.precomposed],
                                                "acheteur-caf\u{E9}": [f.buyer.didKey.did]])
        let report = AgreementVerifier(policy: policy, now: Fixture.now).verify(agreement)
        #expect(report.findings.contains { $0.code == .partyNotAuthorized && $0.path == "$['parties']['buyer']['id']" })
        // A required role spelled with a precomposed é is not the document's decomposed one.
        var withRole = f.agreement()
        withRole["parties"] = ["acheteur-cafe\u{301}": ["id": .string(f.buyer.didKey.did)], "seller": ["id": .string(f.seller.didKey.did)]]
        let strict = VerificationPolicy(roles: ["acheteur-caf\u{E9}": [f.buyer.didKey.did]])
        let roleReport = AgreementVerifier(policy: strict, now: Fixture.now).verify(try f.sign(withRole, by: [f.seller, f.buyer]))
        #expect(codes(roleReport).contains("party.role_missing"))
    }

    @Test("previousProof names a proof id exactly")
    func proofIDs() throws {
        var document = f.agreement()
        document = try EddsaJcs2022.addProof(to: document, signer: f.seller,
                                              options: .init(created: "2026-11-20T09:31:00Z", id: "urn:p:\u{212A}1"))
        // The buyer chains to "urn:p:K1" (ASCII), signing the seller's proof as the old lookup found it.
        var config: JSONObject = [
            "type": "DataIntegrityProof", "cryptosuite": "eddsa-jcs-2022", "created": "2026-11-20T09:32:00Z",
            "verificationMethod": .string(f.buyer.didKey.verificationMethod), "proofPurpose": "assertionMethod",
            "previousProof": "urn:p:K1",
        ]
        var chained = document
        chained["proof"] = .array([document["proof"]!])
        let hashData = EddsaJcs2022.hashData(proofConfig: config, documentHash: Array(SHA256.hash(data: JCS.canonicalize(.object(chained)))))
        config["proofValue"] = .string(Multibase.encode(try f.buyer.sign(hashData)))
        document["proof"] = .array([document["proof"]!, .object(config)])
        let report = AgreementVerifier(now: Fixture.now).verify(Agreement(document))
        #expect(report.findings.contains { $0.code == .proofPreviousMissing && $0.path == "$['proof'][1]['previousProof']" })
        #expect(!report.verified)
    }
}
