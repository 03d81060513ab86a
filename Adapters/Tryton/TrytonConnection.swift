import AsyncHTTPClient
package import CausewayCore
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// Why a JSON-RPC call to Tryton did not return a result. The cases say how far the call got,
/// which is what decides the outcome class: a call that never reached Tryton changed nothing.
package enum TrytonFailure: Error, Sendable, Equatable {
    /// Nothing reached Tryton (connection refused, unreachable, connect timeout).
    case notSent(String)
    /// The request was sent but no complete answer came back: Tryton may have performed it.
    case noAnswer(String)
    /// Tryton (or a proxy) answered with this HTTP status instead of a JSON-RPC answer.
    case status(Int, String)
    /// The login with the configured user and password was refused.
    case loginRefused(String)
    /// Tryton refused the call with a user error (validation, domain, wrong state): its message.
    case userError(String)
    /// The call raised another exception on the server (rolled back): its first line.
    case serverError(String)
    /// The answer is not the JSON-RPC shape expected.
    case malformed(String)
    /// The adapter refuses the action before asking Tryton (an unknown code, a unit mismatch).
    case invalid(String)
}

/// A JSON-RPC session with one Tryton database: logs in once with `common.db.login`, sends the
/// session in the `Authorization: Session …` header, and logs in again when Tryton answers 401
/// (an expired or revoked session). The password is only ever put in the login request's body.
package actor TrytonConnection {
    package struct Session: Sendable {
        let userID: Int
        let token: String
        let company: Int
        var header: String { "Session " + Data("\(user):\(userID):\(token)".utf8).base64EncodedString() }
        let user: String
    }

    /// One HTTP client for every Tryton target of the process. It lives as long as the process
    /// (a global is never deinitialised, so it never needs a shutdown); per-call deadlines come
    /// from each target's `timeout`.
    static let http: HTTPClient = {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow,
                                                     timeout: .init(connect: .seconds(5)))
        // A refused connection fails the call at once (retryable) instead of waiting for the deadline.
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    /// `…/DATABASE/rpc/`.
    package nonisolated let endpoint: String
    /// The database name, for messages.
    package nonisolated let database: String
    let user: String
    private let password: String
    private let company: Int?
    private let timeout: Duration
    private var session: Session?
    private var pendingLogin: Task<Session, any Error>?
    private var nextID = 1
    /// How many logins succeeded (tests check that an expired session is replaced).
    package private(set) var logins = 0

    package init(url: String, user: String, password: String, company: Int?, timeout: Duration) {
        var base = url
        if !base.hasSuffix("/") { base += "/" }
        endpoint = base + "rpc/"
        database = base.split(separator: "/").last.map(String.init) ?? ""
        self.user = user
        self.password = password
        self.company = company
        self.timeout = timeout
    }

    /// The context every call ends with: `{"company": ID}`.
    package func context() async throws(TrytonFailure) -> JSONValue {
        ["company": .number(Double(try await currentSession().company))]
    }

    /// Calls `method` with `params`, appending the context; logs in first if needed, and once
    /// more when Tryton answers 401.
    package func call(_ method: String, _ params: [JSONValue]) async throws(TrytonFailure) -> JSONValue {
        var current = try await currentSession()
        for attempt in 0..<2 {
            let context: JSONValue = ["company": .number(Double(current.company))]
            do throws(TrytonFailure) {
                return try await post(method, params + [context], authorization: current.header)
            } catch .status(401, _) where attempt == 0 {
                // The session expired or was revoked: Tryton checked it before running anything.
                if session?.token == current.token { session = nil }
                current = try await currentSession()
            }
        }
        throw .status(401, "Tryton refused the new session for \(method)")
    }

    /// Ends the session on the server but keeps using its token, as an expired session looks.
    package func revokeSessionOnServer() async throws(TrytonFailure) {
        let current = try await currentSession()
        _ = try await post("common.db.logout", [], authorization: current.header)
    }

    // MARK: Session

    private func currentSession() async throws(TrytonFailure) -> Session {
        if let session { return session }
        let task: Task<Session, any Error>
        if let pendingLogin {
            task = pendingLogin
        } else {
            task = Task { try await self.login() }
            pendingLogin = task
        }
        do {
            let fresh = try await task.value
            pendingLogin = nil
            session = fresh
            return fresh
        } catch {
            pendingLogin = nil
            throw (error as? TrytonFailure) ?? .malformed("login failed")
        }
    }

    private func login() async throws(TrytonFailure) -> Session {
        let answer: JSONValue
        do throws(TrytonFailure) {
            answer = try await post("common.db.login", [.string(user), ["password": .string(password)], "en"], authorization: nil)
        } catch .status(401, _) {
            throw .loginRefused("Tryton refused the login of user '\(user)' to database '\(database)'")
        } catch .status(404, _) {
            throw .status(404, "Tryton has no database '\(database)' (check the url)")
        }
        guard let parts = answer.arrayValue, parts.count >= 2, let id = parts[0].exactInt, let token = parts[1].stringValue else {
            throw .malformed("common.db.login answered without a user id and session")
        }
        var session = Session(userID: id, token: token, company: company ?? 0, user: user)
        if company == nil {
            // The user's current company, from its preferences.
            let preferences = try await post("model.res.user.get_preferences", [true, [:]], authorization: session.header)
            guard let current = preferences["company"]?.exactInt else {
                throw .invalid("the Tryton user '\(user)' has no current company; set one in Tryton or set the company setting")
            }
            session = Session(userID: id, token: token, company: current, user: user)
        }
        logins += 1
        return session
    }

    // MARK: Transport

    /// One JSON-RPC request: exactly `id`, `method` and `params` (no `jsonrpc` member, which
    /// would change the answer's shape).
    private func post(_ method: String, _ params: [JSONValue], authorization: String?) async throws(TrytonFailure) -> JSONValue {
        nextID += 1
        let body: JSONValue = ["id": .number(Double(nextID)), "method": .string(method), "params": .array(params)]
        var request = HTTPClientRequest(url: endpoint)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Accept", value: "application/json")
        if let authorization { request.headers.add(name: "Authorization", value: authorization) }
        var bytes: [UInt8] = []
        JSONWriter.write(body, to: &bytes, style: .compact)
        request.body = .bytes(bytes)

        let status: Int
        let received: [UInt8]
        do {
            let deadline = NIODeadline.now() + .nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000
                + timeout.components.attoseconds / 1_000_000_000)
            let response = try await Self.http.execute(request, deadline: deadline)
            status = Int(response.status.code)
            let buffer = try await response.body.collect(upTo: 32 << 20)
            received = Array(buffer.readableBytesView)
        } catch {
            throw Self.transportFailure(error, method: method)
        }
        guard status == 200 else {
            let text = String(decoding: received.prefix(200), as: UTF8.self)
            throw .status(status, "Tryton answered HTTP \(status) to \(method)" + (text.isEmpty ? "" : ": " + Self.oneLine(text)))
        }
        let answer: JSONValue
        do {
            answer = try JSONReader(limits: .init(maxBytes: 32 << 20, maxDepth: 128)).read(received)
        } catch {
            throw .malformed("\(method): the answer is not JSON")
        }
        if let error = answer["error"], !error.isNull { throw Self.applicationFailure(error, method: method) }
        guard let result = answer["result"] else { throw .malformed("\(method): the answer has neither result nor error") }
        return result
    }

    /// Tryton's application errors: `["UserError", [message, description, domain]]` for user and
    /// validation errors, `[text, traceback]` for other exceptions.
    static func applicationFailure(_ error: JSONValue, method: String) -> TrytonFailure {
        let kind = error[0]?.stringValue ?? ""
        switch kind {
        case "UserError", "UserWarning":
            let details = error[1]
            let message = kind == "UserWarning" ? details?[1]?.stringValue : details?[0]?.stringValue
            let description = kind == "UserWarning" ? details?[2]?.stringValue : details?[1]?.stringValue
            let text = [message, description].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: " — ")
            return .userError(oneLine(text.isEmpty ? kind : text))
        case "ConcurrencyException":
            return .serverError("ConcurrencyException: " + oneLine(error[1]?.stringValue ?? "the record was modified meanwhile"))
        case "LoginException":
            return .loginRefused("Tryton asks for another login parameter (\(error[1]?[0]?.stringValue ?? "?"))")
        default:
            return .serverError(oneLine(kind.isEmpty ? "\(method) failed on the server" : kind))
        }
    }

    /// Errors before any answer. Only failures that certainly happened before the request was
    /// sent are `notSent`; the rest may have reached Tryton.
    static func transportFailure(_ error: any Error, method: String) -> TrytonFailure {
        switch error {
        case let e as HTTPClientError where e == .connectTimeout || e == .getConnectionFromPoolTimeout:
            return .notSent("cannot connect to Tryton in time (\(method))")
        case let e as HTTPClientError where e == .deadlineExceeded || e == .readTimeout:
            return .noAnswer("no answer from Tryton within the timeout to \(method)")
        case is NIOConnectionError:
            return .notSent("cannot connect to Tryton (refused or unreachable) for \(method)")
        case ChannelError.connectTimeout:
            return .notSent("cannot connect to Tryton in time (\(method))")
        case let e as IOError where [ECONNREFUSED, EHOSTUNREACH, ENETUNREACH, EADDRNOTAVAIL].contains(e.errnoCode):
            return .notSent("cannot connect to Tryton (\(String(cString: strerror(e.errnoCode)))) for \(method)")
        default:
            return .noAnswer("the connection to Tryton failed during \(method) (\(String(describing: type(of: error))))")
        }
    }

    /// One line of at most 300 characters.
    static func oneLine(_ text: String) -> String {
        let line = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            .joined(separator: " ")
        return line.count > 300 ? String(line.prefix(300)) + "…" : line
    }
}
