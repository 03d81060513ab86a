import CausewayCore
import Foundation
import Testing

/// Hex helpers for the known-answer vectors.
func hex(_ text: String) -> [UInt8] {
    func nibble(_ c: UInt8) -> UInt8 { c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x61 + 10 }
    let utf8 = Array(text.utf8)
    return stride(from: 0, to: utf8.count - 1, by: 2).map { nibble(utf8[$0]) << 4 | nibble(utf8[$0 + 1]) }
}

func hex(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count * 2)
    for byte in bytes {
        out.append(digits[Int(byte >> 4)])
        out.append(digits[Int(byte & 0x0F)])
    }
    return String(decoding: out, as: UTF8.self)
}

/// A node source that counts its calls and can forget nodes, to prove one query per proof and
/// a clear error for a missing node.
final class CountingSource: MerkleNodeSource, @unchecked Sendable {
    // @unchecked: tests call it from one task at a time; the lock keeps the counters sane anyway.
    let tree: InMemoryMerkleTree
    let hidden: Set<MerkleNodeID>
    private let lock = NSLock()
    private var _calls: [[MerkleNodeID]] = []
    var calls: [[MerkleNodeID]] { lock.withLock { _calls } }

    init(_ tree: InMemoryMerkleTree, hiding hidden: Set<MerkleNodeID> = []) {
        self.tree = tree
        self.hidden = hidden
    }

    func merkleNodes(_ ids: [MerkleNodeID]) async throws -> [MerkleNodeID: [UInt8]] {
        lock.withLock { _calls.append(ids) }
        var found = try await tree.merkleNodes(ids)
        for id in hidden { found[id] = nil }
        return found
    }
}

/// RFC 6962 / RFC 9162 known answers: the 8-leaf reference tree of the Certificate Transparency
/// implementations. Leaves, roots and proofs as published in transparency-dev/merkle
/// `proof/verify_test.go` (originally google/certificate-transparency's merkle tree tests).
@Suite("Merkle tree: RFC 9162 known answers")
struct MerkleKnownAnswerTests {
    static let leaves: [[UInt8]] = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"].map(hex)
    static let roots = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ]
    /// (leaf index, tree size, proof); indexes are 0-based here (the Go table is 1-based).
    static let inclusion: [(Int, Int, [String])] = [
        (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
        (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
        (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
        (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
        (0, 1, []),
    ]
    static let consistency: [(Int, Int, [String])] = [
        (1, 1, []),
        (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
        (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
        (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
        (6, 7, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    ]

    let tree = InMemoryMerkleTree(leafData: MerkleKnownAnswerTests.leaves)

    @Test("the empty tree's root is SHA-256 of nothing")
    func emptyRoot() async throws {
        #expect(hex(try await MerkleTree.root(size: 0, from: tree)) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(MerkleHash.empty == hex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"))
    }

    @Test("roots of sizes 1…8")
    func roots() async throws {
        for size in 1...8 {
            #expect(hex(try await MerkleTree.root(size: size, from: tree)) == Self.roots[size - 1], "size \(size)")
        }
    }

    @Test("inclusion proofs are built and verified as published")
    func inclusionProofs() async throws {
        for (index, size, expected) in Self.inclusion {
            let proof = try await MerkleTree.inclusionProof(leaf: index, size: size, from: tree)
            #expect(proof.map(hex) == expected, "leaf \(index) of \(size)")
            try MerkleTree.verifyInclusion(leafHash: MerkleHash.leaf(Self.leaves[index]), index: index, size: size,
                                           proof: expected.map(hex), root: hex(Self.roots[size - 1]))
        }
    }

    @Test("consistency proofs are built and verified as published")
    func consistencyProofs() async throws {
        for (old, new, expected) in Self.consistency {
            let proof = try await MerkleTree.consistencyProof(from: old, to: new, from: tree)
            #expect(proof.map(hex) == expected, "\(old) → \(new)")
            try MerkleTree.verifyConsistency(oldSize: old, newSize: new, oldRoot: hex(Self.roots[old - 1]), newRoot: hex(Self.roots[new - 1]),
                                             proof: expected.map(hex))
        }
    }

    @Test("every published inclusion proof fails when corrupted: index, size, leaf, root, length, any bit")
    func inclusionCorruptions() {
        for (index, size, expected) in Self.inclusion where !expected.isEmpty {
            let proof = expected.map(hex)
            let leaf = MerkleHash.leaf(Self.leaves[index])
            let root = hex(Self.roots[size - 1])
            var probes: [(String, Int, Int, [UInt8], [[UInt8]], [UInt8])] = [
                ("index - 1", index - 1, size, leaf, proof, root), ("index + 1", index + 1, size, leaf, proof, root),
                ("index ^ 2", index ^ 2, size, leaf, proof, root), ("size * 2", index, size * 2, leaf, proof, root),
                ("size / 2", index, size / 2, leaf, proof, root), ("wrong leaf", index, size, MerkleHash.leaf([0x42]), proof, root),
                ("empty root", index, size, leaf, proof, MerkleHash.empty), ("trailing hash", index, size, leaf, proof + [root], root),
                ("preceding hash", index, size, leaf, [root] + proof, root), ("truncated", index, size, leaf, Array(proof.dropLast()), root),
                ("short hash", index, size, leaf, [Array(proof[0].dropLast())] + proof.dropFirst(), root),
            ]
            for position in proof.indices {
                for bit in [0, 3, 7] {
                    var flipped = proof
                    flipped[position][position % 32] ^= 1 << bit
                    probes.append(("bit \(bit) of hash \(position)", index, size, leaf, flipped, root))
                }
            }
            for (name, i, n, l, p, r) in probes {
                #expect(throws: MerkleProofError.self, "\(name) for leaf \(index) of \(size)") {
                    try MerkleTree.verifyInclusion(leafHash: l, index: i, size: n, proof: p, root: r)
                }
            }
        }
    }

    @Test("every published consistency proof fails when corrupted")
    func consistencyCorruptions() {
        for (old, new, expected) in Self.consistency where !expected.isEmpty {
            let proof = expected.map(hex)
            let first = hex(Self.roots[old - 1]), second = hex(Self.roots[new - 1])
            var probes: [(String, Int, Int, [UInt8], [UInt8], [[UInt8]])] = [
                ("old - 1", old - 1, new, first, second, proof), ("old + 1", old + 1, new, first, second, proof),
                ("old ^ 2", old ^ 2, new, first, second, proof), ("new * 2", old, new * 2, first, second, proof),
                ("new / 2", old, new / 2, first, second, proof), ("swapped roots", old, new, second, first, proof),
                ("wrong old root", old, new, MerkleHash.empty, second, proof), ("wrong new root", old, new, first, MerkleHash.empty, proof),
                ("empty proof", old, new, first, second, []), ("trailing", old, new, first, second, proof + [first]),
                ("preceding", old, new, first, second, [proof[0]] + proof), ("truncated", old, new, first, second, Array(proof.dropLast())),
            ]
            for position in proof.indices {
                var flipped = proof
                flipped[position][0] ^= 16
                probes.append(("bit 4 of hash \(position)", old, new, first, second, flipped))
            }
            for (name, m, n, a, b, p) in probes {
                #expect(throws: MerkleProofError.self, "\(name) for \(old) → \(new)") {
                    try MerkleTree.verifyConsistency(oldSize: m, newSize: n, oldRoot: a, newRoot: b, proof: p)
                }
            }
        }
    }

    @Test("trivial consistency cases: from 0 anything, equal sizes need equal roots, never shrinking")
    func trivialConsistency() throws {
        let a = hex(Self.roots[0]), b = hex(Self.roots[1])
        try MerkleTree.verifyConsistency(oldSize: 0, newSize: 1, oldRoot: MerkleHash.empty, newRoot: a, proof: [])
        try MerkleTree.verifyConsistency(oldSize: 1, newSize: 1, oldRoot: a, newRoot: a, proof: [])
        let fork = #expect(throws: MerkleProofError.self) { try MerkleTree.verifyConsistency(oldSize: 1, newSize: 1, oldRoot: a, newRoot: b, proof: []) }
        #expect(fork?.code == .rootMismatch)
        let shrink = #expect(throws: MerkleProofError.self) { try MerkleTree.verifyConsistency(oldSize: 2, newSize: 1, oldRoot: b, newRoot: a, proof: []) }
        #expect(shrink?.code == .sizeOutOfRange)
        let extra = #expect(throws: MerkleProofError.self) { try MerkleTree.verifyConsistency(oldSize: 0, newSize: 1, oldRoot: a, newRoot: a, proof: [a]) }
        #expect(extra?.code == .wrongLength)
    }

    @Test("errors name what is wrong")
    func errorCodes() {
        let leaf = MerkleHash.leaf(Self.leaves[0])
        let root = hex(Self.roots[7])
        let proof = Self.inclusion[0].2.map(hex)
        let outside = #expect(throws: MerkleProofError.self) { try MerkleTree.verifyInclusion(leafHash: leaf, index: 8, size: 8, proof: proof, root: root) }
        #expect(outside?.code == .indexOutOfRange)
        let length = #expect(throws: MerkleProofError.self) { try MerkleTree.verifyInclusion(leafHash: leaf, index: 0, size: 8, proof: Array(proof.prefix(2)), root: root) }
        #expect(length?.code == .wrongLength)
        #expect(length?.message.contains("has 3 hashes, not 2") == true)
        let mismatch = #expect(throws: MerkleProofError.self) { try MerkleTree.verifyInclusion(leafHash: leaf, index: 0, size: 8, proof: proof, root: MerkleHash.empty) }
        #expect(mismatch?.code == .rootMismatch)
        let short = #expect(throws: MerkleProofError.self) { try MerkleTree.verifyInclusion(leafHash: [1, 2], index: 0, size: 8, proof: proof, root: root) }
        #expect(short?.code == .hashLength)
    }
}

@Suite("Merkle tree: node ids and one query per proof")
struct MerkleNodeQueryTests {
    static func tree(_ size: Int) -> InMemoryMerkleTree {
        InMemoryMerkleTree(leafData: (0..<size).map { [UInt8(truncatingIfNeeded: $0), UInt8(truncatingIfNeeded: $0 >> 8)] })
    }

    @Test("each root and proof reads its nodes in exactly one call, O(log n) ids", arguments: [1, 2, 3, 7, 8, 100, 1000, 1025])
    func oneQuery(size: Int) async throws {
        let source = CountingSource(Self.tree(size))
        _ = try await MerkleTree.root(size: size, from: source)
        _ = try await MerkleTree.inclusionProof(leaf: size / 3, size: size, from: source)
        _ = try await MerkleTree.consistencyProof(from: max(1, size / 2), to: size, from: source)
        #expect(source.calls.count == (size > 1 ? 3 : 1))  // a one-leaf tree's proofs read nothing
        let bound = 2 * (Int.bitWidth - size.leadingZeroBitCount) + 2
        for call in source.calls { #expect(call.count <= bound, "\(call.count) ids for a tree of \(size)") }
    }

    @Test("the id lists are the ones the proofs read")
    func idLists() async throws {
        let source = CountingSource(Self.tree(13))
        _ = try await MerkleTree.inclusionProof(leaf: 5, size: 13, from: source)
        _ = try await MerkleTree.consistencyProof(from: 6, to: 13, from: source)
        _ = try await MerkleTree.root(size: 13, from: source)
        #expect(Set(source.calls[0]) == Set(MerkleTree.nodeIDs(forInclusionOf: 5, size: 13)))
        #expect(Set(source.calls[1]) == Set(MerkleTree.nodeIDs(forConsistencyFrom: 6, to: 13)))
        #expect(source.calls[2] == [MerkleNodeID(level: 3, index: 0), MerkleNodeID(level: 2, index: 2), MerkleNodeID(level: 0, index: 12)])
    }

    @Test("a missing node is an error that names it")
    func missingNode() async throws {
        let hidden = MerkleNodeID(level: 2, index: 2)
        let source = CountingSource(Self.tree(13), hiding: [hidden])
        let error = await #expect(throws: MerkleProofError.self) { _ = try await MerkleTree.root(size: 13, from: source) }
        #expect(error?.code == .nodeMissing)
        #expect(error?.nodes == [hidden])
        #expect(error?.message.contains("(2, 2)") == true)
    }

    @Test("a hash of the wrong length from the store is an error that names the node")
    func damagedNode() async throws {
        struct Damaged: MerkleNodeSource {
            let tree: InMemoryMerkleTree
            func merkleNodes(_ ids: [MerkleNodeID]) async throws -> [MerkleNodeID: [UInt8]] {
                var found = try await tree.merkleNodes(ids)
                found[MerkleNodeID(level: 0, index: 12)] = [1, 2, 3]
                return found
            }
        }
        let error = await #expect(throws: MerkleProofError.self) { _ = try await MerkleTree.root(size: 13, from: Damaged(tree: MerkleNodeQueryTests.tree(13))) }
        #expect(error?.code == .nodeInvalid)
        #expect(error?.nodes == [MerkleNodeID(level: 0, index: 12)])
    }

    @Test("appending a leaf completes the nodes nodesCompleted names")
    func completedNodes() {
        #expect(MerkleTree.nodesCompleted(byAppendingLeaf: 0) == [])
        #expect(MerkleTree.nodesCompleted(byAppendingLeaf: -1) == [])
        #expect(MerkleTree.nodesCompleted(byAppendingLeaf: Int.max) == [])
        #expect(MerkleTree.nodesCompleted(byAppendingLeaf: 1) == [MerkleNodeID(level: 1, index: 0)])
        #expect(MerkleTree.nodesCompleted(byAppendingLeaf: 7) == [MerkleNodeID(level: 1, index: 3), MerkleNodeID(level: 2, index: 1), MerkleNodeID(level: 3, index: 0)])
        let tree = Self.tree(64)
        #expect(tree.levels.map(\.count) == [64, 32, 16, 8, 4, 2, 1])
    }

    @Test("sizes and indexes outside the tree are refused before any read")
    func bounds() async throws {
        let source = CountingSource(Self.tree(4))
        await #expect(throws: MerkleProofError.self) { _ = try await MerkleTree.inclusionProof(leaf: 4, size: 4, from: source) }
        await #expect(throws: MerkleProofError.self) { _ = try await MerkleTree.consistencyProof(from: 5, to: 4, from: source) }
        await #expect(throws: MerkleProofError.self) { _ = try await MerkleTree.root(size: -1, from: source) }
        #expect(source.calls.isEmpty)
        let missing = await #expect(throws: MerkleProofError.self) { _ = try await MerkleTree.root(size: 5, from: source) }
        #expect(missing?.code == .nodeMissing)
    }
}
