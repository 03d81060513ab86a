public import CausewayCore
import Foundation
import Logging
import NIOCore
import PostgresNIO

/// Retention in PostgreSQL (migration v8): `archived_agreements` records which agreements' bodies
/// and attempts went to which archive file.
///
/// A batch is one transaction that locks the candidates' outbox rows, then their agreement rows
/// (the order an operator's retry takes them, so the two cannot deadlock), selects them again under
/// the locks, archives them and removes their bodies and attempts. Several instances pruning at
/// once skip each other's agreements (`SKIP LOCKED`).
extension PostgresStore: RetentionStore {
    static let schemaRetention = [
        """
        CREATE TABLE archived_agreements (digest TEXT PRIMARY KEY REFERENCES agreements (digest), archived_at BIGINT NOT NULL,
          archive TEXT NOT NULL, attempts INTEGER NOT NULL)
        """,
    ]

    public func pruneBatch(_ request: PruneRequest, archive: @Sendable ([JSONObject]) throws -> Void) async throws -> PruneBatch {
        try await client.withTransaction(logger: logger) { db in
            let limit = max(1, request.limit)
            // The finished, old, not yet archived agreements (RetentionStore), oldest first; `only`
            // restricts it to agreements already chosen (the second, locked, selection).
            func candidates(only: [String]?) async throws -> [String] {
                try await db.query("""
                    SELECT a.digest FROM agreements a
                    WHERE a.received_at < \(request.cutoff) AND a.status IN ('delivered', 'dead_letter', 'rejected', 'cancelled')
                      AND (\(only)::text[] IS NULL OR a.digest = ANY(\(only)::text[]))
                      AND NOT EXISTS (SELECT 1 FROM archived_agreements z WHERE z.digest = a.digest)
                      AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.digest = a.digest
                        AND (o.state IN ('pending', 'in_flight') OR (o.state = 'delivered' AND o.receipt_seq IS NULL)))
                      AND NOT EXISTS (SELECT 1 FROM attempts t JOIN outbox o ON o.id = t.outbox_id
                        WHERE o.digest = a.digest AND t.finished_at >= \(request.cutoff))
                    ORDER BY a.seq LIMIT \(limit)
                    """, logger: logger).collect().map { try $0.decode(String.self) }
            }
            var digests = try await candidates(only: nil)
            let found = digests.count
            if request.dryRun || digests.isEmpty {
                let attempts = try await db.query("""
                    SELECT COUNT(*) FROM attempts t JOIN outbox o ON o.id = t.outbox_id WHERE o.digest = ANY(\(digests)::text[])
                    """, logger: logger).collect().first?.decode(Int.self) ?? 0
                return PruneBatch(digests: try digests.map(StoreJSON.digest), attempts: attempts)
            }
            try await db.query("SELECT id FROM outbox WHERE digest = ANY(\(digests)::text[]) ORDER BY id FOR UPDATE", logger: logger)
            let locked = try await db.query("""
                SELECT digest FROM agreements WHERE digest = ANY(\(digests)::text[]) ORDER BY digest FOR UPDATE SKIP LOCKED
                """, logger: logger).collect().map { try $0.decode(String.self) }
            digests = locked.isEmpty ? [] : try await candidates(only: locked)
            var lines: [JSONObject] = []
            var attemptsRemoved = 0
            for digest in digests {
                guard let row = try await db.query("""
                    SELECT agreement_id, partner, type, status, document, verification, mapping_id, mapping_version, mapping_digest,
                      total, currency, received_at FROM agreements WHERE digest = \(digest)
                    """, logger: logger).collect().first else { continue }
                let (agreementID, partner, type, status, document, verification, mappingID, mappingVersion, mappingDigest, total, currency,
                     receivedAt) = try row.decode((String, String, String, String, ByteBuffer, String, String, String, String, String?, String?,
                                                   Int64).self)
                let agreement = ArchiveLine.Agreement(
                    digest: digest, agreementID: agreementID, partner: partner, type: type, status: status, document: Array(buffer: document),
                    verification: verification, mappingID: mappingID, mappingVersion: mappingVersion, mappingDigest: mappingDigest,
                    total: total, currency: currency, receivedAt: receivedAt)
                let entries = try await db.query("""
                    SELECT id, action_index, name, target, kind, adapter, action, provenance, receipt_id, state, attempts, last_error,
                      legacy_ref, delivered_at, receipt_seq FROM outbox WHERE digest = \(digest) ORDER BY action_index
                    """, logger: logger).collect().map { row in
                    let r = row.makeRandomAccess()
                    return ArchiveLine.Entry(
                        id: try r["id"].decode(Int64.self), actionIndex: try r["action_index"].decode(Int.self), name: try r["name"].decode(String.self),
                        target: try r["target"].decode(String.self), kind: try r["kind"].decode(String.self),
                        adapter: try r["adapter"].decode(String.self), action: try r["action"].decode(String.self),
                        provenance: try r["provenance"].decode(String.self), receiptID: try r["receipt_id"].decode(String.self),
                        state: try r["state"].decode(String.self), attempts: try r["attempts"].decode(Int.self),
                        lastError: try r["last_error"].decode(String?.self), legacyRef: try r["legacy_ref"].decode(String?.self),
                        deliveredAt: try r["delivered_at"].decode(Int64?.self), receiptSeq: try r["receipt_seq"].decode(Int64?.self))
                }
                let attempts = try await db.query("""
                    SELECT t.outbox_id, t.number, t.worker, t.started_at, t.finished_at, t.outcome, t.detail FROM attempts t
                    JOIN outbox o ON o.id = t.outbox_id WHERE o.digest = \(digest) ORDER BY t.id
                    """, logger: logger).collect().map { row in
                    let (entry, number, worker, started, finished, outcome, detail) =
                        try row.decode((Int64, Int, String, Int64, Int64, String, String?).self)
                    return ArchiveLine.Attempt(entry: entry, number: number, worker: worker, startedAt: started, finishedAt: finished,
                                               outcome: outcome, detail: detail)
                }
                attemptsRemoved += attempts.count
                lines.append(try ArchiveLine.object(agreement, entries: entries, attempts: attempts, archivedAt: request.now))
            }
            guard !lines.isEmpty else { return PruneBatch(digests: [], attempts: 0, candidates: found) }
            // Written and on disk before anything is removed; a failure rolls the removal back.
            try archive(lines)
            for (digest, line) in zip(digests, lines) {
                let count = line["attempts"]?.arrayValue?.count ?? 0
                try await db.query("DELETE FROM attempts WHERE outbox_id IN (SELECT id FROM outbox WHERE digest = \(digest))", logger: logger)
                try await db.query("UPDATE agreements SET document = ''::bytea WHERE digest = \(digest)", logger: logger)
                try await db.query("DELETE FROM agreement_traces WHERE digest = \(digest)", logger: logger)
                try await db.query("""
                    INSERT INTO archived_agreements (digest, archived_at, archive, attempts)
                    VALUES (\(digest), \(request.now), \(request.archiveName), \(count))
                    """, logger: logger)
            }
            return PruneBatch(digests: try digests.map(StoreJSON.digest), attempts: attemptsRemoved, candidates: found)
        }
    }

    public func archiveRecord(digest: ContentDigest) async throws -> ArchiveRecord? {
        let rows = try await client.query(
            "SELECT archived_at, archive, attempts FROM archived_agreements WHERE digest = \(digest.description)", logger: logger).collect()
        return try rows.first.map { row in
            let (at, file, attempts) = try row.decode((Int64, String, Int).self)
            return ArchiveRecord(archivedAt: at, file: file, attempts: attempts)
        }
    }
}
