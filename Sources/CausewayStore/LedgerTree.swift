public import CausewayCore

/// How the stores grow the ledger's RFC 9162 Merkle tree: leaf i is the signed receipt at ledger
/// sequence i, and every append stores the leaf's node and each complete subtree it closes.
///
/// Appending needs only the *frontier* of the tree, the complete subtrees its leaves end in
/// (one per set bit of the size, at most 63), so a batch reads those few nodes once and writes
/// about two nodes per leaf.
public enum LedgerTree {
    /// SHA-256(0x00 ‖ JCS(the signed receipt, proof included)): the receipt's leaf hash in the tree.
    public static func leafHash(of receipt: JSONObject) -> [UInt8] {
        MerkleHash.leaf(JCS.canonicalize(.object(receipt)))
    }

    /// The complete subtrees a tree of `size` leaves is made of, largest (leftmost) first.
    public static func frontier(size: Int) -> [MerkleNodeID] {
        guard size > 0 else { return [] }
        return stride(from: 62, through: 0, by: -1).compactMap { level in
            (size >> level) & 1 == 1 ? MerkleNodeID(level: level, index: (size >> level) - 1) : nil
        }
    }

    /// The RFC 9162 root of a tree of `size` leaves from its frontier nodes (folded right to
    /// left); the empty tree's root for size 0; nil when a frontier node is missing.
    public static func root(size: Int, frontier nodes: [MerkleNodeID: [UInt8]]) -> [UInt8]? {
        let ids = frontier(size: size)
        guard var root = ids.last.flatMap({ nodes[$0] }) else { return size == 0 ? MerkleHash.empty : nil }
        for id in ids.dropLast().reversed() {
            guard let left = nodes[id] else { return nil }
            root = MerkleHash.node(left, root)
        }
        return root
    }

    /// Grows a tree from its frontier, returning the nodes each append completes.
    public struct Builder: Sendable {
        /// The number of leaves so far.
        public private(set) var size: Int
        /// The frontier of the tree of ``size`` leaves.
        public private(set) var frontier: [MerkleNodeID: [UInt8]]

        /// Starts from a tree of `size` leaves whose frontier nodes are given; throws when one is missing.
        public init(size: Int, frontier nodes: [MerkleNodeID: [UInt8]]) throws {
            let ids = LedgerTree.frontier(size: size)
            var kept: [MerkleNodeID: [UInt8]] = [:]
            for id in ids {
                guard let hash = nodes[id], hash.count == 32 else {
                    throw StoreError("the ledger's Merkle tree lacks node \(id) of its \(size) leaves; run `causeway ledger verify`")
                }
                kept[id] = hash
            }
            self.size = size
            self.frontier = kept
        }

        /// Appends one leaf hash; returns the leaf's node and every subtree node it completes.
        public mutating func append(_ leaf: [UInt8]) -> [(id: MerkleNodeID, hash: [UInt8])] {
            var index = size
            var level = 0
            var hash = leaf
            var completed = [(id: MerkleNodeID(level: 0, index: index), hash: leaf)]
            // A right child (odd index) closes its parent; the left sibling is on the frontier.
            while index & 1 == 1, let left = frontier.removeValue(forKey: MerkleNodeID(level: level, index: index - 1)) {
                hash = MerkleHash.node(left, hash)
                level += 1
                index >>= 1
                completed.append((id: MerkleNodeID(level: level, index: index), hash: hash))
            }
            frontier[MerkleNodeID(level: level, index: index)] = hash
            size += 1
            return completed
        }

        /// The root of the tree of ``size`` leaves.
        public var root: [UInt8] { LedgerTree.root(size: size, frontier: frontier) ?? MerkleHash.empty }
    }
}

/// When a store refuses a checkpoint (both stores apply the same rules).
enum CheckpointRule {
    /// A refusal against the last recorded checkpoint: never smaller, never a second root at one size.
    static func refusal(_ checkpoint: StoredCheckpoint, after last: StoredCheckpoint) -> String? {
        if checkpoint.size < last.size {
            return "checkpoint refused: it covers \(checkpoint.size) entries, fewer than the last checkpoint's \(last.size) (the log never shrinks)"
        }
        if checkpoint.size == last.size, checkpoint.root != last.root {
            return "checkpoint refused: a second, different root for \(checkpoint.size) entries (that would fork the log)"
        }
        return nil
    }

    /// A refusal against the stored tree: the checkpoint must name the tree's own root at its size.
    static func refusal(_ checkpoint: StoredCheckpoint, treeSize: Int, treeRoot: [UInt8]?) -> String? {
        if checkpoint.size > treeSize {
            return "checkpoint refused: it covers \(checkpoint.size) entries but the tree has \(treeSize)"
        }
        if treeRoot != checkpoint.root {
            return "checkpoint refused: its root is not the stored tree's root at size \(checkpoint.size)"
        }
        return nil
    }
}
