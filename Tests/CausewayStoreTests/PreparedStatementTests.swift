import CausewayCore
@testable import CausewayStore
import PostgresNIO
import Testing

/// The PostgreSQL store's hot path (decision 25): prepared statements on a pool whose sessions
/// plan without sequential, bitmap, hash-join and merge-join plans, so that a generic plan made
/// while the tables are small is still the index plan when they are large.
@Suite("PostgreSQL store: the hot path's prepared statements")
struct PreparedStatementTests {
    static func plan(_ db: PostgresConnection, _ sql: String) async throws -> String {
        try await db.query(PostgresQuery(unsafeSQL: sql), logger: .init(label: "test")).collect()
            .map { try $0.decode(String.self) }.joined(separator: "\n")
    }

    @Test("on a new, empty store the claim's, the Merkle read's and the ledger ends' generic plans use only index scans and nested loops; the general pool keeps no generic plan")
    func genericPlansOnEmptyTables() async throws {
        let store = try await TestPostgres.freshStore()
        try await store.migrate()
        try await store.queue.withConnection { db in
            let setting = try await db.query("SHOW enable_bitmapscan", logger: .init(label: "test")).collect().first?.decode(String.self)
            #expect(setting == "off")
            // Prepare both on this connection, then ask for the plan PostgreSQL would keep.
            try await db.run(PostgresStore.ClaimDue.make(ClaimRequest(worker: "w", limit: 16, now: 0, leaseMilliseconds: 1_000)),
                             logger: .init(label: "test"))
            try await db.run(PostgresStore.SelectNodes.make([MerkleNodeID(level: 0, index: 0)]), logger: .init(label: "test"))
            try await db.run(PostgresStore.LedgerEnds.make(), logger: .init(label: "test"))
            let names = try await db.query("SELECT name FROM pg_prepared_statements ORDER BY name", logger: .init(label: "test"))
                .collect().map { try $0.decode(String.self) }
            #expect(names.contains("CausewayStore.PostgresStore.ClaimDue"))
            #expect(names.contains("CausewayStore.PostgresStore.SelectNodes"))
            #expect(names.contains("CausewayStore.PostgresStore.LedgerEnds"))

            _ = try await db.query("SET plan_cache_mode = force_generic_plan", logger: .init(label: "test")).collect()
            let claim = try await Self.plan(db, """
                EXPLAIN EXECUTE "CausewayStore.PostgresStore.ClaimDue"(0, '{}', 16, 0, '{}', 16, 16, 'w', 1000)
                """)
            let nodes = try await Self.plan(db, """
                EXPLAIN EXECUTE "CausewayStore.PostgresStore.SelectNodes"('{0,1}', '{0,0}')
                """)
            let ends = try await Self.plan(db, #"EXPLAIN EXECUTE "CausewayStore.PostgresStore.LedgerEnds""#)
            _ = try await db.query("RESET plan_cache_mode", logger: .init(label: "test")).collect()
            for (name, plan) in [("claim", claim), ("Merkle nodes", nodes), ("ledger's ends and frontier", ends)] {
                for refused in ["Seq Scan", "Bitmap", "Hash Join", "Merge Join"] {
                    #expect(!plan.contains(refused), "\(name): \(refused) in the generic plan:\n\(plan)")
                }
            }
            #expect(claim.contains("Index Scan using outbox_pending"), "the claim reads due entries in index order:\n\(claim)")
            #expect(claim.contains("Index Scan using outbox_leased"), "and expired leases:\n\(claim)")
        }
        // The general pool plans freely, and never keeps a generic plan.
        try await store.client.withConnection { db in
            let rows = try await db.query("SELECT current_setting('enable_seqscan'), current_setting('plan_cache_mode')",
                                          logger: .init(label: "test")).collect()
            let settings = try rows.first?.decode((String, String).self)
            #expect(settings?.0 == "on")
            #expect(settings?.1 == "force_custom_plan")
        }
    }

    @Test("prepared statements' names are distinct and within PostgreSQL's 63 bytes")
    func names() {
        var names: [String] = []
        names += [StoreStatement<PostgresStore.ClaimDue>.name, StoreStatement<PostgresStore.AwaitingReceipts>.name]
        names += [StoreStatement<PostgresStore.InsertAgreements>.name, StoreStatement<PostgresStore.RecordAttempts>.name]
        names += [StoreStatement<PostgresStore.LockAgreements>.name, StoreStatement<PostgresStore.EntryStates>.name]
        names += [StoreStatement<PostgresStore.SetStatuses>.name, StoreStatement<PostgresStore.InsertNodes>.name]
        names += [StoreStatement<PostgresStore.SelectNodes>.name, StoreStatement<PostgresStore.TreeSize>.name]
        names += [StoreStatement<PostgresStore.InsertEntry>.name]
        names += [StoreStatement<PostgresStore.LockLedger>.name, StoreStatement<PostgresStore.LedgerHeadRow>.name]
        names += [StoreStatement<PostgresStore.LedgerEnds>.name, StoreStatement<PostgresStore.AppendLedger>.name]
        names += [StoreStatement<PostgresStore.LockOutboxEntries>.name]
        #expect(Set(names).count == names.count)
        for name in names { #expect(name.utf8.count <= 63, "\(name)") }
    }
}
