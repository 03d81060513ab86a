public import CausewayCore
import Foundation
public import Logging
public import PostgresNIO
import PostgresTLS

/// The shared store for several gateway instances: PostgreSQL through postgres-nio.
///
/// Instances claim outbox work with `FOR UPDATE SKIP LOCKED`, so they divide it without waiting
/// for each other; an agreement's row is locked while its status is recomputed; the ledger has one
/// writer at a time (a transaction-scoped advisory lock) and `UNIQUE(seq)`/`UNIQUE(prev)` guard
/// it against forks. Run ``run()`` (the connection pools) for as long as the store is used.
///
/// Two pools: ``queue`` for the hot path (intake, claims, attempts, receipts), whose statements
/// are prepared once per connection and planned under settings that keep them on their indexes,
/// and ``client`` for everything else (reads for the dashboard and API, reconciliation,
/// retention, migrations), planned freely.
public final class PostgresStore: AgreementStore {
    let client: PostgresClient
    /// The hot path's pool; see ``hotPathSettings``.
    let queue: PostgresClient
    let logger: Logger
    /// The URL's endpoint and the resolved password, when built from a URL: ``migrate()`` first
    /// opens one connection with them, so that a refused one fails at once with its reason.
    let endpoint: (url: PostgresEndpoint, password: String?)?

    /// Connections per instance: at most 8 for reads and administration, 16 for the hot path
    /// (postgres-nio's single pool had 20).
    static let generalConnections = 8
    static let queueConnections = 16

    /// The planner settings of the hot path's sessions. Every statement there reads a few rows
    /// through an index (a key, or the work queue's partial indexes in order), and most are
    /// prepared ones whose generic plan a connection keeps: planned while a table is small (a new
    /// store, a bench's first second), it would keep a sequential scan or a hash join as the table
    /// grows, until an ANALYZE replans it — seen: the Merkle frontier read as a hash join over
    /// every node, 0.8 ms a call. And a bitmap scan of a partial index visits every dead entry of
    /// rows that left the queue and never marks them, so a claim's cost grew with the traffic since
    /// the last vacuum (1,000 heap pages after 4,000 agreements); an index scan in order stops
    /// after `limit` rows and marks what it passes dead. With these off PostgreSQL still uses such
    /// a plan where nothing else can answer.
    static let hotPathSettings = [
        ("enable_seqscan", "off"), ("enable_bitmapscan", "off"), ("enable_hashjoin", "off"), ("enable_mergejoin", "off"),
    ]

    /// Advisory lock keys (arbitrary, fixed).
    static let migrationLock: Int64 = 0x4361_7573_6577_6179  // "Causeway"
    static let ledgerLock: Int64 = 0x4C65_6467_6572_0001

    public convenience init(configuration: PostgresClient.Configuration, logger: Logger = Logger(label: "causeway.store.postgres")) {
        self.init(configuration: configuration, endpoint: nil, logger: logger)
    }

    init(configuration: PostgresClient.Configuration, endpoint: (url: PostgresEndpoint, password: String?)?, logger: Logger) {
        self.logger = logger
        self.endpoint = endpoint
        var general = configuration
        general.options.maximumConnections = Self.generalConnections
        // The few hot texts also used here (a change's entries and statuses, an operator's retry)
        // are planned afresh each time: a generic plan kept from a small table would outlive it.
        general.options.additionalStartupParameters.append(("plan_cache_mode", "force_custom_plan"))
        client = PostgresClient(configuration: general, backgroundLogger: logger)
        var hot = configuration
        hot.options.maximumConnections = Self.queueConnections
        hot.options.additionalStartupParameters += Self.hotPathSettings
        queue = PostgresClient(configuration: hot, backgroundLogger: logger)
    }

    /// A store for a `postgresql://user[:password]@host[:port]/database[?sslmode=…]` URL. TLS is
    /// set with libpq's query parameters `sslmode`, `sslrootcert`, `sslcert`, `sslkey` (Docs/store.md);
    /// the default is `verify-full`, or `disable` for a loopback host. A password in the URL is for
    /// tests; deployments pass it separately.
    public convenience init(url: String, password: String? = nil, logger: Logger = Logger(label: "causeway.store.postgres")) throws {
        let endpoint: PostgresEndpoint
        let configuration: PostgresClient.Configuration
        do {
            endpoint = try PostgresEndpoint(url: url)
            configuration = try endpoint.clientConfiguration(password: password)
        } catch {
            throw StoreError("store: \(error.message)")
        }
        self.init(configuration: configuration, endpoint: (endpoint, password), logger: logger)
    }

    /// Runs the connection pool until the surrounding task is cancelled.
    public func run() async {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.client.run() }
            group.addTask { await self.queue.run() }
        }
    }

    /// Runs one statement outside the schema's API (administration and tests: `CREATE DATABASE`).
    @_spi(Testing) public func execute(unsafeSQL statement: String) async throws {
        try await client.query(PostgresQuery(unsafeSQL: statement), logger: logger)
    }

    public func migrate() async throws {
        if let endpoint {
            do { try await endpoint.url.checkConnection(password: endpoint.password, logger: logger) } catch {
                throw StoreError("store: \(error.message)")
            }
        }
        try await client.withTransaction(logger: logger) { db in
            try await db.query("SELECT pg_advisory_xact_lock(\(Self.migrationLock))", logger: logger)
            try await db.query("CREATE TABLE IF NOT EXISTS causeway_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)",
                               logger: logger)
            let applied = try await db.query("SELECT version FROM causeway_migrations", logger: logger).collect()
                .map { try $0.decode(Int.self) }
            for (version, statements) in [(1, Self.schemaV1), (2, Self.schemaV2), (3, Self.schemaV3), (4, Self.schemaV4),
                                          (5, Self.schemaKERI), (8, Self.schemaRetention), (6, Self.schemaAudit), (7, Self.schemaTracing),
                                          (9, Self.schemaRevisions), (10, WorkQueueSQL.indexes)]
            where !applied.contains(version) {
                for statement in statements { try await db.query(PostgresQuery(unsafeSQL: statement), logger: logger) }
                if version == 4 { try await Self.buildTree(db, logger: logger) }
                let now = Int64(Date().timeIntervalSince1970 * 1000)
                try await db.query("INSERT INTO causeway_migrations (version, applied_at) VALUES (\(version), \(now))", logger: logger)
            }
        }
    }

    static let schemaV1 = [
        """
        CREATE TABLE agreements (
          seq BIGSERIAL PRIMARY KEY, digest TEXT NOT NULL UNIQUE, agreement_id TEXT NOT NULL, partner TEXT NOT NULL,
          type TEXT NOT NULL, status TEXT NOT NULL, document BYTEA NOT NULL, verification TEXT NOT NULL,
          mapping_id TEXT NOT NULL, mapping_version TEXT NOT NULL, mapping_digest TEXT NOT NULL, total TEXT, currency TEXT,
          received_at BIGINT NOT NULL, UNIQUE (partner, agreement_id))
        """,
        "CREATE INDEX agreements_by_status ON agreements (status, seq)",
        "CREATE INDEX agreements_by_partner ON agreements (partner, seq)",
        """
        CREATE TABLE outbox (
          id BIGSERIAL PRIMARY KEY, digest TEXT NOT NULL REFERENCES agreements (digest), action_index INTEGER NOT NULL,
          name TEXT NOT NULL, target TEXT NOT NULL, kind TEXT NOT NULL, adapter TEXT NOT NULL, action TEXT NOT NULL,
          provenance TEXT NOT NULL, receipt_id TEXT NOT NULL UNIQUE, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
          next_attempt_at BIGINT NOT NULL, needs_lookup INTEGER NOT NULL DEFAULT 0, claimed_by TEXT, lease_until BIGINT,
          last_error TEXT, legacy_ref TEXT, delivered_at BIGINT, receipt_seq BIGINT, UNIQUE (digest, action_index))
        """,
        "CREATE INDEX outbox_due ON outbox (state, next_attempt_at)",
        """
        CREATE TABLE attempts (
          id BIGSERIAL PRIMARY KEY, outbox_id BIGINT NOT NULL REFERENCES outbox (id), number INTEGER NOT NULL,
          worker TEXT NOT NULL, started_at BIGINT NOT NULL, finished_at BIGINT NOT NULL, outcome TEXT NOT NULL, detail TEXT)
        """,
        "CREATE INDEX attempts_by_entry ON attempts (outbox_id, number)",
        """
        CREATE TABLE ledger (
          seq BIGINT PRIMARY KEY, receipt_id TEXT NOT NULL UNIQUE, digest TEXT NOT NULL,
          outbox_id BIGINT NOT NULL UNIQUE REFERENCES outbox (id), prev TEXT NOT NULL UNIQUE, leaf TEXT NOT NULL UNIQUE,
          receipt TEXT NOT NULL)
        """,
        "CREATE INDEX ledger_by_digest ON ledger (digest, seq)",
    ]

    /// v2: cursors of ledger readers (receipt pushes to partners' callbacks).
    static let schemaV2 = ["CREATE TABLE cursors (name TEXT PRIMARY KEY, next_seq BIGINT NOT NULL)"]

    /// v3: indexes for the dashboard's search (business id, legacy reference id), date filter and overview.
    static let schemaV3 = [
        "CREATE INDEX agreements_by_agreement_id ON agreements (agreement_id)",
        "CREATE INDEX agreements_by_received ON agreements (received_at)",
        "CREATE INDEX outbox_by_legacy_id ON outbox (((legacy_ref::jsonb) ->> 'id'))",
        "CREATE INDEX attempts_by_finished ON attempts (finished_at)",
    ]

    /// v4: the ledger as a Merkle tree (complete-subtree nodes) and its signed checkpoints; an
    /// existing hash-chain ledger gets its tree built from the stored receipts (``buildTree``).
    static let schemaV4 = [
        "CREATE TABLE merkle_nodes (level BIGINT NOT NULL, idx BIGINT NOT NULL, hash BYTEA NOT NULL, PRIMARY KEY (level, idx))",
        "CREATE TABLE checkpoints (size BIGINT PRIMARY KEY, root BYTEA NOT NULL, note TEXT NOT NULL, created_at BIGINT NOT NULL)",
    ]

    // MARK: Intake and reads

    public func accept(_ agreement: IncomingAgreement) async throws -> IntakeResult {
        if let revision = agreement.revision { return try await acceptRevision(agreement, revision) }
        return try await acceptBatch([agreement])[0]
    }

    /// One outbox entry per action of an agreement being stored, in `state`.
    func insertEntries(_ db: PostgresConnection, _ agreement: IncomingAgreement, state: OutboxState = .pending) async throws {
        for action in agreement.actions {
            try await db.run(InsertEntry.make(agreement, action, state: state), logger: logger)
        }
    }

    enum InsertEntry: StatementText {
        static func make(_ agreement: IncomingAgreement, _ action: IncomingAgreement.Action, state: OutboxState) -> StoreStatement<Self> {
            .init("""
                INSERT INTO outbox (digest, action_index, name, target, kind, adapter, action, provenance, receipt_id, state, next_attempt_at)
                VALUES (\(agreement.digest.description), \(action.index), \(action.name), \(action.target), \(action.kind), \(action.adapter),
                  \(StoreJSON.text(action.action)), \(StoreJSON.text(action.provenance)), \(action.receiptID), \(state.rawValue),
                  \(agreement.receivedAt))
                """)
        }
        static let sql = make(.sample, .sample, state: .pending).query.sql
    }

    static let entryColumns = """
        o.id, o.digest, a.agreement_id, a.partner, o.action_index, o.name, o.target, o.kind, o.adapter, o.action, o.provenance,
        o.receipt_id, o.state, o.attempts, o.next_attempt_at, o.needs_lookup, o.last_error, o.legacy_ref, o.delivered_at
        """

    static func entry(_ row: PostgresRow) throws -> OutboxEntry {
        let r = row.makeRandomAccess()
        return OutboxEntry(
            id: try r["id"].decode(Int64.self), digest: try StoreJSON.digest(try r["digest"].decode(String.self)),
            agreementID: try r["agreement_id"].decode(String.self), partner: try r["partner"].decode(String.self),
            actionIndex: try r["action_index"].decode(Int.self), name: try r["name"].decode(String.self),
            target: try r["target"].decode(String.self), kind: try r["kind"].decode(String.self), adapter: try r["adapter"].decode(String.self),
            action: try StoreJSON.value(try r["action"].decode(String.self)) ?? .null,
            provenance: try StoreJSON.value(try r["provenance"].decode(String.self)) ?? .null,
            receiptID: try r["receipt_id"].decode(String.self),
            state: OutboxState(rawValue: try r["state"].decode(String.self)) ?? .pending,
            attempts: try r["attempts"].decode(Int.self), nextAttemptAt: try r["next_attempt_at"].decode(Int64.self),
            needsLookup: try r["needs_lookup"].decode(Int.self) != 0, lastError: try r["last_error"].decode(String?.self),
            legacyReference: try StoreJSON.value(try r["legacy_ref"].decode(String?.self)),
            deliveredAt: try r["delivered_at"].decode(Int64?.self))
    }

    func summary(_ row: PostgresRow, _ db: PostgresConnection) async throws -> AgreementSummary {
        let r = row.makeRandomAccess()
        let digest = try r["digest"].decode(String.self)
        let entries = try await db.query("SELECT target, legacy_ref FROM outbox WHERE digest = \(digest) ORDER BY action_index", logger: logger)
            .collect()
        var targets: [String] = []
        var references: [String] = []
        for entry in entries {
            let (target, reference) = try entry.decode((String, String?).self)
            targets.append(target)
            if let reference = try StoreJSON.value(reference), let label = StoreJSON.referenceLabel(reference) {
                references.append(label)
            }
        }
        return AgreementSummary(
            digest: try StoreJSON.digest(digest), agreementID: try r["agreement_id"].decode(String.self), partner: try r["partner"].decode(String.self),
            status: AgreementStatus(rawValue: try r["status"].decode(String.self)) ?? .accepted, total: try r["total"].decode(String?.self),
            currency: try r["currency"].decode(String?.self), receivedAt: try r["received_at"].decode(Int64.self), targets: targets,
            references: references, sequence: try r["seq"].decode(Int64.self),
            deliveryDate: try r["document"].decode(ByteBuffer?.self).flatMap { StoreJSON.deliveryDate(Array(buffer: $0)) },
            version: try r["version"].decode(Int.self), revision: try r["revision"].decode(String?.self),
            chain: try StoreJSON.digest(try r["chain"].decode(String?.self) ?? digest),
            supersededBy: try r["superseded_by"].decode(String?.self).map(StoreJSON.digest))
    }

    public func agreement(digest: ContentDigest) async throws -> StoredAgreement? {
        try await client.withConnection { db in
            let key = digest.description
            guard let row = try await db.query("SELECT * FROM agreements WHERE digest = \(key)", logger: logger).collect().first else {
                return nil
            }
            let entries = try await db.query("""
                SELECT \(unescaped: Self.entryColumns) FROM outbox o JOIN agreements a ON a.digest = o.digest
                WHERE o.digest = \(key) ORDER BY o.action_index
                """, logger: logger).collect().map(Self.entry)
            let attempts = try await db.query("""
                SELECT t.outbox_id, t.number, t.started_at, t.finished_at, t.outcome, t.detail FROM attempts t
                JOIN outbox o ON o.id = t.outbox_id WHERE o.digest = \(key) ORDER BY t.id
                """, logger: logger).collect().map { row in
                let (entry, number, started, finished, outcome, detail) = try row.decode((Int64, Int, Int64, Int64, String, String?).self)
                return AttemptSummary(entryID: entry, number: number, startedAt: started, finishedAt: finished, outcome: outcome, detail: detail)
            }
            let r = row.makeRandomAccess()
            let document = try r["document"].decode(ByteBuffer.self)
            return StoredAgreement(
                summary: try await summary(row, db), document: Array(buffer: document),
                verification: try StoreJSON.value(try r["verification"].decode(String.self)) ?? .null,
                mappingID: try r["mapping_id"].decode(String.self), mappingVersion: try r["mapping_version"].decode(String.self),
                mappingDigest: try StoreJSON.digest(try r["mapping_digest"].decode(String.self)), entries: entries, attempts: attempts)
        }
    }

    public func agreements(_ query: AgreementQuery) async throws -> [AgreementSummary] {
        try await client.withConnection { db in
            let limit = max(1, min(query.limit, 1000))
            let status = query.status?.rawValue
            let labelled = query.search.map(StoreJSON.referenceIDs(labelled:)) ?? []
            let rows = try await db.query("""
                SELECT * FROM agreements
                WHERE (\(query.partner)::text IS NULL OR partner = \(query.partner))
                  AND (\(status)::text IS NULL OR status = \(status))
                  AND (\(query.before)::bigint IS NULL OR seq < \(query.before))
                  AND (\(query.target)::text IS NULL OR EXISTS (SELECT 1 FROM outbox o WHERE o.digest = agreements.digest
                    AND o.target = \(query.target)))
                  AND (\(query.receivedFrom)::bigint IS NULL OR received_at >= \(query.receivedFrom))
                  AND (\(query.receivedBefore)::bigint IS NULL OR received_at < \(query.receivedBefore))
                  AND (NOT \(query.currentOnly) OR superseded_by IS NULL)
                  AND (\(query.search)::text IS NULL OR seq IN (
                    SELECT seq FROM agreements WHERE agreement_id = \(query.search) UNION SELECT seq FROM agreements WHERE digest = \(query.search)
                    UNION SELECT s.seq FROM outbox o JOIN agreements s ON s.digest = o.digest WHERE ((o.legacy_ref::jsonb) ->> 'id') = \(query.search)
                    UNION SELECT s.seq FROM outbox o JOIN agreements s ON s.digest = o.digest
                      WHERE ((o.legacy_ref::jsonb) ->> 'id') = ANY(\(labelled)::text[])
                        AND concat_ws(':', (o.legacy_ref::jsonb) ->> 'system', (o.legacy_ref::jsonb) ->> 'kind', (o.legacy_ref::jsonb) ->> 'id') = \(query.search)))
                ORDER BY seq DESC LIMIT \(limit)
                """, logger: logger).collect()
            var summaries: [AgreementSummary] = []
            for row in rows { summaries.append(try await summary(row, db)) }
            return summaries
        }
    }

    // MARK: Outbox

    public func claim(_ request: ClaimRequest) async throws -> [OutboxEntry] {
        try await queue.withConnection { db in
            try await db.run(ClaimDue.make(request), logger: logger).map(Self.entry)
                .sorted { ($0.nextAttemptAt, $0.id) < ($1.nextAttemptAt, $1.id) }
        }
    }

    /// The claim, one statement (its own transaction, one round trip). Expired leases and due
    /// entries are found apart, each through its own partial index in the claim's order, so that
    /// a claim reads about `limit` rows however long the queue is (one OR over both sorted every
    /// due entry, and checked each against its chain, first).
    ///
    /// Each claimed agreement then has an action in flight, so its status is `delivering`
    /// (StatusRule) unless one of its actions is a dead letter — and then it already is
    /// `dead_letter` (every statement that makes a dead letter refreshes the status). The
    /// agreements are locked in digest order before they are updated, so that concurrent claimers
    /// cannot deadlock on them. (Checking for the dead letter here instead made PostgreSQL hash
    /// the whole outbox on every claim: 43 ms a claim at 10,000 entries.)
    /// The store's connections do not plan bitmap scans (``init(configuration:endpoint:logger:)``):
    /// only an index scan in order stops after `limit` rows and marks the index entries of rows
    /// already claimed or delivered dead as it passes them, so that the next claim skips them.
    enum ClaimDue: StatementText {
        static func make(_ request: ClaimRequest) -> StoreStatement<Self> {
            let excluded = request.excludingTargets.sorted()
            let leaseUntil = request.now + request.leaseMilliseconds
            return .init("""
                WITH expired AS (
                  SELECT id, state, next_attempt_at FROM outbox
                  WHERE state = 'in_flight' AND lease_until < \(request.now)
                    AND NOT (target = ANY(\(excluded))) AND NOT \(unescaped: ChainSQL.entryMustWait)
                  ORDER BY lease_until LIMIT \(request.limit)
                  FOR UPDATE SKIP LOCKED),
                pending AS (
                  SELECT id, state, next_attempt_at FROM outbox
                  WHERE state = 'pending' AND next_attempt_at <= \(request.now)
                    AND NOT (target = ANY(\(excluded))) AND NOT \(unescaped: ChainSQL.entryMustWait)
                  ORDER BY next_attempt_at, id LIMIT \(request.limit)
                  FOR UPDATE SKIP LOCKED),
                due AS (
                  SELECT id, state FROM (SELECT * FROM expired UNION ALL SELECT * FROM pending) AS both_kinds
                  ORDER BY next_attempt_at, id LIMIT \(request.limit)),
                claimed AS (
                  UPDATE outbox o SET state = 'in_flight', claimed_by = \(request.worker), lease_until = \(leaseUntil),
                    needs_lookup = CASE WHEN due.state = 'in_flight' THEN 1 ELSE o.needs_lookup END
                  FROM due, agreements a WHERE o.id = due.id AND a.digest = o.digest
                  RETURNING \(unescaped: PostgresStore.entryColumns)),
                locked AS (
                  SELECT digest FROM agreements WHERE digest IN (SELECT digest FROM claimed) ORDER BY digest FOR UPDATE),
                delivering AS (
                  UPDATE agreements a SET status = 'delivering' FROM locked
                  WHERE a.digest = locked.digest AND a.status IN \(unescaped: StatusRule.claimMovesSQL))
                SELECT * FROM claimed
                """)
        }
        static let sql = make(ClaimRequest(worker: "", limit: 1, now: 0, leaseMilliseconds: 0)).query.sql
    }

    public func finish(_ attempt: AttemptRecord) async throws -> Bool {
        try await finishBatch([attempt])[0]
    }

    public func release(worker: String, entries: [Int64]) async throws {
        guard !entries.isEmpty else { return }
        try await queue.withTransaction(logger: logger) { db in
            let released = try await db.query("""
                UPDATE outbox SET state = 'pending', claimed_by = NULL, lease_until = NULL
                WHERE id = ANY(\(entries)) AND claimed_by = \(worker) AND state = 'in_flight' RETURNING digest
                """, logger: logger).collect().map { try $0.decode(String.self) }
            try await refreshStatuses(db, digests: Set(released))
        }
    }

    public func retry(digest: ContentDigest, now: Int64) async throws -> Int {
        try await client.withTransaction(logger: logger) { db in
            let key = digest.description
            let changed = try await db.query("""
                UPDATE outbox SET state = 'pending', next_attempt_at = \(now), needs_lookup = 1, last_error = NULL
                WHERE digest = \(key) AND state = 'dead_letter' RETURNING id
                """, logger: logger).collect().count
            try await refreshStatuses(db, digests: [key])
            return changed
        }
    }

    // MARK: Ledger

    public func entriesAwaitingReceipts(limit: Int) async throws -> [OutboxEntry] {
        try await queue.withConnection { db in
            try await db.run(AwaitingReceipts.make(limit), logger: logger).map(Self.entry)
        }
    }

    enum AwaitingReceipts: StatementText {
        static func make(_ limit: Int) -> StoreStatement<Self> {
            .init("""
                SELECT \(unescaped: PostgresStore.entryColumns) FROM outbox o JOIN agreements a ON a.digest = o.digest
                WHERE o.state = 'delivered' AND o.receipt_seq IS NULL ORDER BY o.id LIMIT \(limit)
                """)
        }
        static let sql = make(1).query.sql
    }

    public func ledgerHead() async throws -> LedgerHead? {
        try await queue.withConnection { db in
            guard let row = try await db.run(LedgerHeadRow.make(), logger: logger).first else {
                return nil
            }
            let (sequence, leaf) = try row.decode((Int, String).self)
            return LedgerHead(sequence: sequence, leaf: try StoreJSON.digest(leaf))
        }
    }

    public func appendReceipts(_ receipts: [LedgerAppend]) async throws {
        guard !receipts.isEmpty else { return }
        try await queue.withTransaction(logger: logger) { db in
            // The entries' locks before the ledger's, in the order every finish takes them
            // (rows, then the ledger), so that a finish and this append cannot deadlock.
            try await db.run(LockOutboxEntries.make(receipts.map(\.entryID)), logger: logger)
            // One ledger writer at a time, across instances.
            try await db.run(LockLedger.make(), logger: logger)
            try await append(receipts, after: try await ledgerEnds(db), db)
        }
    }

    /// What an append starts from: the ledger's head (nil: empty), its Merkle tree's size and
    /// the nodes of the tree's frontier.
    struct LedgerEndsRead {
        var head: LedgerHead?
        var treeSize: Int
        var frontier: [MerkleNodeID: [UInt8]]
    }

    /// The ledger's head, its Merkle tree's size and the tree's frontier, read in one statement
    /// under the ledger's lock.
    func ledgerEnds(_ db: PostgresConnection) async throws -> LedgerEndsRead {
        var ends = LedgerEndsRead(head: nil, treeSize: 0, frontier: [:])
        for row in try await db.run(LedgerEnds.make(), logger: logger) {
            let (headSequence, headLeaf, treeSize, level, index, hash) = try row.decode((Int?, String?, Int64?, Int64?, Int64?, ByteBuffer?).self)
            ends.head = try headSequence.map { LedgerHead(sequence: $0, leaf: try StoreJSON.digest(headLeaf ?? "")) }
            ends.treeSize = Int(treeSize ?? 0)
            guard let level, let index, let hash else { continue }
            let node = try Self.storedNode(level, index, hash)
            ends.frontier[node.id] = node.hash
        }
        return ends
    }

    /// Appends receipts after the ledger's ends (read under its lock, in the same transaction):
    /// each must be the next entry, and the tree must have a leaf per entry. Each receipt's
    /// entry gets its `receipt_seq`.
    func append(_ receipts: [LedgerAppend], after ends: LedgerEndsRead, _ db: PostgresConnection) async throws {
        var expectedSequence = ends.head.map { $0.sequence + 1 } ?? 0
        var expectedPrevious = ends.head?.leaf ?? LedgerChain.genesis
        let size = ends.treeSize
        guard size == expectedSequence else {
            throw StoreError("the ledger has \(expectedSequence) entries but its Merkle tree \(size) leaves; run `causeway ledger verify`")
        }
        var builder = try LedgerTree.Builder(size: size, frontier: ends.frontier)
        var nodes: [(id: MerkleNodeID, hash: [UInt8])] = []
        for receipt in receipts {
            guard receipt.sequence == expectedSequence, receipt.previous == expectedPrevious else {
                throw StoreError("ledger append out of order: expected seq \(expectedSequence) after \(expectedPrevious)")
            }
            nodes += builder.append(receipt.treeLeaf)
            expectedSequence += 1
            expectedPrevious = receipt.leaf
        }
        try await db.run(AppendLedger.make(receipts, nodes), logger: logger)
    }

    /// Outbox entries locked in id order (as ``RecordAttempts`` locks them).
    enum LockOutboxEntries: StatementText {
        static func make(_ ids: [Int64]) -> StoreStatement<Self> {
            .init("SELECT id FROM outbox WHERE id = ANY(\(ids)) ORDER BY id FOR UPDATE")
        }
        static let sql = make([]).query.sql
    }

    enum LockLedger: StatementText {
        static func make() -> StoreStatement<Self> { .init("SELECT pg_advisory_xact_lock(\(PostgresStore.ledgerLock))") }
        static let sql = make().query.sql
    }

    enum LedgerHeadRow: StatementText {
        static func make() -> StoreStatement<Self> { .init("SELECT seq, leaf FROM ledger ORDER BY seq DESC LIMIT 1") }
        static let sql = make().query.sql
    }

    /// The ledger's last entry, the Merkle tree's size and the nodes of its frontier
    /// (``LedgerTree/frontier(size:)``, found by index from the size): one row per frontier node,
    /// or one row without a node for an empty tree. Read under the ledger's lock, in a statement
    /// after the lock's, so that it sees every append committed before.
    enum LedgerEnds: StatementText {
        static func make() -> StoreStatement<Self> {
            .init("""
                WITH ends AS (
                  SELECT (SELECT seq FROM ledger ORDER BY seq DESC LIMIT 1) AS seq, (SELECT leaf FROM ledger ORDER BY seq DESC LIMIT 1) AS leaf,
                    (SELECT MAX(idx) + 1 FROM merkle_nodes WHERE level = 0) AS size)
                SELECT e.seq, e.leaf, e.size, n.level, n.idx, n.hash FROM ends e
                LEFT JOIN LATERAL (
                  SELECT m.level, m.idx, m.hash FROM generate_series(0, 62) AS b(l)
                  JOIN merkle_nodes m ON m.level = b.l AND m.idx = (e.size >> b.l) - 1
                  WHERE (e.size >> b.l) & 1 = 1) n ON true
                """)
        }
        static let sql = make().query.sql
    }

    /// A batch of receipts in one statement: the ledger's rows, each entry's receipt sequence,
    /// and the Merkle tree's new nodes (arrays unnested server-side).
    enum AppendLedger: StatementText {
        static func make(_ receipts: [LedgerAppend], _ nodes: [(id: MerkleNodeID, hash: [UInt8])]) -> StoreStatement<Self> {
            let sequences = receipts.map { Int64($0.sequence) }
            return .init("""
                WITH appended AS (
                  INSERT INTO ledger (seq, receipt_id, digest, outbox_id, prev, leaf, receipt)
                  SELECT * FROM unnest(\(sequences)::bigint[], \(receipts.map(\.receiptID))::text[],
                    \(receipts.map(\.digest.description))::text[], \(receipts.map(\.entryID))::bigint[],
                    \(receipts.map(\.previous.description))::text[], \(receipts.map(\.leaf.description))::text[],
                    \(receipts.map(\.text))::text[])),
                receipted AS (
                  UPDATE outbox SET receipt_seq = u.seq
                  FROM unnest(\(receipts.map(\.entryID))::bigint[], \(sequences)::bigint[]) AS u(id, seq)
                  WHERE outbox.id = u.id),
                grown AS (
                  INSERT INTO merkle_nodes (level, idx, hash)
                  SELECT l, i, decode(h, 'hex') FROM unnest(\(nodes.map { Int64($0.id.level) })::bigint[],
                    \(nodes.map { Int64($0.id.index) })::bigint[], \(nodes.map { HexEncoding.encode($0.hash) })::text[]) AS n(l, i, h))
                SELECT 1
                """)
        }
        static let sql = make([], []).query.sql
    }

    public func receipts(digest: ContentDigest) async throws -> [JSONObject] {
        try await client.withConnection { db in
            try await db.query("SELECT receipt FROM ledger WHERE digest = \(digest.description) ORDER BY seq", logger: logger).collect()
                .map { try StoreJSON.object(try $0.decode(String.self)) }
        }
    }

    public func receipt(id: String) async throws -> JSONObject? {
        try await client.withConnection { db in
            try await db.query("SELECT receipt FROM ledger WHERE receipt_id = \(id)", logger: logger).collect().first
                .map { try StoreJSON.object(try $0.decode(String.self)) }
        }
    }

    public func ledger(from sequence: Int, limit: Int) async throws -> [JSONObject] {
        try await client.withConnection { db in
            try await db.query("SELECT receipt FROM ledger WHERE seq >= \(sequence) ORDER BY seq LIMIT \(limit)", logger: logger).collect()
                .map { try StoreJSON.object(try $0.decode(String.self)) }
        }
    }

    public func cursor(_ name: String) async throws -> Int {
        let rows = try await client.query("SELECT next_seq FROM cursors WHERE name = \(name)", logger: logger).collect()
        return try rows.first.map { Int(try $0.decode(Int64.self)) } ?? 0
    }

    public func setCursor(_ name: String, to sequence: Int) async throws {
        try await client.query("""
            INSERT INTO cursors (name, next_seq) VALUES (\(name), \(Int64(sequence)))
            ON CONFLICT (name) DO UPDATE SET next_seq = GREATEST(cursors.next_seq, excluded.next_seq)
            """, logger: logger)
    }

    public func statusCounts() async throws -> [AgreementStatus: Int] {
        var counts: [AgreementStatus: Int] = [:]
        for row in try await client.query("SELECT status, COUNT(*) FROM agreements WHERE superseded_by IS NULL GROUP BY status", logger: logger).collect() {
            let (status, count) = try row.decode((String, Int64).self)
            if let status = AgreementStatus(rawValue: status) { counts[status] = Int(count) }
        }
        return counts
    }

    public func activity(since: Int64, bucketMilliseconds: Int64) async throws -> [ActivityBucket] {
        let width = max(1, bucketMilliseconds)
        return try await client.query("""
            SELECT (t.finished_at / \(width)) * \(width) AS bucket, a.partner, o.target, COUNT(*)::bigint,
              SUM(CASE WHEN t.outcome IN \(unescaped: DashboardSQL.committed) THEN 1 ELSE 0 END)::bigint,
              SUM(CASE WHEN t.outcome IN \(unescaped: DashboardSQL.committed) THEN t.finished_at - a.received_at ELSE 0 END)::bigint
            FROM attempts t JOIN outbox o ON o.id = t.outbox_id JOIN agreements a ON a.digest = o.digest
            WHERE t.finished_at >= \(since) GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
            """, logger: logger).collect().map { row in
            let (bucket, partner, target, attempts, delivered, latency) = try row.decode((Int64, String, String, Int64, Int64, Int64).self)
            return ActivityBucket(start: bucket, partner: partner, target: target, attempts: Int(attempts), delivered: Int(delivered),
                                  failed: Int(attempts - delivered), latencyMilliseconds: latency)
        }
    }
}
