public import CausewayCore
import Foundation
import GRDB

typealias SQLRow = GRDB.Row

/// The embedded store: one SQLite file (WAL mode), nothing to install.
///
/// Writes are serialised by SQLite; one process uses it. For several gateway instances use
/// ``PostgresStore``.
public final class SQLiteStore: AgreementStore {
    let pool: DatabasePool

    /// Opens (creating if needed) the database file at `path`.
    ///
    /// A new file is created with mode 0600 (agreements carry commercial and personal data);
    /// SQLite gives its `-wal` and `-shm` files the mode of the database file.
    public init(path: String) throws {
        if !path.isEmpty, path != ":memory:", !path.hasPrefix("file:"), !FileManager.default.fileExists(atPath: path) {
            let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
            if descriptor >= 0 { close(descriptor) }
        }
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(10)
        // A 64 MiB page cache per connection (SQLite's default is 2 MiB): the ledger's unique
        // indexes (receipt id, chain links) and the Merkle node table take inserts at random
        // places, which a small cache turns into reads from disk once the file outgrows it.
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA cache_size = -65536") }
        pool = try DatabasePool(path: path, configuration: configuration)
    }

    /// Moves everything in the write-ahead log into the database file and empties the log
    /// (`PRAGMA wal_checkpoint(TRUNCATE)`), so that after a graceful stop the `.sqlite` file alone
    /// is the whole store: what an operator copies, backs up or restores.
    ///
    /// Waits for readers and the writer in progress; returns once the file holds every commit.
    public func checkpointWriteAheadLog() async throws {
        try await pool.barrierWriteWithoutTransaction { db in
            _ = try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(TRUNCATE)")
        }
    }

    public func migrate() async throws {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE agreements (
                  seq INTEGER PRIMARY KEY AUTOINCREMENT,
                  digest TEXT NOT NULL UNIQUE,
                  agreement_id TEXT NOT NULL,
                  partner TEXT NOT NULL,
                  type TEXT NOT NULL,
                  status TEXT NOT NULL,
                  document BLOB NOT NULL,
                  verification TEXT NOT NULL,
                  mapping_id TEXT NOT NULL,
                  mapping_version TEXT NOT NULL,
                  mapping_digest TEXT NOT NULL,
                  total TEXT,
                  currency TEXT,
                  received_at INTEGER NOT NULL,
                  UNIQUE (partner, agreement_id));
                CREATE INDEX agreements_by_status ON agreements (status, seq);
                CREATE INDEX agreements_by_partner ON agreements (partner, seq);
                CREATE TABLE outbox (
                  id INTEGER PRIMARY KEY AUTOINCREMENT,
                  digest TEXT NOT NULL REFERENCES agreements (digest),
                  action_index INTEGER NOT NULL,
                  name TEXT NOT NULL,
                  target TEXT NOT NULL,
                  kind TEXT NOT NULL,
                  adapter TEXT NOT NULL,
                  action TEXT NOT NULL,
                  provenance TEXT NOT NULL,
                  receipt_id TEXT NOT NULL UNIQUE,
                  state TEXT NOT NULL,
                  attempts INTEGER NOT NULL DEFAULT 0,
                  next_attempt_at INTEGER NOT NULL,
                  needs_lookup INTEGER NOT NULL DEFAULT 0,
                  claimed_by TEXT,
                  lease_until INTEGER,
                  last_error TEXT,
                  legacy_ref TEXT,
                  delivered_at INTEGER,
                  receipt_seq INTEGER,
                  UNIQUE (digest, action_index));
                CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
                CREATE TABLE attempts (
                  id INTEGER PRIMARY KEY AUTOINCREMENT,
                  outbox_id INTEGER NOT NULL REFERENCES outbox (id),
                  number INTEGER NOT NULL,
                  worker TEXT NOT NULL,
                  started_at INTEGER NOT NULL,
                  finished_at INTEGER NOT NULL,
                  outcome TEXT NOT NULL,
                  detail TEXT);
                CREATE INDEX attempts_by_entry ON attempts (outbox_id, number);
                CREATE TABLE ledger (
                  seq INTEGER PRIMARY KEY,
                  receipt_id TEXT NOT NULL UNIQUE,
                  digest TEXT NOT NULL,
                  outbox_id INTEGER NOT NULL UNIQUE REFERENCES outbox (id),
                  prev TEXT NOT NULL UNIQUE,
                  leaf TEXT NOT NULL UNIQUE,
                  receipt TEXT NOT NULL);
                CREATE INDEX ledger_by_digest ON ledger (digest, seq);
                """)
        }
        // v2: cursors of ledger readers (receipt pushes to partners' callbacks).
        migrator.registerMigration("v2") { db in
            try db.execute(sql: "CREATE TABLE cursors (name TEXT PRIMARY KEY, next_seq INTEGER NOT NULL)")
        }
        // v3: indexes for the dashboard's search (business id, legacy reference id), date filter and overview.
        migrator.registerMigration("v3") { db in
            try db.execute(sql: """
                CREATE INDEX agreements_by_agreement_id ON agreements (agreement_id);
                CREATE INDEX agreements_by_received ON agreements (received_at);
                CREATE INDEX outbox_by_legacy_id ON outbox (json_extract(legacy_ref, '$.id'));
                CREATE INDEX attempts_by_finished ON attempts (finished_at);
                """)
        }
        // v4: the ledger as a Merkle tree (complete-subtree nodes) and its signed checkpoints. An
        // existing hash-chain ledger gets its tree built from the stored receipts, in ledger order.
        migrator.registerMigration("v4") { db in
            try db.execute(sql: """
                CREATE TABLE merkle_nodes (
                  level INTEGER NOT NULL,
                  idx INTEGER NOT NULL,
                  hash BLOB NOT NULL,
                  PRIMARY KEY (level, idx)) WITHOUT ROWID;
                CREATE TABLE checkpoints (
                  size INTEGER PRIMARY KEY,
                  root BLOB NOT NULL,
                  note TEXT NOT NULL,
                  created_at INTEGER NOT NULL);
                """)
            var builder = try LedgerTree.Builder(size: 0, frontier: [:])
            let rows = try String.fetchCursor(db, sql: "SELECT receipt FROM ledger ORDER BY seq")
            var leaves: [[UInt8]] = []
            while let receipt = try rows.next() {
                leaves.append(LedgerTree.leafHash(of: try StoreJSON.object(receipt)))
                if leaves.count == 1024 {
                    try Self.insertNodes(db, leaves.flatMap { builder.append($0) })
                    leaves.removeAll(keepingCapacity: true)
                }
            }
            try Self.insertNodes(db, leaves.flatMap { builder.append($0) })
        }
        // v5: KERI key event logs (latest validated KEL per AID) and recorded duplicity.
        migrator.registerMigration("v5") { db in try db.execute(sql: Self.schemaKERI) }
        // v8: retention, which agreements' bodies and attempts went to which archive file (SQLiteStore+Retention).
        migrator.registerMigration("v8") { db in try db.execute(sql: Self.schemaRetention) }
        // v7: the W3C trace context of each agreement's intake span (SQLiteStore+Tracing).
        migrator.registerMigration("v7") { db in try db.execute(sql: Self.schemaTracing) }
        // v6: the audit log of operator actions, append-only (SQLiteStore+Audit).
        migrator.registerMigration("v6") { db in try db.execute(sql: Self.schemaAudit) }
        // v9: changes and cancellations, each version a row of its agreement's chain (SQLiteStore+Revisions).
        migrator.registerMigration("v9") { db in try db.execute(sql: Self.schemaRevisions) }
        // v10: the outbox's work-queue indexes, partial so that they stay small (WorkQueueSQL).
        migrator.registerMigration("v10") { db in try db.execute(sql: WorkQueueSQL.indexes.joined(separator: ";\n")) }
        try migrator.migrate(pool)
    }

    public func accept(_ agreement: IncomingAgreement) async throws -> IntakeResult {
        try await pool.write { db in try Self.accept(agreement, in: db) }
    }

    public func acceptBatch(_ agreements: [IncomingAgreement]) async throws -> [IntakeResult] {
        guard !agreements.isEmpty else { return [] }
        return try await pool.write { db in try agreements.map { try Self.accept($0, in: db) } }
    }

    /// One agreement's intake inside a write transaction (``accept(_:)``, ``acceptBatch(_:)``).
    static func accept(_ agreement: IncomingAgreement, in db: Database) throws -> IntakeResult {
        if let row = try db.cachedRow(sql: "SELECT status FROM agreements WHERE digest = ?", arguments: [agreement.digest.description]) {
            return .known(AgreementStatus(rawValue: row["status"]) ?? .accepted)
        }
        if let revision = agreement.revision { return try acceptRevision(agreement, revision, in: db) }
        if let row = try db.cachedRow(sql: "SELECT digest FROM agreements WHERE partner = ? AND agreement_id = ?",
                                      arguments: [agreement.partner, agreement.agreementID]) {
            return .conflict(existing: try StoreJSON.digest(row["digest"]))
        }
        try db.cachedExecute(sql: """
            INSERT INTO agreements (digest, agreement_id, partner, type, status, document, verification, mapping_id, mapping_version,
              mapping_digest, total, currency, received_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            arguments: [agreement.digest.description, agreement.agreementID, agreement.partner, agreement.type,
                        StatusRule.initial(agreement).rawValue, Data(agreement.document),
                        StoreJSON.text(agreement.verification), agreement.mappingID, agreement.mappingVersion,
                        agreement.mappingDigest.description, agreement.total, agreement.currency, agreement.receivedAt])
        try insertEntries(agreement, in: db)
        return .accepted
    }

    /// One outbox entry per action of an agreement being stored, in `state`.
    static func insertEntries(_ agreement: IncomingAgreement, state: OutboxState = .pending, in db: Database) throws {
        for action in agreement.actions {
            try db.cachedExecute(sql: """
                INSERT INTO outbox (digest, action_index, name, target, kind, adapter, action, provenance, receipt_id, state, next_attempt_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                arguments: [agreement.digest.description, action.index, action.name, action.target, action.kind, action.adapter,
                            StoreJSON.text(action.action), StoreJSON.text(action.provenance), action.receiptID, state.rawValue,
                            agreement.receivedAt])
        }
    }

    static let entryColumns = """
        o.id, o.digest, a.agreement_id, a.partner, o.action_index, o.name, o.target, o.kind, o.adapter, o.action, o.provenance,
        o.receipt_id, o.state, o.attempts, o.next_attempt_at, o.needs_lookup, o.last_error, o.legacy_ref, o.delivered_at
        """

    static func entry(_ row: SQLRow) throws -> OutboxEntry {
        OutboxEntry(
            id: row["id"], digest: try StoreJSON.digest(row["digest"]), agreementID: row["agreement_id"], partner: row["partner"],
            actionIndex: row["action_index"], name: row["name"], target: row["target"], kind: row["kind"], adapter: row["adapter"],
            action: try StoreJSON.value(row["action"]) ?? .null, provenance: try StoreJSON.value(row["provenance"]) ?? .null,
            receiptID: row["receipt_id"], state: OutboxState(rawValue: row["state"]) ?? .pending, attempts: row["attempts"],
            nextAttemptAt: row["next_attempt_at"], needsLookup: (row["needs_lookup"] as Int) != 0, lastError: row["last_error"],
            legacyReference: try StoreJSON.value(row["legacy_ref"]), deliveredAt: row["delivered_at"])
    }

    static func summary(_ row: SQLRow, _ db: Database) throws -> AgreementSummary {
        let digest: String = row["digest"]
        let entries = try db.cachedRows(sql: "SELECT target, legacy_ref FROM outbox WHERE digest = ? ORDER BY action_index", arguments: [digest])
        var references: [String] = []
        for entry in entries {
            if let reference = try StoreJSON.value(entry["legacy_ref"]), let label = StoreJSON.referenceLabel(reference) {
                references.append(label)
            }
        }
        return AgreementSummary(
            digest: try StoreJSON.digest(digest), agreementID: row["agreement_id"], partner: row["partner"],
            status: AgreementStatus(rawValue: row["status"]) ?? .accepted, total: row["total"], currency: row["currency"],
            receivedAt: row["received_at"], targets: entries.map { $0["target"] }, references: references, sequence: row["seq"],
            deliveryDate: (row["document"] as Data?).flatMap { StoreJSON.deliveryDate(Array($0)) },
            version: row["version"] ?? 1, revision: row["revision"], chain: try StoreJSON.digest((row["chain"] as String?) ?? digest),
            supersededBy: try (row["superseded_by"] as String?).map(StoreJSON.digest))
    }

    public func agreement(digest: ContentDigest) async throws -> StoredAgreement? {
        try await pool.read { db in
            guard let row = try db.cachedRow(sql: "SELECT * FROM agreements WHERE digest = ?", arguments: [digest.description]) else {
                return nil
            }
            let entries = try db.cachedRows(sql: """
                SELECT \(Self.entryColumns) FROM outbox o JOIN agreements a ON a.digest = o.digest
                WHERE o.digest = ? ORDER BY o.action_index
                """, arguments: [digest.description]).map(Self.entry)
            let attempts = try db.cachedRows(sql: """
                SELECT t.outbox_id, t.number, t.started_at, t.finished_at, t.outcome, t.detail FROM attempts t
                JOIN outbox o ON o.id = t.outbox_id WHERE o.digest = ? ORDER BY t.id
                """, arguments: [digest.description]).map {
                AttemptSummary(entryID: $0["outbox_id"], number: $0["number"], startedAt: $0["started_at"], finishedAt: $0["finished_at"],
                               outcome: $0["outcome"], detail: $0["detail"])
            }
            let document: Data = row["document"]
            return StoredAgreement(
                summary: try Self.summary(row, db), document: Array(document), verification: try StoreJSON.value(row["verification"]) ?? .null,
                mappingID: row["mapping_id"], mappingVersion: row["mapping_version"], mappingDigest: try StoreJSON.digest(row["mapping_digest"]),
                entries: entries, attempts: attempts)
        }
    }

    public func agreements(_ query: AgreementQuery) async throws -> [AgreementSummary] {
        try await pool.read { db in
            var conditions: [String] = []
            var arguments: [any DatabaseValueConvertible] = []
            if let partner = query.partner { conditions.append("partner = ?"); arguments.append(partner) }
            if let status = query.status { conditions.append("status = ?"); arguments.append(status.rawValue) }
            if let before = query.before { conditions.append("seq < ?"); arguments.append(before) }
            if let target = query.target {
                conditions.append("EXISTS (SELECT 1 FROM outbox o WHERE o.digest = agreements.digest AND o.target = ?)")
                arguments.append(target)
            }
            if let from = query.receivedFrom { conditions.append("received_at >= ?"); arguments.append(from) }
            if let to = query.receivedBefore { conditions.append("received_at < ?"); arguments.append(to) }
            if query.currentOnly { conditions.append("superseded_by IS NULL") }
            if let search = query.search {
                let labelled = StoreJSON.referenceIDs(labelled: search)
                conditions.append("""
                    seq IN (SELECT seq FROM agreements WHERE agreement_id = ? UNION SELECT seq FROM agreements WHERE digest = ?
                      UNION SELECT s.seq FROM outbox o JOIN agreements s ON s.digest = o.digest WHERE json_extract(o.legacy_ref, '$.id') = ?
                      \(labelled.isEmpty ? "" : """
                        UNION SELECT s.seq FROM outbox o JOIN agreements s ON s.digest = o.digest
                        WHERE json_extract(o.legacy_ref, '$.id') IN (\(labelled.map { _ in "?" }.joined(separator: ", ")))
                          AND COALESCE(json_extract(o.legacy_ref, '$.system') || ':', '') || COALESCE(json_extract(o.legacy_ref, '$.kind') || ':', '')
                            || json_extract(o.legacy_ref, '$.id') = ?
                        """))
                    """)
                arguments += [search, search, search]
                if !labelled.isEmpty { arguments += labelled.map { $0 as any DatabaseValueConvertible } + [search] }
            }
            let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            arguments.append(max(1, min(query.limit, 1000)))
            let rows = try SQLRow.fetchAll(db, sql: "SELECT * FROM agreements \(filter) ORDER BY seq DESC LIMIT ?",
                                        arguments: StatementArguments(arguments))
            return try rows.map { try Self.summary($0, db) }
        }
    }

    public func claim(_ request: ClaimRequest) async throws -> [OutboxEntry] {
        try await pool.write { db in
            // Expired leases and due entries are found apart, each through its own partial index in
            // the claim's order (WorkQueueSQL), so that a claim reads about `limit` rows however long
            // the queue is.
            var excluded = ""
            if !request.excludingTargets.isEmpty {
                excluded = " AND target NOT IN (\(request.excludingTargets.map { _ in "?" }.joined(separator: ", ")))"
            }
            let targets = request.excludingTargets.sorted() as [any DatabaseValueConvertible]
            let sql = """
                SELECT id, state, next_attempt_at FROM (
                  SELECT id, state, next_attempt_at FROM outbox
                  WHERE state = 'in_flight' AND lease_until < ? AND NOT \(ChainSQL.entryMustWait)\(excluded)
                  ORDER BY lease_until LIMIT ?)
                UNION ALL
                SELECT id, state, next_attempt_at FROM (
                  SELECT id, state, next_attempt_at FROM outbox
                  WHERE state = 'pending' AND next_attempt_at <= ? AND NOT \(ChainSQL.entryMustWait)\(excluded)
                  ORDER BY next_attempt_at, id LIMIT ?)
                ORDER BY next_attempt_at, id LIMIT ?
                """
            var arguments: [any DatabaseValueConvertible] = [request.now] + targets + [request.limit]
            arguments += [request.now] + targets + [request.limit, request.limit]
            let candidates = try db.cachedRows(sql: sql, arguments: StatementArguments(arguments))
            var claimed: [OutboxEntry] = []
            for candidate in candidates {
                let id: Int64 = candidate["id"]
                // A lease that expired in flight leaves the outcome unknown: look it up first.
                let expired = (candidate["state"] as String) == OutboxState.inFlight.rawValue
                try db.cachedExecute(sql: """
                    UPDATE outbox SET state = 'in_flight', claimed_by = ?, lease_until = ?,
                      needs_lookup = CASE WHEN ? THEN 1 ELSE needs_lookup END
                    WHERE id = ?
                    """, arguments: [request.worker, request.now + request.leaseMilliseconds, expired, id])
                // In flight: `delivering` (``StatusRule/claimMovesSQL``), one statement.
                try db.cachedExecute(sql: """
                    UPDATE agreements SET status = 'delivering'
                    WHERE digest = (SELECT digest FROM outbox WHERE id = ?) AND status IN \(StatusRule.claimMovesSQL)
                    """, arguments: [id])
                if let row = try db.cachedRow(sql: "SELECT \(Self.entryColumns) FROM outbox o JOIN agreements a ON a.digest = o.digest WHERE o.id = ?",
                                              arguments: [id]) {
                    claimed.append(try Self.entry(row))
                }
            }
            return claimed
        }
    }

    /// Recomputes the agreement status from its entries.
    static func refreshStatus(_ db: Database, entry: Int64) throws {
        guard let digest = try String.fetchOne(db, sql: "SELECT digest FROM outbox WHERE id = ?", arguments: [entry]) else { return }
        try refreshStatus(db, digest: digest)
    }

    static func refreshStatus(_ db: Database, digest: String) throws {
        // One read for the entries and whether the agreement is a cancellation (the refresh runs on every claim and finish).
        let rows = try db.cachedRows(sql: """
            SELECT o.state, o.attempts, a.revision FROM outbox o JOIN agreements a ON a.digest = o.digest WHERE o.digest = ?
            """, arguments: [digest])
        let states = rows.map { (state: OutboxState(rawValue: $0["state"]) ?? .pending, attempts: $0["attempts"] as Int) }
        let revision: String? = rows.isEmpty
            ? try String.fetchOne(db, sql: "SELECT revision FROM agreements WHERE digest = ?", arguments: [digest]) : rows[0]["revision"]
        let cancellation = revision == "cancellation"
        try db.cachedExecute(sql: "UPDATE agreements SET status = ? WHERE digest = ?",
                       arguments: [StatusRule.status(of: states, cancellation: cancellation).rawValue, digest])
    }

    public func finish(_ attempt: AttemptRecord) async throws -> Bool {
        try await pool.write { db in try Self.finish(attempt, in: db) }
    }

    public func finishBatch(_ attempts: [AttemptRecord]) async throws -> [Bool] {
        guard !attempts.isEmpty else { return [] }
        return try await pool.write { db in try attempts.map { try Self.finish($0, in: db) } }
    }

    /// Attempts and their receipts in one write transaction (SQLite's one writer is the
    /// ledger's lock): one commit, one sync, for a batch's deliveries and receipts.
    public func finishBatch(_ attempts: [AttemptRecord], issuing issue: ReceiptIssuing) async throws -> FinishedBatch {
        guard !attempts.isEmpty else { return FinishedBatch(recorded: [], receipts: []) }
        return try await pool.write { db in
            let recorded = try attempts.map { try Self.finish($0, in: db) }
            let delivered = attempts.indices.filter { recorded[$0] && attempts[$0].delivers }
            guard !delivered.isEmpty else { return FinishedBatch(recorded: recorded, receipts: []) }
            let receipts = try FinishedBatch.receipts(issue, after: try Self.ledgerHead(db), delivered: delivered, of: attempts)
            try Self.append(receipts, db)
            return FinishedBatch(recorded: recorded, receipts: receipts)
        }
    }

    /// One attempt inside a write transaction (``finish(_:)``, ``finishBatch(_:)``).
    static func finish(_ attempt: AttemptRecord, in db: Database) throws -> Bool {
        guard let row = try db.cachedRow(sql: "SELECT claimed_by, state, attempts FROM outbox WHERE id = ?", arguments: [attempt.entryID]),
            (row["claimed_by"] as String?) == attempt.worker, (row["state"] as String) == OutboxState.inFlight.rawValue
        else { return false }
        let number = (row["attempts"] as Int) + 1
        try db.cachedExecute(sql: """
            INSERT INTO attempts (outbox_id, number, worker, started_at, finished_at, outcome, detail) VALUES (?, ?, ?, ?, ?, ?, ?)
            """, arguments: [attempt.entryID, number, attempt.worker, attempt.startedAt, attempt.finishedAt, attempt.outcome, attempt.detail])
        switch attempt.next {
        case .delivered(let reference):
            try db.cachedExecute(sql: """
                UPDATE outbox SET state = 'delivered', attempts = ?, claimed_by = NULL, lease_until = NULL, needs_lookup = 0,
                  legacy_ref = ?, last_error = NULL, delivered_at = ? WHERE id = ?
                """, arguments: [number, StoreJSON.text(reference), attempt.finishedAt, attempt.entryID])
        case .retry(let at, let lookupFirst):
            try db.cachedExecute(sql: """
                UPDATE outbox SET state = 'pending', attempts = ?, claimed_by = NULL, lease_until = NULL, next_attempt_at = ?,
                  needs_lookup = ?, last_error = ? WHERE id = ?
                """, arguments: [number, at, lookupFirst, attempt.detail, attempt.entryID])
        case .deadLetter(let reason):
            try db.cachedExecute(sql: """
                UPDATE outbox SET state = 'dead_letter', attempts = ?, claimed_by = NULL, lease_until = NULL, last_error = ? WHERE id = ?
                """, arguments: [number, reason, attempt.entryID])
        }
        try Self.refreshStatus(db, entry: attempt.entryID)
        return true
    }

    public func release(worker: String, entries: [Int64]) async throws {
        guard !entries.isEmpty else { return }
        try await pool.write { db in
            for id in entries {
                try db.cachedExecute(sql: """
                    UPDATE outbox SET state = 'pending', claimed_by = NULL, lease_until = NULL
                    WHERE id = ? AND claimed_by = ? AND state = 'in_flight'
                    """, arguments: [id, worker])
                try Self.refreshStatus(db, entry: id)
            }
        }
    }

    public func retry(digest: ContentDigest, now: Int64) async throws -> Int {
        try await pool.write { db in
            try db.cachedExecute(sql: """
                UPDATE outbox SET state = 'pending', next_attempt_at = ?, needs_lookup = 1, last_error = NULL
                WHERE digest = ? AND state = 'dead_letter'
                """, arguments: [now, digest.description])
            let changed = db.changesCount
            try Self.refreshStatus(db, digest: digest.description)
            return changed
        }
    }

    public func entriesAwaitingReceipts(limit: Int) async throws -> [OutboxEntry] {
        try await pool.read { db in
            try db.cachedRows(sql: """
                SELECT \(Self.entryColumns) FROM outbox o JOIN agreements a ON a.digest = o.digest
                WHERE o.state = 'delivered' AND o.receipt_seq IS NULL ORDER BY o.id LIMIT ?
                """, arguments: [limit]).map(Self.entry)
        }
    }

    public func ledgerHead() async throws -> LedgerHead? {
        try await pool.read { db in try Self.ledgerHead(db) }
    }

    static func ledgerHead(_ db: Database) throws -> LedgerHead? {
        guard let row = try db.cachedRow(sql: "SELECT seq, leaf FROM ledger ORDER BY seq DESC LIMIT 1") else { return nil }
        return LedgerHead(sequence: row["seq"], leaf: try StoreJSON.digest(row["leaf"]))
    }

    public func appendReceipts(_ receipts: [LedgerAppend]) async throws {
        guard !receipts.isEmpty else { return }
        try await pool.write { db in try Self.append(receipts, db) }
    }

    /// Appends receipts inside a write transaction: each must be the ledger's next entry, and the
    /// tree must have a leaf per entry.
    static func append(_ receipts: [LedgerAppend], _ db: Database) throws {
        let head = try ledgerHead(db)
        var expectedSequence = head.map { $0.sequence + 1 } ?? 0
        var expectedPrevious = head?.leaf ?? LedgerChain.genesis
        let size = try treeSize(db)
        guard size == expectedSequence else {
            throw StoreError("the ledger has \(expectedSequence) entries but its Merkle tree \(size) leaves; run `causeway ledger verify`")
        }
        var builder = try LedgerTree.Builder(size: size, frontier: try nodes(db, LedgerTree.frontier(size: size)))
        for receipt in receipts {
            guard receipt.sequence == expectedSequence, receipt.previous == expectedPrevious else {
                throw StoreError("ledger append out of order: expected seq \(expectedSequence) after \(expectedPrevious)")
            }
            try db.cachedStatement(sql: "INSERT INTO ledger (seq, receipt_id, digest, outbox_id, prev, leaf, receipt) VALUES (?, ?, ?, ?, ?, ?, ?)")
                .execute(arguments: [receipt.sequence, receipt.receiptID, receipt.digest.description, receipt.entryID,
                                     receipt.previous.description, receipt.leaf.description, receipt.text])
            try db.cachedStatement(sql: "UPDATE outbox SET receipt_seq = ? WHERE id = ?").execute(arguments: [receipt.sequence, receipt.entryID])
            try insertNodes(db, builder.append(receipt.treeLeaf))
            expectedSequence += 1
            expectedPrevious = receipt.leaf
        }
    }

    public func receipts(digest: ContentDigest) async throws -> [JSONObject] {
        try await pool.read { db in
            try String.fetchAll(db, sql: "SELECT receipt FROM ledger WHERE digest = ? ORDER BY seq", arguments: [digest.description])
                .map(StoreJSON.object)
        }
    }

    public func receipt(id: String) async throws -> JSONObject? {
        try await pool.read { db in
            try String.fetchOne(db, sql: "SELECT receipt FROM ledger WHERE receipt_id = ?", arguments: [id]).map(StoreJSON.object)
        }
    }

    public func ledger(from sequence: Int, limit: Int) async throws -> [JSONObject] {
        try await pool.read { db in
            try String.fetchAll(db, sql: "SELECT receipt FROM ledger WHERE seq >= ? ORDER BY seq LIMIT ?", arguments: [sequence, limit])
                .map(StoreJSON.object)
        }
    }

    public func cursor(_ name: String) async throws -> Int {
        try await pool.read { db in try Int.fetchOne(db, sql: "SELECT next_seq FROM cursors WHERE name = ?", arguments: [name]) ?? 0 }
    }

    public func setCursor(_ name: String, to sequence: Int) async throws {
        try await pool.write { db in
            try db.cachedExecute(sql: """
                INSERT INTO cursors (name, next_seq) VALUES (?, ?)
                ON CONFLICT (name) DO UPDATE SET next_seq = max(next_seq, excluded.next_seq)
                """, arguments: [name, sequence])
        }
    }

    public func statusCounts() async throws -> [AgreementStatus: Int] {
        try await pool.read { db in
            var counts: [AgreementStatus: Int] = [:]
            for row in try SQLRow.fetchAll(db, sql: "SELECT status, COUNT(*) AS n FROM agreements WHERE superseded_by IS NULL GROUP BY status") {
                if let status = AgreementStatus(rawValue: row["status"]) { counts[status] = row["n"] }
            }
            return counts
        }
    }

    public func activity(since: Int64, bucketMilliseconds: Int64) async throws -> [ActivityBucket] {
        let width = max(1, bucketMilliseconds)
        return try await pool.read { db in
            try SQLRow.fetchAll(db, sql: """
                SELECT (t.finished_at / ?) * ? AS bucket, a.partner, o.target, COUNT(*) AS attempts,
                  SUM(CASE WHEN t.outcome IN \(DashboardSQL.committed) THEN 1 ELSE 0 END) AS delivered,
                  SUM(CASE WHEN t.outcome IN \(DashboardSQL.committed) THEN t.finished_at - a.received_at ELSE 0 END) AS latency
                FROM attempts t JOIN outbox o ON o.id = t.outbox_id JOIN agreements a ON a.digest = o.digest
                WHERE t.finished_at >= ? GROUP BY bucket, a.partner, o.target ORDER BY bucket, a.partner, o.target
                """, arguments: [width, width, since]).map { row in
                let attempts: Int = row["attempts"]
                let delivered: Int = row["delivered"]
                return ActivityBucket(start: row["bucket"], partner: row["partner"], target: row["target"], attempts: attempts,
                                      delivered: delivered, failed: attempts - delivered, latencyMilliseconds: row["latency"])
            }
        }
    }
}

extension Database {
    // The intake, claim, attempt and receipt paths run the same few statements thousands of times a
    // minute. Compiled once per connection and kept (GRDB's statement cache), they skip SQLite's
    // parser and GRDB's authorizer, which together were a tenth of the SQLite store's CPU. Only
    // statements whose text comes from a small fixed set go through here, never SQL with values
    // written into it, so the cache stays small.

    /// The rows of a single cached statement.
    func cachedRows(sql: String, arguments: StatementArguments = StatementArguments()) throws -> [SQLRow] {
        try SQLRow.fetchAll(cachedStatement(sql: sql), arguments: arguments)
    }

    /// The first row of a single cached statement.
    func cachedRow(sql: String, arguments: StatementArguments = StatementArguments()) throws -> SQLRow? {
        try SQLRow.fetchOne(cachedStatement(sql: sql), arguments: arguments)
    }

    /// Runs a single cached statement.
    func cachedExecute(sql: String, arguments: StatementArguments = StatementArguments()) throws {
        try cachedStatement(sql: sql).execute(arguments: arguments)
    }
}
