import CausewayCore
import CausewayStore
import HTTPTypes
import Hummingbird
import NIOCore

/// `GET /v1/audit`: the audit log, for operators only (viewers get 403). Newest first, 100 per
/// page (`limit` 1…500), paged by `before` (the `next` of the previous page); filters `since` and
/// `until` (RFC 3339 or a `YYYY-MM-DD` UTC date; `until` excludes) and `action`.
/// `?format=jsonl` exports every matching entry, oldest first, one JSON object per line.
struct AuditAPI: Sendable {
    let store: any AgreementStore
    let tokens: TokenAuthenticator
    let throttle: AuthThrottle

    static let maxPage: Int64 = 500

    func register(on router: Router<GatewayRequestContext>) {
        let operators = router.group("/v1/audit").add(middleware: BearerAuthentication(tokens: tokens, throttle: throttle, role: .operator))
        operators.get { request, _ in try await self.list(request) }
    }

    /// The filters of a request; a value that is present must parse.
    static func query(_ request: Request) throws(Problem) -> (query: AuditQuery, jsonl: Bool) {
        let reader = QueryReader(request)
        var query = AuditQuery(limit: Int(try reader.integer("limit", in: 1...maxPage, default: 100) ?? 100))
        query.since = try time(reader, "since")
        query.until = try time(reader, "until")
        query.action = try reader.text("action", maxLength: 64)
        query.after = try reader.integer("before", in: 1...Int64.max)
        let format = try reader.text("format", maxLength: 16) ?? "json"
        guard format == "json" || format == "jsonl" else {
            throw Problem(400, "query.format_invalid", "Invalid 'format'", "'format' must be json or jsonl")
        }
        return (query, format == "jsonl")
    }

    /// An RFC 3339 date-time or a `YYYY-MM-DD` date (midnight UTC), in ms since the epoch.
    static func time(_ reader: QueryReader, _ name: String) throws(Problem) -> Int64? {
        guard let text = try reader.text(name, maxLength: 64) else { return nil }
        let instant = Timestamp(rfc3339: text) ?? (CalendarDate(text) != nil ? Timestamp(rfc3339: text + "T00:00:00Z") : nil)
        guard let instant else {
            throw Problem(400, "query.\(name)_invalid", "Invalid '\(name)'",
                          "'\(name)' must be an RFC 3339 time (2026-12-04T05:00:00Z) or a date (2026-12-04, UTC)")
        }
        return instant.epochSeconds * 1000 + Int64(instant.nanoseconds / 1_000_000)
    }

    func list(_ request: Request) async throws -> Response {
        let (query, jsonl) = try Self.query(request)
        guard jsonl else {
            let entries = try await store.auditLogEntries(query)
            let next: JSONValue = entries.count == query.limit ? entries.last.map { .string(String($0.seq)) } ?? .null : .null
            return GatewayAPI.json(["entries": .array(entries.map { .object($0.json) }), "next": next])
        }
        return Self.export(store: store, query: query)
    }

    /// Every entry matching `query`'s filters as JSON lines, oldest first, read in pages so memory stays bounded.
    static func export(store: any AgreementStore, query: AuditQuery) -> Response {
        var query = query
        query.ascending = true
        query.limit = Int(Self.maxPage)
        query.after = nil
        let first = query
        let body = ResponseBody { writer in
            var page = first
            while true {
                let entries = try await store.auditLogEntries(page)
                if entries.isEmpty { break }
                var text = ""
                for entry in entries { text += JSONWriter.string(.object(entry.json), style: .compact) + "\n" }
                try await writer.write(ByteBuffer(string: text))
                if entries.count < page.limit { break }
                page.after = entries.last?.seq
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "application/jsonl", .cacheControl: "no-store",
                                               .contentDisposition: "attachment; filename=\"causeway-audit.jsonl\""], body: body)
    }
}
