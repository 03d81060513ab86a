import CausewayCore
import CausewayTesting
import Foundation
import Testing

/// A real `causeway serve` whose standard error is a file: its structured log (JSON lines, the
/// default off a terminal), the request log, the delivery log, and the audit log of operator
/// actions through `GET /v1/audit`, `causeway audit export` and the dashboard.
@Suite("causeway serve: structured logs, the request log and the audit log", .serialized)
struct AuditLogTests {
    /// The dashboard tests' gateway, whose target has no tables yet (the first agreement is
    /// dead-lettered): `/readyz` is kept from counting that target, so that the gateway is ready.
    static func gateway(store: String = "sqlite", extra: String = "") throws -> RunningGateway {
        try DashboardTests.gateway(store: store, extra: "readiness:\n  targets: false\n" + extra)
    }

    static let fixtures = TestPaths.repository.appendingPathComponent("Mappings/stahlteile/fixtures/agreements")

    /// Every line of the gateway's standard error, each parsed as JSON (a line that is not JSON is recorded as an issue).
    static func lines(_ gateway: RunningGateway) -> [JSONValue] {
        gateway.log.split(separator: "\n").compactMap { line in
            guard let object = try? JSONReader().read(Array(line.utf8)), object.objectValue != nil else {
                Issue.record("not a JSON line: \(line)")
                return nil
            }
            return object
        }
    }

    static func curl(_ gateway: RunningGateway, _ arguments: [String]) throws -> (status: Int, body: String) {
        let result = try CommandRunner.run("/usr/bin/curl", ["-s", "-o", "/dev/stderr", "-w", "%{http_code}", "--max-time", "20"] + arguments)
        return (Int(result.stdout) ?? 0, result.stderr)
    }

    @Test("the request log: one JSON line per request with method, path, status, duration, partner, digest, address, request id and caller; never a token, the query or the body")
    func requestLog() async throws {
        let gateway = try Self.gateway()
        defer { _ = gateway.stop() }
        try await gateway.waitUntilReady()
        let base = "http://127.0.0.1:\(gateway.port)"
        let document = Array(try Data(contentsOf: Self.fixtures.appendingPathComponent("one-line.json")))
        let (code, answer) = try await gateway.request("POST", "/v1/agreements", body: document)
        let digest = try #require(answer?["digest"]?.stringValue, "\(code)")
        let badToken = "not-a-configured-token-0123456789abcdefXYZ"
        #expect(try Self.curl(gateway, ["-H", "Authorization: Bearer \(gateway.token)", "\(base)/v1/agreements?limit=5&access_token=\(gateway.token)"]).status == 200)
        #expect(try Self.curl(gateway, ["-H", "Authorization: Bearer \(gateway.viewerToken)", "\(base)/v1/agreements/\(digest)"]).status == 200)
        #expect(try Self.curl(gateway, ["-H", "Authorization: Bearer \(badToken)", "\(base)/v1/agreements"]).status == 401)
        #expect(try Self.curl(gateway, ["\(base)/no/such/path?password=hunter2hunter2"]).status == 404)

        let requests = Self.lines(gateway).filter { $0["msg"]?.stringValue == "request" }
        func line(_ method: String, _ path: String, _ status: String) -> JSONValue? {
            requests.first { $0["http.method"]?.stringValue == method && $0["http.path"]?.stringValue == path && $0["http.status"]?.stringValue == status }
        }
        let intake = try #require(line("POST", "/v1/agreements", "202"), "\(requests)")
        #expect(intake["partner"]?.stringValue == "stahlteile")
        #expect(intake["agreement.digest"]?.stringValue == digest)
        #expect(intake["client.address"]?.stringValue == "127.0.0.1")
        #expect(intake["level"]?.stringValue == "info" && intake["label"]?.stringValue == "causeway.http")
        #expect((intake["request.id"]?.stringValue ?? "").count >= 8)
        #expect(Double(intake["http.duration_ms"]?.stringValue ?? "") != nil, "\(intake)")
        let list = try #require(line("GET", "/v1/agreements", "200"), "\(requests)")
        #expect(list["caller"]?.stringValue == "ops")
        let shown = try #require(line("GET", "/v1/agreements/\(digest)", "200"), "\(requests)")
        #expect(shown["caller"]?.stringValue == "viewer" && shown["agreement.digest"]?.stringValue == digest)
        let refused = try #require(line("GET", "/v1/agreements", "401"), "\(requests)")
        #expect(refused["caller"] == nil)
        #expect(line("GET", "/no/such/path", "404") != nil, "\(requests)")
        #expect(Set(requests.compactMap { $0["request.id"]?.stringValue }).count == requests.count, "request ids are unique")

        let log = gateway.log
        for secret in [gateway.token, gateway.viewerToken, badToken, "hunter2hunter2", "access_token", "Rillenkugellager", "Konepaja Oy"] {
            #expect(!log.contains(secret), "the log holds \(secret)")
        }
    }

    @Test("logging: logfmt at notice writes logfmt lines and leaves out info (the request log); config check shows the setting and names a bad value")
    func loggingSettings() async throws {
        let gateway = try Self.gateway(extra: "logging:\n  format: logfmt\n  level: notice")
        defer { _ = gateway.stop() }
        try await gateway.waitUntilReady()
        #expect(try DashboardTests.curl(gateway, "POST", "/login", form: ["token": "not-a-configured-token-0123456789abcdefXYZ"]).status == 401)
        let lines = gateway.log.split(separator: "\n")
        #expect(lines.contains { $0.hasPrefix("ts=") && $0.contains(" level=notice msg=audit label=causeway.audit ") }, "\(gateway.log)")
        #expect(lines.allSatisfy { $0.hasPrefix("ts=") && !$0.contains("level=info") }, "\(gateway.log)")
        #expect(!lines.contains { $0.contains("msg=request") })

        let environment = ["TEST_OPS_TOKEN": gateway.token, "TEST_VIEWER_TOKEN": gateway.viewerToken]
        let shown = try CommandRunner.causeway(["config", "check", "--config", gateway.configFile], in: gateway.directory, environment: environment)
        #expect(shown.stdout.contains("logging     logfmt, level notice"), "\(shown.description)")
        let bad = gateway.directory.appendingPathComponent("bad-logging.yaml")
        let text = try String(contentsOf: gateway.directory.appendingPathComponent(gateway.configFile), encoding: .utf8)
            .replacingOccurrences(of: "format: logfmt", with: "format: xml").replacingOccurrences(of: "level: notice", with: "level: loud")
        try Data(text.utf8).write(to: bad)
        let refused = try CommandRunner.causeway(["config", "check", "--config", bad.path], in: gateway.directory, environment: environment)
        #expect(refused.status == 1, "\(refused.description)")
        #expect(refused.stderr.contains("logging.format: 'xml' is not a format; use json or logfmt"), "\(refused.description)")
        #expect(refused.stderr.contains("logging.level: 'loud' is not a level; use one of trace, debug, info, notice, warning, error, critical"),
                "\(refused.description)")
    }

    @Test("the delivery log: a failing target's failure with its retry time, then the dead letter, each with partner, target, digest and attempt")
    func deliveryLog() async throws {
        let gateway = try RunningGateway(delivery: "  max_attempts: 2")
        defer { _ = gateway.stop() }
        try await gateway.waitUntilReady()
        // Another writer holds the target database's write lock: every delivery fails as retryable (busy).
        let locker = Process()
        locker.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        locker.arguments = [gateway.directory.appendingPathComponent("erp.sqlite").path]
        let input = Pipe(), output = Pipe()
        locker.standardInput = input
        locker.standardOutput = output
        try locker.run()
        defer {
            try? input.fileHandleForWriting.close()
            locker.waitUntilExit()
        }
        input.fileHandleForWriting.write(Data("BEGIN IMMEDIATE;\nSELECT 'locked';\n".utf8))
        let confirmed = output.fileHandleForReading.availableData
        #expect(String(decoding: confirmed, as: UTF8.self).contains("locked"))

        let document = Array(try Data(contentsOf: Self.fixtures.appendingPathComponent("one-line.json")))
        let (code, answer) = try await gateway.request("POST", "/v1/agreements", body: document)
        let digest = try #require(answer?["digest"]?.stringValue, "\(code)")
        var dead = false
        for _ in 0..<600 where !dead {
            dead = Self.lines(gateway).contains { $0["msg"]?.stringValue == "delivery dead-lettered" }
            if !dead { try await Task.sleep(for: .milliseconds(100)) }
        }
        let lines = Self.lines(gateway)
        let retry = try #require(lines.first { $0["msg"]?.stringValue == "delivery failed; will retry" }, "\(gateway.log)")
        #expect(retry["level"]?.stringValue == "warning" && retry["label"]?.stringValue == "causeway.delivery")
        #expect(retry["partner"]?.stringValue == "stahlteile" && retry["target"]?.stringValue == "erp-staging")
        #expect(retry["agreement.digest"]?.stringValue == digest && retry["attempt"]?.stringValue == "1")
        #expect(retry["outcome"]?.stringValue == "retryable" && (retry["detail"]?.stringValue ?? "").isEmpty == false, "\(retry)")
        let at = try #require(retry["retry.at"]?.stringValue.flatMap(Timestamp.init(rfc3339:)), "\(retry)")
        let ts = try #require(retry["ts"]?.stringValue.flatMap(Timestamp.init(rfc3339:)))
        #expect(at > ts, "the next attempt lies ahead")
        let deadLine = try #require(lines.first { $0["msg"]?.stringValue == "delivery dead-lettered" }, "\(gateway.log)")
        #expect(deadLine["level"]?.stringValue == "error" && deadLine["attempt"]?.stringValue == "2" && deadLine["agreement.digest"]?.stringValue == digest)
        #expect(deadLine["dead_letter.reason"]?.stringValue?.contains("gave up after 2 attempts") == true, "\(deadLine)")
    }

    @Test("the audit log: sign-in (good and bad), sign-out, retry by API and (refused) by a viewer, a reconcile repair from the CLI, in GET /v1/audit and causeway audit export with who, what and where; viewers get 403",
          arguments: ["sqlite", "postgres"])
    func auditLog(store: String) async throws {
        let gateway = try Self.gateway(store: store)
        defer { _ = gateway.stop() }
        try await gateway.waitUntilReady()
        let dead = try await DashboardTests.submit("one-line", to: gateway, until: "dead_letter")
        let badToken = "not-a-configured-token-0123456789abcdefXYZ"

        let bad = try DashboardTests.curl(gateway, "POST", "/login", form: ["token": badToken, "next": "/"])
        #expect(bad.status == 401)
        let (cookie, csrf) = try DashboardTests.signIn(gateway, token: gateway.token)
        let (viewerCookie, viewerCSRF) = try DashboardTests.signIn(gateway, token: gateway.viewerToken)
        let denied = try DashboardTests.curl(gateway, "POST", "/orders/\(dead)/retry", cookie: viewerCookie, form: ["csrf": viewerCSRF])
        #expect(denied.status == 403)
        let (retried, _) = try await gateway.request("POST", "/v1/agreements/\(dead)/retry", token: gateway.token)
        #expect(retried == 202)
        let out = try DashboardTests.curl(gateway, "POST", "/logout", cookie: cookie, form: ["csrf": csrf])
        #expect(out.status == 303)

        #expect(try await gateway.request("GET", "/v1/audit", token: gateway.viewerToken).0 == 403)
        #expect(try await gateway.request("GET", "/v1/audit").0 == 401)
        #expect(try await gateway.request("GET", "/v1/audit?since=yesterday", token: gateway.token).0 == 400)
        let (status, body) = try await gateway.request("GET", "/v1/audit", token: gateway.token)
        #expect(status == 200)
        let entries = body?["entries"]?.arrayValue ?? []
        func find(_ action: String, _ outcome: String, _ actor: String) -> JSONValue? {
            entries.first { $0["action"]?.stringValue == action && $0["outcome"]?.stringValue == outcome && $0["actor"]?.stringValue == actor }
        }
        let failed = try #require(find("dashboard.sign_in", "failure", "unknown"), "\(entries)")
        #expect(failed["remote"]?.stringValue == "127.0.0.1" && failed["channel"]?.stringValue == "dashboard")
        let signedIn = try #require(find("dashboard.sign_in", "success", "ops"), "\(entries)")
        #expect(signedIn["remote"]?.stringValue == "127.0.0.1")
        let session = try #require(signedIn["session"]?.stringValue)
        #expect(session.count == 12 && !cookie.contains(session), "a tag of the session, not its id")
        #expect(find("dashboard.sign_in", "success", "viewer") != nil)
        let apiRetry = try #require(find("agreement.retry", "success", "ops"), "\(entries)")
        #expect(apiRetry["target"]?.stringValue == dead && apiRetry["channel"]?.stringValue == "api" && apiRetry["remote"]?.stringValue == "127.0.0.1")
        #expect(apiRetry["detail"]?.stringValue == "1 action re-queued")
        let viewerRetry = try #require(find("agreement.retry", "denied", "viewer"), "\(entries)")
        #expect(viewerRetry["target"]?.stringValue == dead && viewerRetry["channel"]?.stringValue == "dashboard")
        let signedOut = try #require(find("dashboard.sign_out", "success", "ops"), "\(entries)")
        #expect(signedOut["session"]?.stringValue == session)
        #expect(entries.count == 6, "\(entries)")
        let times = entries.compactMap { $0["at"]?.stringValue.flatMap(Timestamp.init(rfc3339:)) }
        #expect(times.count == 6 && times == times.sorted(by: >), "newest first, RFC 3339")

        let (_, retries) = try await gateway.request("GET", "/v1/audit?action=agreement.retry", token: gateway.token)
        #expect(retries?["entries"]?.arrayValue?.compactMap { $0["action"]?.stringValue } == ["agreement.retry", "agreement.retry"])
        let (_, page) = try await gateway.request("GET", "/v1/audit?limit=4", token: gateway.token)
        let next = try #require(page?["next"]?.stringValue)
        let (_, rest) = try await gateway.request("GET", "/v1/audit?limit=4&before=\(next)", token: gateway.token)
        #expect((page?["entries"]?.arrayValue?.count ?? 0) + (rest?["entries"]?.arrayValue?.count ?? 0) == 6)

        // The export: the same entries as JSON lines, oldest first.
        var environment = ["CAUSEWAY_TOKEN": gateway.token]
        let export = try CommandRunner.causeway(["audit", "export", "--gateway", "http://127.0.0.1:\(gateway.port)"], environment: environment)
        #expect(export.status == 0, "\(export.description)")
        let exported = export.stdout.split(separator: "\n").compactMap { try? JSONReader().read(Array($0.utf8)) }
        #expect(exported.count == 6 && exported == Array(entries.reversed()), "\(export.stdout)")
        let since = try CommandRunner.causeway(["audit", "export", "--gateway", "http://127.0.0.1:\(gateway.port)", "--since", "2999-01-01"],
                                               environment: environment)
        #expect(since.status == 0 && since.stdout.isEmpty, "\(since.description)")
        environment["CAUSEWAY_TOKEN"] = gateway.viewerToken
        let viewer = try CommandRunner.causeway(["audit", "export", "--gateway", "http://127.0.0.1:\(gateway.port)"], environment: environment)
        #expect(viewer.status != 0 && viewer.stderr.contains("403") && viewer.stderr.contains("operator"), "\(viewer.description)")

        // The process log has each action too, and never the wrong token that was tried.
        let audited = Self.lines(gateway).filter { $0["msg"]?.stringValue == "audit" }
        #expect(audited.count == 6, "\(gateway.log)")
        #expect(!gateway.log.contains(badToken) && !export.stdout.contains(badToken))
        #expect(!gateway.log.contains(gateway.token) && !gateway.log.contains(cookie))

        // A reconcile repair from the command line, against the same store: recorded as cli:$USER from this host.
        let repair = try CommandRunner.causeway(["reconcile", "--config", gateway.configFile, "--repair"], in: gateway.directory,
                                                environment: ["TEST_OPS_TOKEN": gateway.token, "TEST_VIEWER_TOKEN": gateway.viewerToken,
                                                              "USER": "auditor"])
        #expect(repair.status == 0 || repair.status == 1, "\(repair.description)")
        let (_, repairs) = try await gateway.request("GET", "/v1/audit?action=reconcile.repair", token: gateway.token)
        let repaired = repairs?["entries"]?.arrayValue ?? []
        #expect(!repaired.isEmpty && repaired.allSatisfy {
            $0["actor"]?.stringValue == "cli:auditor" && $0["channel"]?.stringValue == "cli"
                && $0["remote"]?.stringValue == ProcessInfo.processInfo.hostName
        }, "\(repaired)\n\(repair.description)")
    }

    @Test("in Chromium: the Audit page for an operator (filter, export link) at desktop and phone width; a viewer has no link and gets 403")
    func auditPageInTheBrowser() async throws {
        guard let python = TestPaths.python else {
            throw MissingTestInput(path: "CAUSEWAY_PYTHON", hint: "scripts/test sets up a venv with selenium")
        }
        for program in ["/usr/bin/chromium", "/usr/bin/chromedriver"] where !FileManager.default.fileExists(atPath: program) {
            throw MissingTestInput(path: program, hint: "apt-get install -y chromium chromium-driver (scripts/test does)")
        }
        let gateway = try Self.gateway()
        defer { _ = gateway.stop() }
        try await gateway.waitUntilReady()
        let dead = try await DashboardTests.submit("one-line", to: gateway, until: "dead_letter")
        _ = try DashboardTests.curl(gateway, "POST", "/login", form: ["token": "not-a-configured-token-0123456789abcdefXYZ", "next": "/"])
        #expect(try await gateway.request("POST", "/v1/agreements/\(dead)/retry", token: gateway.token).0 == 202)

        let shots = TestPaths.repository.appendingPathComponent("test-artifacts/dashboard/audit")
        try? FileManager.default.removeItem(at: shots)
        let script = TestPaths.repository.appendingPathComponent("Tests/CausewayCLITests/Support/audit_browser.py").path
        let run = try CommandRunner.run(python, [script, "--base", "http://127.0.0.1:\(gateway.port)", "--operator", gateway.token,
                                                 "--viewer", gateway.viewerToken, "--shots", shots.path], environment: ["SE_AVOID_STATS": "true"])
        let seen = try #require(try? JSONReader(limits: .init(maxBytes: 8 << 20, maxDepth: 64)).read(run.stdout), "\(run.description)")
        #expect(seen["error"] == nil, "\(seen["error"]?.stringValue ?? "")")
        #expect(seen["nav"]?.arrayValue?.compactMap(\.stringValue) == ["Overview", "Orders", "Reconciliation", "Audit"])
        #expect(seen["title"]?.stringValue == "Audit")
        let rows = (seen["rows"]?.arrayValue ?? []).map { ($0.arrayValue ?? []).compactMap(\.stringValue) }
        // Newest first: the operator's own sign-in, the API retry, the failed sign-in.
        #expect(rows.count == 3, "\(rows)")
        #expect(rows.first?[1].hasPrefix("ops") == true && rows.first?[2] == "sign-in" && rows.first?[4] == "success", "\(rows)")
        #expect(rows.dropFirst().first?[2] == "retry" && rows.dropFirst().first?[3].hasPrefix("sha256:") == true, "\(rows)")
        #expect(rows.last?[1].hasPrefix("unknown") == true && rows.last?[4] == "failure" && rows.last?[5] == "127.0.0.1", "\(rows)")
        #expect((seen["filtered"]?.arrayValue ?? []).count == 2, "sign-ins only: \(seen["filtered"].map { "\($0)" } ?? "")")
        #expect(seen["export_href"]?.stringValue?.hasPrefix("/audit.jsonl") == true)
        #expect(seen["export_lines"]?.numberValue == 3)
        #expect(seen["viewer_nav"]?.arrayValue?.compactMap(\.stringValue) == ["Overview", "Orders", "Reconciliation"])
        #expect(seen["viewer_title"]?.stringValue == "Not allowed")
        for width in ["desktop", "phone"] {
            let layout = seen["layout"]?["audit-\(width)"]
            let scrollWidth = layout?["scrollWidth"]?.numberValue ?? .infinity, clientWidth = layout?["clientWidth"]?.numberValue ?? 0
            #expect(scrollWidth <= clientWidth, "\(width): the page scrolls sideways (\(scrollWidth) > \(clientWidth))")
            #expect(layout?["squeezed"]?.arrayValue?.isEmpty == true, "\(width): \(layout?["squeezed"].map { "\($0)" } ?? "?")")
            #expect(layout?["outside"]?.arrayValue?.isEmpty == true, "\(width): \(layout?["outside"].map { "\($0)" } ?? "?")")
            #expect(FileManager.default.fileExists(atPath: shots.appendingPathComponent("audit-\(width).png").path))
        }
    }
}
