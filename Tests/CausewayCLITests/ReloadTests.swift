import CausewayCore
import CausewayTesting
import Foundation
import Testing

/// Live reload (Docs/operations.md, "Live reload") and the named services of `/healthz`, with a
/// real `causeway serve`: partner folders, targets and tokens change on SIGHUP and on
/// `POST /v1/admin/reload`; a bad configuration is refused whole with every problem named; work
/// in flight is delivered exactly once across reloads.
@Suite("causeway serve: live reload and supervised services", .serialized)
struct ReloadTests {
    static let fixtures = TestPaths.repository.appendingPathComponent("Mappings/stahlteile/fixtures/agreements")

    static func fixture(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: fixtures.appendingPathComponent(name)))
    }

    /// A partners folder holding only nordic-fasteners (stahlteile's agreements are unknown there).
    static func nordicOnly() throws -> URL {
        let folder = try CommandRunner.temporaryDirectory("partners").appendingPathComponent("partners")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: TestPaths.repository.appendingPathComponent("Mappings/nordic-fasteners"),
                                         to: folder.appendingPathComponent("nordic-fasteners"))
        return folder
    }

    /// Rewrites the gateway's configuration file.
    static func edit(_ gateway: RunningGateway, _ change: (String) -> String) throws {
        let file = gateway.directory.appendingPathComponent(gateway.configFile)
        let text = try String(contentsOf: file, encoding: .utf8)
        let changed = change(text)
        #expect(changed != text, "the edit changed nothing")
        try Data(changed.utf8).write(to: file)
    }

    /// Sends SIGHUP and waits until the log shows one more reload (applied or refused).
    static func hangup(_ gateway: RunningGateway) async throws {
        let before = reloads(gateway.log)
        kill(gateway.process.processIdentifier, SIGHUP)
        for _ in 0..<200 where reloads(gateway.log) == before { try await Task.sleep(for: .milliseconds(50)) }
        #expect(reloads(gateway.log) > before, "no reload was logged after SIGHUP:\n\(gateway.log)")
        #expect(gateway.process.isRunning)
    }

    static func reloads(_ log: String) -> Int {
        log.components(separatedBy: "configuration reloaded").count + log.components(separatedBy: "configuration reload refused").count - 2
    }

    static func sqlite(_ file: URL, _ sql: String) throws -> String {
        let result = try CommandRunner.run("/usr/bin/sqlite3", ["-cmd", ".timeout 5000", file.path, sql])
        guard result.status == 0 else { throw MissingTestInput(path: "sqlite3", hint: result.description) }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func makeTarget(_ file: URL) throws {
        let schema = try String(contentsOf: TestPaths.repository.appendingPathComponent("Deploy/examples/erp-staging.sqlite.sql"), encoding: .utf8)
        let created = try CommandRunner.run("/usr/bin/sqlite3", [file.path], stdin: schema)
        guard created.status == 0 else { throw MissingTestInput(path: "sqlite3", hint: created.stderr) }
    }

    /// The scheduled reconciliation's latest report once it counts one finding of `kind` (or the last one seen).
    static func reconcileReport(_ gateway: RunningGateway, counting kind: String) async throws -> JSONValue? {
        var last: JSONValue?
        for _ in 0..<100 {
            last = try await gateway.request("GET", "/v1/reconcile", token: gateway.viewerToken).1
            if last?["report"]?["summary"]?["counts"]?[kind]?.numberValue == 1 { return last }
            try await Task.sleep(for: .milliseconds(200))
        }
        return last
    }

    /// Waits until `digest` is delivered; returns its status.
    static func delivered(_ gateway: RunningGateway, _ digest: String) async throws -> String? {
        var status: String?
        for _ in 0..<150 {
            let (_, body) = try await gateway.request("GET", "/v1/agreements/\(digest)", token: gateway.viewerToken)
            status = body?["status"]?.stringValue
            if status == "delivered" { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        return status
    }

    @Test("a partner folder added, then SIGHUP: its agreements are accepted (422 unknown partner before) and delivered")
    func addPartnerOnHangup() async throws {
        let gateway = try RunningGateway(partners: try Self.nordicOnly())
        defer { _ = gateway.stop() }
        try await gateway.waitUntilReady()
        let agreement = try Self.fixture("multi-line.json")
        var (status, body) = try await gateway.request("POST", "/v1/agreements", body: agreement, token: gateway.viewerToken)
        #expect(status == 422)
        #expect(body?["code"]?.stringValue == "intake.unknown_partner")
        // The dashboard's partner filter lists the partners configured now.
        let session = try DashboardTests.signIn(gateway, token: gateway.viewerToken)
        #expect(!(try DashboardTests.curl(gateway, "GET", "/orders", cookie: session.cookie).body.contains("value=\"stahlteile\"")))

        try FileManager.default.copyItem(at: TestPaths.repository.appendingPathComponent("Mappings/stahlteile"),
                                         to: gateway.directory.appendingPathComponent("partners/stahlteile"))
        try await Self.hangup(gateway)
        #expect(gateway.log.contains("configuration reloaded"), "\(gateway.log)")
        let orders = try DashboardTests.curl(gateway, "GET", "/orders", cookie: session.cookie)
        #expect(orders.status == 200 && orders.body.contains("value=\"stahlteile\""), "\(orders.status)")
        (status, body) = try await gateway.request("POST", "/v1/agreements", body: agreement)
        #expect(status == 202, "\(String(describing: body))")
        #expect(body?["partner"]?.stringValue == "stahlteile")
        let digest = try #require(body?["digest"]?.stringValue)
        #expect(try await Self.delivered(gateway, digest) == "delivered", "\(gateway.log)")
        #expect(try Self.sqlite(gateway.directory.appendingPathComponent("erp.sqlite"), "SELECT count(*) FROM erp_purchase_order") == "1")
    }

    @Test("a token's secret changed, then SIGHUP: the old secret is refused (401), the new one accepted, dashboard sessions signed in with the old one end")
    func tokenRotation() async throws {
        let gateway = try RunningGateway()
        defer { _ = gateway.stop() }
        try await gateway.waitUntilReady()
        var (status, _) = try await gateway.request("GET", "/v1/agreements", token: gateway.viewerToken)
        #expect(status == 200)
        let viewerSession = try DashboardTests.signIn(gateway, token: gateway.viewerToken)
        let operatorSession = try DashboardTests.signIn(gateway, token: gateway.token)

        let rotated = "rotated-viewer-token-0123456789abcdef0123456789"
        let secretFile = gateway.directory.appendingPathComponent("viewer.token")
        try Data(rotated.utf8).write(to: secretFile)
        try Self.edit(gateway) { $0.replacingOccurrences(of: "secret: env:TEST_VIEWER_TOKEN", with: "secret: file:\(secretFile.path)") }
        try await Self.hangup(gateway)
        (status, _) = try await gateway.request("GET", "/v1/agreements", token: gateway.viewerToken)
        #expect(status == 401)
        (status, _) = try await gateway.request("GET", "/v1/agreements", token: rotated)
        #expect(status == 200)
        // The operator token was not touched and still works.
        (status, _) = try await gateway.request("GET", "/v1/agreements", token: gateway.token)
        #expect(status == 200)
        #expect(!gateway.log.contains(rotated), "a secret was logged")
        // The dashboard session signed in with the old secret has ended; the operator's goes on.
        let ended = try DashboardTests.curl(gateway, "GET", "/orders", cookie: viewerSession.cookie)
        #expect(ended.status == 303 && ended.headers["location"]?.hasPrefix("/login") == true, "\(ended.status) \(ended.headers)")
        #expect(try DashboardTests.curl(gateway, "GET", "/orders", cookie: operatorSession.cookie).status == 200)
    }

    @Test("a broken mapping: the reload is refused naming the file and the field (422 and in the log), the old partner still works")
    func brokenMappingRefused() async throws {
        let gateway = try RunningGateway()
        defer { _ = gateway.stop() }
        try await gateway.waitUntilReady()
        let mapping = gateway.directory.appendingPathComponent("partners/stahlteile/purchase-order.yaml")
        let text = try String(contentsOf: mapping, encoding: .utf8)
        try Data(text.replacingOccurrences(of: "      key: [agreement_digest]", with: "      kye: [agreement_digest]").utf8).write(to: mapping)
        // A token is also added in the same change: nothing of a refused reload applies.
        try Self.edit(gateway) { $0.replacingOccurrences(of: "tokens:\n", with: "tokens:\n  - {name: extra, role: viewer, secret: env:TEST_OPS_TOKEN_MISSING}\n") }

        let (status, body) = try await gateway.request("POST", "/v1/admin/reload", token: gateway.token)
        #expect(status == 422)
        #expect(body?["code"]?.stringValue == "reload.invalid")
        let problems = body?["problems"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(problems.contains { $0.contains("purchase-order.yaml") && $0.contains("kye") }, "\(problems)")
        #expect(problems.contains { $0.contains("tokens.extra.secret") }, "every problem is named: \(problems)")
        try await Self.hangup(gateway)
        #expect(gateway.log.contains("configuration reload refused"))
        #expect(gateway.log.contains("kye"))

        let (accepted, result) = try await gateway.request("POST", "/v1/agreements", body: try Self.fixture("multi-line.json"))
        #expect(accepted == 202, "\(String(describing: result))")
        let digest = try #require(result?["digest"]?.stringValue)
        #expect(try await Self.delivered(gateway, digest) == "delivered", "\(gateway.log)")
    }

    @Test("a partner that comes to require client certificates on a listener without TLS: the reload is refused naming the partner and http.tls")
    func clientCertificateWithoutTLSRefused() async throws {
        let gateway = try RunningGateway()
        defer { _ = gateway.stop() }
        try await gateway.waitUntilReady()
        let partner = gateway.directory.appendingPathComponent("partners/stahlteile/partner.yaml")
        let text = try String(contentsOf: partner, encoding: .utf8)
        try Data((text + "\nintake:\n  client_certificate:\n    dns_names: [erp.stahlteile.example]\n").utf8).write(to: partner)
        let (status, body) = try await gateway.request("POST", "/v1/admin/reload", token: gateway.token)
        #expect(status == 422, "\(String(describing: body))")
        let problems = body?["problems"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(problems.contains { $0.contains("stahlteile requires a client certificate") && $0.contains("http.tls") }, "\(problems)")
        // Refused whole: the partner still takes agreements without a certificate.
        let (accepted, result) = try await gateway.request("POST", "/v1/agreements", body: try Self.fixture("multi-line.json"))
        #expect(accepted == 202, "\(String(describing: result))")
    }

    @Test("POST /v1/admin/reload: no token 401, viewer 403, operator 200 with what changed; a changed target takes new work, a changed listen address needs a restart")
    func adminReload() async throws {
        let gateway = try RunningGateway()
        defer { _ = gateway.stop() }
        try await gateway.waitUntilReady()
        var (status, body) = try await gateway.request("POST", "/v1/admin/reload")
        #expect(status == 401)
        (status, body) = try await gateway.request("POST", "/v1/admin/reload", token: gateway.viewerToken)
        #expect(status == 403)

        // Before: the first agreement goes to erp.sqlite.
        (status, body) = try await gateway.request("POST", "/v1/agreements", body: try Self.fixture("multi-line.json"))
        let first = try #require(body?["digest"]?.stringValue)
        #expect(try await Self.delivered(gateway, first) == "delivered")

        let second = gateway.directory.appendingPathComponent("erp2.sqlite")
        try Self.makeTarget(second)
        try Self.edit(gateway) { text in
            text.replacingOccurrences(of: "path: erp.sqlite}", with: "path: erp2.sqlite}\n  erp-extra: {adapter: sqlite, path: erp2.sqlite}")
                .replacingOccurrences(of: "listen: 127.0.0.1:\(gateway.port)", with: "listen: 127.0.0.1:\(gateway.port + 1)")
        }
        (status, body) = try await gateway.request("POST", "/v1/admin/reload", token: gateway.token)
        #expect(status == 200, "\(String(describing: body))")
        #expect(body?["targets"]?["changed"] == ["erp-staging"])
        #expect(body?["targets"]?["added"] == ["erp-extra"])
        #expect(body?["partners"]?["changed"] == [])
        #expect(body?["restartRequired"] == ["listen"])
        #expect(gateway.log.contains("apply only after a restart"))
        (_, body) = try await gateway.request("GET", "/healthz")
        #expect(body?["targets"]?["erp-extra"]?.stringValue == "closed", "\(String(describing: body))")

        // After: new work goes to erp2.sqlite, and the gateway still listens where it did.
        (status, body) = try await gateway.request("POST", "/v1/agreements", body: try Self.fixture("one-line.json"))
        #expect(status == 202)
        let next = try #require(body?["digest"]?.stringValue)
        #expect(try await Self.delivered(gateway, next) == "delivered", "\(gateway.log)")
        let old = gateway.directory.appendingPathComponent("erp.sqlite")
        #expect(try Self.sqlite(old, "SELECT agreement_digest FROM erp_purchase_order") == first)
        #expect(try Self.sqlite(second, "SELECT agreement_digest FROM erp_purchase_order") == next)

        // The audit log names who reloaded, through what and how it ended; SIGHUP and refusals too.
        try Self.edit(gateway) { $0.replacingOccurrences(of: "path: erp2.sqlite}", with: "path: erp2.sqlite, bogus_setting: 1}") }
        try await Self.hangup(gateway)
        let store = gateway.directory.appendingPathComponent("causeway.sqlite")
        let audit = try Self.sqlite(store, "SELECT actor || ' ' || channel || ' ' || outcome FROM audit_log WHERE action = 'config.reload' ORDER BY seq")
        #expect(audit == "ops api success\nSIGHUP signal failure", "\(audit)")
    }

    @Test("work in flight keeps the mapping it was accepted under: an agreement waiting in the outbox is delivered with the old mapping after a reload changed it, a new one with the new")
    func inFlightKeepsItsMapping() async throws {
        let gateway = try RunningGateway(delivery: "  max_attempts: 1")
        defer { _ = gateway.stop() }
        try await gateway.waitUntilReady()
        let target = gateway.directory.appendingPathComponent("erp.sqlite")
        // The ERP's table is away: the first agreement's delivery fails and waits as a dead letter.
        _ = try Self.sqlite(target, "ALTER TABLE erp_purchase_order RENAME TO erp_purchase_order_away")
        var (status, body) = try await gateway.request("POST", "/v1/agreements", body: try Self.fixture("multi-line.json"))
        #expect(status == 202)
        let first = try #require(body?["digest"]?.stringValue)
        var state: String?
        for _ in 0..<100 {
            (_, body) = try await gateway.request("GET", "/v1/agreements/\(first)", token: gateway.viewerToken)
            state = body?["actions"]?[0]?["state"]?.stringValue
            if state == "dead_letter" { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(state == "dead_letter", "\(String(describing: body))")

        // The mapping changes (another supplier code, version 1.0.1) and is reloaded.
        let mapping = gateway.directory.appendingPathComponent("partners/stahlteile/purchase-order.yaml")
        let text = try String(contentsOf: mapping, encoding: .utf8)
        #expect(text.contains("version: \"1.0.0\"") && text.contains("{const: \"V-1001\"}"))
        try Data(text.replacingOccurrences(of: "version: \"1.0.0\"", with: "version: \"1.0.1\"")
            .replacingOccurrences(of: "{const: \"V-1001\"}", with: "{const: \"V-2002\"}").utf8).write(to: mapping)
        (status, body) = try await gateway.request("POST", "/v1/admin/reload", token: gateway.token)
        #expect(status == 200)
        #expect(body?["partners"]?["changed"] == ["stahlteile"])

        (status, body) = try await gateway.request("POST", "/v1/agreements", body: try Self.fixture("one-line.json"))
        #expect(status == 202)
        let second = try #require(body?["digest"]?.stringValue)
        (_, body) = try await gateway.request("GET", "/v1/agreements/\(second)", token: gateway.viewerToken)
        #expect(body?["mapping"]?["version"]?.stringValue == "1.0.1")
        (_, body) = try await gateway.request("GET", "/v1/agreements/\(first)", token: gateway.viewerToken)
        #expect(body?["mapping"]?["version"]?.stringValue == "1.0.0")

        // The ERP is back; the first agreement is retried and written as it was mapped when accepted.
        _ = try Self.sqlite(target, "ALTER TABLE erp_purchase_order_away RENAME TO erp_purchase_order")
        (status, _) = try await gateway.request("POST", "/v1/agreements/\(first)/retry", token: gateway.token)
        #expect(status == 202)
        #expect(try await Self.delivered(gateway, first) == "delivered", "\(gateway.log.suffix(3000))")
        for _ in 0..<100 {
            (_, body) = try await gateway.request("GET", "/v1/agreements/\(second)", token: gateway.viewerToken)
            if body?["status"]?.stringValue == "delivered" { break }
            // The second may have been dead-lettered while the table was away.
            if body?["actions"]?[0]?["state"]?.stringValue == "dead_letter" {
                _ = try await gateway.request("POST", "/v1/agreements/\(second)/retry", token: gateway.token)
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(body?["status"]?.stringValue == "delivered")
        #expect(try Self.sqlite(target, "SELECT supplier_code FROM erp_purchase_order WHERE agreement_digest = '\(first)'") == "V-1001")
        #expect(try Self.sqlite(target, "SELECT supplier_code FROM erp_purchase_order WHERE agreement_digest = '\(second)'") == "V-2002")
    }

    @Test("scheduled reconciliation follows a reload: after the target moves to another database, it reads the new one (the order is missing there)")
    func reconcileFollowsReload() async throws {
        let gateway = try RunningGateway(extra: "reconcile:\n  every_seconds: 1")
        defer { _ = gateway.stop() }
        try await gateway.waitUntilReady()
        let (_, body) = try await gateway.request("POST", "/v1/agreements", body: try Self.fixture("one-line.json"))
        let digest = try #require(body?["digest"]?.stringValue)
        #expect(try await Self.delivered(gateway, digest) == "delivered")
        var last = try await Self.reconcileReport(gateway, counting: "matched")
        #expect(last?["report"]?["summary"]?["clean"] == .bool(true), "\(String(describing: last))")

        // The target now points at an empty copy of the ERP: reconciliation must read that one.
        try Self.makeTarget(gateway.directory.appendingPathComponent("erp2.sqlite"))
        try Self.edit(gateway) { $0.replacingOccurrences(of: "path: erp.sqlite}", with: "path: erp2.sqlite}") }
        let (status, _) = try await gateway.request("POST", "/v1/admin/reload", token: gateway.token)
        #expect(status == 200)
        last = try await Self.reconcileReport(gateway, counting: "missing")
        let findings = last?["report"]?["findings"]?.arrayValue ?? []
        #expect(findings.contains { $0["class"]?.stringValue == "missing" && $0["digest"]?.stringValue == digest }, "\(String(describing: last))")
    }

    @Test("two instances on one PostgreSQL store: each reloads itself; one that has not reloaded keeps its partners, and either delivers the other's work")
    func eachInstanceReloadsItself() async throws {
        let store = try ReliabilityTests.database("causeway_reload_store")
        let first = try RunningGateway(store: store, partners: try Self.nordicOnly())
        defer { _ = first.stop() }
        try await first.waitUntilReady()
        let second = try RunningGateway(store: store, sharing: first)
        defer { _ = second.stop() }
        try await second.waitUntilReady()

        try FileManager.default.copyItem(at: TestPaths.repository.appendingPathComponent("Mappings/stahlteile"),
                                         to: first.directory.appendingPathComponent("partners/stahlteile"))
        let (status, body) = try await first.request("POST", "/v1/admin/reload", token: first.token)
        #expect(status == 200)
        #expect(body?["partners"]?["added"] == ["stahlteile"])
        // Only the first reloaded: the second still refuses stahlteile until it reloads too.
        var (accepted, result) = try await second.request("POST", "/v1/agreements", body: try Self.fixture("one-line.json"), token: second.viewerToken)
        #expect(accepted == 422)
        #expect(result?["code"]?.stringValue == "intake.unknown_partner")
        (accepted, result) = try await first.request("POST", "/v1/agreements", body: try Self.fixture("multi-line.json"))
        #expect(accepted == 202)
        let digest = try #require(result?["digest"]?.stringValue)
        try await Self.hangup(second)
        (accepted, result) = try await second.request("POST", "/v1/agreements", body: try Self.fixture("one-line.json"))
        #expect(accepted == 202)
        let other = try #require(result?["digest"]?.stringValue)
        #expect(try await Self.delivered(second, digest) == "delivered")
        #expect(try await Self.delivered(first, other) == "delivered")
        #expect(try Self.sqlite(first.directory.appendingPathComponent("erp.sqlite"), "SELECT count(*) FROM erp_purchase_order") == "2")
    }

    @Test("reload under load: agreements stream in while the target is swapped six times (SIGHUP and API); each is delivered exactly once")
    func reloadUnderLoad() async throws {
        let work = try GeneratedAgreements(count: 240, seed: 23)
        let gateway = try RunningGateway(partners: work.partners)
        defer { _ = gateway.stop() }
        try await gateway.waitUntilReady()

        async let submitted = submitUntilAccepted(work.documents, to: [gateway], concurrency: 6)
        // Each reload changes the target's settings (the same file by another path), so its
        // adapter is rebuilt and the old one retired while deliveries run.
        var generations: [Int] = []
        for round in 0..<6 {
            try await Task.sleep(for: .milliseconds(150))
            let (from, to) = round % 2 == 0 ? ("path: erp.sqlite}", "path: ./erp.sqlite}") : ("path: ./erp.sqlite}", "path: erp.sqlite}")
            try Self.edit(gateway) { $0.replacingOccurrences(of: from, with: to) }
            if round % 2 == 0 {
                let (status, body) = try await gateway.request("POST", "/v1/admin/reload", token: gateway.token)
                #expect(status == 200, "\(String(describing: body))")
                #expect(body?["targets"]?["changed"] == ["erp-staging"])
                if let generation = body?["generation"]?.numberValue { generations.append(Int(generation)) }
            } else {
                try await Self.hangup(gateway)
            }
        }
        let accepted = try await submitted
        #expect(accepted.count == work.documents.count)
        #expect(generations == [2, 4, 6])

        let target = gateway.directory.appendingPathComponent("erp.sqlite")
        var counts = ""
        for _ in 0..<600 {
            counts = try Self.sqlite(target, "SELECT count(*) || ' ' || count(DISTINCT agreement_digest) FROM erp_purchase_order")
            if counts == "\(accepted.count) \(accepted.count)" { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(counts == "\(accepted.count) \(accepted.count)", "\(gateway.log.suffix(4000))")
        let written = Set(try Self.sqlite(target, "SELECT agreement_digest FROM erp_purchase_order").split(separator: "\n").map(String.init))
        #expect(written == accepted)
        #expect(try Self.sqlite(target, "SELECT count(*) FROM erp_purchase_order_line") == String(work.lineCount))
        let store = gateway.directory.appendingPathComponent("causeway.sqlite")
        #expect(try Self.sqlite(store, "SELECT count(*) FROM outbox WHERE state <> 'delivered'") == "0")
        #expect(gateway.log.contains("target retired by a reload"))
    }

    @Test("a long-lived service failing: the store loses the outbox table, the workers are shown failing by name in /healthz and logged; they recover")
    func failingServiceInHealthz() async throws {
        let gateway = try RunningGateway()
        defer { _ = gateway.stop() }
        try await gateway.waitUntilReady()
        var (status, body) = try await gateway.request("GET", "/healthz")
        #expect(status == 200)
        #expect(body?["status"]?.stringValue == "ok")
        let names = Set(body?["services"]?.objectValue?.keys.map { $0 } ?? [])
        #expect(names.isSuperset(of: ["delivery-worker-1", "receipt-issuer", "checkpointer", "reconcile"]), "\(names)")

        let store = gateway.directory.appendingPathComponent("causeway.sqlite")
        _ = try Self.sqlite(store, "ALTER TABLE outbox RENAME TO outbox_away")
        var worker: JSONValue?
        for _ in 0..<100 {
            (status, body) = try await gateway.request("GET", "/healthz")
            worker = body?["services"]?["delivery-worker-1"]
            if worker?["state"]?.stringValue == "failing" { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(status == 200)
        #expect(body?["status"]?.stringValue == "degraded")
        #expect(worker?["state"]?.stringValue == "failing")
        #expect(worker?["lastError"]?.stringValue?.contains("outbox") == true, "\(String(describing: worker))")
        #expect(gateway.log.contains("service failing"))
        #expect(gateway.log.contains("delivery-worker-1"))

        _ = try Self.sqlite(store, "ALTER TABLE outbox_away RENAME TO outbox")
        for _ in 0..<100 {
            (status, body) = try await gateway.request("GET", "/healthz")
            if body?["status"]?.stringValue == "ok" { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(body?["status"]?.stringValue == "ok", "\(String(describing: body))")
        #expect(body?["services"]?["delivery-worker-1"]?["state"]?.stringValue == "running")
    }
}
