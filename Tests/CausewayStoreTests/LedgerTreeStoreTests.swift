import CausewayCore
@_spi(Testing) import CausewayStore
import Foundation
import Testing

/// Delivers `count` outbox entries and appends a receipt for each, in batches of the given sizes
/// (cycled), so that appends cross batch boundaries at every position of the frontier.
/// Returns the receipts in ledger order.
func fillLedger(_ store: any AgreementStore, count: Int, batches: [Int] = [1, 3, 7, 2], tag: Int = 1) async throws -> [JSONObject] {
    let agreement = incoming(1000 + tag, actions: count)
    _ = try await store.accept(agreement)
    let entries = try await store.claim(ClaimRequest(worker: "w", limit: count, now: 2_000, leaseMilliseconds: 60_000))
    for entry in entries {
        _ = try await store.finish(AttemptRecord(entryID: entry.id, worker: "w", startedAt: 2_000, finishedAt: 2_001, outcome: "delivered",
                                                 detail: nil, next: .delivered(reference: ["id": .string("\(entry.actionIndex)")])))
    }
    var head = try await store.ledgerHead()
    var receipts: [JSONObject] = []
    var pending = entries.sorted { $0.id < $1.id }[...]
    var batch = 0
    while !pending.isEmpty {
        let take = batches[batch % batches.count]
        batch += 1
        var appends: [LedgerAppend] = []
        for entry in pending.prefix(take) {
            let sequence = head.map { $0.sequence + 1 } ?? 0
            let previous = head?.leaf ?? LedgerChain.genesis
            let receipt: JSONObject = ["type": "DeliveryReceipt", "id": .string(entry.receiptID),
                                       "ledger": ["seq": .number(Double(sequence)), "prev": .string(previous.description)]]
            let leaf = LedgerChain.leafHash(of: receipt)
            appends.append(LedgerAppend(entryID: entry.id, receiptID: entry.receiptID, digest: agreement.digest, sequence: sequence,
                                        previous: previous, leaf: leaf, receipt: receipt))
            receipts.append(receipt)
            head = LedgerHead(sequence: sequence, leaf: leaf)
        }
        pending = pending.dropFirst(take)
        try await store.appendReceipts(appends)
    }
    return receipts
}

/// The ledger's Merkle tree and checkpoints, on both stores.
@Suite("Agreement store: transparency log")
struct LedgerTreeStoreTests {
    @Test("roots and proofs from the stored nodes equal those of an in-memory tree, at every size", arguments: StoreKind.allCases)
    func proofsMatchMemory(kind: StoreKind) async throws {
        let store = try await kind.make()
        #expect(try await store.treeSize() == 0)
        let receipts = try await fillLedger(store, count: 37)
        #expect(try await store.treeSize() == 37)
        let memory = InMemoryMerkleTree(leafData: receipts.map { JCS.canonicalize(.object($0)) })
        for size in 1...37 {
            #expect(try await MerkleTree.root(size: size, from: store) == (try await MerkleTree.root(size: size, from: memory)))
            for leaf in stride(from: 0, to: size, by: 5) {
                let proof = try await MerkleTree.inclusionProof(leaf: leaf, size: size, from: store)
                #expect(proof == (try await MerkleTree.inclusionProof(leaf: leaf, size: size, from: memory)))
            }
            for old in stride(from: 1, through: size, by: 6) {
                let proof = try await MerkleTree.consistencyProof(from: old, to: size, from: store)
                #expect(proof == (try await MerkleTree.consistencyProof(from: old, to: size, from: memory)))
            }
        }
        // A leaf is the hash of the signed receipt's JCS, proof included.
        let leaf = try await store.merkleNodes([MerkleNodeID(level: 0, index: 4)])[MerkleNodeID(level: 0, index: 4)]
        #expect(leaf == MerkleHash.leaf(JCS.canonicalize(.object(receipts[4]))))
        // A node the tree does not complete yet is absent, never made up.
        #expect(try await store.merkleNodes([MerkleNodeID(level: 3, index: 4), MerkleNodeID(level: 0, index: 37)]).isEmpty)
    }

    @Test("a ledger written before the tree existed gets its tree on migration, and grows on from it", arguments: StoreKind.allCases)
    func migratesOldLedger(kind: StoreKind) async throws {
        let store = try await kind.make()
        let receipts = try await fillLedger(store, count: 13)
        // Back to the schema before v4: no tree, no checkpoints, only the hash-chained ledger.
        try await store.unsafeExecute("DROP TABLE merkle_nodes")
        try await store.unsafeExecute("DROP TABLE checkpoints")
        switch kind {
        case .sqlite: try await store.unsafeExecute("DELETE FROM grdb_migrations WHERE identifier = 'v4'")
        case .postgres: try await store.unsafeExecute("DELETE FROM causeway_migrations WHERE version = 4")
        }
        try await store.migrate()
        #expect(try await store.treeSize() == 13)
        var memory = InMemoryMerkleTree(leafData: receipts.map { JCS.canonicalize(.object($0)) })
        #expect(try await MerkleTree.root(size: 13, from: store) == (try await MerkleTree.root(size: 13, from: memory)))
        // The old entries are the first leaves; new ones follow them.
        let more = try await fillLedger(store, count: 6, tag: 2)
        for receipt in more { memory.append(leafData: JCS.canonicalize(.object(receipt))) }
        #expect(try await store.treeSize() == 19)
        #expect(try await MerkleTree.root(size: 19, from: store) == (try await MerkleTree.root(size: 19, from: memory)))
        #expect(try await MerkleTree.inclusionProof(leaf: 2, size: 19, from: store)
            == (try await MerkleTree.inclusionProof(leaf: 2, size: 19, from: memory)))
    }

    @Test("checkpoints: only ever larger, one root per size, and only the stored tree's own root", arguments: StoreKind.allCases)
    func checkpointRules(kind: StoreKind) async throws {
        let store = try await kind.make()
        #expect(try await store.latestCheckpoint() == nil)
        _ = try await fillLedger(store, count: 9)
        func checkpoint(_ size: Int, root: [UInt8]? = nil) async throws -> StoredCheckpoint {
            let actual = try await MerkleTree.root(size: size, from: store)
            return StoredCheckpoint(size: size, root: root ?? actual, note: "note \(size)\n", createdAt: Int64(size))
        }
        let five = try await checkpoint(5)
        try await store.appendCheckpoint(five)
        try await store.appendCheckpoint(five)  // the same again is harmless
        #expect(try await store.latestCheckpoint() == five)
        let shrinking = try await checkpoint(4)
        await #expect(throws: StoreError.self) { try await store.appendCheckpoint(shrinking) }
        let fork = try await checkpoint(5, root: MerkleHash.leaf([1]))
        await #expect(throws: StoreError.self) { try await store.appendCheckpoint(fork) }
        let wrongRoot = try await checkpoint(7, root: MerkleHash.leaf([2]))
        await #expect(throws: StoreError.self) { try await store.appendCheckpoint(wrongRoot) }
        let beyond = StoredCheckpoint(size: 10, root: MerkleHash.empty, note: "n", createdAt: 1)
        await #expect(throws: StoreError.self) { try await store.appendCheckpoint(beyond) }
        #expect(try await store.latestCheckpoint() == five)
        let nine = try await checkpoint(9)
        try await store.appendCheckpoint(nine)
        #expect(try await store.latestCheckpoint() == nine)
        #expect(try await store.checkpoint(atLeast: 3) == five)
        #expect(try await store.checkpoint(atLeast: 6) == nine)
        #expect(try await store.checkpoint(atLeast: 10) == nil)
    }

    @Test("an append is refused when the tree and the ledger disagree (nodes deleted behind the store's back)", arguments: StoreKind.allCases)
    func appendRefusedOnMismatch(kind: StoreKind) async throws {
        let store = try await kind.make()
        _ = try await fillLedger(store, count: 4)
        try await store.unsafeExecute("DELETE FROM merkle_nodes WHERE level = 0 AND idx = 3")
        await #expect(throws: (any Error).self) { _ = try await fillLedger(store, count: 1, tag: 2) }
        #expect(try await store.ledgerHead()?.sequence == 3)
    }
}

extension AgreementStore {
    /// Raw SQL on either store (tests only).
    func unsafeExecute(_ sql: String) async throws {
        switch self {
        case let sqlite as SQLiteStore: try await sqlite.execute(unsafeSQL: sql)
        case let postgres as PostgresStore: try await postgres.execute(unsafeSQL: sql)
        default: Issue.record("no raw SQL for \(type(of: self))")
        }
    }
}
