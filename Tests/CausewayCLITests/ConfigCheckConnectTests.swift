import CausewayCore
import CausewayTesting
import Foundation
import Testing

/// `causeway config check --connect` against real targets (Tryton, PostgreSQL, SQLite, an HTTP
/// server on loopback, a folder, a program), and `/readyz` naming a target whose check fails.
@Suite("config check --connect and /readyz targets", .serialized)
struct ConfigCheckConnectTests {
    /// A folder with a key, the stahlteile partner, a SQLite staging target file, an outbox folder
    /// and `causeway.yaml` with `targets` (YAML lines under `targets:`).
    static func folder(targets: String, store: String = "sqlite:causeway.sqlite") throws -> URL {
        let directory = try CommandRunner.temporaryDirectory("config-connect")
        _ = try CommandRunner.causeway(["keys", "new", "--out", "key.json"], in: directory)
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("outbox"), withIntermediateDirectories: true)
        let schema = try String(contentsOf: TestPaths.repository.appendingPathComponent("Deploy/examples/erp-staging.sqlite.sql"), encoding: .utf8)
        _ = try CommandRunner.run("/usr/bin/sqlite3", [directory.appendingPathComponent("erp.sqlite").path], stdin: schema)
        try Data("""
            store: \(store)
            identity: key.json
            partners: \(TestPaths.repository.appendingPathComponent("Mappings").path)
            allow_fixture_keys: true
            targets:
            \(targets)
            """.utf8).write(to: directory.appendingPathComponent("causeway.yaml"))
        return directory
    }

    @Test("every target reached: Tryton login, PostgreSQL, SQLite, HTTP base URL, folder, program; exit 0")
    func allReachable() async throws {
        let erp = try NordicEndToEndTests.tryton()
        let admin = try #require(ProcessInfo.processInfo.environment["CAUSEWAY_TEST_POSTGRES"], "CAUSEWAY_TEST_POSTGRES is needed")
        let server = try LoopbackHTTPServer(port: TestPorts.free(in: 40_000...50_000))
        defer { server.stop() }
        let directory = try Self.folder(targets: """
              erp: {adapter: tryton, url: "\(erp.url)", user: "\(erp.user)", password: "env:CAUSEWAY_TEST_TRYTON_PASSWORD"}
              rows: {adapter: postgresql, url: "\(admin)"}
              staging: {adapter: sqlite, path: erp.sqlite}
              portal: {adapter: http, base_url: "\(server.url)"}
              drop: {adapter: file, folder: outbox, format: json}
              ledger: {adapter: process, command: /usr/bin/python3, args: "\(TestPaths.repository.path)/Adapters/Process/examples/jsonl-ledger.py", env: "LEDGER_FILE=\(FileManager.default.temporaryDirectory.path)/connect-ledger.jsonl"}
            """, store: admin)
        let result = try CommandRunner.causeway(["config", "check", "--connect", "--config", "causeway.yaml"], in: directory)
        #expect(result.status == 0, "\(result)")
        for part in ["identity", "store", "targets.erp", "targets.rows", "targets.staging", "targets.portal", "targets.drop", "targets.ledger"] {
            #expect(result.stdout.contains("ok     \(part) ("), "\(part): \(result.stdout)")
        }
        #expect(!result.stdout.contains("FAILED"))
    }

    @Test("each unreachable target, wrong login and missing secret is named with its setting and fix; exit 1")
    func failuresNamed() throws {
        let erp = try NordicEndToEndTests.tryton()
        let admin = try #require(ProcessInfo.processInfo.environment["CAUSEWAY_TEST_POSTGRES"], "CAUSEWAY_TEST_POSTGRES is needed")
        let closed = TestPorts.free(in: 40_000...50_000)
        let directory = try Self.folder(targets: """
              erp: {adapter: tryton, url: "\(erp.url)", user: "\(erp.user)", password: "env:WRONG_TRYTON_PASSWORD"}
              rows: {adapter: postgresql, url: "\(admin.replacingOccurrences(of: "/postgres", with: "/no_such_database"))"}
              portal: {adapter: http, base_url: "http://127.0.0.1:\(closed)/api"}
              secretless: {adapter: http, base_url: "http://127.0.0.1:\(closed)/", auth: bearer, token: "env:CAUSEWAY_NO_SUCH_TOKEN"}
              ledger: {adapter: process, command: /bin/false}
              staging: {adapter: sqlite, path: erp.sqlite}
            """)
        let result = try CommandRunner.causeway(["config", "check", "--connect", "--config", "causeway.yaml", "--timeout", "5"], in: directory,
                                                environment: ["WRONG_TRYTON_PASSWORD": "not-the-password"])
        #expect(result.status == 1, "\(result)")
        #expect(result.stdout.contains("FAILED targets.erp (tryton)"), "\(result.stdout)")
        #expect(result.stderr.contains("targets.erp.password: ") && result.stderr.contains("refused the login"), "\(result.stderr)")
        #expect(result.stderr.contains("targets.rows.url: ") && result.stderr.contains("no_such_database"), "\(result.stderr)")
        #expect(result.stderr.contains("targets.portal.base_url: cannot reach http://127.0.0.1:\(closed)/api"), "\(result.stderr)")
        #expect(result.stderr.contains("targets.secretless.token: ") && result.stderr.contains("CAUSEWAY_NO_SUCH_TOKEN"), "\(result.stderr)")
        #expect(result.stderr.contains("targets.ledger.command: /bin/false did not start"), "\(result.stderr)")
        #expect(result.stdout.contains("ok     targets.staging (sqlite)"), "\(result.stdout)")
        // Without --connect the same file only has its secret problem found (nothing is contacted).
        let offline = try CommandRunner.causeway(["config", "check", "--config", "causeway.yaml"], in: directory)
        #expect(!offline.stdout.contains("FAILED"))
    }

    @Test("/readyz answers 503 naming the target whose connection check fails, and 200 again once it is back")
    func readyzTargets() async throws {
        let port = TestPorts.free(in: 40_000...50_000)
        let gateway = try RunningGateway(targets: """
              erp-staging: {adapter: sqlite, path: erp.sqlite}
              portal: {adapter: http, base_url: "http://127.0.0.1:\(port)/"}
            """, extra: "readiness:\n  every_seconds: 1\n  timeout_seconds: 2")
        defer { _ = gateway.stop() }
        // The portal is down: once checked, not ready, the portal named with its problem.
        let named = try await eventually(seconds: 30) {
            let answer = try Self.readyz(gateway)
            return answer.status == 503 && answer.body?["targets"]?["portal"]?.arrayValue?.first?.stringValue?.contains("base_url: cannot reach") == true
        }
        let answer = try Self.readyz(gateway)
        #expect(named, "\(answer)")
        #expect(answer.body?["code"]?.stringValue == "targets.unavailable")
        #expect(answer.body?["targets"]?["erp-staging"] == nil)
        // The portal comes up: ready again, both targets ok.
        let server = try LoopbackHTTPServer(port: port)
        defer { server.stop() }
        let back = try await eventually(seconds: 30) { try Self.readyz(gateway).status == 200 }
        let ready = try Self.readyz(gateway)
        #expect(back, "\(ready)")
        #expect(ready.body?["targets"]?["portal"]?.stringValue == "ok")
    }

    static func readyz(_ gateway: RunningGateway) throws -> (status: Int, body: JSONValue?) {
        let result = try CommandRunner.run("/usr/bin/curl", ["-s", "-w", "\n%{http_code}", "--max-time", "10", "http://127.0.0.1:\(gateway.port)/readyz"])
        let parts = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        let status = Int(parts.last ?? "") ?? 0
        let body = parts.dropLast().joined(separator: "\n")
        return (status, try? JSONReader().read(body))
    }
}

/// `python3 -m http.server` on a loopback port: a plain HTTP target that answers GET.
final class LoopbackHTTPServer: @unchecked Sendable {  // the process handle is only touched from the test
    let process = Process()
    let port: Int
    var url: String { "http://127.0.0.1:\(port)/" }

    init(port: Int) throws {
        self.port = port
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-m", "http.server", String(port), "--bind", "127.0.0.1", "--directory", try CommandRunner.temporaryDirectory("http-target").path]
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        // Wait until it accepts connections.
        for _ in 0..<100 {
            if (try? CommandRunner.run("/usr/bin/curl", ["-s", "-o", "/dev/null", "--max-time", "1", url]))?.status == 0 { return }
            usleep(50_000)
        }
        stop()
        throw MissingTestInput(path: "python3 -m http.server", hint: "the loopback HTTP target did not start")
    }

    func stop() { kill(process.processIdentifier, SIGKILL) }
}
