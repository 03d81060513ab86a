import CausewayCore
@_spi(Testing) @testable import CausewayTrust
import Crypto
import Foundation
import Testing

/// The eight points of small order of edwards25519, written out independently of the code under
/// test, in their canonical encodings and the non-canonical ones (x = 0 with the sign bit set, and
/// y ≥ p).
enum SmallOrderPoints {
    static func hex(_ text: String) -> [UInt8] { HexEncoding.decode(text)! }
    static func negative(_ bytes: [UInt8]) -> [UInt8] {
        var copy = bytes
        copy[31] |= 0x80
        return copy
    }

    static let zero = [UInt8](repeating: 0, count: 32)
    static let identity = hex("0100000000000000000000000000000000000000000000000000000000000000")
    static let minusOne = hex("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")
    static let y8 = hex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05")
    static let pMinusY8 = hex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a")
    static let p = hex("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")
    static let pPlusOne = hex("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")

    /// (name, encoding): identity (order 1), (0, −1) (order 2), the two of order 4 (y = 0), and the
    /// four of order 8 (y = ±y₈).
    static let canonical: [(String, [UInt8])] = [
        ("identity", identity), ("order 2", minusOne), ("order 4, +x", zero), ("order 4, -x", negative(zero)),
        ("order 8, y8 +x", y8), ("order 8, y8 -x", negative(y8)), ("order 8, -y8 +x", pMinusY8), ("order 8, -y8 -x", negative(pMinusY8)),
    ]
    /// Other spellings of the same points.
    static let nonCanonical: [(String, [UInt8])] = [
        ("identity, sign bit set", negative(identity)), ("order 2, sign bit set", negative(minusOne)),
        ("y = p (order 4)", p), ("y = p, sign bit set", negative(p)), ("y = p + 1 (identity)", pPlusOne),
        ("y = p + 1, sign bit set", negative(pPlusOne)),
    ]
    static let all = canonical + nonCanonical
}

@Suite("Weak keys and non-canonical signatures are refused (issue 11, finding 7)")
struct WeakKeyTests {
    let f = Fixture()
    /// R = identity, S = 0: verifies under a small-order key for every message whose challenge
    /// the key's order divides (always, for the identity).
    let forged = SmallOrderPoints.identity + [UInt8](repeating: 0, count: 32)

    func codes(_ report: VerificationReport) -> Set<String> { Set(report.errors.map(\.code.rawValue)) }

    @Test("the signature primitive alone accepts the forgery under every small-order key: the reason for the check")
    func primitiveAcceptsForgery() throws {
        for (name, point) in SmallOrderPoints.canonical {
            guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: point) else { continue }
            // The challenge k is a hash: some message in a few dozen makes [k]A the identity.
            let accepted = (0..<200).contains { key.isValidSignature(forged, for: Array("order \($0)".utf8)) }
            #expect(accepted, "\(name)")
        }
    }

    @Test("did:key refuses all small-order points, canonical and not", arguments: SmallOrderPoints.all.map(\.0))
    func didKeyRefuses(name: String) throws {
        let point = try #require(SmallOrderPoints.all.first { $0.0 == name }?.1)
        #expect(throws: DIDKeyError.self) { try DIDKey(publicKey: point) }
        let multibase = Multibase.encode([0xED, 0x01] + point)
        do {
            _ = try DIDKey(parsing: "did:key:\(multibase)#\(multibase)")
            Issue.record("\(name) was accepted")
        } catch {
            #expect(error.code == .weakPublicKey, "\(name): \(error)")
        }
    }

    @Test("a forged proof (R = identity, S = 0) by a small-order did:key does not sign a role", arguments: SmallOrderPoints.all.map(\.0))
    func forgedProofRefused(name: String) throws {
        let point = try #require(SmallOrderPoints.all.first { $0.0 == name }?.1)
        let multibase = Multibase.encode([0xED, 0x01] + point)
        var document = f.agreement()
        document["parties"] = [
            "buyer": ["id": .string(f.buyer.didKey.did)],
            "seller": ["id": .string("did:key:" + multibase)],
        ]
        var signed = try f.sign(document, by: [f.buyer]).document
        let proof: JSONObject = [
            "type": "DataIntegrityProof", "cryptosuite": "eddsa-jcs-2022", "created": "2026-11-20T09:31:00Z",
            "verificationMethod": .string("did:key:\(multibase)#\(multibase)"), "proofPurpose": "assertionMethod",
            "proofValue": .string(Multibase.encode(forged)),
        ]
        signed["proof"] = .array([.object(proof), signed["proof"]!])
        let report = AgreementVerifier(now: Fixture.now).verify(Agreement(signed))
        #expect(!report.verified)
        #expect(codes(report).isSuperset(of: ["did.key_weak", "party.unsigned"]), "\(name): \(report.findings)")
        #expect(!report.signers.contains { $0.role == "seller" })
    }

    /// The seller's real proof with its signature replaced.
    func withSignature(_ signature: [UInt8]) throws -> VerificationReport {
        var document = try f.sign(f.agreement(), by: [f.seller, f.buyer]).document
        var proofs = document["proof"]!.arrayValue!
        var seller = proofs[0].objectValue!
        seller["proofValue"] = .string(Multibase.encode(signature))
        proofs[0] = .object(seller)
        document["proof"] = .array(proofs)
        return AgreementVerifier(now: Fixture.now).verify(Agreement(document))
    }

    @Test("a small-order or non-canonical R is refused before verification", arguments: SmallOrderPoints.all.map(\.0))
    func smallOrderR(name: String) throws {
        let point = try #require(SmallOrderPoints.all.first { $0.0 == name }?.1)
        let report = try withSignature(point + [UInt8](repeating: 0, count: 32))
        #expect(report.findings.contains { $0.code == .proofSignatureNoncanonical && $0.path == "$['proof'][0]['proofValue']" },
                "\(name): \(report.findings)")
        #expect(report.work.signatureChecks == 1)  // only the buyer's proof reached Ed25519
        #expect(!report.verified)
    }

    @Test("R with y ≥ p that is not small order is refused too")
    func nonCanonicalR() throws {
        let r = SmallOrderPoints.hex("efffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")  // y = p + 2
        let report = try withSignature(r + [UInt8](repeating: 0, count: 32))
        #expect(report.findings.contains { $0.code == .proofSignatureNoncanonical })
    }

    @Test("S ≥ L: swift-crypto already rejects it, and the verifier names it")
    func unreducedS() throws {
        let signed = try f.sign(f.agreement(), by: [f.seller])
        let proof = try #require(signed.document["proof"]?.objectValue)
        let signature = try #require(Multibase.decode(proof["proofValue"]!.stringValue!))
        // S + L, little endian with carry: the same scalar mod L, not reduced.
        var s = Array(signature[32...])
        var carry = 0
        for i in 0..<32 {
            let sum = Int(s[i]) + Int(Ed25519Encoding.order[i]) + carry
            s[i] = UInt8(sum & 0xFF)
            carry = sum >> 8
        }
        #expect(carry == 0)
        let malleated = Array(signature[..<32]) + s
        let (_, config) = JCS.canonicalize(proof, withAndWithout: "proofValue")
        let hashData = Array(SHA256.hash(data: config)) + Array(SHA256.hash(data: signed.canonicalBody))
        let key = try f.seller.didKey.publicKey()
        #expect(key.isValidSignature(signature, for: hashData))
        #expect(!key.isValidSignature(malleated, for: hashData))
        let report = try withSignature(malleated)
        #expect(report.findings.contains { $0.code == .proofSignatureNoncanonical && $0.message.contains("group order") })
    }

    @Test("honest keys and signatures pass the encoding checks")
    func honest() throws {
        for seed in 1...64 {
            let identity = try SigningIdentity(seed: [UInt8](repeating: UInt8(seed), count: 32))
            #expect(Ed25519Encoding.problem(withPoint: identity.didKey.publicKeyBytes) == nil)
            let signature = try identity.sign(Array("message \(seed)".utf8))
            #expect(Ed25519Encoding.problem(withPoint: signature[..<32]) == nil)
            #expect(Ed25519Encoding.isReducedScalar(signature[32...]))
        }
    }
}
