import CausewayCore
import CausewayTesting
import Foundation
import Testing

/// The operator dashboard of a real `causeway serve`: over plain HTTP (sessions, CSRF, origin,
/// roles) and in headless Chromium, asserting on what a person sees.
@Suite("causeway serve: the operator dashboard", .serialized)
struct DashboardTests {
    static let fixtures = TestPaths.repository.appendingPathComponent("Mappings/stahlteile/fixtures/agreements")

    /// A gateway whose only target's tables do not exist yet, with one attempt per action: the
    /// first agreement submitted is dead-lettered at once. `createTables()` then lets the rest through.
    /// `store`: `sqlite`, or `postgres` for a fresh database on the test cluster.
    /// `extra`: more configuration (YAML at the top level).
    static func gateway(store: String = "sqlite", extra: String? = nil) throws -> RunningGateway {
        var url: String?
        if store == "postgres" {
            guard let admin = ProcessInfo.processInfo.environment["CAUSEWAY_TEST_POSTGRES"] else {
                throw MissingTestInput(path: "CAUSEWAY_TEST_POSTGRES", hint: "needs the cluster that scripts/test starts")
            }
            let name = "causeway_dashboard_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
            let created = try CommandRunner.run("/usr/bin/psql", [admin, "-v", "ON_ERROR_STOP=1", "-c", "CREATE DATABASE \(name)"])
            guard created.status == 0 else { throw MissingTestInput(path: "psql", hint: created.description) }
            url = admin.replacingOccurrences(of: "/postgres", with: "/\(name)")
        }
        return try RunningGateway(store: url, targets: "  erp-staging: {adapter: sqlite, path: erp.sqlite}", delivery: "  max_attempts: 1", extra: extra)
    }

    static func createTables(_ gateway: RunningGateway) throws {
        let schema = try String(contentsOf: TestPaths.repository.appendingPathComponent("Deploy/examples/erp-staging.sqlite.sql"), encoding: .utf8)
        let created = try CommandRunner.run("/usr/bin/sqlite3", [gateway.directory.appendingPathComponent("erp.sqlite").path], stdin: schema)
        guard created.status == 0 else { throw MissingTestInput(path: "sqlite3", hint: created.description) }
    }

    /// Submits a fixture and waits until its status is `status` (and, when delivered, it has a receipt).
    static func submit(_ name: String, to gateway: RunningGateway, until status: String) async throws -> String {
        let bytes = Array(try Data(contentsOf: fixtures.appendingPathComponent("\(name).json")))
        let (code, body) = try await gateway.request("POST", "/v1/agreements", body: bytes)
        guard code == 202, let digest = body?["digest"]?.stringValue else {
            throw MissingTestInput(path: name, hint: "not accepted: \(code) \(String(describing: body))")
        }
        for _ in 0..<150 {
            let (_, shown) = try await gateway.request("GET", "/v1/agreements/\(digest)", token: gateway.viewerToken)
            if shown?["status"]?.stringValue == status, status != "delivered" || !(shown?["receipts"]?.arrayValue ?? []).isEmpty { return digest }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw MissingTestInput(path: name, hint: "never reached \(status):\n\(gateway.log)")
    }

    /// One HTTP exchange through curl (which, unlike URLSession, does not follow redirects).
    struct Exchange {
        let status: Int
        let headers: [String: String]
        let body: String
    }

    static func curl(_ gateway: RunningGateway, _ method: String, _ path: String, cookie: String? = nil, origin: String? = "self",
                     form: [String: String]? = nil, headers extra: [String] = [], maxTime: Int = 20) throws -> Exchange {
        var arguments = ["-s", "-i", "-X", method, "--max-time", String(maxTime), "http://127.0.0.1:\(gateway.port)\(path)"]
        for header in extra { arguments += ["-H", header] }
        if let cookie { arguments += ["-H", "Cookie: causeway_session=\(cookie)"] }
        if let origin { arguments += ["-H", "Origin: \(origin == "self" ? "http://127.0.0.1:\(gateway.port)" : origin)"] }
        if let form {
            for (key, value) in form.sorted(by: { $0.key < $1.key }) { arguments += ["--data-urlencode", "\(key)=\(value)"] }
        }
        let result = try CommandRunner.run("/usr/bin/curl", arguments)
        let text = result.stdout
        let split = text.range(of: "\r\n\r\n")
        let head = split.map { String(text[..<$0.lowerBound]) } ?? text
        let body = split.map { String(text[$0.upperBound...]) } ?? ""
        var lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.isEmpty ? "" : lines.removeFirst()
        let status = Int(statusLine.split(separator: " ").dropFirst().first ?? "") ?? 0
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return Exchange(status: status, headers: headers, body: body)
    }

    /// Signs in through the form; returns the session cookie's value and the page's CSRF token.
    static func signIn(_ gateway: RunningGateway, token: String) throws -> (cookie: String, csrf: String) {
        let response = try curl(gateway, "POST", "/login", form: ["token": token, "next": "/orders"])
        guard response.status == 303, let setCookie = response.headers["set-cookie"],
            let value = setCookie.split(separator: ";").first?.split(separator: "=", maxSplits: 1).last
        else { throw MissingTestInput(path: "/login", hint: "no session: \(response.status) \(response.headers)") }
        let page = try curl(gateway, "GET", "/orders", cookie: String(value))
        guard let match = page.body.firstMatch(of: /name="csrf" value="([0-9a-f]+)"/) else {
            throw MissingTestInput(path: "/orders", hint: "no CSRF token in the page")
        }
        return (String(value), String(match.1))
    }

    @Test("over HTTP: sign-in sets a session cookie (not the token); CSRF, origin and role are checked on every POST; paging; sign-out")
    func sessionsAndChecks() async throws {
        let gateway = try Self.gateway()
        defer { _ = gateway.stop() }
        try await gateway.waitUntilReady()
        // Before anything arrived: each chart says in words that it has nothing to show, and draws no bars.
        let early = try Self.signIn(gateway, token: gateway.viewerToken)
        let empty = try Self.curl(gateway, "GET", "/", cookie: early.cookie).body
        for words in ["No deliveries in the last 24 hours.", "No failed attempts in the last 24 hours.", "Nothing committed in the last 24 hours.",
                      "No attempts in the last 24 hours."] {
            #expect(empty.contains("<p class=\"nodata\">\(words)</p>"), "\(words)")
        }
        #expect(!empty.contains("<rect "))
        let dead = try await Self.submit("one-line", to: gateway, until: "dead_letter")
        try Self.createTables(gateway)
        _ = try await Self.submit("multi-line", to: gateway, until: "delivered")
        _ = try await Self.submit("kilograms", to: gateway, until: "delivered")

        // Without a session: pages redirect to the sign-in form, the event stream refuses.
        var response = try Self.curl(gateway, "GET", "/orders?status=delivered")
        #expect(response.status == 303)
        #expect(response.headers["location"] == "/login?next=%2Forders%3Fstatus%3Ddelivered")
        #expect(try Self.curl(gateway, "GET", "/").headers["location"]?.hasPrefix("/login") == true)
        #expect(try Self.curl(gateway, "GET", "/events").status == 401)
        #expect(try Self.curl(gateway, "GET", "/login").body.contains("<label for=\"token\">API token</label>"))

        // Sign-in: from another origin or none, refused; a wrong token, refused; no cookie either way.
        for origin in [nil, "http://evil.example", "null"] as [String?] {
            response = try Self.curl(gateway, "POST", "/login", origin: origin, form: ["token": gateway.viewerToken])
            #expect(response.status == 403, "origin \(String(describing: origin))")
            #expect(response.headers["set-cookie"] == nil)
        }
        response = try Self.curl(gateway, "POST", "/login", form: ["token": "wrong"])
        #expect(response.status == 401)
        #expect(response.headers["set-cookie"] == nil)
        #expect(response.body.contains("That token is not valid."))
        // Behind a TLS-terminating proxy, the origin is the public host the proxy forwards.
        response = try Self.curl(gateway, "POST", "/login", origin: "https://causeway.example", form: ["token": gateway.viewerToken],
                                 headers: ["X-Forwarded-Host: causeway.example"])
        #expect(response.status == 303)
        response = try Self.curl(gateway, "POST", "/login", origin: "https://causeway.example", form: ["token": gateway.viewerToken],
                                 headers: ["X-Forwarded-Host: other.example"])
        #expect(response.status == 403)
        // An offsite `next` is not followed.
        response = try Self.curl(gateway, "POST", "/login", form: ["token": gateway.viewerToken, "next": "//evil.example/"])
        #expect(response.headers["location"] == "/")
        let cookie = try #require(response.headers["set-cookie"])
        for attribute in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] { #expect(cookie.contains(attribute), "\(cookie)") }
        #expect(!cookie.contains(gateway.viewerToken))
        #expect(cookie.firstMatch(of: /^causeway_session=[0-9a-f]{64};/) != nil)

        // A viewer reads; the page carries security headers and never the token; the viewer cannot retry.
        let viewer = try Self.signIn(gateway, token: gateway.viewerToken)
        response = try Self.curl(gateway, "GET", "/orders", cookie: viewer.cookie)
        #expect(response.status == 200)
        #expect(response.headers["content-security-policy"]?.contains("script-src 'self'") == true)
        #expect(response.headers["cache-control"] == "no-store")
        #expect(response.body.contains("Signed in as viewer (viewer)"))
        #expect(!response.body.contains(gateway.viewerToken) && !response.body.contains(gateway.token))
        response = try Self.curl(gateway, "POST", "/orders/\(dead)/retry", cookie: viewer.cookie, form: ["csrf": viewer.csrf])
        #expect(response.status == 403)
        #expect(response.body.contains("needs the operator role"))

        // An operator's retry needs the session's CSRF token and this origin.
        let operatorSession = try Self.signIn(gateway, token: gateway.token)
        #expect(operatorSession.csrf != viewer.csrf)
        for (csrf, origin) in [(nil, "self"), (viewer.csrf, "self"), (operatorSession.csrf, "http://evil.example"), (operatorSession.csrf, nil)]
            as [(String?, String?)]
        {
            response = try Self.curl(gateway, "POST", "/orders/\(dead)/retry", cookie: operatorSession.cookie, origin: origin,
                                     form: csrf.map { ["csrf": $0] } ?? [:])
            #expect(response.status == 403, "csrf \(String(describing: csrf)) origin \(String(describing: origin))")
        }
        var (_, shown) = try await gateway.request("GET", "/v1/agreements/\(dead)", token: gateway.viewerToken)
        #expect(shown?["status"]?.stringValue == "dead_letter")
        #expect(shown?["attempts"]?.arrayValue?.count == 1)
        response = try Self.curl(gateway, "POST", "/orders/\(dead)/retry", cookie: operatorSession.cookie, form: ["csrf": operatorSession.csrf])
        #expect(response.status == 303)
        #expect(response.headers["location"] == "/orders/\(dead)?retried=1")
        var delivered = false
        for _ in 0..<100 where !delivered {
            (_, shown) = try await gateway.request("GET", "/v1/agreements/\(dead)", token: gateway.viewerToken)
            delivered = shown?["status"]?.stringValue == "delivered"
            if !delivered { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(delivered, "\(gateway.log)")

        // The list: a bad filter is reported by name; paging by cursor walks all three, newest first.
        response = try Self.curl(gateway, "GET", "/orders?status=bogus&from=yesterday", cookie: viewer.cookie)
        #expect(response.status == 400)
        #expect(response.body.contains("status: unknown status &#39;bogus&#39;"))
        #expect(response.body.contains("from: use a date as YYYY-MM-DD"))
        var ids: [String] = []
        var page = "/orders?limit=1"
        for _ in 0..<5 {
            response = try Self.curl(gateway, "GET", page, cookie: viewer.cookie)
            ids += response.body.matches(of: /<a href="\/orders\/sha256:[0-9a-f]{64}"[^>]*>([^<]+)<\/a>/).map { String($0.1) }
            guard let older = response.body.firstMatch(of: /href="(\/orders\?[^"]*before=[0-9]+)"/) else { break }
            page = String(older.1).replacingOccurrences(of: "&amp;", with: "&")
        }
        #expect(ids == ["urn:uuid:7de9295c-4b7a-4c1e-9a51-000000000004", "urn:uuid:d44ec48e-4b7a-4c1e-9a51-000000000002",
                        "urn:uuid:009c1643-4b7a-4c1e-9a51-000000000001"])
        let today = Date().formatted(.iso8601.year().month().day())
        response = try Self.curl(gateway, "GET", "/orders?from=\(today)&to=\(today)&target=erp-staging&partner=stahlteile", cookie: viewer.cookie)
        #expect(response.body.matches(of: /<a href="\/orders\/sha256:/).count == 3)
        response = try Self.curl(gateway, "GET", "/orders?to=2020-01-01", cookie: viewer.cookie)
        #expect(response.body.contains("No orders match."))
        // The ERP reference as the list shows it finds its order (the first delivered was multi-line's, row 1); a part of it does not.
        response = try Self.curl(gateway, "GET", "/orders?q=sqlite%3Aerp_purchase_order%3A1", cookie: viewer.cookie)
        #expect(response.body.matches(of: /<a href="\/orders\/sha256:[0-9a-f]{64}"[^>]*>([^<]+)<\/a>/).map { String($0.1) }
                == ["urn:uuid:d44ec48e-4b7a-4c1e-9a51-000000000002"])
        #expect(try Self.curl(gateway, "GET", "/orders?q=erp_purchase_order%3A1", cookie: viewer.cookie).body.contains("No orders match."))

        // The icon is served without a session; an order's receipts only with one, and an unknown receipt is a 404.
        response = try Self.curl(gateway, "GET", "/favicon.ico")
        #expect(response.status == 200 && response.headers["content-type"] == "image/x-icon")
        #expect(try Self.curl(gateway, "GET", "/favicon.svg").body.hasPrefix("<svg"))
        #expect(try Self.curl(gateway, "GET", "/orders/\(dead)/receipts/urn:uuid:nope").status == 303)
        #expect(try Self.curl(gateway, "GET", "/orders/\(dead)/receipts/urn:uuid:nope", cookie: viewer.cookie).status == 404)

        // What the pages echo back (next, search, a bad status) is escaped, never markup.
        let hostile = "\"><script>alert(1)</script>"
        let encoded = hostile.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        for (path, cookie) in [("/login?next=/\(encoded)", nil), ("/orders?q=\(encoded)", viewer.cookie), ("/orders?status=\(encoded)", viewer.cookie)]
            as [(String, String?)]
        {
            response = try Self.curl(gateway, "GET", path, cookie: cookie)
            #expect(!response.body.contains("<script>alert"), "\(path)")
            #expect(response.body.contains("&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"), "\(path)")
        }

        // The event stream opens with a change and keeps the connection alive.
        response = try Self.curl(gateway, "GET", "/events?digest=\(dead)", cookie: viewer.cookie, maxTime: 4)
        #expect(response.headers["content-type"] == "text/event-stream")
        #expect(response.body.hasPrefix("retry: 2000\nevent: change\n"))
        #expect(response.body.contains(": ping"))

        // Sign-out needs the CSRF token; then the session is gone.
        #expect(try Self.curl(gateway, "POST", "/logout", cookie: viewer.cookie, form: [:]).status == 403)
        response = try Self.curl(gateway, "POST", "/logout", cookie: viewer.cookie, form: ["csrf": viewer.csrf])
        #expect(response.status == 303)
        #expect(response.headers["set-cookie"]?.contains("Max-Age=0") == true)
        #expect(try Self.curl(gateway, "GET", "/orders", cookie: viewer.cookie).status == 303)
        #expect(try Self.curl(gateway, "GET", "/orders", cookie: operatorSession.cookie).status == 200)

        // A stopping gateway ends an open event stream rather than waiting a minute for it.
        let stream = Process()
        stream.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        stream.arguments = ["-s", "-N", "--max-time", "90", "-H", "Cookie: causeway_session=\(operatorSession.cookie)",
                            "http://127.0.0.1:\(gateway.port)/events"]
        stream.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        try stream.run()
        defer { if stream.isRunning { kill(stream.processIdentifier, SIGKILL) } }
        try await Task.sleep(for: .milliseconds(1500))
        let stopping = Date()
        _ = gateway.stop()
        #expect(Date().timeIntervalSince(stopping) < 15)
    }

    @Test("in Chromium: sign in, list, filter, search, live row, detail with signers and receipts, operator retry, viewer cannot, sign out; every page whole at desktop and phone width",
          arguments: ["sqlite", "postgres"])
    func inTheBrowser(store: String) async throws {
        guard let python = TestPaths.python else {
            throw MissingTestInput(path: "CAUSEWAY_PYTHON", hint: "scripts/test sets up a venv with selenium")
        }
        for program in ["/usr/bin/chromium", "/usr/bin/chromedriver"] where !FileManager.default.fileExists(atPath: program) {
            throw MissingTestInput(path: program, hint: "apt-get install -y chromium chromium-driver (scripts/test does)")
        }
        // Reconciliation every 2 s, so that its page has a report to show.
        let gateway = try Self.gateway(store: store, extra: "reconcile:\n  every_seconds: 2")
        defer { _ = gateway.stop() }
        try await gateway.waitUntilReady()
        let dead = try await Self.submit("one-line", to: gateway, until: "dead_letter")
        try Self.createTables(gateway)
        _ = try await Self.submit("multi-line", to: gateway, until: "delivered")
        _ = try await Self.submit("delegated-agent", to: gateway, until: "delivered")

        let shots = TestPaths.repository.appendingPathComponent("test-artifacts/dashboard/\(store)")
        try? FileManager.default.removeItem(at: shots)  // only this run's screenshots
        let script = TestPaths.repository.appendingPathComponent("Tests/CausewayCLITests/Support/dashboard_browser.py").path
        let run = try CommandRunner.run(python, [
            script, "--base", "http://127.0.0.1:\(gateway.port)", "--operator", gateway.token, "--viewer", gateway.viewerToken,
            "--dead", dead, "--delivered-id", "urn:uuid:2ae559ff-4b7a-4c1e-9a51-000000000006",
            "--live-document", Self.fixtures.appendingPathComponent("kilograms.json").path,
            "--live-id", "urn:uuid:7de9295c-4b7a-4c1e-9a51-000000000004", "--shots", shots.path,
        ], environment: ["SE_AVOID_STATS": "true"])
        guard let seen = try? JSONReader(limits: .init(maxBytes: 8 << 20, maxDepth: 64)).read(run.stdout) else {
            Issue.record("the browser script printed no observations: \(run.description)")
            return
        }
        #expect(seen["error"] == nil, "\(seen["error"]?.stringValue ?? "")\n\(seen["error_page"]?.stringValue ?? "")")
        func texts(_ key: String) -> [[String]] { (seen[key]?.arrayValue ?? []).map { ($0.arrayValue ?? []).map { $0.stringValue ?? "" } } }
        func text(_ key: String) -> String? { seen[key]?.stringValue }

        // Signing in.
        #expect(text("unauthenticated_path") == "/login?next=%2Forders")
        #expect(text("bad_token_error") == "That token is not valid.")
        #expect(text("viewer_path") == "/orders")
        #expect(text("viewer_signed_in") == "Signed in as viewer (viewer)")
        let cookies = seen["cookies"]?.arrayValue ?? []
        #expect(cookies.count == 1)
        #expect(cookies.first?["httpOnly"]?.boolValue == true && cookies.first?["secure"]?.boolValue == true)
        #expect(cookies.first?["sameSite"]?.stringValue == "Strict")
        #expect(cookies.first?["value"]?.stringValue != gateway.viewerToken)

        // The list as the viewer sees it: the three orders, newest first, with the partner's display name, total,
        // status, target, ERP reference, delivery date and the time received (the dashboard's one time format).
        let viewerRows = texts("viewer_rows")
        #expect(viewerRows.map { $0.first ?? "" } == ["urn:uuid:2ae559ff-4b7a-4c1e-9a51-000000000006", "urn:uuid:d44ec48e-4b7a-4c1e-9a51-000000000002",
                                                     "urn:uuid:009c1643-4b7a-4c1e-9a51-000000000001"])
        #expect(viewerRows.map { $0.count > 3 ? $0[3] : "" } == ["delivered", "delivered", "dead letter"])
        #expect(viewerRows.first?[1] == "Stahlteile GmbH")
        #expect(viewerRows.last?[2] == "1570.00 EUR")
        #expect(viewerRows.first?[4] == "erp-staging")
        #expect(viewerRows.first?[5].hasPrefix("sqlite:erp_purchase_order:") == true)
        #expect(viewerRows.first?[6] == "2026-12-16")
        #expect(viewerRows.allSatisfy { $0.count == 8 && $0[7].wholeMatch(of: /\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/) != nil }, "\(viewerRows)")

        // The viewer cannot retry: no button, and a forged POST is refused. Sign-out closes the pages.
        #expect(seen["viewer_retry_buttons"]?.numberValue == 0)
        #expect(text("viewer_retry_denied") == "Retrying needs the operator role.")
        #expect(seen["viewer_forced_retry_status"]?.numberValue == 403)
        #expect(text("after_sign_out_path") == "/login")
        #expect(text("after_sign_out_orders_path") == "/login?next=%2Forders")

        // The operator's overview: the dead-letter count and the charts.
        #expect(text("operator_path") == "/")
        #expect(text("operator_signed_in") == "Signed in as ops (operator)")
        #expect(text("dead_letter_count") == "1")
        #expect(text("delivered_count") == "2")
        let captions = seen["chart_titles"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(captions.map { $0.split(separator: "\n").first.map(String.init) ?? "" } ==
                ["Deliveries committed", "Failed attempts", "Mean latency, intake to commit", "Stahlteile GmbH", "erp-staging"])
        #expect(texts("partner_table").first?.prefix(3) == ["Stahlteile GmbH\nstahlteile", "2", "1"])
        #expect(texts("target_table").first?.prefix(3) == ["erp-staging", "2", "1"])
        // Charts are readable: every axis label at 11 px or more, each chart names its unit and interval,
        // each bar tells its interval and value on hover, and the chart without data says so.
        let labelSizes = seen["chart_label_px"]?.arrayValue?.compactMap(\.numberValue) ?? []
        #expect(!labelSizes.isEmpty && labelSizes.allSatisfy { $0 >= 11 }, "\(labelSizes)")
        let units = seen["chart_units"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(units.count == 5 && units.allSatisfy { $0.contains("per hour") && $0.contains("UTC") }, "\(units)")
        #expect(units.first == "deliveries per hour, times in UTC")
        let hovers = seen["chart_hovers"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(!hovers.isEmpty && hovers.allSatisfy { $0.contains(" UTC + hour: committed ") && $0.hasSuffix(" deliveries") }, "\(hovers)")
        #expect(hovers.compactMap { Int($0.split(separator: " ").dropLast().last ?? "") }.reduce(0, +) == 2, "\(hovers)")
        #expect(seen["chart_empty"]?.arrayValue?.compactMap(\.stringValue).isEmpty == true, "the test data has deliveries and failures")
        for key in ["login_unlabelled", "overview_unlabelled", "orders_unlabelled"] { #expect(seen[key]?.numberValue == 0, "\(key)") }

        // Filtering and search.
        #expect(texts("filtered_dead_rows").map { $0.first ?? "" } == ["urn:uuid:009c1643-4b7a-4c1e-9a51-000000000001"])
        #expect(texts("search_rows").map { $0.first ?? "" } == ["urn:uuid:2ae559ff-4b7a-4c1e-9a51-000000000006"])
        // The ERP reference exactly as the list shows it finds its order.
        #expect(text("listed_reference")?.hasPrefix("sqlite:erp_purchase_order:") == true)
        #expect(texts("reference_search_rows").map { $0.first ?? "" } == ["urn:uuid:2ae559ff-4b7a-4c1e-9a51-000000000006"])

        // Live: the new order appeared in the open list, delivered, without a reload.
        #expect(seen["live_submit_status"]?.numberValue == 202)
        #expect(seen["live_row"]?.arrayValue?.first?.stringValue == "urn:uuid:7de9295c-4b7a-4c1e-9a51-000000000004")
        #expect(seen["live_same_page"]?.boolValue == true)

        // The delegated order's detail: parties, who signed which role (the buyer through its agent), actions, receipts.
        #expect(text("detail_title") == "Order urn:uuid:2ae559ff-4b7a-4c1e-9a51-000000000006")
        #expect(text("detail_status") == "delivered")
        #expect(texts("detail_parties").map { $0.prefix(2) } == [["buyer", "Konepaja Oy"], ["seller", "Stahlteile GmbH"]])
        let signers = texts("detail_signers")
        #expect(Set(signers.map { $0.first ?? "" }) == ["buyer", "seller"])
        #expect(signers.contains { $0.count == 4 && $0[3].hasPrefix("agent did:key:") && $0[3].contains("for issuer did:key:") })
        #expect(signers.contains { $0.count == 4 && $0[3] == "direct" })
        #expect(signers.allSatisfy { $0.count == 4 && $0[2].hasPrefix("did:key:") && $0[2].contains("#") })
        let actions = texts("detail_actions")
        #expect(actions.count == 1)
        #expect(actions.first?[2] == "erp-staging" && actions.first?[3] == "delivered")
        let receipts = texts("detail_receipts")
        #expect(receipts.count == 1)
        #expect(receipts.first?[0] == actions.first?[7])
        #expect(receipts.first?[2] == actions.first?[6])
        #expect(text("detail_mapping")?.contains("stahlteile-po") == true)
        // Provenance in words (who signed, which mapping, which target, what was written, the receipt), the record behind a toggle.
        let story = seen["detail_story"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(story.count == 1)
        for words in ["Signed by the buyer Konepaja Oy (key did:key:", "and the seller Stahlteile GmbH through its agent did:key:",
                      "(delegation urn:uuid:b473797d-", "signatures verified on receipt.", "Mapped by stahlteile-po version 1.0.0 as action 0, purchase-order (1 action in all).",
                      "Written to erp-staging through the sqlite adapter (rows): record sqlite:erp_purchase_order:", ", committed 20",
                      "Receipt urn:uuid:", "ledger position ", "signed receipt (JSON)"] {
            #expect(story.first?.contains(words) == true, "\(words): \(story)")
        }
        #expect(seen["detail_provenance"]?.arrayValue?.contains { $0.stringValue?.hasPrefix("Provenance record of action 0") == true } == true)
        // One time format on the whole page, and the receipt link gives the signed receipt.
        let times = seen["detail_times"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(times.count >= 4 && times.allSatisfy { $0.wholeMatch(of: /\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/) != nil }, "\(times)")
        #expect(seen["receipt_json"]?["id"]?.stringValue == receipts.first?[0])
        #expect(seen["receipt_json"]?["type"]?.stringValue == "DeliveryReceipt")
        #expect(seen["receipt_json"]?["proof"] != nil)
        #expect(texts("detail_attempts").first?[4] == "delivered")

        // The operator retries the dead-lettered order; the page follows it to delivered with a receipt.
        #expect(text("dead_status_before") == "dead letter")
        #expect(texts("dead_attempts_before").first?[5] == "the table erp_purchase_order does not exist")
        #expect(text("retry_result") == "Retry requested: 1 action re-queued.")
        #expect(text("dead_status_after") == "delivered")
        #expect(texts("dead_attempts_after").count >= 2)
        #expect(texts("dead_receipts_after").count == 1)
        let (_, shown) = try await gateway.request("GET", "/v1/agreements/\(dead)", token: gateway.viewerToken)
        #expect(shown?["status"]?.stringValue == "delivered")

        #expect(text("reconcile_title") == "Reconciliation")
        #expect(text("reconcile_state")?.contains("in the reconciliation of 20") == true, "\(text("reconcile_state") ?? "")")
        #expect(text("message_title") == "No such order")
        // The icon, served by the gateway itself (a 16×16 ICO).
        #expect(seen["favicon"]?.arrayValue?.map { $0.numberValue.map { String(Int($0)) } ?? $0.stringValue ?? "" } == ["200", "image/x-icon", "1150"])

        // Every page whole, at a desktop's and a phone's width: not absurdly tall, no sideways scrolling of the page
        // (wide tables scroll inside their own box), no table cell squeezed to a sliver, and a screenshot of it.
        // (The order page was once 5,473 px tall at 1280 px: its key and leaf columns were one letter wide.)
        let tallest: [String: Double] = ["desktop": 4_000, "phone": 9_000]
        for page in ["login", "overview", "orders", "order", "order-retried", "reconcile", "message"] {
            for (width, limit) in tallest {
                let name = "\(page)-\(width)"
                let layout = seen["layout"]?[name]
                let height = layout?["height"]?.numberValue ?? .infinity
                #expect(height < limit, "\(name): \(height) px tall")
                let scrollWidth = layout?["scrollWidth"]?.numberValue ?? .infinity, clientWidth = layout?["clientWidth"]?.numberValue ?? 0
                #expect(scrollWidth <= clientWidth, "\(name): the page scrolls sideways (\(scrollWidth) > \(clientWidth))")
                let expected: ClosedRange<Double> = width == "desktop" ? 1_200...1_280 : 300...390
                #expect(expected.contains(clientWidth), "\(name): laid out at \(clientWidth) px")
                #expect(layout?["squeezed"]?.arrayValue?.isEmpty == true, "\(name): cells narrower than 32 px: \(layout?["squeezed"].map { "\($0)" } ?? "?")")
                #expect(layout?["outside"]?.arrayValue?.isEmpty == true, "\(name): past the right edge: \(layout?["outside"].map { "\($0)" } ?? "?")")
                if width == "desktop" {  // at a desktop's width the test data's tables fit without scrolling
                    #expect(layout?["scrolled"]?.arrayValue?.isEmpty == true, "\(name): tables scroll: \(layout?["scrolled"].map { "\($0)" } ?? "?")")
                }
                #expect(FileManager.default.fileExists(atPath: shots.appendingPathComponent("\(name).png").path), "\(name).png")
            }
        }
    }
}
