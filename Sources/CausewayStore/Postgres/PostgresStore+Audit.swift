import Logging
import PostgresNIO

/// The audit log in PostgreSQL: `audit_log`, append-only (migration v6). A trigger refuses every
/// `UPDATE` and `DELETE`; a deployment may also grant the gateway's role only `INSERT` and `SELECT`
/// on it (Docs/store.md).
extension PostgresStore: AuditLog {
    static let schemaAudit = [
        """
        CREATE TABLE audit_log (seq BIGSERIAL PRIMARY KEY, at BIGINT NOT NULL, actor TEXT NOT NULL, channel TEXT NOT NULL,
          action TEXT NOT NULL, target TEXT, outcome TEXT NOT NULL, remote TEXT, session TEXT, detail TEXT)
        """,
        "CREATE INDEX audit_log_by_at ON audit_log (at)",
        "CREATE INDEX audit_log_by_action ON audit_log (action, seq)",
        """
        CREATE FUNCTION causeway_audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$
        """,
        """
        CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
          FOR EACH ROW EXECUTE FUNCTION causeway_audit_log_append_only()
        """,
    ]

    @discardableResult
    public func recordAudit(_ entry: AuditEntry) async throws -> AuditEntry {
        let entry = entry.bounded
        let rows = try await client.query("""
            INSERT INTO audit_log (at, actor, channel, action, target, outcome, remote, session, detail)
            VALUES (\(entry.at), \(entry.actor), \(entry.channel), \(entry.action), \(entry.target), \(entry.outcome.rawValue),
                    \(entry.remote), \(entry.session), \(entry.detail))
            RETURNING seq
            """, logger: logger).collect()
        var stored = entry
        stored.seq = try rows.first?.decode(Int64.self) ?? 0
        return stored
    }

    public func auditEntries(_ query: AuditQuery) async throws -> [AuditEntry] {
        var sql = PostgresQuery(unsafeSQL: "SELECT seq, at, actor, channel, action, target, outcome, remote, session, detail FROM audit_log WHERE TRUE")
        var bindings = PostgresBindings()
        func add(_ condition: String, _ value: some PostgresThrowingDynamicTypeEncodable) throws {
            try bindings.append(value)
            sql.sql += " AND \(condition) $\(bindings.count)"
        }
        if let since = query.since { try add("at >=", since) }
        if let until = query.until { try add("at <", until) }
        if let action = query.action { try add("action =", action) }
        if let after = query.after { try add(query.ascending ? "seq >" : "seq <", after) }
        bindings.append(Int64(max(0, query.limit)))
        sql.sql += " ORDER BY seq \(query.ascending ? "ASC" : "DESC") LIMIT $\(bindings.count)"
        sql.binds = bindings
        return try await client.query(sql, logger: logger).collect().map { row in
            let (seq, at, actor, channel, action, target, outcome, remote, session, detail) =
                try row.decode((Int64, Int64, String, String, String, String?, String, String?, String?, String?).self)
            return AuditEntry(seq: seq, at: at, actor: actor, channel: channel, action: action, target: target,
                              outcome: AuditEntry.Outcome(rawValue: outcome) ?? .failure, remote: remote, session: session, detail: detail)
        }
    }
}
