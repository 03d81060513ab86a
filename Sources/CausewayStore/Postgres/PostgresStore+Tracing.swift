public import CausewayCore
import PostgresNIO

/// Trace contexts in PostgreSQL (migration v7): `agreement_traces` holds the W3C trace context of
/// each agreement's intake span, written just before the agreement (see ``SQLiteStore``'s twin).
extension PostgresStore: TraceContextStore {
    static let schemaTracing = [
        "CREATE TABLE agreement_traces (digest TEXT PRIMARY KEY, traceparent TEXT NOT NULL, tracestate TEXT NOT NULL)",
    ]

    public func recordTraceContext(_ context: StoredTraceContext, digest: ContentDigest) async throws {
        guard context.storable else { return }
        try await client.query("""
            INSERT INTO agreement_traces (digest, traceparent, tracestate) VALUES (\(digest.description), \(context.traceparent), \(context.tracestate))
            ON CONFLICT (digest) DO NOTHING
            """, logger: logger)
    }

    public func traceContext(digest: ContentDigest) async throws -> StoredTraceContext? {
        try await traceContexts(digests: [digest])[digest]
    }

    public func traceContexts(digests: [ContentDigest]) async throws -> [ContentDigest: StoredTraceContext] {
        guard !digests.isEmpty else { return [:] }
        let texts = digests.map(\.description)
        var found: [ContentDigest: StoredTraceContext] = [:]
        for try await (digest, traceparent, tracestate) in try await client.query(
            "SELECT digest, traceparent, tracestate FROM agreement_traces WHERE digest = ANY(\(texts)::text[])", logger: logger
        ).decode((String, String, String).self) {
            guard let digest = ContentDigest(digest) else { continue }
            found[digest] = StoredTraceContext(traceparent: traceparent, tracestate: tracestate)
        }
        return found
    }
}
