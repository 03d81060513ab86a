import CausewayCore
import CausewayTesting
import Foundation
import Testing

/// The shell blocks (```sh) of a Markdown page, in order, exactly as written.
func shellBlocks(of markdown: String) -> [String] {
    var blocks: [String] = []
    var current: [Substring]?
    for line in markdown.split(separator: "\n", omittingEmptySubsequences: false) {
        if current == nil {
            if line == "```sh" { current = [] }
        } else if line == "```" {
            blocks.append(current!.joined(separator: "\n"))
            current = nil
        } else {
            current!.append(line)
        }
    }
    return blocks
}

/// A fresh PostgreSQL database on the test server ($CAUSEWAY_TEST_POSTGRES); its URL, and a
/// function that drops it.
func freshPostgresDatabase(_ name: String) throws -> (url: String, drop: () -> Void) {
    guard let server = ProcessInfo.processInfo.environment["CAUSEWAY_TEST_POSTGRES"], let slash = server.range(of: "/", options: .backwards),
          server.hasPrefix("postgresql://")
    else {
        throw MissingTestInput(path: "CAUSEWAY_TEST_POSTGRES", hint: "scripts/test starts PostgreSQL and sets it")
    }
    let database = "\(name)_\(UInt32.random(in: 0...UInt32.max))"
    let created = try CommandRunner.run("/usr/bin/psql", [server, "-v", "ON_ERROR_STOP=1", "-c", "CREATE DATABASE \(database)"])
    guard created.status == 0 else { throw MissingTestInput(path: "psql", hint: created.description) }
    let url = String(server[..<slash.lowerBound]) + "/" + database
    return (url, { _ = try? CommandRunner.run("/usr/bin/psql", [server, "-c", "DROP DATABASE IF EXISTS \(database) WITH (FORCE)"]) })
}

/// Runs Docs/tutorial.md's shell blocks, as written, in one bash in `folder`, with `causeway` on
/// the PATH, the tutorial's variables pointing at `database` and a free port.
func followTutorial(_ tutorial: URL, in folder: URL, database: String) throws -> (result: CommandRunner.Result, blocks: Int, port: Int) {
    let blocks = shellBlocks(of: try String(contentsOf: tutorial, encoding: .utf8))
    let port = TestPorts.free(in: 20_000...32_000)
    // The harness's own lines: stop on the first failing command, and never leave a gateway behind.
    let script = "set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n" + blocks.joined(separator: "\n")
    let bin = URL(fileURLWithPath: CommandRunner.causewayBinary).deletingLastPathComponent().path
    let result = try CommandRunner.run("/bin/bash", ["-c", script], in: folder, environment: [
        "PATH": "\(bin):\(ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")",
        "ERP_DATABASE": database, "CAUSEWAY_LISTEN": "127.0.0.1:\(port)",
        "CAUSEWAY_TOKEN": "", "CAUSEWAY_GATEWAY": "",
    ])
    return (result, blocks.count, port)
}

@Suite("Docs/tutorial.md, followed literally into a real PostgreSQL", .serialized)
struct TutorialTests {
    @Test("every shell block of the tutorial runs as written; the partner's agreement arrives as rows with provenance")
    func tutorial() throws {
        let (database, drop) = try freshPostgresDatabase("tutorial")
        defer { drop() }
        let folder = try CommandRunner.temporaryDirectory("tutorial")
        let (r, blocks, _) = try followTutorial(TestPaths.repository.appendingPathComponent("Docs/tutorial.md"), in: folder, database: database)
        #expect(blocks >= 10, "the tutorial's steps are shell blocks")
        #expect(r.status == 0, "\(r)")
        try checkTutorialOutcome(r, folder: folder.appendingPathComponent("my-gateway"), database: database)
    }
}

/// What the tutorial promises: the submit, the status, the rows with their provenance, the ledger and reconciliation.
func checkTutorialOutcome(_ r: CommandRunner.Result, folder: URL, database: String) throws {
    let submitted = try String(contentsOf: folder.appendingPathComponent("submitted.txt"), encoding: .utf8)
    let digest = String(submitted.prefix { $0 != " " })
    #expect(digest.hasPrefix("sha256:") && submitted.contains(" accepted "), "\(submitted)")
    #expect(r.stdout.contains("\(digest)  delivered  acme"), "status shows the agreement delivered: \(r)")
    #expect(r.stdout.contains("action 0 order → my-erp: delivered"), "\(r)")
    #expect(r.stdout.contains("ledger intact: 1 entries"), "\(r)")
    #expect(r.stdout.contains("everything matched"), "\(r)")
    // The rows, read independently of the tutorial's own psql lines: the one order, changed (step 9:
    // 150 bearings at 7.60) and then cancelled, its provenance the three versions' records in order.
    let rows = try CommandRunner.run("/usr/bin/psql", [database, "-At", "-F", "|", "-c", """
        SELECT o.supplier, o.total, o.currency, count(l.*), sum(l.quantity * l.unit_price), o.version, o.status,
               o.provenance->0->'agreement'->>'digest', o.provenance->0->'plan'->>'partner', o.provenance->0->'plan'->>'mapping',
               jsonb_array_length(o.provenance->0->'signers'), jsonb_array_length(o.provenance),
               o.provenance->2->'revision'->>'version', o.provenance->2->'revision'->>'amends'
        FROM partner_order o JOIN partner_order_line l USING (order_id) GROUP BY o.order_id
        """])
    #expect(rows.status == 0, "\(rows)")
    #expect(rows.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        == "ACME Components|1590.00|EUR|2|1590.0000000|3|cancelled|\(digest)|acme|acme-po|2|3|3|\(digest)", "\(rows)")
    #expect(r.stdout.contains("v3 cancellation"), "status lists the versions: \(r)")
    // The stop step ran: nothing answers on the tutorial's port any more is not asserted by time; the
    // serve process is gone from the shell's jobs (bash exited 0 after `kill %1`).
}

@Suite("A newcomer's first hour, from a fresh clone", .serialized)
struct FirstHourTests {
    @Test("clone → demo → its cheat sheet (status, reconcile, ledger verify, sign with the demo keys, submit) → the tutorial into PostgreSQL")
    func firstHour() async throws {
        // 1. A fresh clone of the repository's committed HEAD.
        let work = try CommandRunner.temporaryDirectory("first-hour")
        let clone = work.appendingPathComponent("causeway")
        let cloned = try CommandRunner.run("/usr/bin/git", ["clone", "--quiet", TestPaths.repository.path, clone.path])
        #expect(cloned.status == 0, "\(cloned)")
        #expect(FileManager.default.fileExists(atPath: clone.appendingPathComponent("scripts/demo").path))
        // To save build time the clone is not built again: the already-built binary of this
        // checkout (.build/debug/causeway, the one scripts/demo builds) runs against the clone's files.
        // The README's first command is scripts/demo; check it says what it runs and that it warns about the build.
        let demoScript = try String(contentsOf: clone.appendingPathComponent("scripts/demo"), encoding: .utf8)
        #expect(demoScript.contains("exec .build/debug/causeway demo"))
        #expect(demoScript.contains("takes several minutes"))
        let readme = try String(contentsOf: clone.appendingPathComponent("README.md"), encoding: .utf8)
        #expect(readme.contains("export PATH=\"$PWD/.build/debug:$PATH\""), "the README says how to put causeway on the PATH")

        // 2. The demo, as scripts/demo runs it (from the clone's root), left running.
        let port = TestPorts.free(in: 10_000...14_999)
        var demo = try RunningDemo(in: clone, port: port, log: work.appendingPathComponent("demo-1.out"))
        defer { demo.stop() }
        var sheet = try await demo.waitForCheatSheet()
        #expect(demo.process.isRunning, "the demo keeps the gateway running:\n\(sheet)")
        #expect(sheet.components(separatedBy: ": delivered → erp_purchase_order").count == 6, "\(sheet)")
        #expect(sheet.contains("Dashboard: http://127.0.0.1:\(port)/ — sign in with the operator token in causeway-demo/operator.token"))

        // 3. The cheat sheet, copied and pasted: its command lines run as printed, in one shell.
        let lines = sheet.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { $0.hasPrefix("export ") || $0.hasPrefix("causeway ") }
        #expect(lines.contains { $0.hasPrefix("export PATH=") })
        #expect(lines.contains("causeway reconcile --config causeway-demo/causeway.yaml       # store, ERP rows and receipts agree"))
        let beforeStatus = lines.filter { !$0.hasPrefix("causeway status DIGEST") }
        let shell = try CommandRunner.run("/bin/bash", ["-c", "set -u\n" + beforeStatus.map { $0 + "\necho \"== exit $?\"" }.joined(separator: "\n")],
                                          in: clone, environment: ["PATH": "/usr/bin:/bin", "CAUSEWAY_TOKEN": "", "CAUSEWAY_GATEWAY": ""])
        let out = shell.stdout
        // causeway status: the five sample agreements, delivered.
        #expect(out.components(separatedBy: "  delivered  stahlteile  urn:uuid:").count == 6, "\(shell)")
        // causeway reconcile --config causeway-demo/causeway.yaml
        #expect(out.contains("everything matched"), "\(shell)")
        // causeway ledger verify --config causeway-demo/causeway.yaml
        #expect(out.contains("ledger intact: 5 entries"), "\(shell)")
        // causeway sign (seller, then buyer) and causeway submit: the new agreement is accepted.
        let mine = clone.appendingPathComponent("causeway-demo/mine.json")
        let signed = try CLIInputForTests.object(mine)
        #expect(signed["proof"]?.arrayValue?.count == 2)
        let accepted = out.split(separator: "\n").first { $0.hasPrefix("sha256:") && $0.hasSuffix("causeway-demo/mine.json") }
        let digest = String(try #require(accepted, "submit prints the digest: \(shell)").split(separator: " ")[0])
        #expect(!out.contains("== exit 1") && !out.contains("== exit 2"), "every command of the cheat sheet succeeded: \(shell)")

        // 4. causeway status DIGEST (the sheet's last line) with the token the sheet exported.
        let token = try String(contentsOf: clone.appendingPathComponent("causeway-demo/operator.token"), encoding: .utf8)
        let environment = ["CAUSEWAY_TOKEN": token, "CAUSEWAY_GATEWAY": "http://127.0.0.1:\(port)"]
        var status = try CommandRunner.causeway(["status", digest], in: clone, environment: environment)
        _ = try await eventually(seconds: 30) {
            status = try CommandRunner.causeway(["status", digest], in: clone, environment: environment)
            return status.stdout.contains("receipt urn:uuid:")
        }
        #expect(status.stdout.hasPrefix("\(digest)  delivered  stahlteile"), "\(status)")
        #expect(status.stdout.contains("action 0 purchase-order → erp-staging: delivered after 1 attempt(s) ref 6"), "\(status)")
        // ledger verify and reconcile see the sixth agreement.
        var r = try CommandRunner.causeway(["ledger", "verify", "--config", "causeway-demo/causeway.yaml"], in: clone)
        #expect(r.status == 0 && r.stdout.hasPrefix("ledger intact: 6 entries"), "\(r)")
        r = try CommandRunner.causeway(["reconcile", "--config", "causeway-demo/causeway.yaml"], in: clone)
        #expect(r.status == 0 && r.stdout.contains("6 agreements, 6 actions"), "\(r)")

        // 5. A bundled fixture is refused as unknown_partner, with the way out named.
        r = try CommandRunner.causeway(["submit", "Mappings/stahlteile/fixtures/agreements/one-line.json"], in: clone, environment: environment)
        #expect(r.status == 1)
        #expect(r.stdout.contains("REFUSED  intake.unknown_partner"), "\(r)")
        #expect(r.stdout.contains("causeway sign --key causeway-demo/seller-key.json"), "\(r)")

        // 6. Stop the demo (Ctrl-C), run it again: same keys and token, nothing delivered twice.
        demo.stop(signal: SIGINT)
        demo = try RunningDemo(in: clone, port: port, log: work.appendingPathComponent("demo-2.out"))
        sheet = try await demo.waitForCheatSheet()
        #expect(sheet.contains("kept from the last run"), "\(sheet)")
        #expect(sheet.components(separatedBy: ": delivered → erp_purchase_order").count == 6, "\(sheet)")
        #expect(try String(contentsOf: clone.appendingPathComponent("causeway-demo/operator.token"), encoding: .utf8) == token)

        // The README's block after scripts/demo, run literally from the clone. The clone is not built
        // (see above): its .build/debug is a link to this checkout's build folder, so the README's
        // `export PATH="$PWD/.build/debug:$PATH"` finds causeway. The README assumes port 8080; the
        // demo here runs on another, given to the CLI through CAUSEWAY_GATEWAY.
        let binaryFolder = URL(fileURLWithPath: CommandRunner.causewayBinary).deletingLastPathComponent().path
        try FileManager.default.createDirectory(at: clone.appendingPathComponent(".build"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: clone.appendingPathComponent(".build/debug").path, withDestinationPath: binaryFolder)
        let block = try #require(readme.components(separatedBy: "Then, in a second shell").dropFirst().first.flatMap { shellBlocks(of: $0).first },
                                 "the README's block after scripts/demo")
        #expect(block.contains("causeway ledger verify --config causeway-demo/causeway.yaml"))
        let readmeRun = try CommandRunner.run("/bin/bash", ["-c", "set -euo pipefail\n" + block], in: clone, environment: [
            "PATH": "/usr/bin:/bin", "CAUSEWAY_TOKEN": "", "CAUSEWAY_GATEWAY": "http://127.0.0.1:\(port)",
        ])
        #expect(readmeRun.status == 0, "\(readmeRun)")
        #expect(readmeRun.stdout.components(separatedBy: "  delivered  stahlteile  urn:uuid:").count == 7, "\(readmeRun)")
        #expect(readmeRun.stdout.contains("everything matched"), "\(readmeRun)")
        #expect(readmeRun.stdout.contains("ledger intact: 6 entries"), "\(readmeRun)")
        #expect(readmeRun.stdout.contains(" accepted  causeway-demo/mine.json"), "\(readmeRun)")
        let readmeDigest = String(try #require(readmeRun.stdout.split(separator: "\n").first { $0.hasSuffix(" accepted  causeway-demo/mine.json") })
            .split(separator: " ")[0])
        #expect(readmeDigest != digest, "a new agreement (the second demo run wrote new-agreement.json with a new id)")
        _ = try await eventually(seconds: 30) {
            try CommandRunner.causeway(["status", readmeDigest], in: clone, environment: environment).stdout.contains("receipt urn:uuid:")
        }
        demo.stop(signal: SIGINT)
        r = try CommandRunner.causeway(["ledger", "verify", "--config", "causeway-demo/causeway.yaml"], in: clone)
        #expect(r.stdout.hasPrefix("ledger intact: 7 entries"), "\(r)")

        // 7. The tutorial, from the clone's Docs/tutorial.md, into a real PostgreSQL.
        let (database, drop) = try freshPostgresDatabase("first_hour")
        defer { drop() }
        let (tutorial, _, _) = try followTutorial(clone.appendingPathComponent("Docs/tutorial.md"), in: work, database: database)
        #expect(tutorial.status == 0, "\(tutorial)")
        try checkTutorialOutcome(tutorial, folder: work.appendingPathComponent("my-gateway"), database: database)
    }
}

/// `causeway demo` (without --once) as a user leaves it running in a terminal; its output in a file.
struct RunningDemo {
    let process = Process()
    let log: URL

    init(in folder: URL, port: Int, log: URL) throws {
        self.log = log
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: CommandRunner.causewayBinary)
        process.arguments = ["demo", "--port", String(port)]
        process.currentDirectoryURL = folder
        process.standardOutput = try FileHandle(forWritingTo: log)
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
    }

    /// The demo's output once it has printed the cheat sheet (or exited).
    func waitForCheatSheet() async throws -> String {
        var output = ""
        _ = try await eventually(seconds: 120) {
            output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            return output.contains("The gateway keeps running") || !process.isRunning
        }
        return output
    }

    /// Ctrl-C (SIGINT) or SIGTERM, and waits until the demo has shut down.
    func stop(signal: Int32 = SIGTERM) {
        guard process.isRunning else { return }
        kill(process.processIdentifier, signal)
        process.waitUntilExit()
    }
}

enum CLIInputForTests {
    static func object(_ file: URL) throws -> JSONObject {
        let data = try Data(contentsOf: file)
        return try #require(try JSONReader().read(Array(data)).objectValue)
    }
}
