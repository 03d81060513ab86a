import Foundation
import Synchronization

/// Signed-in dashboard users, kept in this process's memory.
///
/// A session is created when someone signs in with a configured API token. The browser holds only
/// the session's random id (256 bits, in an HTTP-only, Secure, SameSite=Strict cookie), never the
/// token. Each session has its own CSRF token, which every form carries and every POST must echo.
/// Sessions end at sign-out, after ``idleMilliseconds`` without a request, when a live reload
/// removes or changes their token, or when the process stops (see Docs/decisions/0006-dashboard.md).
final class DashboardSessions: Sendable {
    /// One signed-in user.
    struct Session: Sendable {
        /// The configured token's name (shown as "signed in as").
        let name: String
        let role: GatewayConfiguration.TokenConfiguration.Role
        /// The SHA-256 of the token signed in with (``TokenAuthenticator/fingerprint(_:)``): the
        /// session ends when a live reload removes or changes that token.
        let token: String
        /// Echoed by every form as the hidden field `csrf`.
        let csrf: String
        /// Milliseconds since the epoch after which the session is gone.
        var expires: Int64
    }

    /// How long a session lives without a request: 8 hours.
    let idleMilliseconds: Int64
    /// The most sessions kept at once; the oldest expiring is dropped beyond it.
    let capacity: Int
    private let sessions = Mutex<[String: Session]>([:])

    init(idleMilliseconds: Int64 = 8 * 3_600_000, capacity: Int = 10_000) {
        self.idleMilliseconds = idleMilliseconds
        self.capacity = capacity
    }

    /// Starts a session; returns its id (the cookie's value) and the session.
    func create(name: String, role: GatewayConfiguration.TokenConfiguration.Role, token: String, now: Int64) -> (id: String, session: Session) {
        let id = Self.randomToken()
        let session = Session(name: name, role: role, token: token, csrf: Self.randomToken(), expires: now + idleMilliseconds)
        sessions.withLock { sessions in
            sessions = sessions.filter { $0.value.expires > now }
            if sessions.count >= capacity, let oldest = sessions.min(by: { $0.value.expires < $1.value.expires }) {
                sessions[oldest.key] = nil
            }
            sessions[id] = session
        }
        return (id, session)
    }

    /// The live session with this id (its idle timer restarts), or nil.
    func session(id: String, now: Int64) -> Session? {
        sessions.withLock { sessions in
            guard var session = sessions[id] else { return nil }
            guard session.expires > now else {
                sessions[id] = nil
                return nil
            }
            session.expires = now + idleMilliseconds
            sessions[id] = session
            return session
        }
    }

    /// Ends a session (sign-out).
    func end(id: String) {
        _ = sessions.withLock { $0.removeValue(forKey: id) }
    }

    /// 32 random bytes from the system's CSPRNG, as hex.
    static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }

    /// Compares two secrets in time independent of where they differ.
    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        var difference = UInt8(x.count == y.count ? 0 : 1)
        for index in 0..<min(x.count, y.count) { difference |= x[index] ^ y[index] }
        return difference == 0
    }
}
