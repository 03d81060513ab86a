import CausewayCore
public import CausewayStore
public import Logging

/// Records operator actions in the store's audit log (``AuditLog``) and, at `notice`, in the
/// process log. An entry the store cannot take is logged at `error` with all its fields, so it is
/// never lost silently; the action it describes has happened either way.
///
/// ```swift
/// await AuditRecorder(store: store).record(action: AuditEntry.Action.configReload, actor: caller.name, channel: "api",
///                                          remote: context.clientAddress, outcome: .success, detail: "3 partners, 2 targets")
/// ```
public struct AuditRecorder: Sendable {
    let store: (any AuditLog)?
    let logger: Logger
    let now: @Sendable () -> Int64

    /// `store`: the gateway's store (both SQLite and PostgreSQL keep an audit log).
    public init(store: any AgreementStore, logger: Logger = Logger(label: "causeway.audit"),
                now: @escaping @Sendable () -> Int64 = WallClock.milliseconds) {
        self.store = store as? any AuditLog
        self.logger = logger
        self.now = now
    }

    /// Records one action now. Never throws: a failure to store it is logged.
    public func record(action: String, actor: String, channel: String, target: String? = nil, remote: String? = nil,
                       session: String? = nil, outcome: AuditEntry.Outcome, detail: String? = nil) async {
        await record(AuditEntry(at: now(), actor: actor, channel: channel, action: action, target: target, outcome: outcome,
                                remote: remote, session: session, detail: detail))
    }

    public func record(_ entry: AuditEntry) async {
        var metadata: Logger.Metadata = [
            "audit.action": .string(entry.action), "audit.actor": .string(entry.actor), "audit.channel": .string(entry.channel),
            "audit.outcome": .string(entry.outcome.rawValue),
        ]
        if let target = entry.target { metadata["audit.target"] = .string(target) }
        if let remote = entry.remote { metadata["client.address"] = .string(remote) }
        if let session = entry.session { metadata["audit.session"] = .string(session) }
        if let detail = entry.detail { metadata["audit.detail"] = .string(detail) }
        guard let store else {
            logger.error("audit: this store keeps no audit log; the entry is only in this log", metadata: metadata)
            return
        }
        do {
            let stored = try await store.recordAudit(entry)
            metadata["audit.seq"] = .stringConvertible(stored.seq)
            logger.notice("audit", metadata: metadata)
        } catch {
            metadata["error"] = .string("\(error)")
            logger.error("audit: the entry could not be stored", metadata: metadata)
        }
    }

    /// A dashboard session as the audit log names it: the first 12 hex digits of the SHA-256 of
    /// its id (the id itself signs a browser in, so it is never stored or logged).
    static func sessionTag(_ id: String) -> String { String(ContentDigest(of: Array(id.utf8)).hex.prefix(12)) }
}
