public import CausewayCore
import Foundation
import GRDB

/// Retention in SQLite (migration v8): `archived_agreements` records which agreements' bodies and
/// attempts went to which archive file. A batch is one write transaction: SQLite has one writer,
/// so nothing (an operator's retry, the delivery worker) changes the agreements in between their
/// selection, their archiving and their removal.
extension SQLiteStore: RetentionStore {
    static let schemaRetention = """
        CREATE TABLE archived_agreements (
          digest TEXT PRIMARY KEY REFERENCES agreements (digest),
          archived_at INTEGER NOT NULL,
          archive TEXT NOT NULL,
          attempts INTEGER NOT NULL);
        """

    /// The finished, old, not yet archived agreements (see ``RetentionStore``), oldest first.
    static let pruneCandidates = """
        SELECT a.digest FROM agreements a
        WHERE a.received_at < ? AND a.status IN ('delivered', 'dead_letter', 'rejected', 'cancelled')
          AND NOT EXISTS (SELECT 1 FROM archived_agreements z WHERE z.digest = a.digest)
          AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.digest = a.digest
            AND (o.state IN ('pending', 'in_flight') OR (o.state = 'delivered' AND o.receipt_seq IS NULL)))
          AND NOT EXISTS (SELECT 1 FROM attempts t JOIN outbox o ON o.id = t.outbox_id WHERE o.digest = a.digest AND t.finished_at >= ?)
        ORDER BY a.seq LIMIT ?
        """

    public func pruneBatch(_ request: PruneRequest, archive: @Sendable ([JSONObject]) throws -> Void) async throws -> PruneBatch {
        try await pool.write { db in
            let digests = try String.fetchAll(db, sql: Self.pruneCandidates, arguments: [request.cutoff, request.cutoff, max(1, request.limit)])
            if request.dryRun || digests.isEmpty {
                let attempts = try Int.fetchOne(db, sql: """
                    SELECT COUNT(*) FROM attempts t JOIN outbox o ON o.id = t.outbox_id
                    WHERE o.digest IN (SELECT value FROM json_each(?))
                    """, arguments: [StoreJSON.text(.array(digests.map(JSONValue.string)))]) ?? 0
                return PruneBatch(digests: try digests.map(StoreJSON.digest), attempts: attempts)
            }
            var lines: [JSONObject] = []
            var attemptsRemoved = 0
            for digest in digests {
                guard let row = try SQLRow.fetchOne(db, sql: "SELECT * FROM agreements WHERE digest = ?", arguments: [digest]) else { continue }
                let agreement = ArchiveLine.Agreement(
                    digest: digest, agreementID: row["agreement_id"], partner: row["partner"], type: row["type"], status: row["status"],
                    document: Array(row["document"] as Data), verification: row["verification"], mappingID: row["mapping_id"],
                    mappingVersion: row["mapping_version"], mappingDigest: row["mapping_digest"], total: row["total"], currency: row["currency"],
                    receivedAt: row["received_at"])
                let entries = try SQLRow.fetchAll(db, sql: "SELECT * FROM outbox WHERE digest = ? ORDER BY action_index", arguments: [digest]).map {
                    ArchiveLine.Entry(id: $0["id"], actionIndex: $0["action_index"], name: $0["name"], target: $0["target"], kind: $0["kind"],
                                      adapter: $0["adapter"], action: $0["action"], provenance: $0["provenance"], receiptID: $0["receipt_id"],
                                      state: $0["state"], attempts: $0["attempts"], lastError: $0["last_error"], legacyRef: $0["legacy_ref"],
                                      deliveredAt: $0["delivered_at"], receiptSeq: $0["receipt_seq"])
                }
                let attempts = try SQLRow.fetchAll(db, sql: """
                    SELECT t.* FROM attempts t JOIN outbox o ON o.id = t.outbox_id WHERE o.digest = ? ORDER BY t.id
                    """, arguments: [digest]).map {
                    ArchiveLine.Attempt(entry: $0["outbox_id"], number: $0["number"], worker: $0["worker"], startedAt: $0["started_at"],
                                        finishedAt: $0["finished_at"], outcome: $0["outcome"], detail: $0["detail"])
                }
                attemptsRemoved += attempts.count
                lines.append(try ArchiveLine.object(agreement, entries: entries, attempts: attempts, archivedAt: request.now))
            }
            let batch = PruneBatch(digests: try digests.map(StoreJSON.digest), attempts: attemptsRemoved)
            if lines.isEmpty { return batch }
            // Written and on disk before anything is removed; a failure rolls the removal back.
            try archive(lines)
            for (digest, line) in zip(digests, lines) {
                try db.execute(sql: "DELETE FROM attempts WHERE outbox_id IN (SELECT id FROM outbox WHERE digest = ?)", arguments: [digest])
                try db.execute(sql: "UPDATE agreements SET document = X'' WHERE digest = ?", arguments: [digest])
                try db.execute(sql: "DELETE FROM agreement_traces WHERE digest = ?", arguments: [digest])
                try db.execute(sql: "INSERT INTO archived_agreements (digest, archived_at, archive, attempts) VALUES (?, ?, ?, ?)",
                               arguments: [digest, request.now, request.archiveName, line["attempts"]?.arrayValue?.count ?? 0])
            }
            return batch
        }
    }

    public func archiveRecord(digest: ContentDigest) async throws -> ArchiveRecord? {
        try await pool.read { db in
            try SQLRow.fetchOne(db, sql: "SELECT archived_at, archive, attempts FROM archived_agreements WHERE digest = ?",
                                arguments: [digest.description]).map {
                ArchiveRecord(archivedAt: $0["archived_at"], file: $0["archive"], attempts: $0["attempts"])
            }
        }
    }

    /// Copies the whole store into a new SQLite file at `path` with SQLite's online backup API,
    /// while the gateway keeps writing: the copy is the store as of one read transaction (every
    /// commit before it began, none after). The file is created with mode 0600 and must not exist.
    public func backup(to path: String) async throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else {
            throw StoreError("backup: cannot create \(path): \(String(cString: strerror(errno))) (the file must not exist yet)")
        }
        close(descriptor)
        do {
            let destination = try DatabaseQueue(path: path)
            try pool.backup(to: destination)
            try destination.close()
            let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
            try handle.synchronize()
            try handle.close()
        } catch {
            try? FileManager.default.removeItem(atPath: path)
            throw StoreError("backup: copying the store to \(path) failed: \(error)")
        }
    }
}
