public import CausewayCore
import GRDB

/// Trace contexts in SQLite (migration v7): `agreement_traces` holds the W3C trace context of each
/// agreement's intake span. It is written just before the agreement itself (so a worker that claims
/// the agreement at once finds it) and has no foreign key: a row whose agreement was then refused
/// (a conflict, a failed write) names no stored agreement and is never read.
extension SQLiteStore: TraceContextStore {
    static let schemaTracing = """
        CREATE TABLE agreement_traces (
          digest TEXT PRIMARY KEY,
          traceparent TEXT NOT NULL,
          tracestate TEXT NOT NULL);
        """

    public func recordTraceContext(_ context: StoredTraceContext, digest: ContentDigest) async throws {
        guard context.storable else { return }
        try await pool.write { db in
            try db.execute(sql: "INSERT INTO agreement_traces (digest, traceparent, tracestate) VALUES (?, ?, ?) ON CONFLICT (digest) DO NOTHING",
                           arguments: [digest.description, context.traceparent, context.tracestate])
        }
    }

    public func traceContext(digest: ContentDigest) async throws -> StoredTraceContext? {
        try await traceContexts(digests: [digest])[digest]
    }

    public func traceContexts(digests: [ContentDigest]) async throws -> [ContentDigest: StoredTraceContext] {
        guard !digests.isEmpty else { return [:] }
        let list = StoreJSON.text(.array(digests.map { .string($0.description) }))
        return try await pool.read { db in
            var found: [ContentDigest: StoredTraceContext] = [:]
            for row in try SQLRow.fetchAll(db, sql: "SELECT digest, traceparent, tracestate FROM agreement_traces WHERE digest IN (SELECT value FROM json_each(?))",
                                           arguments: [list]) {
                guard let digest = ContentDigest(row["digest"] as String) else { continue }
                found[digest] = StoredTraceContext(traceparent: row["traceparent"], tracestate: row["tracestate"])
            }
            return found
        }
    }
}
