import CausewayCore
import CausewayStore
import Foundation
import Hummingbird

/// The dashboard's *Audit* page (`/audit`) and its export (`/audit.jsonl`): operators only, as
/// `GET /v1/audit` is (the log names who signed in from where; Docs/dashboard.md).
extension Dashboard {
    func registerAudit(on router: Router<GatewayRequestContext>) {
        router.get("/audit") { request, _ in try await self.page(request) { try await self.audit(request, $0) } }
        router.get("/audit.jsonl") { request, _ in
            try await self.page(request) { session in
                guard session.role == .operator else { return Self.forbidden("The audit log is for operators; you are signed in as a viewer.") }
                let (query, _, problems) = Self.auditQuery(request)
                guard problems.isEmpty else {
                    return Self.html(DashboardPages.message(title: "Invalid filter", text: problems.joined(separator: "; ")), status: .badRequest)
                }
                return AuditAPI.export(store: self.store, query: query)
            }
        }
    }

    /// The page's filters from the query string; an invalid value is reported, not ignored.
    static func auditQuery(_ request: Request) -> (query: AuditQuery, form: [String: String], problems: [String]) {
        let parameters = request.uri.queryParameters
        var form: [String: String] = [:]
        for name in ["action", "from", "to", "before"] {
            if let value = parameters[Substring(name)].map(String.init)?.trimmingCharacters(in: .whitespaces), !value.isEmpty { form[name] = value }
        }
        var query = AuditQuery(limit: pageSize)
        var problems: [String] = []
        if let action = form["action"] {
            if DashboardPages.auditActions.contains(action) { query.action = action } else { problems.append("action: unknown action '\(action)'") }
        }
        if let from = form["from"] {
            if let day = Self.day(from) { query.since = day } else { problems.append("from: use a date as YYYY-MM-DD") }
        }
        if let to = form["to"] {
            if let day = Self.day(to) { query.until = day + 86_400_000 } else { problems.append("to: use a date as YYYY-MM-DD") }
        }
        if let before = form["before"] {
            if let cursor = Int64(before) { query.after = cursor } else { problems.append("before: not a page cursor") }
        }
        return (query, form, problems)
    }

    func audit(_ request: Request, _ session: DashboardSessions.Session) async throws -> Response {
        guard session.role == .operator else {
            return Self.forbidden("The audit log is for operators; you are signed in as a viewer.")
        }
        let (query, form, problems) = Self.auditQuery(request)
        let entries = problems.isEmpty ? try await store.auditLogEntries(query) : []
        let next = entries.count == query.limit ? entries.last?.seq : nil
        return Self.html(DashboardPages.audit(session: session, entries: entries, form: form, problems: problems, next: next, now: Self.now()),
                         status: problems.isEmpty ? .ok : .badRequest)
    }
}

extension AgreementStore {
    /// The store's audit log entries; none for a store that keeps no audit log.
    func auditLogEntries(_ query: AuditQuery) async throws -> [AuditEntry] {
        guard let log = self as? any AuditLog else { return [] }
        return try await log.auditEntries(query)
    }
}

extension DashboardPages {
    /// The actions the filter offers, in the order shown.
    static let auditActions = [AuditEntry.Action.signIn, AuditEntry.Action.signOut, AuditEntry.Action.retry, AuditEntry.Action.reconcileRepair,
                               AuditEntry.Action.configReload]

    static func auditActionLabel(_ action: String) -> String {
        switch action {
        case AuditEntry.Action.signIn: "sign-in"
        case AuditEntry.Action.signOut: "sign-out"
        case AuditEntry.Action.retry: "retry"
        case AuditEntry.Action.reconcileRepair: "reconcile repair"
        case AuditEntry.Action.configReload: "configuration reload"
        default: action
        }
    }

    static func auditOutcome(_ outcome: AuditEntry.Outcome) -> String {
        "<span class=\"badge \(outcome == .success ? "state-delivered" : "state-dead_letter")\">\(HTML.escape(outcome.rawValue))</span>"
    }

    /// The audit log, newest first: when, who (token name, through what, the session tag), the
    /// action and its target (an agreement links to its order), the outcome, from where, and the note.
    static func audit(session: Session, entries: [AuditEntry], form: [String: String], problems: [String], next: Int64?, now: Int64) -> String {
        var options = "<option value=\"\">All</option>"
        for action in auditActions {
            options += "<option value=\"\(HTML.escape(action))\"\(form["action"] == action ? " selected" : "")>\(HTML.escape(auditActionLabel(action)))</option>"
        }
        let filters = """
            <form method="get" action="/audit" class="filters" role="search" aria-label="Filter the audit log">
            <div class="field"><label for="f-action">Action</label><select id="f-action" name="action">\(options)</select></div>
            <div class="field"><label for="f-from">From (UTC)</label><input id="f-from" type="date" name="from" value="\(HTML.escape(form["from"] ?? ""))"></div>
            <div class="field"><label for="f-to">Until (UTC)</label><input id="f-to" type="date" name="to" value="\(HTML.escape(form["to"] ?? ""))"></div>
            <div class="actions"><button type="submit">Apply</button> <a href="/audit">Clear</a></div>
            </form>
            """
        let errors = problems.isEmpty ? "" : "<ul class=\"error\" role=\"alert\">" + problems.map { "<li>\(HTML.escape($0))</li>" }.joined() + "</ul>"
        let rows = entries.map { entry -> [String] in
            let who = HTML.escape(entry.actor) + "<span class=\"sub\">\(HTML.escape(entry.channel))"
                + (entry.session.map { " · session \(HTML.escape($0))" } ?? "") + "</span>"
            let target: String = {
                guard let target = entry.target else { return "—" }
                if let digest = ContentDigest(target) { return HTML.ident(target, link: HTML.orderPath(digest)) }
                return HTML.ident(target)
            }()
            return [HTML.timeTag(entry.at, now: now), who, HTML.escape(auditActionLabel(entry.action)), target, auditOutcome(entry.outcome),
                    entry.remote.map { "<code>\(HTML.escape($0))</code>" } ?? "—", HTML.escape(entry.detail ?? "")]
        }
        var (paging, base) = pagingLinks(path: "/audit", form: form, next: next, ids: ("audit-newest", "audit-older"))
        paging += "<a href=\"/audit.jsonl\(base.isEmpty ? "" : "?" + base)\" id=\"audit-export\" download>Download as JSON lines</a>"
        let table = HTML.table(caption: "Operator actions, newest first (times in UTC)",
                               headers: ["When", "Who", "Action", "Target", "Outcome", "From", "Detail"],
                               rows: rows, empty: "No operator actions match.", id: "audit")
        return layout(title: "Audit", session: session, active: "Audit", """
            <p>Every sign-in (also the failed ones), sign-out, retry, reconcile repair and configuration reload, as the store keeps it
            (append-only). The same log: <code>GET /v1/audit</code> and <code>causeway audit export</code>.</p>
            \(filters)\(errors)
            \(table)
            <nav class="paging" aria-label="Pages">\(paging)</nav>
            """)
    }
}
