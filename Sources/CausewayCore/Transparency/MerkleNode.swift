import Crypto

/// A node of the ledger's RFC 9162 Merkle tree that roots a *complete* subtree: the one at
/// `level` (0 = a leaf) and `index`, covering leaves `index << level ..< (index + 1) << level`.
///
/// Only complete subtrees are stored (each appended leaf completes at most one node per level,
/// two writes per leaf on average); every root and proof of any tree size is assembled from at
/// most O(log n) of them. The same numbering names the hashes in a C2SP `tlog-tiles` tile: tile
/// level L, index N holds the level-8L nodes 256·N ..< 256·(N+1).
public struct MerkleNodeID: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let level: Int
    public let index: Int

    public init(level: Int, index: Int) {
        precondition(level >= 0 && level < 63 && index >= 0, "a Merkle node id is a level in 0..<63 and a non-negative index")
        self.level = level
        self.index = index
    }

    /// The first leaf this subtree covers.
    public var firstLeaf: Int { index << level }
    /// The number of leaves it covers.
    public var width: Int { 1 << level }

    public static func < (lhs: MerkleNodeID, rhs: MerkleNodeID) -> Bool { (lhs.level, lhs.index) < (rhs.level, rhs.index) }
    public var description: String { "(\(level), \(index))" }
}

/// The two hash functions of RFC 9162 §2.1.1, over SHA-256, with the domain-separation bytes
/// that keep a leaf from ever being read as an interior node.
public enum MerkleHash {
    /// The root of the empty tree: SHA-256 of nothing.
    public static let empty: [UInt8] = Array(SHA256.hash(data: [UInt8]()))

    /// SHA-256(0x00 ‖ data). For the ledger, data is JCS(the signed receipt, proof included).
    public static func leaf(_ data: some Collection<UInt8>) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: [0x00])
        hasher.update(data: Array(data))
        return Array(hasher.finalize())
    }

    /// SHA-256(0x01 ‖ left ‖ right).
    public static func node(_ left: [UInt8], _ right: [UInt8]) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: [0x01])
        hasher.update(data: left)
        hasher.update(data: right)
        return Array(hasher.finalize())
    }
}

/// Where the tree's complete-subtree hashes are read from: a store, or memory in tests.
public protocol MerkleNodeSource: Sendable {
    /// The hashes of the given complete subtrees; an id the tree does not (yet) complete is absent.
    func merkleNodes(_ ids: [MerkleNodeID]) async throws -> [MerkleNodeID: [UInt8]]
}
