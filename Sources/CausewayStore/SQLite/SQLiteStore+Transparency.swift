public import CausewayCore
import Foundation
import GRDB

/// The ledger's Merkle tree and checkpoints in SQLite: `merkle_nodes` (level, idx) → hash, a
/// `WITHOUT ROWID` table whose primary key is the lookup; `checkpoints` keyed by size.
extension SQLiteStore {
    static func insertNodes(_ db: Database, _ nodes: [(id: MerkleNodeID, hash: [UInt8])]) throws {
        guard !nodes.isEmpty else { return }
        let statement = try db.cachedStatement(sql: "INSERT INTO merkle_nodes (level, idx, hash) VALUES (?, ?, ?)")
        for node in nodes {
            try statement.execute(arguments: [node.id.level, node.id.index, Data(node.hash)])
        }
    }

    static func nodes(_ db: Database, _ ids: [MerkleNodeID]) throws -> [MerkleNodeID: [UInt8]] {
        var found: [MerkleNodeID: [UInt8]] = [:]
        // One prepared point lookup per id on the primary key, all in one read transaction.
        let statement = try db.cachedStatement(sql: "SELECT hash FROM merkle_nodes WHERE level = ? AND idx = ?")
        for id in Set(ids) {
            if let hash = try Data.fetchOne(statement, arguments: [id.level, id.index]) { found[id] = Array(hash) }
        }
        return found
    }

    static func treeSize(_ db: Database) throws -> Int {
        try Int.fetchOne(db, sql: "SELECT MAX(idx) + 1 FROM merkle_nodes WHERE level = 0") ?? 0
    }

    static func checkpoint(_ row: SQLRow) -> StoredCheckpoint {
        StoredCheckpoint(size: row["size"], root: Array(row["root"] as Data), note: row["note"], createdAt: row["created_at"])
    }

    /// Runs SQL outside the schema's API (tests: simulating an older schema or a tampered file).
    @_spi(Testing) public func execute(unsafeSQL statement: String) async throws {
        try await pool.write { db in try db.execute(sql: statement) }
    }

    public func merkleNodes(_ ids: [MerkleNodeID]) async throws -> [MerkleNodeID: [UInt8]] {
        guard !ids.isEmpty else { return [:] }
        return try await pool.read { db in try Self.nodes(db, ids) }
    }

    public func treeSize() async throws -> Int {
        try await pool.read { db in try Self.treeSize(db) }
    }

    public func appendCheckpoint(_ checkpoint: StoredCheckpoint) async throws {
        try await pool.write { db in
            if let row = try SQLRow.fetchOne(db, sql: "SELECT * FROM checkpoints ORDER BY size DESC LIMIT 1") {
                let last = Self.checkpoint(row)
                if let refusal = CheckpointRule.refusal(checkpoint, after: last) { throw StoreError(refusal) }
                if last.size == checkpoint.size { return }
            }
            let size = try Self.treeSize(db)
            let root = LedgerTree.root(size: checkpoint.size, frontier: try Self.nodes(db, LedgerTree.frontier(size: checkpoint.size)))
            if let refusal = CheckpointRule.refusal(checkpoint, treeSize: size, treeRoot: root) { throw StoreError(refusal) }
            try db.execute(sql: "INSERT INTO checkpoints (size, root, note, created_at) VALUES (?, ?, ?, ?)",
                           arguments: [checkpoint.size, Data(checkpoint.root), checkpoint.note, checkpoint.createdAt])
        }
    }

    public func latestCheckpoint() async throws -> StoredCheckpoint? {
        try await pool.read { db in
            try SQLRow.fetchOne(db, sql: "SELECT * FROM checkpoints ORDER BY size DESC LIMIT 1").map(Self.checkpoint)
        }
    }

    public func checkpoint(atLeast size: Int) async throws -> StoredCheckpoint? {
        try await pool.read { db in
            try SQLRow.fetchOne(db, sql: "SELECT * FROM checkpoints WHERE size >= ? ORDER BY size LIMIT 1", arguments: [size]).map(Self.checkpoint)
        }
    }
}
