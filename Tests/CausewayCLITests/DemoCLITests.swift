import CausewayCore
import CausewayTesting
import Foundation
import Testing

/// The newcomer's stumbles of issue 15 (item 5 and 6): each was hit running the README's commands.
@Suite("demo state and port, and the CLI's messages for a newcomer", .serialized)
struct DemoCLITests {
    @Test("the demo keeps its folder between runs, checks the port before touching it, and --reset starts afresh")
    func keepsStateAndChecksPort() async throws {
        let work = try CommandRunner.temporaryDirectory("demo-state")
        let port = TestPorts.free(in: 10_000...14_999)
        var r = try CommandRunner.causeway(["demo", "--once", "--dir", work.appendingPathComponent("demo").path, "--port", String(port)],
                                           in: TestPaths.repository)
        #expect(r.status == 0, "\(r)")
        let tokenFile = work.appendingPathComponent("demo/operator.token")
        let token = try String(contentsOf: tokenFile, encoding: .utf8)
        #expect(token.utf8.count >= 32, "the gateway refuses tokens under 32 bytes")
        let sellerKey = try Data(contentsOf: work.appendingPathComponent("demo/seller-key.json"))
        #expect(r.stdout.contains("sign --key \(work.path)/demo/seller-key.json --role seller"), "the cheat sheet signs with the demo keys: \(r)")
        #expect(r.stdout.contains("causeway ledger verify --config \(work.path)/demo/causeway.yaml"))
        #expect(r.stdout.contains("export CAUSEWAY_TOKEN=\"$(cat \(work.path)/demo/operator.token)\""))
        #expect(r.stdout.contains("export CAUSEWAY_GATEWAY=http://127.0.0.1:\(port)"))

        // Its port busy (a gateway listens there): the demo says so and leaves the folder alone.
        let other = try RunningGateway()
        defer { _ = other.stop() }
        try await other.waitUntilReady()
        r = try CommandRunner.causeway(["demo", "--once", "--dir", work.appendingPathComponent("demo").path, "--port", String(other.port)],
                                       in: TestPaths.repository)
        #expect(r.status == 2)
        #expect(r.stderr.contains("port \(other.port) on 127.0.0.1 is in use"), "\(r)")
        #expect(try String(contentsOf: tokenFile, encoding: .utf8) == token, "the token survived")
        #expect(try Data(contentsOf: work.appendingPathComponent("demo/seller-key.json")) == sellerKey, "the keys survived")

        // A second run keeps keys, token, store and rows: the samples are known, nothing is delivered twice.
        r = try CommandRunner.causeway(["demo", "--once", "--dir", work.appendingPathComponent("demo").path, "--port", String(port)],
                                       in: TestPaths.repository)
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains("kept from the last run"))
        #expect(r.stdout.components(separatedBy: ": delivered → erp_purchase_order").count == 6)
        #expect(try String(contentsOf: tokenFile, encoding: .utf8) == token)
        let rows = try CommandRunner.run("/usr/bin/sqlite3", [work.appendingPathComponent("demo/erp-staging.sqlite").path, "SELECT count(*) FROM erp_purchase_order"])
        #expect(rows.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "5", "\(rows)")

        // --reset: new keys and token.
        r = try CommandRunner.causeway(["demo", "--once", "--reset", "--dir", work.appendingPathComponent("demo").path, "--port", String(port)],
                                       in: TestPaths.repository)
        #expect(r.status == 0, "\(r)")
        #expect(!r.stdout.contains("kept from the last run"))
        #expect(try String(contentsOf: tokenFile, encoding: .utf8) != token)
        #expect(try Data(contentsOf: work.appendingPathComponent("demo/seller-key.json")) != sellerKey)
    }

    @Test("status names CAUSEWAY_TOKEN when it is missing, and explains a 401")
    func statusToken() async throws {
        let gateway = try RunningGateway()
        defer { _ = gateway.stop() }
        try await gateway.waitUntilReady()
        let base = "http://127.0.0.1:\(gateway.port)"
        var r = try CommandRunner.causeway(["status", "--gateway", base], environment: ["CAUSEWAY_TOKEN": ""])
        #expect(r.status == 2)
        #expect(r.stderr.contains("status needs a viewer or operator token in CAUSEWAY_TOKEN"), "\(r)")
        r = try CommandRunner.causeway(["status", "--gateway", base], environment: ["CAUSEWAY_TOKEN": "not-this-gateways-token-0123456789abcdef"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("the gateway answered 401: auth.token_invalid"), "\(r)")
        #expect(r.stderr.contains("the token in CAUSEWAY_TOKEN is not one of this gateway's tokens"), "\(r)")
        // No gateway at the address: the message says how to start one and where the address comes from.
        r = try CommandRunner.causeway(["status", "--gateway", "http://127.0.0.1:1"], environment: ["CAUSEWAY_TOKEN": gateway.viewerToken])
        #expect(r.status == 2)
        #expect(r.stderr.contains("(is it running? scripts/demo or causeway serve starts one; --gateway or CAUSEWAY_GATEWAY gives its address)"), "\(r)")
        // A token read with $(cat file) may end in a newline: it still works.
        r = try CommandRunner.causeway(["status", "--gateway", base], environment: ["CAUSEWAY_TOKEN": gateway.viewerToken + "\n"])
        #expect(r.status == 0, "\(r)")
    }

    @Test("reconcile and ledger verify without --config name the demo's configuration when it is there")
    func configHint() throws {
        let folder = try CommandRunner.temporaryDirectory("config-hint")
        var r = try CommandRunner.causeway(["reconcile"], in: folder)
        #expect(r.status == 2)
        #expect(r.stderr.contains("causeway.yaml: no such configuration file (pass --config FILE)"), "\(r)")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("causeway-demo"), withIntermediateDirectories: true)
        try Data("listen: 127.0.0.1:1\n".utf8).write(to: folder.appendingPathComponent("causeway-demo/causeway.yaml"))
        for command in [["reconcile"], ["ledger", "verify"]] {
            r = try CommandRunner.causeway(command, in: folder)
            #expect(r.status == 2)
            #expect(r.stderr.contains("the demo's configuration is here: --config causeway-demo/causeway.yaml"), "\(command): \(r)")
        }
    }

    @Test("submit prints each reason of a 422 (code and path without a token; with CAUSEWAY_TOKEN the message naming the missing code)")
    func submitReasons() async throws {
        let gateway = try RunningGateway()
        defer { _ = gateway.stop() }
        try await gateway.waitUntilReady()
        let base = "http://127.0.0.1:\(gateway.port)"
        let unknownSKU = TestPaths.repository.appendingPathComponent("Mappings/stahlteile/fixtures/agreements/unknown-sku.json").path
        var r = try CommandRunner.causeway(["submit", "--gateway", base, unknownSKU], environment: ["CAUSEWAY_TOKEN": ""])
        #expect(r.status == 1)
        #expect(r.stdout.contains("REFUSED  intake.mapping_failed"), "\(r)")
        #expect(r.stdout.contains("  - mapping.lookup_missing at $['lines'][1]['sku']\n"), "\(r)")
        #expect(r.stdout.contains("hint: set CAUSEWAY_TOKEN"), "\(r)")
        r = try CommandRunner.causeway(["submit", "--gateway", base, unknownSKU], environment: ["CAUSEWAY_TOKEN": gateway.viewerToken])
        #expect(r.status == 1)
        #expect(r.stdout.contains("""
            - mapping.lookup_missing at $['lines'][1]['sku']: crosswalk 'sku' (crosswalks/sku.csv) has no row whose partner_sku is "STL-99999-X"; \
            add a row for "STL-99999-X" to crosswalks/sku.csv or set on_miss
            """), "\(r)")
        #expect(!r.stdout.contains("hint: set CAUSEWAY_TOKEN"))
        // A token the gateway does not know: intake still answers, with codes and paths, and submit says why.
        r = try CommandRunner.causeway(["submit", "--gateway", base, unknownSKU], environment: ["CAUSEWAY_TOKEN": "stale-token-0123456789abcdef0123456789ab"])
        #expect(r.status == 1)
        #expect(r.stdout.contains("  - mapping.lookup_missing at $['lines'][1]['sku']\n"), "\(r)")
        #expect(r.stdout.contains("hint: the gateway did not accept the token in CAUSEWAY_TOKEN"), "\(r)")
        // A verification failure carries findings the same way.
        let limit = TestPaths.repository.appendingPathComponent("Mappings/stahlteile/fixtures/agreements/limit-exceeded.json").path
        r = try CommandRunner.causeway(["submit", "--gateway", base, limit], environment: ["CAUSEWAY_TOKEN": gateway.viewerToken])
        #expect(r.status == 1)
        #expect(r.stdout.contains("REFUSED  intake.not_verified"), "\(r)")
        #expect(r.stdout.contains("  - policy."), "each finding on its own line: \(r)")
    }
}
