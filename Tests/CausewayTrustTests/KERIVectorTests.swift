import CausewayCore
import CausewayTesting
@testable import CausewayTrust
import Foundation
import Testing

/// The keripy-generated vectors committed under Tests/Fixtures/keri (see its README).
enum KERIFixtures {
    static let folder = TestPaths.repository.appendingPathComponent("Tests/Fixtures/keri")

    static func bytes(_ path: String) throws -> [UInt8] {
        let url = folder.appendingPathComponent(path)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw MissingTestInput(path: url.path, hint: "the KERI vectors are committed under Tests/Fixtures/keri")
        }
        return Array(data)
    }

    static func json(_ path: String) throws -> JSONValue { try JSONReader(limits: .init(maxBytes: 1 << 22)).read(try bytes(path)) }

    static let cases: JSONValue = (try? json("cases.json")) ?? .null

    static func kelCases() -> [JSONValue] { cases["kel_cases"]?.arrayValue ?? [] }
    static func proofCases() -> [JSONValue] { cases["proof_cases"]?.arrayValue ?? [] }
    static var knownDivergences: [String] { (cases["known_keripy_divergences"]?["cases"]?.arrayValue ?? []).compactMap(\.stringValue) }

    static func kel(_ path: String) throws -> KERIKeyEventLog { try KERIKeyEventLog(validating: bytes(path)) }
}

/// Stable names for test tables.
struct KERICase: CustomTestStringConvertible, Sendable {
    let value: JSONValue
    var name: String { value["case"]?.stringValue ?? "?" }
    var testDescription: String { name }
}

@Suite("BLAKE3-256 (official input pattern)")
struct BLAKE3Tests {
    @Test("35 vectors from 0 to 102400 bytes, one and many chunks")
    func vectors() throws {
        let file = try KERIFixtures.json("blake3_vectors.json")
        let vectors = try #require(file["vectors"]?.arrayValue)
        #expect(vectors.count == 35)
        for vector in vectors {
            let length = try #require(vector["input_len"]?.exactInt)
            let input = (0..<length).map { UInt8($0 % 251) }
            let expected = try #require(vector["hash_hex"]?.stringValue)
            #expect(HexEncoding.encode(BLAKE3.hash(input)) == expected, "input length \(length)")
        }
    }

    @Test("KERI examples: hex and the E… qb64 form")
    func keriExamples() throws {
        let file = try KERIFixtures.json("blake3_vectors.json")
        let examples = try #require(file["keri_examples"]?.arrayValue)
        #expect(examples.count == 3)
        for example in examples {
            let input = Array(try #require(example["input_ascii"]?.stringValue).utf8)
            #expect(HexEncoding.encode(BLAKE3.hash(input)) == example["hash_hex"]?.stringValue)
            #expect(KERI.digest(input) == example["keri_qb64"]?.stringValue)
        }
    }
}

@Suite("KERI vectors: KEL accept/reject cases (keripy 1.3.6)")
struct KERIKELVectorTests {
    /// The refusal each negative case must get (what makes it fail, not just that it fails).
    static let expectedCodes: [String: KERIError.Code] = [
        "A.rot1_tampered_key_said_mismatch": .saidMismatch,
        "A.rot1_tampered_next_resaidified_old_sig": .invalidSignature,
        "A.forged_rot_uncommitted_key": .preRotationViolated,
        "A.forged_rot_signed_by_current_key": .invalidSignature,
        "A.rot1_signed_by_old_key": .invalidSignature,
        "A.rot1_bad_prior": .priorMismatch,
        "A.sn_gap_missing_rot1": .sequenceGap,
        "A.icp_tampered_key": .saidMismatch,
        "A.icp_bad_version_size": .badVersionSize,
        "A.duplicitous_rot1": .duplicity,
        "A.rot1_sig_index_out_of_range": .invalidSignature,
        "A.rot1_sig_current_only_code": .preRotationViolated,
        "B.ixn_signed_by_next_key": .invalidSignature,
        "C.rot_1of3_sigs": .signingThresholdNotMet,
        "C.rot_dup_sig_encodings": .signingThresholdNotMet,
    ]

    @Test("every KEL case gets its expected verdict", arguments: KERIFixtures.kelCases().map(KERICase.init))
    func kelCase(_ testCase: KERICase) throws {
        let value = testCase.value
        let path = try #require(value["kel"]?.stringValue)
        let expect = try #require(value["expect"]?.stringValue)
        let stream = try KERIFixtures.bytes(path)
        do throws(KERIError) {
            let kel = try KERIKeyEventLog(validating: stream)
            #expect(expect == "accept", "\(testCase.name) accepted, expected \(expect)")
            #expect(kel.prefix == value["aid"]?.stringValue)
            // An accepted KEL ends where keripy's does.
            if let acceptedSN = value["expect_keripy_accepted_sn"]?.exactInt {
                #expect(kel.lastSN == UInt64(acceptedSN))
            }
        } catch {
            #expect(expect == "reject", "\(testCase.name) rejected (\(error)), expected \(expect)")
            if let code = Self.expectedCodes[testCase.name] {
                #expect(error.code == code, "\(testCase.name): \(error)")
            }
        }
    }

    @Test("the negative cases are all named with their reason")
    func everyRejectHasACode() {
        let rejects = KERIFixtures.kelCases().filter { $0["expect"]?.stringValue == "reject" }.compactMap { $0["case"]?.stringValue }
        #expect(rejects.count == 15)
        #expect(Set(rejects) == Set(Self.expectedCodes.keys))
    }

    @Test("key states of the valid KELs equal kel.json's; every SAID input hashes to its SAID")
    func keyStates() throws {
        for scenario in ["A", "B", "C"] {
            let recorded = try KERIFixtures.json("\(scenario)/kel.json")
            let kel = try KERIFixtures.kel("\(scenario)/kel.cesr")
            let states = try #require(recorded["key_states"]?.arrayValue)
            #expect(kel.establishmentStates.count == states.count)
            for (state, expected) in zip(kel.establishmentStates, states) {
                #expect(state.sn == UInt64(expected["sn"]?.exactInt ?? -1))
                #expect(state.said == expected["said"]?.stringValue)
                #expect(state.keys == expected["keys"]?.arrayValue?.compactMap(\.stringValue))
            }
            #expect(kel.latestState.said == recorded["latest_establishment"]?["said"]?.stringValue)
            for event in try #require(recorded["events"]?.arrayValue) {
                let input = Array(try #require(event["said_input"]?.stringValue).utf8)
                #expect(KERI.digest(input) == event["said"]?.stringValue)
                if let keys = event["keys_detail"]?.arrayValue {
                    for key in keys {
                        #expect(KERI.nextKeyDigest(ofKey: key["qb64"]?.stringValue ?? "") == key["blake3_of_qb64"]?.stringValue)
                    }
                }
            }
            // The log written back out is the committed stream.
            #expect(kel.cesr == (try KERIFixtures.bytes("\(scenario)/kel.cesr")))
        }
    }

    @Test("keripy's divergences (one key counted twice) are rejected here, as the expected verdicts say")
    func keripyDivergences() throws {
        #expect(Set(KERIFixtures.knownDivergences) == ["C.rot_dup_sig_encodings", "C.neg_same_key_two_encodings", "C.neg_same_key_big_code"])
        let kelCase = try #require(KERIFixtures.kelCases().first { $0["case"]?.stringValue == "C.rot_dup_sig_encodings" })
        // keripy accepted the rotation (sn 1); a single key must not meet kt = 2.
        #expect(kelCase["keripy"]?["accepted_sn"]?.exactInt == 1)
        #expect(throws: KERIError.self) { try KERIFixtures.kel(kelCase["kel"]?.stringValue ?? "") }
    }
}

@Suite("KERI vectors: proofs under latest-only and historical key state")
struct KERIProofVectorTests {
    @Test("every proof case: key-state check = expect.historical, latest-only = expect.latest_only",
          arguments: KERIFixtures.proofCases().map(KERICase.init))
    func proofCase(_ testCase: KERICase) throws {
        let value = testCase.value
        let payload = try KERIFixtures.bytes(try #require(value["payload"]?.stringValue))
        let expectHistorical = try #require(value["expect"]?["historical"]?.boolValue as Bool?)
        let expectLatest = try #require(value["expect"]?["latest_only"]?.boolValue as Bool?)
        let proof = try KERIProof(cesr: try #require(value["proof_cesr"]?.stringValue))
        #expect(proof.cesr == value["proof_cesr"]?.stringValue)
        let kel: KERIKeyEventLog
        let stream = try KERIFixtures.bytes(try #require(value["kel"]?.stringValue))
        do throws(KERIError) {
            kel = try KERIKeyEventLog(validating: stream)
        } catch {
            #expect(!expectHistorical && !expectLatest, "\(testCase.name): KEL rejected (\(error))")
            return
        }
        let stateValid = (try? kel.verifySignatures(of: proof, payload: payload)) != nil
        #expect(stateValid == expectHistorical, "\(testCase.name)")
        let latest = Result { () throws(KERIError) in try kel.verify(proof: proof, payload: payload, policy: .latestOnly) }
        let latestAccepted = (try? latest.get()) != nil
        #expect(latestAccepted == expectLatest, "\(testCase.name)")
        if stateValid, !expectLatest, case .failure(let error) = latest {
            #expect(error.code == .staleKeyState)
        }
        // Historical with the verifier's own first-seen record accepts exactly the valid key states.
        let recorded = (try? kel.verify(proof: proof, payload: payload, policy: .historical,
                                        evidence: .init(recordedWhileLatest: true))) != nil
        #expect(recorded == expectHistorical, "\(testCase.name)")
    }

    @Test("historical: an older key state needs evidence; scenario B's ixn anchors the payload digest")
    func historicalNeedsEvidence() throws {
        let payload = try KERIFixtures.bytes("payload.bin")
        let cases = KERIFixtures.proofCases()
        func proof(_ name: String) throws -> (KERIKeyEventLog, KERIProof) {
            let value = try #require(cases.first { $0["case"]?.stringValue == name })
            return (try KERIFixtures.kel(value["kel"]?.stringValue ?? ""), try KERIProof(cesr: value["proof_cesr"]?.stringValue ?? ""))
        }
        // A: sn0 is valid key state, but nothing anchors the payload: refused under historical.
        let (kelA, sn0) = try proof("A.valid_sn0")
        do throws(KERIError) {
            _ = try kelA.verify(proof: sn0, payload: payload, policy: .historical)
            Issue.record("an unanchored older key state verified under historical")
        } catch {
            #expect(error.code == .noHistoricalEvidence)
        }
        // B: the ixn at sn1 anchors Blake3(payload), so the icp state (sn0) is accepted under historical.
        let (kelB, bsn0) = try proof("B.valid_sn0")
        let result = try kelB.verify(proof: bsn0, payload: payload, policy: .historical)
        #expect(result.anchoredAtSN == 1)
        #expect(!result.isLatest)
        #expect(result.verifiedKeys == kelB.establishmentStates[0].keys)
        // …but not under latest-only, and not for other bytes.
        #expect(throws: KERIError.self) { try kelB.verify(proof: bsn0, payload: payload, policy: .latestOnly) }
        #expect(throws: KERIError.self) { try kelB.verify(proof: bsn0, payload: payload + [10], policy: .historical) }
        // A proof claiming the ixn itself is not a key state.
        let (_, claimsIxn) = try proof("B.neg_claims_ixn_event")
        do throws(KERIError) {
            _ = try kelB.verify(proof: claimsIxn, payload: payload, policy: .historical)
            Issue.record("a proof claiming an ixn verified")
        } catch {
            #expect(error.code == .notEstablishment)
        }
    }
}
