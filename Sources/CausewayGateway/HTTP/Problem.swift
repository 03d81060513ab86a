import CausewayCore
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// An RFC 9457 problem details answer with a stable `code`: the one error shape of the API.
///
/// It renders itself (`ResponseGenerator`) and can be thrown (`HTTPResponseError`) from any
/// handler or middleware, so no route writes its own error body.
///
/// ```swift
/// throw Problem(400, "query.limit_invalid", "Invalid limit", "limit must be a whole number from 1 to 200")
/// ```
struct Problem: HTTPResponseError, Sendable {
    let status: HTTPResponse.Status
    let code: String
    let title: String
    let detail: String?
    var extra: JSONObject
    var headers: HTTPFields

    init(_ status: Int, _ code: String, _ title: String, _ detail: String? = nil, extra: JSONObject = [:], headers: HTTPFields = [:]) {
        self.status = .init(code: status)
        self.code = code
        self.title = title
        self.detail = detail
        self.extra = extra
        self.headers = headers
    }

    /// A 503 or 429 that tells the client when to come back.
    static func retryLater(_ status: Int, _ code: String, _ title: String, _ detail: String?, seconds: Int) -> Problem {
        Problem(status, code, title, detail, headers: [.retryAfter: String(max(seconds, 1))])
    }

    var json: JSONObject {
        var object: JSONObject = ["type": .string("https://causeway.invalid/problems/\(code)"), "title": .string(title),
                                  "status": .number(Double(status.code)), "code": .string(code)]
        if let detail { object["detail"] = .string(detail) }
        for (key, value) in extra { object[key] = value }
        return object
    }

    var response: Response {
        var fields = headers
        fields[.contentType] = "application/problem+json"
        return Response(status: status, headers: fields,
                        body: .init(byteBuffer: ByteBuffer(string: JSONWriter.string(.object(json), style: .compact))))
    }

    func response(from request: Request, context: some RequestContext) throws -> Response { response }
}

/// Query parameters read strictly: a value that is present must parse, or the request gets a 400
/// naming the parameter and what it accepts.
struct QueryReader {
    let parameters: Parameters

    init(_ request: Request) { parameters = request.uri.queryParameters }

    /// A whole number in `range`, `fallback` when absent.
    func integer(_ name: String, in range: ClosedRange<Int64>, default fallback: Int64? = nil) throws(Problem) -> Int64? {
        guard let raw = parameters[name[...]] else { return fallback }
        guard let value = Int64(String(raw)), range.contains(value) else {
            throw Problem(400, "query.\(name)_invalid", "Invalid '\(name)'",
                          "'\(name)' must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    /// A text of at most `maxLength` characters without control characters.
    func text(_ name: String, maxLength: Int = 256) throws(Problem) -> String? {
        guard let raw = parameters[name[...]] else { return nil }
        let value = String(raw)
        guard value.utf8.count <= maxLength, !value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw Problem(400, "query.\(name)_invalid", "Invalid '\(name)'",
                          "'\(name)' must be at most \(maxLength) bytes with no control characters")
        }
        return value
    }
}

/// The outermost middleware: an error no handler turned into an answer (a store that failed
/// mid-request, say) becomes a problem+json 500 that names nothing internal, and is logged
/// with its detail for the operators.
struct ProblemMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as any HTTPResponseError {
            throw error
        } catch {
            logger.error("request failed", metadata: ["method": "\(request.method)", "path": "\(request.uri.path)", "error": "\(error)"])
            return Problem(500, "server.error", "The request failed inside the gateway",
                           "nothing was changed by this request unless its answer said so; the gateway's log has the cause").response
        }
    }
}
