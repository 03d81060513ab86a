import CausewayCore
import CausewayTesting
@testable import CausewayTrust
import Foundation
import Testing

@Suite("KERI stream parser under mutation: never a crash, always a named error or the same KEL")
struct KERIStreamFuzzTests {
    static let streams = ["A/kel.cesr", "B/kel.cesr", "C/kel.cesr", "A/kel_replay.cesr", "C/kel_replay.cesr"]

    /// Every mutant either is refused with a `keri.` code and a message, or validates to a KEL
    /// whose events are the original ones (same SAIDs): a mutation can never produce another valid KEL.
    static func check(_ mutant: [UInt8], original: KERIKeyEventLog) {
        do throws(KERIError) {
            let kel = try KERIKeyEventLog(validating: mutant)
            #expect(kel.events.map(\.said) == original.events.map(\.said))
        } catch {
            #expect(error.code.rawValue.hasPrefix("keri."))
            #expect(!error.message.isEmpty)
        }
    }

    @Test("random byte flips (1 to 4 per mutant), 400 mutants per stream", arguments: streams)
    func byteFlips(_ path: String) throws {
        let original = try KERIFixtures.bytes(path)
        let kel = try KERIKeyEventLog(validating: original)
        var random = SeededGenerator(seed: UInt64(path.utf8.count) &* 7919)
        var refused = 0
        for _ in 0..<400 {
            var mutant = original
            for _ in 0..<(1 + random.below(4)) {
                let position = random.below(mutant.count)
                switch random.below(3) {
                case 0: mutant[position] ^= UInt8(1 << random.below(8))
                case 1: mutant[position] = UInt8(random.below(256))
                default: mutant[position] = Array("{}-_A0\"#".utf8)[random.below(8)]
                }
            }
            if mutant == original { continue }
            Self.check(mutant, original: kel)
            if (try? KERIKeyEventLog(validating: mutant)) == nil { refused += 1 }
        }
        // Nearly every byte is covered by a SAID or a signature: most mutants must be refused.
        #expect(refused > 300)
    }

    @Test("every truncation of a stream is refused or is a valid prefix of the KEL", arguments: streams)
    func truncations(_ path: String) throws {
        let original = try KERIFixtures.bytes(path)
        let kel = try KERIKeyEventLog(validating: original)
        for length in 0..<original.count {
            do throws(KERIError) {
                let prefix = try KERIKeyEventLog(validating: Array(original[0..<length]))
                // Only a cut exactly between two messages (or before the -E/-V tail of keripy's
                // replay) can leave a valid KEL, and then it is the original's prefix.
                #expect(kel.comparison(with: prefix) == .regressed(by: kel.events.count - prefix.events.count)
                    || kel.comparison(with: prefix) == .identical)
            } catch {
                #expect(error.code.rawValue.hasPrefix("keri."))
            }
        }
    }

    @Test("insertions and deletions of single bytes")
    func insertionsAndDeletions() throws {
        let original = try KERIFixtures.bytes("C/kel.cesr")
        let kel = try KERIKeyEventLog(validating: original)
        var random = SeededGenerator(seed: 42)
        for _ in 0..<300 {
            var mutant = original
            let position = random.below(mutant.count)
            if random.below(2) == 0 { mutant.remove(at: position) } else { mutant.insert(UInt8(random.below(256)), at: position) }
            Self.check(mutant, original: kel)
        }
    }

    @Test("proof parser: random mutations of a -F group never crash and are named")
    func proofMutations() throws {
        let proofs = KERIFixtures.proofCases().compactMap { $0["proof_cesr"]?.stringValue }
        #expect(proofs.count == 29)
        var random = SeededGenerator(seed: 7)
        for text in proofs {
            let original = Array(text.utf8)
            for _ in 0..<60 {
                var mutant = original
                switch random.below(3) {
                case 0: mutant = Array(mutant[0..<random.below(mutant.count)])
                case 1: mutant[random.below(mutant.count)] = CESRBase64.alphabet[random.below(64)]
                default: mutant.insert(Array("-A0_".utf8)[random.below(4)], at: random.below(mutant.count))
                }
                do throws(KERIError) {
                    let proof = try KERIProof(cesr: String(decoding: mutant, as: UTF8.self))
                    #expect(proof.cesr == String(decoding: mutant, as: UTF8.self))
                } catch {
                    #expect(error.code.rawValue.hasPrefix("keri."))
                }
            }
        }
    }

    @Test("bounded work: oversized streams, deep -V nesting and too many signatures are refused by limit")
    func limits() throws {
        let stream = try KERIFixtures.bytes("A/kel.cesr")
        let small = KERILimits(maxStreamBytes: stream.count - 1)
        #expect(throws: KERIError.self) { try KERIKeyEventLog(validating: stream, limits: small) }
        do throws(KERIError) {
            _ = try KERIKeyEventLog(validating: stream, limits: KERILimits(maxEvents: 2))
            Issue.record("3 events accepted with maxEvents 2")
        } catch {
            #expect(error.code == .limitExceeded)
        }
        // -V groups nested 5 deep around the icp's signature group.
        let icp = try KERIFixtures.json("A/kel.json")["events"]?[0]
        let raw = Array((icp?["raw"]?.stringValue ?? "").utf8)
        var group = "-AAB" + (icp?["sigs"]?[0]?.stringValue ?? "")
        for _ in 0..<5 { group = CESRCounter.text("-V", count: group.utf8.count / 4) + group }
        do throws(KERIError) {
            _ = try KERIKeyEventLog(validating: raw + Array(group.utf8))
            Issue.record("nesting deeper than the limit accepted")
        } catch {
            #expect(error.code == .limitExceeded)
        }
        // Nested 3 deep is within the default limit of 4.
        var shallow = "-AAB" + (icp?["sigs"]?[0]?.stringValue ?? "")
        for _ in 0..<3 { shallow = CESRCounter.text("-V", count: shallow.utf8.count / 4) + shallow }
        _ = try KERIKeyEventLog(validating: raw + Array(shallow.utf8))
        // 65 signatures on one event.
        let sig = icp?["sigs"]?[0]?.stringValue ?? ""
        let many = CESRCounter.text("-A", count: 65) + String(repeating: sig, count: 65)
        do throws(KERIError) {
            _ = try KERIKeyEventLog(validating: raw + Array(many.utf8))
            Issue.record("65 signatures accepted")
        } catch {
            #expect(error.code == .limitExceeded)
        }
    }

    @Test("out-of-scope features are refused with their named codes")
    func outOfScope() throws {
        let icpText = try #require(try KERIFixtures.json("A/kel.json")["events"]?[0]?["raw"]?.stringValue)
        let sig = try #require(try KERIFixtures.json("A/kel.json")["events"]?[0]?["sigs"]?[0]?.stringValue)
        func code(_ stream: String) -> KERIError.Code? {
            do throws(KERIError) {
                _ = try KERIKeyEventLog(validating: Array(stream.utf8))
                return nil
            } catch {
                return error.code
            }
        }
        #expect(code(icpText + "-BAB" + sig) == .witnessesUnsupported)
        #expect(code(icpText + "-GAB") == .delegationUnsupported)
        #expect(code(icpText.replacingOccurrences(of: "KERI10JSON", with: "KERI10CBOR") + "-AAB" + sig) == .unsupportedVersion)
        #expect(code(#"{"v":"KERICAACAAJSONAAAA.","t":"icp"}"#) == .unsupportedVersion)
        #expect(code("--AAACAA" + icpText) == .unsupportedVersion)
        #expect(code("-_AAACAA" + icpText) == .unsupportedVersion)
        #expect(code(icpText + "-_AAACAA") == .unsupportedVersion)
        #expect(code("--AAABAA" + icpText + "-AAB" + sig) == nil)
        #expect(code(icpText + "-AAB" + "0B" + sig.dropFirst(2)) == .unsupportedKeyType)
        #expect(code(icpText + "-AAB" + "C" + sig.dropFirst(1)) == .unsupportedKeyType)
        #expect(code("") == .emptyLog)
        #expect(code(icpText + "-AAB" + sig + "junk") == .malformedStream)

        // Bodies that keripy would parse but this subset refuses (re-SAIDed so only the feature is wrong).
        func body(_ build: (inout JSONObject) -> Void) -> String {
            var object = (try? JSONReader().read(icpText))?.objectValue ?? JSONObject()
            build(&object)
            let members = object.members.map { ($0.key, $0.value) }
            return String(decoding: KERIEventBuilder.saidify(members, dummyPrefix: true), as: UTF8.self)
        }
        #expect(code(body { $0["kt"] = ["1/2", "1/2"] }) == .weightedThresholdUnsupported)
        #expect(code(body { $0["bt"] = "1" }) == .witnessesUnsupported)
        #expect(code(body { $0["b"] = ["BAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"] }) == .witnessesUnsupported)
        #expect(code(body { $0["c"] = ["NB"] }) == .unsupportedTrait)
        #expect(code(body { $0["kt"] = "2" }) == .thresholdOutOfRange)
        #expect(code(body { $0["kt"] = "01" }) == .invalidField)
        #expect(code(body { $0["t"] = "dip" }) == .delegationUnsupported)
        #expect(code(body { $0["k"] = ["1AAAAg299p5IMvuw71HW_TlbzGq5cVOQ7bRbeDuhheF-DPYk"] }) == .unsupportedKeyType)
        #expect(code(body { $0["n"] = ["HAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"] }) == .unsupportedDigest)
        // A non-canonical body (a space) and a reordered one.
        #expect(code(icpText.replacingOccurrences(of: #","t":"#, with: #", "t":"#)) != nil)
        #expect(code(body { object in
            let members = object.members
            object = JSONObject(uncheckedMembers: [members[0], members[2], members[1]] + members[3...])
        }) == .fieldList)
        // A basic prefix: an inception whose 'i' is a key.
        let basic = icpText.replacingOccurrences(of: #""i":"E"#, with: #""i":"D"#)
        #expect(code(basic) == .basicPrefixUnsupported)
    }
}
