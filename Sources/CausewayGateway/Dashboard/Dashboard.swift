import CausewayCore
import CausewayMapping
import CausewayStore
import CausewayTrust
import Foundation
import HTTPTypes
import Hummingbird
import ServiceLifecycle
import Synchronization

/// The operator dashboard: server-rendered pages at `/`, `/orders`, `/orders/{digest}`,
/// `/reconcile` and `/login`, an order's signed receipts at `/orders/{digest}/receipts/{id}`, live
/// through server-sent events at `/events`, and its icon at `/favicon.ico` (see Docs/dashboard.md).
///
/// Sign-in takes one of the configured API tokens and starts a cookie session
/// (``DashboardSessions``). Viewers read; only operators retry. Every POST carries the session's
/// CSRF token and must come from this origin.
struct Dashboard: Sendable {
    let store: any AgreementStore
    /// The configured API tokens, as the API uses them.
    let tokens: TokenAuthenticator
    /// Failed sign-ins count toward the same per-address and global limits as bad bearer tokens.
    let throttle: AuthThrottle
    /// Live-update streams one session may hold open at once.
    let streamsPerSession: Int
    /// Rung after an operator's retry, so the worker starts at once.
    let newWork: Doorbell
    /// The partners and targets configured now (a live reload changes them): the filters' choices
    /// and the partners' display names.
    let configured: @Sendable () -> (partners: PartnerRegistry, targets: [String])
    /// The scheduled reconciliation, when `serve` runs one.
    let reconcile: ReconcileSchedule?
    /// The witness cosignatures collected for this gateway's checkpoints, shown on the overview.
    var cosignatures: CosignatureBook? = nil

    /// Partner and target names, sorted, and each partner's `display_name` from its partner.yaml
    /// by partner name (a partner without one is shown by its name).
    var lists: (partners: [String], targets: [String], names: [String: String]) {
        let (registry, targets) = configured()
        let names = Dictionary(registry.partners.compactMap { p in p.configuration.displayName.map { (p.name, $0) } },
                               uniquingKeysWith: { a, _ in a })
        return (registry.partners.map(\.name).sorted(), targets.sorted(), names)
    }
    let sessions = DashboardSessions()
    let streams = StreamCounter()

    static let cookieName = "causeway_session"
    /// The page size of the orders list (a `limit` query value may ask for 1…200).
    static let pageSize = 50

    /// Registers the dashboard's routes.
    func register(on router: Router<GatewayRequestContext>) {
        router.get("/login") { request, _ in self.loginPage(request, error: nil) }
        router.post("/login") { request, context in try await self.login(request, context) }
        router.post("/logout") { request, context in try await self.logout(request, context) }
        registerAudit(on: router)
        router.get("/") { request, _ in try await self.page(request) { try await self.overview(request, $0) } }
        router.get("/orders") { request, _ in try await self.page(request) { try await self.orders(request, $0) } }
        router.get("/reconcile") { request, _ in
            try await self.page(request) { Self.html(DashboardPages.reconciliation(self.reconcile, session: $0, now: Self.now())) }
        }
        router.get("/orders/:digest") { request, context in
            try await self.page(request) { try await self.order(request, context, $0) }
        }
        router.get("/orders/:digest/receipts/:receipt") { request, context in
            try await self.page(request) { _ in try await self.receipt(context) }
        }
        router.get("/orders/:digest/receipts/:receipt/bundle") { request, context in
            try await self.page(request) { _ in try await self.bundle(context) }
        }
        router.post("/orders/:digest/retry") { request, context in try await self.retry(request, context) }
        router.get("/events") { request, _ in try await self.events(request) }
        router.get("/dashboard.css") { _, _ in Self.asset(DashboardAssets.css, type: "text/css; charset=utf-8") }
        router.get("/dashboard.js") { _, _ in Self.asset(DashboardAssets.javascript, type: "text/javascript; charset=utf-8") }
        router.get("/favicon.svg") { _, _ in Self.asset(DashboardAssets.faviconSVG, type: "image/svg+xml") }
        router.get("/favicon.ico") { _, _ in
            Response(status: .ok, headers: [.contentType: "image/x-icon", .cacheControl: "max-age=86400", .xContentTypeOptions: "nosniff"],
                     body: .init(byteBuffer: ByteBuffer(bytes: DashboardAssets.faviconICO)))
        }
    }

    // MARK: Sessions and checks

    static func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    /// The session id the browser presented, if any.
    static func sessionID(_ request: Request) -> String? {
        for header in request.headers[values: .cookie] {
            for pair in header.split(separator: ";") {
                let parts = pair.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
                if parts.count == 2, parts[0] == cookieName { return String(parts[1]) }
            }
        }
        return nil
    }

    func session(_ request: Request) -> (id: String, session: DashboardSessions.Session)? {
        guard let id = Self.sessionID(request), let session = sessions.session(id: id, now: Self.now()) else { return nil }
        // A token a live reload removed or changed ends the sessions signed in with it.
        guard tokens.holds(Caller(name: session.name, role: session.role), fingerprint: session.token) else {
            sessions.end(id: id)
            return nil
        }
        return (id, session)
    }

    /// A signed-in page, or a redirect to the sign-in form.
    func page(_ request: Request, _ body: (DashboardSessions.Session) async throws -> Response) async throws -> Response {
        guard let (_, session) = session(request) else {
            let next = request.uri.path + (request.uri.query.map { "?" + $0 } ?? "")
            return Self.redirect("/login?next=\(HTML.query(next))")
        }
        return try await body(session)
    }

    /// A POST is accepted only from this gateway's own pages: its Origin (or, without one, its
    /// Referer) must name the host the request was sent to (`Host`, or the `X-Forwarded-Host` a
    /// TLS-terminating proxy passes on; a cross-site page cannot set that header on a form post).
    static func sameOrigin(_ request: Request) -> Bool {
        var hosts = Set<String>()
        if let host = request.head.authority, !host.isEmpty { hosts.insert(host.lowercased()) }
        if let forwarded = request.headers[HTTPField.Name("X-Forwarded-Host")!] {
            for host in forwarded.split(separator: ",") { hosts.insert(host.trimmingCharacters(in: .whitespaces).lowercased()) }
        }
        let source = request.headers[.origin] ?? request.headers[.referer]
        guard !hosts.isEmpty, let source, let url = URL(string: source), let scheme = url.scheme, ["http", "https"].contains(scheme),
            let sourceHost = url.host
        else { return false }
        let sourceAuthority = url.port.map { "\(sourceHost):\($0)" } ?? sourceHost
        return hosts.contains(sourceAuthority.lowercased())
    }

    /// Reads an `application/x-www-form-urlencoded` body (at most 16 KiB).
    static func form(_ request: Request) async throws -> [String: String] {
        let body = try await request.body.collect(upTo: 16 * 1024)
        var fields: [String: String] = [:]
        for pair in String(buffer: body).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map {
                String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
            }
            if let key = parts.first { fields[key] = parts.count > 1 ? parts[1] : "" }
        }
        return fields
    }

    // MARK: Responses

    /// Headers of every dashboard page: no caching, no framing, scripts and styles only from here.
    static func pageHeaders(_ extra: HTTPFields = [:]) -> HTTPFields {
        var headers: HTTPFields = [
            .contentType: "text/html; charset=utf-8",
            .cacheControl: "no-store",
            .contentSecurityPolicy: "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                + "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
            .xContentTypeOptions: "nosniff",
        ]
        headers[HTTPField.Name("Referrer-Policy")!] = "same-origin"
        headers.append(contentsOf: extra)
        return headers
    }

    static func html(_ body: String, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        Response(status: status, headers: pageHeaders(headers), body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    static func redirect(_ location: String, headers: HTTPFields = [:]) -> Response {
        var fields: HTTPFields = [.location: location, .cacheControl: "no-store"]
        fields.append(contentsOf: headers)
        return Response(status: .seeOther, headers: fields)
    }

    static func asset(_ text: String, type: String) -> Response {
        Response(status: .ok, headers: [.contentType: type, .cacheControl: "no-cache", .xContentTypeOptions: "nosniff"],
                 body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func forbidden(_ message: String) -> Response {
        html(DashboardPages.message(title: "Not allowed", text: message), status: .forbidden)
    }

    // MARK: Sign-in

    func loginPage(_ request: Request, error: String?, status: HTTPResponse.Status = .ok) -> Response {
        if error == nil, session(request) != nil { return Self.redirect("/") }
        let next = request.uri.queryParameters["next"].map(String.init) ?? "/"
        return Self.html(DashboardPages.login(next: Self.safeNext(next), error: error), status: status)
    }

    /// Only a path on this origin is followed after sign-in: it starts with one `/`, and holds only
    /// visible ASCII without a backslash (browsers drop tabs and newlines from a URL and read `\` as `/`,
    /// so `/<TAB>/evil.example` would become `//evil.example`, another host).
    static func safeNext(_ next: String) -> String {
        let bytes = Array(next.utf8)
        guard bytes.count <= 2048, bytes.first == UInt8(ascii: "/"), bytes.count == 1 || bytes[1] != UInt8(ascii: "/"),
            bytes.allSatisfy({ (0x21...0x7E).contains($0) && $0 != UInt8(ascii: "\\") })
        else { return "/" }
        return next
    }

    func login(_ request: Request, _ context: GatewayRequestContext) async throws -> Response {
        guard Self.sameOrigin(request) else { return Self.forbidden("The sign-in form must be sent from this gateway's own page.") }
        if let seconds = throttle.blocked(context.clientAddress) {
            return Self.html(DashboardPages.message(title: "Too many attempts",
                                                    text: "Too many wrong tokens were tried from this address or in total. Try again in \(seconds) seconds."),
                             status: .tooManyRequests, headers: [.retryAfter: String(seconds)])
        }
        let fields = try await Self.form(request)
        let presented = fields["token"]?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        guard !presented.isEmpty, let match = tokens.caller(presenting: presented) else {
            if !presented.isEmpty {
                throttle.failed(context.clientAddress)
                // Who tried is unknown: the presented text is never recorded.
                await AuditRecorder(store: store).record(action: AuditEntry.Action.signIn, actor: "unknown", channel: "dashboard",
                                                         remote: context.clientAddress, outcome: .failure, detail: "the token is not valid")
            }
            return Self.html(DashboardPages.login(next: Self.safeNext(fields["next"] ?? "/"),
                                                  error: presented.isEmpty ? "Enter an API token." : "That token is not valid."),
                             status: .unauthorized)
        }
        if let old = Self.sessionID(request) { sessions.end(id: old) }
        let (id, _) = sessions.create(name: match.name, role: match.role, token: TokenAuthenticator.fingerprint(presented), now: Self.now())
        await AuditRecorder(store: store).record(action: AuditEntry.Action.signIn, actor: match.name, channel: "dashboard",
                                                 remote: context.clientAddress, session: AuditRecorder.sessionTag(id), outcome: .success,
                                                 detail: "role \(match.role.rawValue)")
        let cookie = "\(Self.cookieName)=\(id); Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=\(sessions.idleMilliseconds / 1000)"
        return Self.redirect(Self.safeNext(fields["next"] ?? "/"), headers: [.setCookie: cookie])
    }

    func logout(_ request: Request, _ context: GatewayRequestContext) async throws -> Response {
        guard let (id, session) = session(request) else { return Self.redirect("/login") }
        guard Self.sameOrigin(request) else { return Self.forbidden("Sign-out must be sent from this gateway's own page.") }
        let fields = try await Self.form(request)
        guard DashboardSessions.constantTimeEqual(fields["csrf"] ?? "", session.csrf) else {
            return Self.forbidden("The form's security token is missing or stale; reload the page and try again.")
        }
        sessions.end(id: id)
        await AuditRecorder(store: store).record(action: AuditEntry.Action.signOut, actor: session.name, channel: "dashboard",
                                                 remote: context.clientAddress, session: AuditRecorder.sessionTag(id), outcome: .success)
        return Self.redirect("/login", headers: [.setCookie: "\(Self.cookieName)=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0"])
    }

    // MARK: Pages

    func overview(_ request: Request, _ session: DashboardSessions.Session) async throws -> Response {
        let key = request.uri.queryParameters["window"].map(String.init) ?? "24h"
        let window = DashboardCharts.Window.all.first { $0.key == key } ?? DashboardCharts.Window.all[1]
        let now = Self.now()
        let starts = window.starts(now: now)
        let counts = try await store.statusCounts()
        let activity = try await store.activity(since: starts[0], bucketMilliseconds: window.bucketMilliseconds)
        let ledger = DashboardPages.LedgerState(treeSize: try await store.treeSize(), checkpoint: try await store.latestCheckpoint(),
                                                cosignatures: cosignatures?.all ?? [])
        let lists = lists
        return Self.html(DashboardPages.overview(session: session, window: window, starts: starts, counts: counts, activity: activity,
                                                 partners: lists.partners, targets: lists.targets, names: lists.names, ledger: ledger, now: now,
                                                 duplicities: try await store.kelDuplicities(limit: 20)))
    }

    /// The list's filters from the query string; an invalid value is reported, not ignored.
    func listQuery(_ request: Request) -> (query: AgreementQuery, form: [String: String], problems: [String]) {
        let parameters = request.uri.queryParameters
        var form: [String: String] = [:]
        for name: String in ["partner", "status", "target", "from", "to", "q", "before", "limit"] {
            if let value = parameters[Substring(name)].map(String.init)?.trimmingCharacters(in: .whitespaces), !value.isEmpty { form[name] = value }
        }
        var problems: [String] = []
        var query = AgreementQuery(limit: Self.pageSize)
        if let limit = form["limit"] {
            if let n = Int(limit), (1...200).contains(n) { query.limit = n } else { problems.append("limit: use a number from 1 to 200") }
        }
        query.partner = form["partner"]
        query.target = form["target"]
        query.search = form["q"]
        if let status = form["status"] {
            if let parsed = AgreementStatus(rawValue: status) { query.status = parsed } else {
                problems.append("status: unknown status '\(status)'")
            }
        }
        if let before = form["before"] {
            if let cursor = Int64(before) { query.before = cursor } else { problems.append("before: not a page cursor") }
        }
        if let from = form["from"] {
            if let day = Self.day(from) { query.receivedFrom = day } else { problems.append("from: use a date as YYYY-MM-DD") }
        }
        if let to = form["to"] {
            if let day = Self.day(to) { query.receivedBefore = day + 86_400_000 } else { problems.append("to: use a date as YYYY-MM-DD") }
        }
        return (query, form, problems)
    }

    /// Midnight UTC of a `YYYY-MM-DD` date, in milliseconds since the epoch.
    static func day(_ text: String) -> Int64? {
        let parts = text.split(separator: "-").map { Int($0) }
        guard parts.count == 3, let year = parts[0], let month = parts[1], let day = parts[2], (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        guard let date = calendar.date(from: DateComponents(year: year, month: month, day: day)) else { return nil }
        return Int64(date.timeIntervalSince1970 * 1000)
    }

    func orders(_ request: Request, _ session: DashboardSessions.Session) async throws -> Response {
        let (query, form, problems) = listQuery(request)
        let (rows, next) = problems.isEmpty ? try await orderRows(query) : ([], nil)
        let lists = lists
        return Self.html(DashboardPages.orders(session: session, rows: rows, form: form, problems: problems, next: next,
                                               partners: lists.partners, targets: lists.targets, names: lists.names, now: Self.now()),
                         status: problems.isEmpty ? .ok : .badRequest)
    }


    func order(_ request: Request, _ context: GatewayRequestContext, _ session: DashboardSessions.Session) async throws -> Response {
        guard let digest = context.digestParameter, let stored = try await store.agreement(digest: digest) else {
            return Self.html(DashboardPages.message(title: "No such order", text: "There is no agreement with that digest."), status: .notFound)
        }
        let receipts = try await store.receipts(digest: digest)
        let retried = request.uri.queryParameters["retried"].flatMap { Int(String($0)) }
        // The first checkpoint that covers each receipt (its ledger position is below the size).
        var checkpoints: [String: StoredCheckpoint] = [:]
        for receipt in receipts {
            guard let id = receipt["id"]?.stringValue, let seq = receipt["ledger"]?["seq"]?.exactInt else { continue }
            checkpoints[id] = try await store.checkpoint(atLeast: seq + 1)
        }
        return Self.html(DashboardPages.order(session: session, stored: stored, receipts: receipts, checkpoints: checkpoints, retried: retried,
                                              partnerName: lists.names[stored.summary.partner], now: Self.now(),
                                              archive: try await (store as? any RetentionStore)?.archiveRecord(digest: digest),
                                              chain: try await versionChain(of: stored.summary)))
    }

    /// One signed receipt of an order, as the JSON the ledger holds (to read, save or check with
    /// `causeway verify`).
    func receipt(_ context: GatewayRequestContext) async throws -> Response {
        let id = context.parameters.get("receipt").map { $0.removingPercentEncoding ?? $0 }
        guard let digest = context.digestParameter, let id,
            let receipt = try await store.receipts(digest: digest).first(where: { $0["id"]?.stringValue == id })
        else {
            return Self.html(DashboardPages.message(title: "No such receipt", text: "This order has no receipt with that id."), status: .notFound)
        }
        return Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store", .xContentTypeOptions: "nosniff"],
                        body: .init(byteBuffer: ByteBuffer(string: JSONWriter.string(.object(receipt), style: .pretty) + "\n")))
    }

    /// One receipt of an order as a bundle to download (the receipt, its inclusion proof and the
    /// latest checkpoint, as `GET /v1/receipts/{id}/bundle` serves it), for `causeway receipts verify`.
    func bundle(_ context: GatewayRequestContext) async throws -> Response {
        let id = context.parameters.get("receipt").map { $0.removingPercentEncoding ?? $0 }
        guard let digest = context.digestParameter, let id,
            let receipt = try await store.receipts(digest: digest).first(where: { $0["id"]?.stringValue == id }),
            let index = receipt["ledger"]?["seq"]?.exactInt
        else {
            return Self.html(DashboardPages.message(title: "No such receipt", text: "This order has no receipt with that id."), status: .notFound)
        }
        guard let latest = try await store.latestCheckpoint(), index < latest.size else {
            return Self.html(DashboardPages.message(title: "Awaiting checkpoint",
                                                    text: "No signed checkpoint covers this receipt yet; the gateway signs one within seconds. Reload to try again."),
                             status: .conflict, headers: [.retryAfter: "2"])
        }
        let proof = try await MerkleTree.inclusionProof(leaf: index, size: latest.size, from: store)
        let bundle = ReceiptBundle(receipt: receipt, index: index, inclusionProof: proof, checkpoint: latest.note)
        let name = id.hasPrefix("urn:uuid:") ? String(id.dropFirst(9)) : "\(index)"
        var headers: HTTPFields = [.contentType: "application/json", .cacheControl: "no-store", .xContentTypeOptions: "nosniff"]
        headers[.contentDisposition] = "attachment; filename=\"receipt-\(name.filter { $0.isLetter || $0.isNumber || $0 == "-" }).bundle.json\""
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: JSONWriter.string(bundle.json, style: .pretty) + "\n")))
    }

    func retry(_ request: Request, _ context: GatewayRequestContext) async throws -> Response {
        guard let (sessionID, session) = session(request) else { return Self.redirect("/login") }
        guard Self.sameOrigin(request) else { return Self.forbidden("The retry must be sent from this gateway's own page.") }
        let fields = try await Self.form(request)
        guard DashboardSessions.constantTimeEqual(fields["csrf"] ?? "", session.csrf) else {
            return Self.forbidden("The form's security token is missing or stale; reload the page and try again.")
        }
        let audit = AuditRecorder(store: store)
        guard session.role == .operator else {
            await audit.record(action: AuditEntry.Action.retry, actor: session.name, channel: "dashboard", target: context.digestParameter?.description,
                               remote: context.clientAddress, session: AuditRecorder.sessionTag(sessionID), outcome: .denied, detail: "viewer role")
            return Self.forbidden("Retrying an order needs the operator role; you are signed in as a viewer.")
        }
        guard let digest = context.digestParameter, try await store.agreement(digest: digest) != nil else {
            return Self.html(DashboardPages.message(title: "No such order", text: "There is no agreement with that digest."), status: .notFound)
        }
        let requeued = try await store.retry(digest: digest, now: Self.now())
        await audit.record(action: AuditEntry.Action.retry, actor: session.name, channel: "dashboard", target: digest.description,
                           remote: context.clientAddress, session: AuditRecorder.sessionTag(sessionID), outcome: .success,
                           detail: "\(requeued) action\(requeued == 1 ? "" : "s") re-queued")
        if requeued > 0 { newWork.ring() }
        return Self.redirect("\(HTML.orderPath(digest))?retried=\(requeued)")
    }

    // MARK: Live updates

    /// What a page shows changes when this text changes: the status counts and ledger head for
    /// the list and overview, the agreement's entries, attempts and receipts and its chain's versions
    /// and their statuses for a detail page.
    func fingerprint(digest: ContentDigest?) async throws -> String {
        if let digest {
            guard let stored = try await store.agreement(digest: digest) else { return "none" }
            let entries = stored.entries.map { "\($0.state.rawValue)/\($0.attempts)" }.joined(separator: ",")
            let receipts = try await store.receipts(digest: digest).count
            let checkpointed = try await store.latestCheckpoint()?.size ?? 0
            let chain = try await chainFingerprint(stored.summary)
            return "\(stored.summary.status.rawValue)|\(entries)|\(stored.attempts.count)|\(receipts)|\(checkpointed)|\(chain)"
        }
        let counts = try await store.statusCounts().sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key.rawValue)=\($0.value)" }
        let head = try await store.ledgerHead()?.sequence ?? -1
        let checkpointed = try await store.latestCheckpoint()?.size ?? 0
        return counts.joined(separator: ",") + "|\(head)|\(checkpointed)|\(cosignatures?.all.map { "\($0.size)" }.joined(separator: ",") ?? "")"
    }

    /// Server-sent events: a `change` event on connecting (the page may be a moment old) and
    /// whenever the fingerprint changes (checked every second), a comment every few seconds to notice a closed connection. Each stream ends after
    /// a minute or when the gateway shuts down; the browser's EventSource reconnects by itself.
    func events(_ request: Request) async throws -> Response {
        guard let (id, _) = session(request) else { return Response(status: .unauthorized) }
        let digest = request.uri.queryParameters["digest"].flatMap { ContentDigest(String($0)) }
        // Each stream polls the store once a second: a session may hold only a few.
        guard streams.open(id, limit: streamsPerSession) else {
            return Response(status: .tooManyRequests, headers: [.retryAfter: "10", .cacheControl: "no-store"])
        }
        let streams = streams
        let body = ResponseBody { writer in
            defer { streams.close(id) }
            var last = (try? await self.fingerprint(digest: digest)) ?? ""
            // A change at once: the page may have been rendered just before something moved.
            try await writer.write(ByteBuffer(string: "retry: 2000\nevent: change\ndata: 0\n\n"))
            for tick in 1...60 {
                try await Task.sleep(for: .seconds(1))
                // A stopping gateway ends its streams, so that shutdown need not wait for them.
                if Task.isShuttingDownGracefully || Task.isCancelled { break }
                let current = (try? await self.fingerprint(digest: digest)) ?? last
                if current != last {
                    last = current
                    try await writer.write(ByteBuffer(string: "event: change\ndata: \(tick)\n\n"))
                } else if tick % 3 == 0 {
                    try await writer.write(ByteBuffer(string: ": ping\n\n"))
                }
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-store"], body: body)
    }
}

/// Open live-update streams per dashboard session.
final class StreamCounter: Sendable {
    private let open = Mutex<[String: Int]>([:])

    /// Counts one more stream for `session`, or refuses at `limit`.
    func open(_ session: String, limit: Int) -> Bool {
        open.withLock { counts in
            guard counts[session, default: 0] < max(limit, 1) else { return false }
            counts[session, default: 0] += 1
            return true
        }
    }

    func close(_ session: String) {
        open.withLock { counts in
            counts[session, default: 1] -= 1
            if counts[session] == 0 { counts[session] = nil }
        }
    }
}
