import CausewayCore
import CausewayTesting
import Foundation
import Testing

/// Swift against an independent RFC 9162 implementation in Python
/// (Support/rfc9162_ref.py, written from the RFC's text, stdlib only), in both directions:
/// Swift's roots and proofs checked by Python, Python's proofs checked by Swift.
@Suite("Merkle tree: cross-checked with an independent Python RFC 9162 reference")
struct MerkleReferenceTests {
    static let script = TestPaths.repository.appendingPathComponent("Tests/CausewayCoreTests/Support/rfc9162_ref.py").path

    /// Runs the reference with one request.
    static func reference(_ request: JSONValue) throws -> JSONValue {
        guard let python = TestPaths.python else {
            throw MissingTestInput(path: "CAUSEWAY_PYTHON", hint: "scripts/test sets CAUSEWAY_PYTHON; the RFC 9162 reference verifier needs python3")
        }
        let result = try CommandRunner.run(python, [script], stdin: JSONWriter.string(request))
        guard result.status == 0 else { throw ReferenceFailure(result: result.description) }
        return try JSONReader(limits: .init(maxBytes: 64 << 20, maxDepth: 8)).read(result.stdout)
    }

    struct ReferenceFailure: Error, CustomStringConvertible {
        let result: String
        var description: String { "the Python reference failed: \(result)" }
    }

    static func leaves(_ count: Int, using random: inout SeededGenerator) -> [[UInt8]] {
        (0..<count).map { _ in (0..<Int.random(in: 0...40, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) } }
    }

    /// The pairs to check for a tree: every pair up to size 64, sampled pairs beyond.
    static func pairs(size: Int, using random: inout SeededGenerator) -> (inclusion: [(Int, Int)], consistency: [(Int, Int)]) {
        var inclusion: [(Int, Int)] = []
        var consistency: [(Int, Int)] = []
        for n in 1...min(size, 64) {
            for i in 0..<n { inclusion.append((i, n)) }
            for m in 0...n { consistency.append((m, n)) }
        }
        if size > 64 {
            for _ in 0..<300 {
                let n = Int.random(in: 65...size, using: &random)
                inclusion.append((Int.random(in: 0..<n, using: &random), n))
                consistency.append((Int.random(in: 0...n, using: &random), n))
            }
            // The edges: first and last leaf of the full tree, and sizes next to powers of two.
            inclusion += [(0, size), (size - 1, size)]
            consistency += [(1, size), (size - 1, size), (size, size), (64, size)]
        }
        return (inclusion, consistency)
    }

    @Test("roots, inclusion and consistency proofs agree with the reference", arguments: [1, 2, 3, 5, 8, 17, 64, 65, 127, 128, 129, 600, 1023, 1024, 2000, 0])
    func agree(sizeOrRandom: Int) async throws {
        var random = SeededGenerator(seed: UInt64(sizeOrRandom) &* 7919 &+ 1)
        // 0 stands for a randomly sized tree of 1…2,000 leaves.
        let size = sizeOrRandom > 0 ? sizeOrRandom : Int.random(in: 1...2000, using: &random)
        let data = Self.leaves(size, using: &random)
        let tree = InMemoryMerkleTree(leafData: data)
        let (inclusion, consistency) = Self.pairs(size: size, using: &random)
        let rootSizes = Array(Set(inclusion.map(\.1) + consistency.flatMap { [$0.0, $0.1] })).sorted()

        let answer = try Self.reference([
            "leaves": .array(data.map { .string(hex($0)) }),
            "roots": .array(rootSizes.map { .number(Double($0)) }),
            "inclusion": .array(inclusion.map { [.number(Double($0.0)), .number(Double($0.1))] }),
            "consistency": .array(consistency.map { [.number(Double($0.0)), .number(Double($0.1))] }),
        ])
        var roots: [Int: [UInt8]] = [:]
        for n in rootSizes {
            let root = try await MerkleTree.root(size: n, from: tree)
            roots[n] = root
            #expect(answer["roots"]?[String(n)]?.stringValue == hex(root), "root of \(n)")
        }
        // Python's proofs, verified by Swift, and equal to Swift's.
        let pythonInclusion = try #require(answer["inclusion"]?.arrayValue)
        var checks: [JSONValue] = []
        for ((i, n), expected) in zip(inclusion, pythonInclusion) {
            let theirs = (expected.arrayValue ?? []).compactMap(\.stringValue).map(hex)
            let ours = try await MerkleTree.inclusionProof(leaf: i, size: n, from: tree)
            #expect(ours == theirs, "inclusion of \(i) in \(n)")
            #expect(throws: Never.self, "Swift verifies Python's inclusion proof of \(i) in \(n)") {
                try MerkleTree.verifyInclusion(leafHash: MerkleHash.leaf(data[i]), index: i, size: n, proof: theirs, root: roots[n]!)
            }
            checks.append(["index": .number(Double(i)), "size": .number(Double(n)), "leaf": .string(hex(MerkleHash.leaf(data[i]))),
                           "proof": .array(ours.map { .string(hex($0)) }), "root": .string(hex(roots[n]!))])
        }
        let pythonConsistency = try #require(answer["consistency"]?.arrayValue)
        var consistencyChecks: [JSONValue] = []
        for ((m, n), expected) in zip(consistency, pythonConsistency) {
            let theirs = (expected.arrayValue ?? []).compactMap(\.stringValue).map(hex)
            let ours = try await MerkleTree.consistencyProof(from: m, to: n, from: tree)
            #expect(ours == theirs, "consistency \(m) → \(n)")
            #expect(throws: Never.self, "Swift verifies Python's consistency proof \(m) → \(n)") {
                try MerkleTree.verifyConsistency(oldSize: m, newSize: n, oldRoot: roots[m]!, newRoot: roots[n]!, proof: theirs)
            }
            consistencyChecks.append(["m": .number(Double(m)), "n": .number(Double(n)), "first": .string(hex(roots[m]!)),
                                      "second": .string(hex(roots[n]!)), "proof": .array(ours.map { .string(hex($0)) })])
        }
        // Swift's proofs, verified by Python; and a corrupted copy of each, refused by both.
        var badInclusion: [JSONValue] = []
        for case .object(var check) in checks {
            if var proof = check["proof"]?.arrayValue, !proof.isEmpty, var first = proof[0].stringValue {
                first = (first.first == "0" ? "1" : "0") + first.dropFirst()
                proof[0] = .string(first)
                check["proof"] = .array(proof)
            } else {
                check["index"] = .number(Double((check["index"]?.exactInt ?? 0) + 1))
            }
            badInclusion.append(.object(check))
        }
        var badConsistency: [JSONValue] = []
        for case .object(var check) in consistencyChecks {
            guard var proof = check["proof"]?.arrayValue, !proof.isEmpty else { continue }
            proof.removeLast()
            check["proof"] = .array(proof)
            badConsistency.append(.object(check))
        }
        let verdicts = try Self.reference([
            "checkInclusion": .array(checks + badInclusion), "checkConsistency": .array(consistencyChecks + badConsistency),
        ])
        let inclusionVerdicts = try #require(verdicts["checkInclusion"]?.arrayValue).map { $0.boolValue }
        let consistencyVerdicts = try #require(verdicts["checkConsistency"]?.arrayValue).map { $0.boolValue }
        #expect(inclusionVerdicts.prefix(checks.count).allSatisfy { $0 == true }, "Python accepts every Swift inclusion proof")
        #expect(inclusionVerdicts.dropFirst(checks.count).allSatisfy { $0 == false }, "Python refuses every corrupted one")
        #expect(inclusionVerdicts.count == 2 * checks.count)
        #expect(consistencyVerdicts.prefix(consistencyChecks.count).allSatisfy { $0 == true }, "Python accepts every Swift consistency proof")
        #expect(consistencyVerdicts.dropFirst(consistencyChecks.count).allSatisfy { $0 == false }, "Python refuses every truncated one")
        // Swift refuses the same corrupted proofs.
        for case .object(let check) in badInclusion {
            let proof = (check["proof"]?.arrayValue ?? []).compactMap(\.stringValue).map(hex)
            #expect(throws: MerkleProofError.self) {
                try MerkleTree.verifyInclusion(leafHash: hex(check["leaf"]!.stringValue!), index: check["index"]!.exactInt!,
                                               size: check["size"]!.exactInt!, proof: proof, root: hex(check["root"]!.stringValue!))
            }
        }
    }
}
