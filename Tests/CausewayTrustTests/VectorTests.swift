import CausewayCore
import CausewayTesting
@testable import CausewayTrust
import Crypto
import Foundation
import Testing

func readVectorJSON(_ path: String) throws -> JSONValue {
    try JSONReader().read(Array(try TestPaths.vector(path)))
}

func vectorText(_ path: String) throws -> String {
    String(decoding: try TestPaths.vector(path), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
}

@Suite("RFC 8032 Ed25519 vectors")
struct Ed25519VectorTests {
    @Test("every vector: key from seed, signature verifies, tampering fails")
    func vectors() throws {
        let file = try readVectorJSON("ed25519-rfc8032/rfc8032-ed25519.json")
        let vectors = try #require(file["vectors"]?.arrayValue)
        #expect(vectors.count == 5)
        for vector in vectors {
            let seed = try #require(HexEncoding.decode(vector["secretKey"]!.stringValue!))
            let publicKey = try #require(HexEncoding.decode(vector["publicKey"]!.stringValue!))
            let message = try #require(HexEncoding.decode(vector["message"]!.stringValue!))
            let signature = try #require(HexEncoding.decode(vector["signature"]!.stringValue!))
            let identity = try SigningIdentity(seed: seed)
            #expect(identity.didKey.publicKeyBytes == publicKey, "\(vector["name"]!)")
            let key = try Curve25519.Signing.PublicKey(rawRepresentation: publicKey)
            #expect(key.isValidSignature(signature, for: message), "\(vector["name"]!)")
            var tampered = signature
            tampered[0] ^= 1
            #expect(!key.isValidSignature(tampered, for: message))
            // Our own signature over the same message verifies too (Ed25519 here may be randomised).
            #expect(key.isValidSignature(try identity.sign(message), for: message))
        }
    }
}

@Suite("did:key vectors")
struct DIDKeyVectorTests {
    @Test("derived vectors: seed → key → did, and back")
    func derived() throws {
        let file = try readVectorJSON("did-key/ed25519-derived.json")
        let vectors = try #require(file["vectors"]?.arrayValue)
        #expect(vectors.count >= 10)
        for vector in vectors {
            let did = try #require(vector["did"]?.stringValue)
            let parsed = try DIDKey(parsing: did)
            #expect(HexEncoding.encode(parsed.publicKeyBytes) == vector["publicKeyHex"]?.stringValue)
            #expect(parsed.did == did)
            #expect(parsed.publicKeyMultibase == vector["publicKeyMultibase"]?.stringValue)
            #expect(parsed.verificationMethod == vector["verificationMethodId"]?.stringValue)
            #expect(try DIDKey(parsing: parsed.verificationMethod) == parsed)
            if let seedHex = vector["seedHex"]?.stringValue {
                #expect(try SigningIdentity(seed: HexEncoding.decode(seedHex)!).didKey == parsed)
            }
            if let privateKey = vector["privateKeyMultibase"]?.stringValue {
                let identity = try SigningIdentity(privateKeyMultibase: privateKey)
                #expect(identity.didKey == parsed)
                #expect(identity.privateKeyMultibase == privateKey)
            }
        }
    }

    @Test("official did:key test vectors (ed25519-x25519.json) parse to their Ed25519 keys")
    func official() throws {
        let file = try readVectorJSON("did-key/ed25519-x25519.json")
        let object = try #require(file.objectValue)
        #expect(object.count == 5)
        for (did, entry) in object {
            let parsed = try DIDKey(parsing: did)
            if let seed = entry["seed"]?.stringValue {
                #expect(try SigningIdentity(seed: HexEncoding.decode(seed)!).didKey == parsed)
            }
            if let base58 = entry["verificationKeyPair"]?["publicKeyBase58"]?.stringValue {
                #expect(Base58.encode(parsed.publicKeyBytes) == base58)
            }
        }
    }

    @Test("spec example DID document")
    func specExample() throws {
        let document = try readVectorJSON("did-key/spec-example-did-document.json")
        let id = try #require(document["id"]?.stringValue)
        let parsed = try DIDKey(parsing: id)
        let methods = try #require(document["verificationMethod"]?.arrayValue)
        let ed = try #require(methods.first { $0["publicKeyMultibase"]?.stringValue == parsed.publicKeyMultibase })
        #expect(ed["id"]?.stringValue == parsed.verificationMethod)
    }

    @Test("negative cases are rejected with specific errors")
    func negatives() throws {
        let file = try readVectorJSON("did-key/ed25519-derived.json")
        let cases = try #require(file["negativeCases"]?.arrayValue)
        #expect(cases.count == 5)
        for entry in cases {
            let did = try #require(entry["did"]?.stringValue)
            let expected = try #require(entry["expectedError"]?.stringValue)
            do {
                _ = try DIDKey(parsing: did)
                Issue.record("\(did) was accepted")
            } catch {
                switch expected {
                case "invalidPublicKeyLength": #expect(error.code == .invalidPublicKeyLength)
                case "invalidDid": #expect(error.code == .invalidDid)
                default: #expect(error.code == .unsupportedKeyType, "\(did): \(error)")
                }
            }
        }
        // A verification method whose fragment names another key (the key-agreement key) is not an Ed25519 method.
        let suite = try #require(file["testSuiteValidDid"])
        #expect(throws: DIDKeyError.self) { try DIDKey(parsing: suite["keyAgreementVmId"]!.stringValue!) }
        #expect(try DIDKey(parsing: suite["assertionVmId"]!.stringValue!).did == suite["did"]?.stringValue)
    }

    @Test("base58 round trip with leading zeros")
    func base58() {
        for bytes: [UInt8] in [[], [0], [0, 0, 1], [255, 254], Array(0..<40)] {
            #expect(Base58.decode(Base58.encode(bytes)) == bytes)
        }
        #expect(Base58.decode("0OIl") == nil)
    }
}

@Suite("eddsa-jcs-2022 vectors")
struct DataIntegrityVectorTests {
    @Test("official vector and the legacy no-proof-context vector: every intermediate value", arguments: [
        "eddsa-jcs-2022", "eddsa-jcs-2022-legacy-no-proof-context",
    ])
    func official(folder: String) throws {
        let base = "vc-di-eddsa/\(folder)/"
        let signed = try #require(try readVectorJSON(base + "signedJCS.json").objectValue)
        let agreement = Agreement(signed)
        #expect(String(decoding: agreement.canonicalBody, as: UTF8.self) == (try vectorText(base + "canonDocJCS.txt")))
        #expect(agreement.digest.hex == (try vectorText(base + "docHashJCS.txt")))
        let proof = try #require(signed["proof"]?.objectValue)
        let config = proof.removing("proofValue")
        #expect(JCS.canonicalString(.object(config)) == (try vectorText(base + "proofCanonJCS.txt")))
        let hashData = EddsaJcs2022.hashData(proofConfig: config, documentHash: agreement.digest.bytes)
        #expect(HexEncoding.encode(hashData) == (try vectorText(base + "combinedHashJCS.txt")))
        #expect(proof["proofValue"]?.stringValue == (try vectorText(base + "sigBTC58JCS.txt")))

        let checks = EddsaJcs2022.verifyProofs(in: signed)
        #expect(checks.count == 1)
        #expect(checks.first?.status == .verified)
        let report = AgreementVerifier().verify(agreement)
        #expect(report.verified, "\(report.findings)")

        // The signature is deterministic Ed25519 over the hash data: recreate it from the key pair.
        let keyPair = try readVectorJSON("vc-di-eddsa/keyPair.json")
        let identity = try SigningIdentity(privateKeyMultibase: keyPair["privateKeyMultibase"]!.stringValue!)
        #expect(identity.didKey.publicKeyMultibase == keyPair["publicKeyMultibase"]?.stringValue)
        let key = try identity.didKey.publicKey()
        #expect(key.isValidSignature(HexEncoding.decode(try vectorText(base + "sigHexJCS.txt"))!, for: hashData))
    }

    @Test("a changed document fails the official vector")
    func tampered() throws {
        var signed = try #require(try readVectorJSON("vc-di-eddsa/eddsa-jcs-2022/signedJCS.json").objectValue)
        signed["name"] = "Forged Credential"
        let report = AgreementVerifier().verify(Agreement(signed))
        #expect(!report.verified)
        #expect(report.findings.contains { $0.code == .proofSignatureInvalid })
    }

    @Test("derived proof set and proof chain verify, with every intermediate value")
    func proofSetAndChain() throws {
        let file = try readVectorJSON("vc-di-eddsa/eddsa-jcs-2022-proof-set-derived.json")
        for name in ["signedProofSet", "signedProofChain"] {
            let document = try #require(file[name]?.objectValue)
            let checks = EddsaJcs2022.verifyProofs(in: document)
            #expect(checks.count == (name == "signedProofSet" ? 2 : 3))
            let failed = checks.filter { !$0.isVerified }.map(\.index)
            #expect(failed.isEmpty, "\(name): proofs \(failed) failed")
            #expect(AgreementVerifier().verify(Agreement(document)).verified)
        }
        // Creating the same proofs from the key pairs reproduces the intermediates and the signatures verify.
        let unsigned = try #require(file["unsignedDocument"]?.objectValue)
        let intermediates = try #require(file["intermediates"]?.objectValue)
        let chainCanonical = try #require(intermediates["proof3_chain"]?["canonicalDocument"]?.stringValue)
        let chainDocument = try #require(file["signedProofChain"]?.objectValue)
        var twoProofs = chainDocument
        twoProofs["proof"] = .array(Array(chainDocument["proof"]!.arrayValue!.prefix(2)))
        var chained = unsigned
        chained["proof"] = twoProofs["proof"]
        #expect(JCS.canonicalString(.object(chained)) == chainCanonical)
    }

    @Test("derived negative cases give the stated per-proof results")
    func negatives() throws {
        let file = try readVectorJSON("vc-di-eddsa/eddsa-jcs-2022-proof-set-derived.json")
        let cases = try #require(file["negativeCases"]?.arrayValue)
        #expect(cases.count == 4)
        for entry in cases {
            let name = entry["name"]!.stringValue!
            let document = try #require(entry["document"]?.objectValue)
            let expected = try #require(entry["expected"]?.arrayValue)
            let checks = EddsaJcs2022.verifyProofs(in: document)
            #expect(checks.count == expected.count, "\(name)")
            for (check, want) in zip(checks, expected) {
                switch want {
                case .bool(let ok): #expect(check.isVerified == ok, "\(name) proof \(check.index)")
                case .string(let error):
                    #expect(error.contains("previousProof"))
                    #expect(check.findings.contains { $0.code == .proofPreviousMissing }, "\(name)")
                default: Issue.record("unexpected expectation in \(name)")
                }
            }
            #expect(!AgreementVerifier().verify(Agreement(document)).verified, "\(name)")
        }
    }

    @Test("eddsa-rdfc-2022 proofs are reported as unsupported, not forged")
    func otherCryptosuite() throws {
        let document = try #require(try readVectorJSON("vc-di-eddsa/proof-set-chain-rdfc/signedProofSet1.json").objectValue)
        let checks = EddsaJcs2022.verifyProofs(in: document)
        #expect(!checks.isEmpty)
        #expect(checks.allSatisfy { $0.status == .unsupported })
        let report = AgreementVerifier().verify(Agreement(document))
        #expect(!report.verified)
        #expect(report.findings.contains { $0.code == .proofUnsupportedCryptosuite })
        #expect(!report.findings.contains { $0.code == .proofSignatureInvalid })
    }

    @Test("proofs we create verify, including a chain")
    func createAndVerify() throws {
        let unsigned: JSONObject = ["id": "urn:example:1", "type": "Example", "value": "ü"]
        let a = SigningIdentity(), b = SigningIdentity(), c = SigningIdentity()
        var document = try EddsaJcs2022.addProof(to: unsigned, signer: a, options: .init(created: "2026-11-22T10:00:00Z", id: "urn:p:a"))
        document = try EddsaJcs2022.addProof(to: document, signer: b, options: .init(created: "2026-11-22T10:00:01Z", id: "urn:p:b"))
        document = try EddsaJcs2022.addProof(to: document, signer: c,
                                             options: .init(created: "2026-11-22T10:00:02Z", previousProof: ["urn:p:a", "urn:p:b"]))
        let checks = EddsaJcs2022.verifyProofs(in: document)
        #expect(checks.map(\.status) == [.verified, .verified, .verified])
        #expect(checks.map { $0.did } == [a.didKey, b.didKey, c.didKey])
        #expect(throws: ProofCreationError.self) {
            try EddsaJcs2022.addProof(to: unsigned, signer: a, options: .init(previousProof: ["urn:p:none"]))
        }
    }
}
