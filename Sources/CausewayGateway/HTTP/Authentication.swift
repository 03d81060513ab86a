import CausewayCore
import Foundation
import HTTPTypes
import Hummingbird
import Synchronization

/// The configured API tokens, compared in constant time. One instance serves the API's bearer
/// tokens and the dashboard's sign-in, so both accept exactly the same secrets. Copies share
/// one table: a live reload's ``replace(_:)`` takes effect for every copy at the next request.
struct TokenAuthenticator: Sendable {
    private let shared: SharedTable

    /// One configured token: its secret, its caller, and its ``fingerprint(_:)`` (what a dashboard
    /// session is checked against).
    private struct Token: Sendable {
        let secret: String
        let caller: Caller
        let fingerprint: String
    }

    /// The table behind every copy (a class, so copies share it).
    private final class SharedTable: Sendable {
        let tokens: Mutex<[Token]>
        init(_ tokens: [Token]) { self.tokens = Mutex(tokens) }
    }

    /// The SHA-256 of a token's secret, hex: kept by a dashboard session instead of the secret.
    static func fingerprint(_ secret: String) -> String { ContentDigest(of: Array(secret.utf8)).hex }

    /// Whether a token with this secret fingerprint still belongs to `caller` (same name and
    /// role): false once a live reload removed the token, changed its secret or its role.
    func holds(_ caller: Caller, fingerprint: String) -> Bool {
        shared.tokens.withLock { tokens in tokens.contains { $0.caller == caller && $0.fingerprint == fingerprint } }
    }

    init(_ tokens: [String: (name: String, role: GatewayConfiguration.TokenConfiguration.Role)]) {
        let list = Self.list(tokens)
        shared = SharedTable(list)
    }

    private static func list(_ tokens: [String: (name: String, role: GatewayConfiguration.TokenConfiguration.Role)]) -> [Token] {
        tokens.map { Token(secret: $0.key, caller: Caller(name: $0.value.name, role: $0.value.role), fingerprint: fingerprint($0.key)) }
    }

    /// Replaces the accepted tokens (a live reload): the next request is checked against these.
    func replace(_ tokens: [String: (name: String, role: GatewayConfiguration.TokenConfiguration.Role)]) {
        let list = Self.list(tokens)
        shared.tokens.withLock { $0 = list }
    }

    /// The caller whose secret is `presented`; every configured secret is compared, in time that
    /// depends only on the lengths.
    func caller(presenting presented: String) -> Caller? {
        let tokens = shared.tokens.withLock { $0 }
        var match: Caller?
        for token in tokens where DashboardSessions.constantTimeEqual(token.secret, presented) { match = token.caller }
        return match
    }

    /// The token of an `Authorization: Bearer …` header; the scheme is matched case-insensitively
    /// (RFC 9110 §11.1), the token is taken as sent.
    static func bearerToken(_ request: Request) -> String? {
        guard let header = request.headers[.authorization] else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        return String(parts[1]).trimmingCharacters(in: .whitespaces)
    }
}

/// Counts failed credentials (bearer tokens and dashboard sign-ins) per client address and in
/// total, in fixed one-minute windows. Past either limit, credentials are not even compared:
/// the caller gets 429 with `Retry-After` until the window ends.
final class AuthThrottle: Sendable {
    struct Limits: Sendable {
        var perAddress: Int
        var global: Int
        var windowMilliseconds: Int64 = 60_000
    }

    private struct State {
        var windowStart: Int64 = 0
        var failures: [String: Int] = [:]
        var total = 0
    }

    let limits: Limits
    private let state = Mutex(State())
    private let now: @Sendable () -> Int64

    init(limits: Limits, now: @escaping @Sendable () -> Int64 = WallClock.milliseconds) {
        self.limits = limits
        self.now = now
    }

    /// Seconds until `address` may try again, or nil when it may try now.
    func blocked(_ address: String) -> Int? {
        let time = now()
        return state.withLock { state in
            Self.roll(&state, at: time, window: limits.windowMilliseconds)
            guard (state.failures[address] ?? 0) >= limits.perAddress || state.total >= limits.global else { return nil }
            return Int((state.windowStart + limits.windowMilliseconds - time + 999) / 1000)
        }
    }

    /// Records one failed credential from `address`.
    func failed(_ address: String) {
        let time = now()
        state.withLock { state in
            Self.roll(&state, at: time, window: limits.windowMilliseconds)
            // The map is bounded: a flood from many addresses is stopped by the global limit first.
            if state.failures.count < 100_000 || state.failures[address] != nil { state.failures[address, default: 0] += 1 }
            state.total += 1
        }
    }

    private static func roll(_ state: inout State, at time: Int64, window: Int64) {
        if time - state.windowStart >= window { state = State(windowStart: time) }
    }

    /// The 429 answer for a blocked caller.
    static func tooMany(retryAfter seconds: Int) -> Problem {
        .retryLater(429, "auth.rate_limited", "Too many failed attempts",
                    "too many wrong credentials from this address or in total; try again after \(seconds) s", seconds: seconds)
    }
}

/// Authentication as middleware: every route of a group gets it, so no handler can forget it.
/// A missing or wrong token is 401, a viewer on an operator route 403, a throttled address 429.
struct BearerAuthentication: RouterMiddleware {
    typealias Context = GatewayRequestContext
    let tokens: TokenAuthenticator
    let throttle: AuthThrottle
    let role: GatewayConfiguration.TokenConfiguration.Role

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.caller = try authenticate(request, context: context)
        RequestLogNotes.note(caller: context.caller?.name)
        return try await next(request, context)
    }

    func authenticate(_ request: Request, context: Context) throws(Problem) -> Caller {
        if let seconds = throttle.blocked(context.clientAddress) { throw AuthThrottle.tooMany(retryAfter: seconds) }
        guard let presented = TokenAuthenticator.bearerToken(request) else {
            throw Problem(401, "auth.token_required", "A bearer token is required",
                          "send Authorization: Bearer TOKEN with one of the tokens configured under 'tokens' (the CLI reads CAUSEWAY_TOKEN)",
                          headers: [.wwwAuthenticate: "Bearer"])
        }
        guard let caller = tokens.caller(presenting: presented) else {
            throttle.failed(context.clientAddress)
            throw Problem(401, "auth.token_invalid", "The token is not valid", nil, headers: [.wwwAuthenticate: "Bearer error=\"invalid_token\""])
        }
        if role == .operator, caller.role != .operator {
            throw Problem(403, "auth.forbidden", "This action needs an operator token", nil)
        }
        return caller
    }
}
