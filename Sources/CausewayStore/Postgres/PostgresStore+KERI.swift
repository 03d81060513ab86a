public import CausewayCore
import Logging
import NIOCore
import PostgresNIO

/// Key event logs in PostgreSQL: `kels` (one row per AID, the latest validated KEL) and
/// `kel_duplicity` (every fork offered). An offer locks the AID's row (`FOR UPDATE`), so two
/// gateway instances cannot both extend one KEL differently. Migration v5 creates the tables.
extension PostgresStore {
    static let schemaKERI = [
        """
        CREATE TABLE kels (aid TEXT PRIMARY KEY, cesr BYTEA NOT NULL, saids TEXT NOT NULL, source TEXT NOT NULL,
          first_seen BIGINT NOT NULL, updated_at BIGINT NOT NULL)
        """,
        """
        CREATE TABLE kel_duplicity (id BIGSERIAL PRIMARY KEY, aid TEXT NOT NULL, sn BIGINT NOT NULL, known_said TEXT NOT NULL,
          offered_said TEXT NOT NULL, source TEXT NOT NULL, seen_at BIGINT NOT NULL)
        """,
    ]

    static func storedKEL(_ row: PostgresRow) throws -> StoredKEL {
        let (aid, cesr, saids, source, firstSeen, updatedAt) = try row.decode((String, ByteBuffer, String, String, Int64, Int64).self)
        return StoredKEL(aid: aid, cesr: Array(cesr.readableBytesView), saids: KELUpdateRule.split(saids), source: source,
                         firstSeen: firstSeen, updatedAt: updatedAt)
    }

    public func keyEventLog(aid: String) async throws -> StoredKEL? {
        let rows = try await client.query("SELECT aid, cesr, saids, source, first_seen, updated_at FROM kels WHERE aid = \(aid)",
                                          logger: logger).collect()
        return try rows.first.map(Self.storedKEL)
    }

    public func keyEventLogs() async throws -> [StoredKEL] {
        try await client.query("SELECT aid, cesr, saids, source, first_seen, updated_at FROM kels ORDER BY aid", logger: logger)
            .collect().map(Self.storedKEL)
    }

    public func offerKeyEventLog(_ kel: StoredKEL) async throws -> KELUpdateOutcome {
        try await client.withTransaction(logger: logger) { db in
            let cesr = ByteBuffer(bytes: kel.cesr)
            let saids = KELUpdateRule.join(kel.saids)
            let inserted = try await db.query("""
                INSERT INTO kels (aid, cesr, saids, source, first_seen, updated_at)
                VALUES (\(kel.aid), \(cesr), \(saids), \(kel.source), \(kel.firstSeen), \(kel.updatedAt))
                ON CONFLICT (aid) DO NOTHING RETURNING aid
                """, logger: logger).collect()
            if !inserted.isEmpty { return .stored }
            let rows = try await db.query("SELECT aid, cesr, saids, source, first_seen, updated_at FROM kels WHERE aid = \(kel.aid) FOR UPDATE",
                                          logger: logger).collect()
            guard let row = rows.first else { throw StoreError("the KEL of \(kel.aid) vanished during the update") }
            let stored = try Self.storedKEL(row)
            let outcome = KELUpdateRule.outcome(stored: stored.saids, offered: kel.saids)
            switch outcome {
            case .extended:
                try await db.query("""
                    UPDATE kels SET cesr = \(cesr), saids = \(saids), source = \(kel.source), updated_at = \(kel.updatedAt) WHERE aid = \(kel.aid)
                    """, logger: logger)
            case .forked(let sn):
                let known = stored.saids[sn]
                let offered = kel.saids[sn]
                try await db.query("""
                    INSERT INTO kel_duplicity (aid, sn, known_said, offered_said, source, seen_at)
                    VALUES (\(kel.aid), \(Int64(sn)), \(known), \(offered), \(kel.source), \(kel.updatedAt))
                    """, logger: logger)
            case .stored, .identical, .regressed:
                break
            }
            return outcome
        }
    }

    public func kelDuplicities(limit: Int) async throws -> [KELDuplicity] {
        try await client.query("""
            SELECT aid, sn, known_said, offered_said, source, seen_at FROM kel_duplicity ORDER BY id DESC LIMIT \(Int64(limit))
            """, logger: logger).collect().map { row in
            let (aid, sn, known, offered, source, seenAt) = try row.decode((String, Int64, String, String, String, Int64).self)
            return KELDuplicity(aid: aid, sn: Int(sn), knownSAID: known, offeredSAID: offered, source: source, seenAt: seenAt)
        }
    }

    public func kelDuplicityCount() async throws -> Int {
        let row = try await client.query("SELECT COUNT(*) FROM kel_duplicity", logger: logger).collect().first
        return Int(try row?.decode(Int64.self) ?? 0)
    }
}
