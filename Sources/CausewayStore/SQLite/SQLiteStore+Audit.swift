import Foundation
import GRDB

/// The audit log in SQLite: `audit_log`, append-only (migration v6). Triggers refuse every
/// `UPDATE` and `DELETE`, so not even a bug in the gateway can rewrite what an operator did.
extension SQLiteStore: AuditLog {
    static let schemaAudit = """
        CREATE TABLE audit_log (
          seq INTEGER PRIMARY KEY AUTOINCREMENT,
          at INTEGER NOT NULL,
          actor TEXT NOT NULL,
          channel TEXT NOT NULL,
          action TEXT NOT NULL,
          target TEXT,
          outcome TEXT NOT NULL,
          remote TEXT,
          session TEXT,
          detail TEXT);
        CREATE INDEX audit_log_by_at ON audit_log (at);
        CREATE INDEX audit_log_by_action ON audit_log (action, seq);
        CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
        CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
        """

    @discardableResult
    public func recordAudit(_ entry: AuditEntry) async throws -> AuditEntry {
        let entry = entry.bounded
        return try await pool.write { db in
            try db.execute(sql: """
                INSERT INTO audit_log (at, actor, channel, action, target, outcome, remote, session, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [entry.at, entry.actor, entry.channel, entry.action, entry.target, entry.outcome.rawValue, entry.remote,
                                 entry.session, entry.detail])
            var stored = entry
            stored.seq = db.lastInsertedRowID
            return stored
        }
    }

    public func auditEntries(_ query: AuditQuery) async throws -> [AuditEntry] {
        var conditions: [String] = []
        var arguments: [DatabaseValue] = []
        if let since = query.since { conditions.append("at >= ?"); arguments.append(since.databaseValue) }
        if let until = query.until { conditions.append("at < ?"); arguments.append(until.databaseValue) }
        if let action = query.action { conditions.append("action = ?"); arguments.append(action.databaseValue) }
        if let after = query.after { conditions.append(query.ascending ? "seq > ?" : "seq < ?"); arguments.append(after.databaseValue) }
        arguments.append(max(0, query.limit).databaseValue)
        let sql = "SELECT * FROM audit_log" + (conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND "))
            + " ORDER BY seq \(query.ascending ? "ASC" : "DESC") LIMIT ?"
        let values = arguments
        return try await pool.read { db in
            try SQLRow.fetchAll(db, sql: sql, arguments: StatementArguments(values)).map { row in
                AuditEntry(seq: row["seq"], at: row["at"], actor: row["actor"], channel: row["channel"], action: row["action"],
                           target: row["target"], outcome: AuditEntry.Outcome(rawValue: row["outcome"]) ?? .failure, remote: row["remote"],
                           session: row["session"], detail: row["detail"])
            }
        }
    }
}
