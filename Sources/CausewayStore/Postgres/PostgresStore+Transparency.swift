public import CausewayCore
import Logging
import PostgresNIO

/// The ledger's Merkle tree and checkpoints in PostgreSQL: `merkle_nodes` (level, idx) → hash
/// with that pair as primary key, so a proof's nodes are one indexed query; `checkpoints` keyed
/// by size. Checkpoints are written under the ledger's advisory lock, like appends.
extension PostgresStore {
    static func insertNodes(_ db: PostgresConnection, _ nodes: [(id: MerkleNodeID, hash: [UInt8])], logger: Logger) async throws {
        guard !nodes.isEmpty else { return }
        try await db.run(InsertNodes.make(nodes), logger: logger)
    }

    enum InsertNodes: StatementText {
        static func make(_ nodes: [(id: MerkleNodeID, hash: [UInt8])]) -> StoreStatement<Self> {
            .init("""
                INSERT INTO merkle_nodes (level, idx, hash)
                SELECT l, i, decode(h, 'hex') FROM unnest(\(nodes.map { Int64($0.id.level) })::bigint[], \(nodes.map { Int64($0.id.index) })::bigint[],
                  \(nodes.map { HexEncoding.encode($0.hash) })::text[]) AS n(l, i, h)
                """)
        }
        static let sql = make([]).query.sql
    }

    static func nodes(_ db: PostgresConnection, _ ids: [MerkleNodeID], logger: Logger) async throws -> [MerkleNodeID: [UInt8]] {
        guard !ids.isEmpty else { return [:] }
        var found: [MerkleNodeID: [UInt8]] = [:]
        for row in try await db.run(SelectNodes.make(Array(Set(ids))), logger: logger) {
            let (level, index, hash) = try row.decode((Int64, Int64, ByteBuffer).self)
            let node = try storedNode(level, index, hash)
            found[node.id] = node.hash
        }
        return found
    }

    /// A Merkle node as read from `merkle_nodes`; throws for an id no tree can have.
    static func storedNode(_ level: Int64, _ index: Int64, _ hash: ByteBuffer) throws -> (id: MerkleNodeID, hash: [UInt8]) {
        guard level >= 0, level < 63, index >= 0 else { throw StoreError("a stored Merkle node has an impossible id (\(level), \(index))") }
        return (MerkleNodeID(level: Int(level), index: Int(index)), Array(hash.readableBytesView))
    }

    enum SelectNodes: StatementText {
        static func make(_ ids: [MerkleNodeID]) -> StoreStatement<Self> {
            .init("""
                SELECT n.level, n.idx, n.hash FROM merkle_nodes n
                JOIN unnest(\(ids.map { Int64($0.level) })::bigint[], \(ids.map { Int64($0.index) })::bigint[]) AS w(level, idx)
                  ON n.level = w.level AND n.idx = w.idx
                """)
        }
        static let sql = make([]).query.sql
    }

    static func treeSize(_ db: PostgresConnection, logger: Logger) async throws -> Int {
        let row = try await db.run(TreeSize.make(), logger: logger).first
        return Int(try row?.decode(Int64?.self) ?? 0)
    }

    enum TreeSize: StatementText {
        static func make() -> StoreStatement<Self> { .init("SELECT MAX(idx) + 1 FROM merkle_nodes WHERE level = 0") }
        static let sql = make().query.sql
    }

    /// Migration v4's second half: the tree of a ledger written before v4, leaf by leaf in order.
    static func buildTree(_ db: PostgresConnection, logger: Logger) async throws {
        var builder = try LedgerTree.Builder(size: 0, frontier: [:])
        var after: Int64 = -1
        while true {
            let rows = try await db.query("SELECT seq, receipt FROM ledger WHERE seq > \(after) ORDER BY seq LIMIT 1024", logger: logger).collect()
            guard !rows.isEmpty else { return }
            var nodes: [(id: MerkleNodeID, hash: [UInt8])] = []
            for row in rows {
                let (sequence, receipt) = try row.decode((Int64, String).self)
                nodes += builder.append(LedgerTree.leafHash(of: try StoreJSON.object(receipt)))
                after = sequence
            }
            try await insertNodes(db, nodes, logger: logger)
        }
    }

    static func checkpoint(_ row: PostgresRow) throws -> StoredCheckpoint {
        let (size, root, note, created) = try row.decode((Int64, ByteBuffer, String, Int64).self)
        return StoredCheckpoint(size: Int(size), root: Array(root.readableBytesView), note: note, createdAt: created)
    }

    public func merkleNodes(_ ids: [MerkleNodeID]) async throws -> [MerkleNodeID: [UInt8]] {
        guard !ids.isEmpty else { return [:] }
        return try await client.withConnection { db in try await Self.nodes(db, ids, logger: self.logger) }
    }

    public func treeSize() async throws -> Int {
        try await client.withConnection { db in try await Self.treeSize(db, logger: self.logger) }
    }

    public func appendCheckpoint(_ checkpoint: StoredCheckpoint) async throws {
        do {
            try await insertCheckpoint(checkpoint)
        } catch let error as PostgresTransactionError {
            // A refusal is the store's own answer, not a transaction failure.
            if let refusal = error.closureError as? StoreError { throw refusal }
            throw error
        }
    }

    func insertCheckpoint(_ checkpoint: StoredCheckpoint) async throws {
        try await client.withTransaction(logger: logger) { db in
            try await db.query("SELECT pg_advisory_xact_lock(\(Self.ledgerLock))", logger: logger)
            if let row = try await db.query("SELECT size, root, note, created_at FROM checkpoints ORDER BY size DESC LIMIT 1", logger: logger)
                .collect().first {
                let last = try Self.checkpoint(row)
                if let refusal = CheckpointRule.refusal(checkpoint, after: last) { throw StoreError(refusal) }
                if last.size == checkpoint.size { return }
            }
            let size = try await Self.treeSize(db, logger: logger)
            let frontier = try await Self.nodes(db, LedgerTree.frontier(size: checkpoint.size), logger: logger)
            let root = LedgerTree.root(size: checkpoint.size, frontier: frontier)
            if let refusal = CheckpointRule.refusal(checkpoint, treeSize: size, treeRoot: root) { throw StoreError(refusal) }
            let rootBytes = ByteBuffer(bytes: checkpoint.root)
            try await db.query("""
                INSERT INTO checkpoints (size, root, note, created_at)
                VALUES (\(Int64(checkpoint.size)), \(rootBytes), \(checkpoint.note), \(checkpoint.createdAt))
                """, logger: logger)
        }
    }

    public func latestCheckpoint() async throws -> StoredCheckpoint? {
        try await client.query("SELECT size, root, note, created_at FROM checkpoints ORDER BY size DESC LIMIT 1", logger: logger)
            .collect().first.map(Self.checkpoint)
    }

    public func checkpoint(atLeast size: Int) async throws -> StoredCheckpoint? {
        try await client.query("SELECT size, root, note, created_at FROM checkpoints WHERE size >= \(Int64(size)) ORDER BY size LIMIT 1",
                               logger: logger).collect().first.map(Self.checkpoint)
    }
}
