import CausewayCore
import Foundation
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// The request log: one `info` line per request, written when the handler has answered.
///
/// Keys (Docs/operations.md, "Logs"): `http.method`, `http.path` (the path only: the query string
/// is never logged, so a secret passed in one cannot reach the log), `http.status`,
/// `http.duration_ms` (until the answer's head; a streamed body such as `/events` may run on),
/// `client.address` (the TCP peer), `request.id`, and when known `caller` (the token's name),
/// `partner` and `agreement.digest`. Never a body, header value or token.
struct RequestLogMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        let notes = RequestLogNotes()
        do {
            let response = try await RequestLogNotes.$current.withValue(notes) { try await next(request, context) }
            log(request, context, status: Int(response.status.code), started: started, notes: notes)
            return response
        } catch let error as any HTTPResponseError {
            log(request, context, status: Int(error.status.code), started: started, notes: notes)
            throw error
        } catch {
            log(request, context, status: 500, started: started, notes: notes)
            throw error
        }
    }

    func log(_ request: Request, _ context: Context, status: Int, started: ContinuousClock.Instant, notes: RequestLogNotes) {
        let elapsed = (ContinuousClock.now - started).components
        // Tenths of a millisecond, rounded, in integers (`String(format:)` cost a few µs a request).
        let tenths = elapsed.seconds * 10_000 + (elapsed.attoseconds + 50_000_000_000_000) / 100_000_000_000_000
        var metadata: Logger.Metadata = [
            "http.method": .string(request.method.rawValue),
            "http.path": .string(request.uri.path),
            "http.status": .stringConvertible(status),
            "http.duration_ms": .string("\(tenths / 10).\(tenths % 10)"),
            "client.address": .string(context.remoteAddress?.ipAddress ?? "unknown"),
            "request.id": .string(context.id),
        ]
        let noted = notes.values
        if let caller = noted.caller ?? context.caller?.name { metadata["caller"] = .string(caller) }
        if let partner = noted.partner { metadata["partner"] = .string(partner) }
        if let digest = noted.digest ?? context.digestParameter?.description { metadata["agreement.digest"] = .string(digest) }
        logger.info("request", metadata: metadata)
    }
}

/// What a handler learned while answering (the partner of an agreement, its digest, the caller),
/// passed up to the request log through a task-local value. Handlers call ``note(partner:digest:caller:)``.
final class RequestLogNotes: Sendable {
    struct Values {
        var partner: String?
        var digest: String?
        var caller: String?
    }

    @TaskLocal static var current: RequestLogNotes?
    private let state = Mutex(Values())

    var values: Values { state.withLock { $0 } }

    /// Adds what is known to the current request's log line (no-op outside a request).
    static func note(partner: String? = nil, digest: String? = nil, caller: String? = nil) {
        guard let notes = current else { return }
        notes.state.withLock { values in
            if let partner { values.partner = partner }
            if let digest { values.digest = digest }
            if let caller { values.caller = caller }
        }
    }
}
