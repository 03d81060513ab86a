public import CausewayCore

/// The audit log of operator actions (migration v6): who did what, to what, when, from where, and
/// how it ended. Rows are only ever appended: there is no update or delete, in the store or the API.
///
/// Both stores conform; the gateway records dashboard sign-ins and sign-outs, retries (API and
/// dashboard), reconcile repairs and configuration reloads (Docs/operations.md, "Audit log").
///
/// ```swift
/// try await store.recordAudit(AuditEntry(at: now, actor: "ops", channel: "api", action: AuditEntry.Action.configReload,
///                                        outcome: .success, remote: "10.0.0.7"))
/// ```
public protocol AuditLog: Sendable {
    /// Appends one entry; returns it with its sequence number.
    @discardableResult
    func recordAudit(_ entry: AuditEntry) async throws -> AuditEntry

    /// Entries matching `query`, newest first (or oldest first with ``AuditQuery/ascending``).
    func auditEntries(_ query: AuditQuery) async throws -> [AuditEntry]
}

/// One operator action as the audit log keeps it. No field ever holds a token, password or
/// session id: `actor` is a configured token's *name*, `session` a short tag derived from the session.
public struct AuditEntry: Sendable, Hashable {
    /// The store's sequence number (0 before it is stored); pages are cut by it.
    public var seq: Int64
    /// When, in milliseconds since the epoch.
    public var at: Int64
    /// Who: the name of the API token (or of the token the dashboard session signed in with);
    /// `unknown` for a failed sign-in; `cli:USER` for a command run on the gateway's host.
    public var actor: String
    /// Through what: `api`, `dashboard`, `cli` or `signal`.
    public var channel: String
    /// What: a dotted action name (``Action``).
    public var action: String
    /// To what, when it names something: an agreement digest, a configuration file.
    public var target: String?
    /// How it ended.
    public var outcome: Outcome
    /// From where: the client's IP address (the TCP peer), or the host for the CLI.
    public var remote: String?
    /// The dashboard session, as a tag (the first 12 hex digits of the SHA-256 of its id), to tie a
    /// session's actions to its sign-in without storing the id itself.
    public var session: String?
    /// A short human note (`2 actions re-queued`, `the token is not valid`); never a secret or a body.
    public var detail: String?

    public init(seq: Int64 = 0, at: Int64, actor: String, channel: String, action: String, target: String? = nil, outcome: Outcome,
                remote: String? = nil, session: String? = nil, detail: String? = nil) {
        self.seq = seq
        self.at = at
        self.actor = actor
        self.channel = channel
        self.action = action
        self.target = target
        self.outcome = outcome
        self.remote = remote
        self.session = session
        self.detail = detail
    }

    /// How an action ended.
    public enum Outcome: String, Sendable, Hashable, CaseIterable {
        case success
        /// Tried and failed (a wrong token, a refused reload).
        case failure
        /// Not allowed (a viewer asking for an operator's action).
        case denied
    }

    /// The action names the gateway records (a growable set; stored as text).
    public enum Action {
        public static let signIn = "dashboard.sign_in"
        public static let signOut = "dashboard.sign_out"
        public static let retry = "agreement.retry"
        public static let reconcileRepair = "reconcile.repair"
        public static let configReload = "config.reload"
    }

    /// The entry as JSON (the API's and the export's shape; absent optional fields are null).
    public var json: JSONObject {
        var object: JSONObject = [:]
        object["seq"] = .number(Double(seq))
        object["at"] = .string(Self.timestamp(at))
        object["actor"] = .string(actor)
        object["channel"] = .string(channel)
        object["action"] = .string(action)
        object["target"] = target.map(JSONValue.string) ?? .null
        object["outcome"] = .string(outcome.rawValue)
        object["remote"] = remote.map(JSONValue.string) ?? .null
        object["session"] = session.map(JSONValue.string) ?? .null
        object["detail"] = detail.map(JSONValue.string) ?? .null
        return object
    }

    /// RFC 3339 UTC with milliseconds, e.g. `2026-12-04T05:01:02.345Z`.
    public static func timestamp(_ milliseconds: Int64) -> String {
        let seconds = milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000
        let millis = milliseconds - seconds * 1000
        return Timestamp(epochSeconds: seconds, nanoseconds: Int32(millis) * 1_000_000, millisecondPrecision: true).text
    }

    /// Longest text kept in each field (longer is cut): the log's rows stay small whatever a caller sends.
    public static let maxFieldBytes = 512

    /// The entry with every text cut to ``maxFieldBytes``.
    public var bounded: AuditEntry {
        func cut(_ text: String) -> String {
            guard text.utf8.count > Self.maxFieldBytes else { return text }
            var out = ""
            for character in text {
                if out.utf8.count + character.utf8.count > Self.maxFieldBytes - 3 { break }
                out.append(character)
            }
            return out + "…"
        }
        var copy = self
        copy.actor = cut(actor)
        copy.channel = cut(channel)
        copy.action = cut(action)
        copy.target = target.map(cut)
        copy.remote = remote.map(cut)
        copy.session = session.map(cut)
        copy.detail = detail.map(cut)
        return copy
    }
}

/// Which audit entries to read.
public struct AuditQuery: Sendable, Hashable {
    /// At or after this time (ms since the epoch).
    public var since: Int64?
    /// Before this time (ms since the epoch).
    public var until: Int64?
    /// Only this action.
    public var action: String?
    /// Paging: entries with a sequence number below this (newest first) or above it (ascending).
    public var after: Int64?
    /// At most this many.
    public var limit: Int
    /// Oldest first (an export) instead of newest first (a page).
    public var ascending: Bool

    public init(since: Int64? = nil, until: Int64? = nil, action: String? = nil, after: Int64? = nil, limit: Int = 100, ascending: Bool = false) {
        self.since = since
        self.until = until
        self.action = action
        self.after = after
        self.limit = limit
        self.ascending = ascending
    }
}
