public import CausewayCore
import Foundation
import GRDB

/// Key event logs in SQLite: `kels` (one row per AID, the latest validated KEL) and
/// `kel_duplicity` (every fork offered). Migration v5 creates them.
extension SQLiteStore {
    static let schemaKERI = """
        CREATE TABLE kels (
          aid TEXT PRIMARY KEY,
          cesr BLOB NOT NULL,
          saids TEXT NOT NULL,
          source TEXT NOT NULL,
          first_seen INTEGER NOT NULL,
          updated_at INTEGER NOT NULL);
        CREATE TABLE kel_duplicity (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          aid TEXT NOT NULL,
          sn INTEGER NOT NULL,
          known_said TEXT NOT NULL,
          offered_said TEXT NOT NULL,
          source TEXT NOT NULL,
          seen_at INTEGER NOT NULL);
        """

    static func storedKEL(_ row: SQLRow) -> StoredKEL {
        StoredKEL(aid: row["aid"], cesr: Array(row["cesr"] as Data), saids: KELUpdateRule.split(row["saids"]), source: row["source"],
                  firstSeen: row["first_seen"], updatedAt: row["updated_at"])
    }

    public func keyEventLog(aid: String) async throws -> StoredKEL? {
        try await pool.read { db in try SQLRow.fetchOne(db, sql: "SELECT * FROM kels WHERE aid = ?", arguments: [aid]).map(Self.storedKEL) }
    }

    public func keyEventLogs() async throws -> [StoredKEL] {
        try await pool.read { db in try SQLRow.fetchAll(db, sql: "SELECT * FROM kels ORDER BY aid").map(Self.storedKEL) }
    }

    public func offerKeyEventLog(_ kel: StoredKEL) async throws -> KELUpdateOutcome {
        try await pool.write { db in
            guard let row = try SQLRow.fetchOne(db, sql: "SELECT * FROM kels WHERE aid = ?", arguments: [kel.aid]) else {
                try db.execute(sql: "INSERT INTO kels (aid, cesr, saids, source, first_seen, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                               arguments: [kel.aid, Data(kel.cesr), KELUpdateRule.join(kel.saids), kel.source, kel.firstSeen, kel.updatedAt])
                return .stored
            }
            let stored = Self.storedKEL(row)
            let outcome = KELUpdateRule.outcome(stored: stored.saids, offered: kel.saids)
            switch outcome {
            case .extended:
                try db.execute(sql: "UPDATE kels SET cesr = ?, saids = ?, source = ?, updated_at = ? WHERE aid = ?",
                               arguments: [Data(kel.cesr), KELUpdateRule.join(kel.saids), kel.source, kel.updatedAt, kel.aid])
            case .forked(let sn):
                try db.execute(sql: """
                    INSERT INTO kel_duplicity (aid, sn, known_said, offered_said, source, seen_at) VALUES (?, ?, ?, ?, ?, ?)
                    """, arguments: [kel.aid, sn, stored.saids[sn], kel.saids[sn], kel.source, kel.updatedAt])
            case .stored, .identical, .regressed:
                break
            }
            return outcome
        }
    }

    public func kelDuplicities(limit: Int) async throws -> [KELDuplicity] {
        try await pool.read { db in
            try SQLRow.fetchAll(db, sql: "SELECT * FROM kel_duplicity ORDER BY id DESC LIMIT ?", arguments: [limit]).map { row in
                KELDuplicity(aid: row["aid"], sn: row["sn"], knownSAID: row["known_said"], offeredSAID: row["offered_said"],
                             source: row["source"], seenAt: row["seen_at"])
            }
        }
    }

    public func kelDuplicityCount() async throws -> Int {
        try await pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM kel_duplicity") ?? 0 }
    }
}
