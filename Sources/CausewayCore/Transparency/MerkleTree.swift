/// The ledger's RFC 9162 Merkle tree: roots, inclusion and consistency proofs built from
/// complete-subtree hashes (``MerkleNodeID``), and their verification.
///
/// Every root and proof first lists the node ids it needs (O(log n) of them: each subtree that
/// is not complete is split into its complete power-of-two pieces), then asks the
/// ``MerkleNodeSource`` for all of them in ONE ``MerkleNodeSource/merkleNodes(_:)`` call, so a
/// store answers a proof with one query.
///
/// ```swift
/// var tree = InMemoryMerkleTree()
/// for entry in entries { tree.append(leafData: entry) }
/// let root = try await MerkleTree.root(size: tree.size, from: tree)
/// let proof = try await MerkleTree.inclusionProof(leaf: 3, size: tree.size, from: tree)
/// try MerkleTree.verifyInclusion(leafHash: MerkleHash.leaf(entries[3]), index: 3, size: tree.size, proof: proof, root: root)
/// ```
public enum MerkleTree {
    /// The largest tree size this code accepts: 2^62 leaves (node levels stay below 63).
    public static let maxSize = 1 << 62
    /// No proof of a tree within ``maxSize`` is longer than this many hashes.
    public static let maxProofLength = 64

    // MARK: Building roots and proofs

    /// The root hash (RFC 9162 MTH) of the tree's first `size` leaves; ``MerkleHash/empty`` for size 0.
    public static func root(size: Int, from source: some MerkleNodeSource) async throws -> [UInt8] {
        try checkSize(size, "size")
        guard size > 0 else { return MerkleHash.empty }
        let ranges = [LeafRange(0, size)]
        return try await hashes(of: ranges, from: source)[0]
    }

    /// The RFC 9162 §2.1.3.1 inclusion proof of leaf `leaf` in the tree of `size` leaves, from the
    /// leaf's sibling upwards.
    public static func inclusionProof(leaf: Int, size: Int, from source: some MerkleNodeSource) async throws -> [[UInt8]] {
        try checkSize(size, "size")
        guard leaf >= 0, leaf < size else {
            throw MerkleProofError(.indexOutOfRange, "leaf index \(leaf) is not in a tree of \(size) leaves (0..<\(size))")
        }
        return try await hashes(of: inclusionRanges(leaf: leaf, size: size), from: source)
    }

    /// The RFC 9162 §2.1.4.1 consistency proof from the tree of `old` leaves to the tree of `new`
    /// leaves. Empty when `old` is 0 or equals `new`.
    public static func consistencyProof(from old: Int, to new: Int, from source: some MerkleNodeSource) async throws -> [[UInt8]] {
        try checkSize(new, "new size")
        guard old >= 0, old <= new else {
            throw MerkleProofError(.sizeOutOfRange, "the old tree size \(old) must be between 0 and the new size \(new)")
        }
        return try await hashes(of: consistencyRanges(from: old, to: new), from: source)
    }

    /// The complete subtrees the root of `size` leaves is assembled from, left to right.
    public static func nodeIDs(forRootOf size: Int) -> [MerkleNodeID] {
        size > 0 ? LeafRange(0, size).pieces : []
    }

    /// The complete subtrees an inclusion proof reads (requires 0 ≤ leaf < size).
    public static func nodeIDs(forInclusionOf leaf: Int, size: Int) -> [MerkleNodeID] {
        guard leaf >= 0, leaf < size, size <= maxSize else { return [] }
        return inclusionRanges(leaf: leaf, size: size).flatMap(\.pieces)
    }

    /// The complete subtrees a consistency proof reads (requires 0 ≤ old ≤ new).
    public static func nodeIDs(forConsistencyFrom old: Int, to new: Int) -> [MerkleNodeID] {
        guard old >= 0, old <= new, new <= maxSize else { return [] }
        return consistencyRanges(from: old, to: new).flatMap(\.pieces)
    }

    /// The interior nodes that appending leaf `index` completes, lowest first: (l, (index + 1) / 2^l − 1)
    /// for every l ≥ 1 with 2^l dividing index + 1. A store writes the leaf (level 0) and these.
    public static func nodesCompleted(byAppendingLeaf index: Int) -> [MerkleNodeID] {
        guard index >= 0, index < maxSize else { return [] }
        var ids: [MerkleNodeID] = []
        var level = 1
        let count = index + 1
        while level < 63, count & ((1 << level) - 1) == 0 {
            ids.append(MerkleNodeID(level: level, index: (count >> level) - 1))
            level += 1
        }
        return ids
    }

    /// A leaf range [start, end) as the RFC 9162 recursion produces it: `start` is aligned to a
    /// power of two at least `end - start`, so its pieces come out in descending sizes.
    struct LeafRange: Hashable {
        let start: Int
        let end: Int
        init(_ start: Int, _ end: Int) {
            self.start = start
            self.end = end
        }

        /// The complete subtrees covering the range, largest first.
        var pieces: [MerkleNodeID] {
            var ids: [MerkleNodeID] = []
            var at = start
            while at < end {
                var level = Int.bitWidth - 1 - (end - at).leadingZeroBitCount
                while at & ((1 << level) - 1) != 0 { level -= 1 }
                ids.append(MerkleNodeID(level: level, index: at >> level))
                at += 1 << level
            }
            return ids
        }
    }

    /// The largest power of two strictly below n (n ≥ 2): RFC 9162's k.
    static func split(_ n: Int) -> Int {
        1 << (Int.bitWidth - 1 - (n - 1).leadingZeroBitCount)
    }

    /// The ranges whose hashes form PATH(m, D[0:n]), in proof order (the leaf's sibling first).
    static func inclusionRanges(leaf: Int, size: Int) -> [LeafRange] {
        var ranges: [LeafRange] = []
        var (low, high, m) = (0, size, leaf)
        while high - low > 1 {
            let k = split(high - low)
            if m < k {
                ranges.append(LeafRange(low + k, high))
                high = low + k
            } else {
                ranges.append(LeafRange(low, low + k))
                low += k
                m -= k
            }
        }
        return ranges.reversed()
    }

    /// The ranges whose hashes form PROOF(m, D[0:n]) = SUBPROOF(m, D[0:n], true), in proof order.
    static func consistencyRanges(from old: Int, to new: Int) -> [LeafRange] {
        guard old > 0, old < new else { return [] }
        var siblings: [LeafRange] = []
        var (low, high, m, startFromOldRoot) = (0, new, old, true)
        while m != high - low {
            let k = split(high - low)
            if m <= k {
                siblings.append(LeafRange(low + k, high))
                high = low + k
            } else {
                siblings.append(LeafRange(low, low + k))
                low += k
                m -= k
                startFromOldRoot = false
            }
        }
        return (startFromOldRoot ? [] : [LeafRange(low, high)]) + siblings.reversed()
    }

    /// Reads every piece of every range in one call and folds each range's pieces into its MTH.
    static func hashes(of ranges: [LeafRange], from source: some MerkleNodeSource) async throws -> [[UInt8]] {
        let pieces = ranges.map(\.pieces)
        var wanted: [MerkleNodeID] = []
        var seen = Set<MerkleNodeID>()
        for id in pieces.joined() where seen.insert(id).inserted { wanted.append(id) }
        let nodes = wanted.isEmpty ? [:] : try await source.merkleNodes(wanted)
        return try pieces.map { ids in
            let damaged = ids.filter { nodes[$0].map { $0.count != 32 } ?? false }
            guard damaged.isEmpty else {
                throw MerkleProofError(.nodeInvalid, "the Merkle node store holds a hash that is not 32 bytes for \(damaged.map(\.description).joined(separator: ", ")) (level, index); its node table is damaged", nodes: damaged)
            }
            let missing = ids.filter { nodes[$0] == nil }
            guard missing.isEmpty else {
                throw MerkleProofError(.nodeMissing, "the Merkle node store lacks the complete subtree(s) \(missing.map(\.description).joined(separator: ", ")) (level, index); the tree is not yet that large or its node table is damaged", nodes: missing)
            }
            var hash = nodes[ids[ids.count - 1]]!
            for id in ids.dropLast().reversed() { hash = MerkleHash.node(nodes[id]!, hash) }
            return hash
        }
    }

    static func checkSize(_ size: Int, _ name: String) throws(MerkleProofError) {
        guard size >= 0, size <= maxSize else {
            throw MerkleProofError(.sizeOutOfRange, "the \(name) \(size) is outside 0…2^62")
        }
    }

    // MARK: Verification (RFC 9162 §2.1.3.2 and §2.1.4.2)

    /// Checks an inclusion proof exactly as RFC 9162 §2.1.3.2 describes.
    ///
    /// - Throws: ``MerkleProofError`` naming what is wrong: an index outside the tree, a hash that
    ///   is not 32 bytes, a proof of the wrong length, or a root that does not match.
    public static func verifyInclusion(leafHash: [UInt8], index: Int, size: Int, proof: [[UInt8]], root: [UInt8]) throws(MerkleProofError) {
        try checkHashes(leafHash: leafHash, root: root, proof: proof)
        guard size > 0, size <= maxSize else {
            throw MerkleProofError(.sizeOutOfRange, "a tree holding a leaf has 1…2^62 leaves, not \(size)")
        }
        guard index >= 0, index < size else {
            throw MerkleProofError(.indexOutOfRange, "leaf index \(index) is not in a tree of \(size) leaves (0..<\(size))")
        }
        let expected = inclusionProofLength(index: index, size: size)
        guard proof.count == expected else {
            throw MerkleProofError(.wrongLength, "an inclusion proof of leaf \(index) in a tree of \(size) has \(expected) hashes, not \(proof.count)")
        }
        // The RFC's steps, unchanged; the length check above only names the failure earlier.
        var fn = index
        var sn = size - 1
        var r = leafHash
        for p in proof {
            guard sn != 0 else {
                throw MerkleProofError(.wrongLength, "the inclusion proof is longer than a tree of \(size) needs")
            }
            if fn & 1 == 1 || fn == sn {
                r = MerkleHash.node(p, r)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                r = MerkleHash.node(r, p)
            }
            fn >>= 1
            sn >>= 1
        }
        guard sn == 0 else {
            throw MerkleProofError(.wrongLength, "the inclusion proof is shorter than a tree of \(size) needs")
        }
        guard r == root else {
            throw MerkleProofError(.rootMismatch, "the inclusion proof of leaf \(index) leads to a root other than the one given for tree size \(size)")
        }
    }

    /// Checks a consistency proof exactly as RFC 9162 §2.1.4.2 describes, plus the two trivial
    /// cases the RFC leaves to the caller: old size 0 (any tree extends the empty one; the proof
    /// must be empty) and equal sizes (the roots must be equal; the proof must be empty).
    public static func verifyConsistency(oldSize: Int, newSize: Int, oldRoot: [UInt8], newRoot: [UInt8], proof: [[UInt8]]) throws(MerkleProofError) {
        try checkHashes(leafHash: oldRoot, root: newRoot, proof: proof, firstName: "old root")
        guard newSize >= 0, newSize <= maxSize else {
            throw MerkleProofError(.sizeOutOfRange, "the new tree size \(newSize) is outside 0…2^62")
        }
        guard oldSize >= 0, oldSize <= newSize else {
            throw MerkleProofError(.sizeOutOfRange, "the old tree size \(oldSize) is larger than the new size \(newSize): a log never shrinks")
        }
        if oldSize == 0 || oldSize == newSize {
            guard proof.isEmpty else {
                throw MerkleProofError(.wrongLength, "a consistency proof from size \(oldSize) to \(newSize) is empty, not \(proof.count) hashes")
            }
            if oldSize == newSize, oldRoot != newRoot {
                throw MerkleProofError(.rootMismatch, "two different roots for the same tree size \(oldSize): the log forked")
            }
            return
        }
        let expected = consistencyProofLength(from: oldSize, to: newSize)
        guard proof.count == expected else {
            throw MerkleProofError(.wrongLength, "a consistency proof from size \(oldSize) to \(newSize) has \(expected) hashes, not \(proof.count)")
        }
        // 1. An empty path fails (cannot happen after the length check; kept as the RFC's step).
        guard !proof.isEmpty else { throw MerkleProofError(.wrongLength, "the consistency proof is empty") }
        // 2. If first is an exact power of 2, prepend first_hash.
        var path = proof
        if oldSize & (oldSize - 1) == 0 { path.insert(oldRoot, at: 0) }
        // 3.–4.
        var fn = oldSize - 1
        var sn = newSize - 1
        while fn & 1 == 1 {
            fn >>= 1
            sn >>= 1
        }
        // 5.
        var fr = path[0]
        var sr = path[0]
        // 6.
        for c in path.dropFirst() {
            guard sn != 0 else {
                throw MerkleProofError(.wrongLength, "the consistency proof is longer than sizes \(oldSize) → \(newSize) need")
            }
            if fn & 1 == 1 || fn == sn {
                fr = MerkleHash.node(c, fr)
                sr = MerkleHash.node(c, sr)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                sr = MerkleHash.node(sr, c)
            }
            fn >>= 1
            sn >>= 1
        }
        // 7.
        guard sn == 0 else {
            throw MerkleProofError(.wrongLength, "the consistency proof is shorter than sizes \(oldSize) → \(newSize) need")
        }
        guard fr == oldRoot else {
            throw MerkleProofError(.oldRootMismatch, "the consistency proof does not lead to the old root of size \(oldSize): the trees are not consistent")
        }
        guard sr == newRoot else {
            throw MerkleProofError(.rootMismatch, "the consistency proof does not lead to the new root of size \(newSize): the trees are not consistent")
        }
    }

    /// The number of hashes in an inclusion proof (0 ≤ index < size).
    public static func inclusionProofLength(index: Int, size: Int) -> Int {
        inclusionRanges(leaf: index, size: size).count
    }

    /// The number of hashes in a consistency proof (0 ≤ old ≤ new).
    public static func consistencyProofLength(from old: Int, to new: Int) -> Int {
        consistencyRanges(from: old, to: new).count
    }

    static func checkHashes(leafHash: [UInt8], root: [UInt8], proof: [[UInt8]], firstName: String = "leaf hash") throws(MerkleProofError) {
        guard leafHash.count == 32 else {
            throw MerkleProofError(.hashLength, "the \(firstName) has \(leafHash.count) bytes; a SHA-256 hash has 32")
        }
        guard root.count == 32 else {
            throw MerkleProofError(.hashLength, "the root hash has \(root.count) bytes; a SHA-256 hash has 32")
        }
        guard proof.count <= maxProofLength else {
            throw MerkleProofError(.wrongLength, "a proof has at most \(maxProofLength) hashes, not \(proof.count)")
        }
        if let bad = proof.firstIndex(where: { $0.count != 32 }) {
            throw MerkleProofError(.hashLength, "proof hash #\(bad) has \(proof[bad].count) bytes; a SHA-256 hash has 32")
        }
    }
}

/// Why a Merkle proof does not verify, or a root or proof could not be built.
public struct MerkleProofError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable reason; the set may grow.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        public let rawValue: String
        init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The leaf index is not inside the tree.
        public static let indexOutOfRange = Code("merkle.index_out_of_range")
        /// A tree size is negative, too large, or smaller than the one it should extend.
        public static let sizeOutOfRange = Code("merkle.size_out_of_range")
        /// The proof has more or fewer hashes than the sizes call for.
        public static let wrongLength = Code("merkle.proof_length")
        /// A hash is not 32 bytes.
        public static let hashLength = Code("merkle.hash_length")
        /// The proof computes a different (new) root.
        public static let rootMismatch = Code("merkle.root_mismatch")
        /// A consistency proof computes a different old root.
        public static let oldRootMismatch = Code("merkle.old_root_mismatch")
        /// Building: the source does not hold a node the root or proof needs (named in ``MerkleProofError/nodes``).
        public static let nodeMissing = Code("merkle.node_missing")
        /// Building: the source returned a hash that is not 32 bytes (named in ``MerkleProofError/nodes``).
        public static let nodeInvalid = Code("merkle.node_invalid")
    }

    public let code: Code
    public let message: String
    /// The missing nodes, for ``Code-swift.struct/nodeMissing``.
    public let nodes: [MerkleNodeID]

    public init(_ code: Code, _ message: String, nodes: [MerkleNodeID] = []) {
        self.code = code
        self.message = message
        self.nodes = nodes
    }

    public var description: String { "\(message) (\(code))" }
}

/// A Merkle tree held in memory: the complete-subtree hashes of every level, appended leaf by
/// leaf. For tests, benchmarks and tools; a value type, so a copy is a snapshot.
public struct InMemoryMerkleTree: MerkleNodeSource, Sendable {
    /// `levels[l][i]` is the hash of complete node (l, i).
    public private(set) var levels: [[[UInt8]]] = [[]]

    public init() {}

    /// A tree over these leaf *data* (each hashed with ``MerkleHash/leaf(_:)``).
    public init(leafData: some Sequence<[UInt8]>) {
        for data in leafData { append(leafData: data) }
    }

    /// The number of leaves.
    public var size: Int { levels[0].count }

    /// Appends a leaf given its data; returns its index.
    @discardableResult
    public mutating func append(leafData: some Collection<UInt8>) -> Int {
        append(leafHash: MerkleHash.leaf(leafData))
    }

    /// Appends a leaf given its hash; returns its index.
    @discardableResult
    public mutating func append(leafHash: [UInt8]) -> Int {
        let index = levels[0].count
        levels[0].append(leafHash)
        for id in MerkleTree.nodesCompleted(byAppendingLeaf: index) {
            if levels.count <= id.level { levels.append([]) }
            let below = levels[id.level - 1]
            levels[id.level].append(MerkleHash.node(below[2 * id.index], below[2 * id.index + 1]))
        }
        return index
    }

    /// The leaf hash at `index`, if the tree has it.
    public func leafHash(at index: Int) -> [UInt8]? {
        index >= 0 && index < size ? levels[0][index] : nil
    }

    /// The node's hash, if complete.
    public func node(_ id: MerkleNodeID) -> [UInt8]? {
        id.level < levels.count && id.index < levels[id.level].count ? levels[id.level][id.index] : nil
    }

    public func merkleNodes(_ ids: [MerkleNodeID]) async throws -> [MerkleNodeID: [UInt8]] {
        var found: [MerkleNodeID: [UInt8]] = [:]
        for id in ids { if let hash = node(id) { found[id] = hash } }
        return found
    }
}
