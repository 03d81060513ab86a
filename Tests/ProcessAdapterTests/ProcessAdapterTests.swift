import AdapterKit
import AdapterKitTesting
import CausewayCore
import CausewayTesting
import Foundation
import ProcessAdapter
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Whether a process id is gone (killed and reaped).
func isGone(_ pid: Int32) -> Bool { kill(pid, 0) != 0 && errno == ESRCH }

@Suite("External-process adapter, with real child processes")
struct ProcessAdapterTests {
    /// The example ledger program through the adapter, configured as causeway.yaml would.
    func ledgerAdapter(ledger: URL) throws -> ExternalProcessAdapter {
        let settings = try ExternalProcessAdapter.descriptor.schema.validate(
            ["command": try TestPrograms.python(), "args": TestPrograms.ledgerScript, "env": "LEDGER_FILE=\(ledger.path)", "timeout": "5"],
            prefix: "targets.ledger").get()
        return try ExternalProcessAdapter(settings: settings, secret: nil, target: "ledger", log: { _ in })
    }

    @Test("the example jsonl-ledger.py passes the conformance suite, writing each key once with exact decimals")
    func conformance() async throws {
        let ledger = try CommandRunner.temporaryDirectory("jsonl-ledger").appendingPathComponent("ledger.jsonl")
        let adapter = try ledgerAdapter(ledger: ledger)
        defer { adapter.shutdown() }
        var counter = 0
        let failures = await AdapterConformance.run(adapter) {
            counter += 1
            return steering("purchase-order", nonce: "conformance-\(counter)")
        }
        #expect(failures.isEmpty, "\(failures)")
        let lines = String(decoding: try Data(contentsOf: ledger), as: UTF8.self).split(separator: "\n")
        #expect(lines.count == 3, "three keys were delivered (first, second, racing): \(lines)")
        let first = try JSONReader().read(String(lines[0]))
        #expect(first["action"]?["rows"]?["values"]?["total"] == .string("1570.00"))
        #expect(first["provenance"]?["type"] == .string("CausewayProvenance"))
        #expect(adapter.status.starts == 1)
    }

    @Test("a change's delivery tells the program its operation and version; the example ledger records it beside the original's line")
    func revision() async throws {
        let ledger = try CommandRunner.temporaryDirectory("jsonl-ledger").appendingPathComponent("ledger.jsonl")
        let adapter = try ledgerAdapter(ledger: ledger)
        defer { adapter.shutdown() }
        let original = steering("purchase-order", nonce: "revision")
        #expect(await adapter.deliver(original).outcomeClass == .delivered)
        let change = try original.asRevision(version: 2, cancellation: false)
        #expect(await adapter.deliver(change).outcomeClass == .delivered)
        let lines = try String(decoding: try Data(contentsOf: ledger), as: UTF8.self).split(separator: "\n").map { try JSONReader().read(String($0)) }
        #expect(lines.count == 2)
        #expect(lines[0]["revision"] == nil)
        #expect(lines[1]["revision"]?["operation"]?.stringValue == "change")
        #expect(lines[1]["revision"]?["version"]?.exactInt == 2)
        #expect(lines[1]["revision"]?["amends"]?.stringValue == original.agreementDigest.description)
    }

    @Test("the ledger is durable: a new program instance finds what an earlier one wrote")
    func durableLedger() async throws {
        let ledger = try CommandRunner.temporaryDirectory("jsonl-ledger").appendingPathComponent("ledger.jsonl")
        let delivery = steering("purchase-order")
        let first = try ledgerAdapter(ledger: ledger)
        let reference = try #require(await first.deliver(delivery).reference)
        first.shutdown()
        let second = try ledgerAdapter(ledger: ledger)
        defer { second.shutdown() }
        #expect(await second.lookup(delivery) == .found(reference))
        #expect(await second.deliver(delivery) == .delivered(reference))
        #expect(String(decoding: try Data(contentsOf: ledger), as: UTF8.self).split(separator: "\n").count == 1)
    }

    @Test("describe: the program's name, version and kinds; a kind it does not perform is rejected without asking it")
    func describeHandshake() async throws {
        let (adapter, log) = try TestPrograms.scriptedAdapter()
        defer { adapter.shutdown() }
        #expect(adapter.status.program == nil, "the program starts lazily")
        let outcome = await adapter.deliver(steering("purchase-order"))
        #expect(outcome.outcomeClass == .delivered, "\(outcome)")
        let program = try #require(adapter.status.program)
        #expect(program.name == "test-program" && program.version == "0.1.0" && program.kinds == [.rows, .xml])
        #expect(log.all.contains { $0.contains("test-program 0.1.0, kinds rows, xml") }, "\(log.all)")
        let http = await adapter.deliver(steering("notify", kind: .http))
        #expect(http.outcomeClass == .rejected)
        #expect(http.reason?.contains("performs rows, xml, not http actions") == true, "\(http)")
        #expect(await adapter.deliver(steering("order", kind: .xml)).outcomeClass == .delivered)
    }

    @Test("a program speaking another protocol version is not used: deliveries are retryable with the reason")
    func wrongProtocol() async throws {
        let (adapter, _) = try TestPrograms.scriptedAdapter(environment: ["TEST_PROTOCOL": "2"])
        defer { adapter.shutdown() }
        let outcome = await adapter.deliver(steering("purchase-order"))
        #expect(outcome.outcomeClass == .retryable, "\(outcome)")
        #expect(outcome.reason?.contains("protocol must be 1, the program said 2") == true, "\(outcome)")
        #expect(adapter.status.starts == 0)
    }

    @Test("a program that crashes mid-request: unknown, restarted, and the next delivery works")
    func crash() async throws {
        let (adapter, log) = try TestPrograms.scriptedAdapter()
        defer { adapter.shutdown() }
        #expect(await adapter.deliver(steering("warm-up")).outcomeClass == .delivered)
        let firstPID = try #require(adapter.status.processID)
        let crashed = await adapter.deliver(steering("crash"))
        #expect(crashed.outcomeClass == .unknown, "\(crashed)")
        #expect(crashed.reason?.contains("exit status 3") == true, "\(crashed)")
        let next = await adapter.deliver(steering("purchase-order"))
        #expect(next.outcomeClass == .delivered, "\(next)")
        #expect(adapter.status.starts == 2)
        #expect(adapter.status.processID != firstPID)
        #expect(log.all.contains { $0.contains("ended: exit status 3; 1 request(s) lost") }, "\(log.all)")
    }

    @Test("a program that hangs beyond the timeout: unknown, killed, restarted")
    func hang() async throws {
        let (adapter, _) = try TestPrograms.scriptedAdapter(timeout: .seconds(2))
        defer { adapter.shutdown() }
        #expect(await adapter.deliver(steering("warm-up")).outcomeClass == .delivered)
        let hungPID = try #require(adapter.status.processID)
        let started = ContinuousClock.now
        let hung = await adapter.deliver(steering("hang"))
        // The program never answers: returning at all proves the timeout; the bound is loose
        // because the suite runs in parallel on a busy machine.
        #expect(ContinuousClock.now - started < .seconds(60))
        #expect(hung.outcomeClass == .unknown, "\(hung)")
        #expect(hung.reason?.contains("no answer from the program within 2 s") == true, "\(hung)")
        #expect(await eventually { isGone(hungPID) }, "the hung program must be killed")
        let next = await adapter.deliver(steering("purchase-order"))
        #expect(next.outcomeClass == .delivered, "\(next)")
        #expect(adapter.status.starts == 2)
    }

    @Test("a line that is not a protocol message: that request unknown, logged, program restarted")
    func malformed() async throws {
        let (adapter, log) = try TestPrograms.scriptedAdapter()
        defer { adapter.shutdown() }
        #expect(await adapter.deliver(steering("warm-up")).outcomeClass == .delivered)
        let confusedPID = try #require(adapter.status.processID)
        let outcome = await adapter.deliver(steering("garbage"))
        #expect(outcome.outcomeClass == .unknown, "\(outcome)")
        #expect(outcome.reason?.contains("malformed line") == true, "\(outcome)")
        #expect(log.all.contains { $0.contains("malformed output from the program") && $0.contains("not JSON") }, "\(log.all)")
        #expect(await eventually { isGone(confusedPID) })
        #expect(await adapter.deliver(steering("purchase-order")).outcomeClass == .delivered)
        #expect(adapter.status.starts == 2)
    }

    @Test("rejected and retryable answers pass their reason (and retry delay) through")
    func answers() async throws {
        let (adapter, _) = try TestPrograms.scriptedAdapter()
        defer { adapter.shutdown() }
        #expect(await adapter.deliver(steering("reject")) == .rejected("unknown product code FAST-M8X40 in the ERP"))
        #expect(await adapter.deliver(steering("retry")) == .retryable("the ERP is in its nightly batch", after: .seconds(7)))
    }

    @Test("pipelined requests: many deliveries in flight at once on one program, each answered by id")
    func pipelined() async throws {
        let (adapter, _) = try TestPrograms.scriptedAdapter()
        defer { adapter.shutdown() }
        let outcomes = await withTaskGroup(of: DeliveryOutcome.self) { group in
            for number in 0..<20 { group.addTask { await adapter.deliver(steering("po-\(number)")) } }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(outcomes.allSatisfy { $0.outcomeClass == .delivered }, "\(outcomes)")
        #expect(Set(outcomes.compactMap(\.reference)).count == 20)
        #expect(adapter.status.starts == 1)
    }

    @Test("the secret reaches the program only through its environment and appears in no outcome or log")
    func secret() async throws {
        let secret = "s3cr3t-Token-0042"
        let log = LogCapture()
        let settings = try ExternalProcessAdapter.descriptor.schema.validate(
            ["command": try TestPrograms.python(), "args": try TestPrograms.writeScripted(), "secret": "env:LEDGER_TOKEN"],
            prefix: "targets.erp").get()
        let adapter = try ExternalProcessAdapter(settings: settings, secret: secret, target: "erp", log: { log.append($0) })
        defer { adapter.shutdown() }
        let whoami = await adapter.deliver(steering("whoami"))
        let digest = ContentDigest(of: Array(secret.utf8)).hex
        #expect(whoami.reference?.id == "\(digest)-argv-clean", "\(whoami)")
        let leak = await adapter.deliver(steering("leak"))
        #expect(leak == .rejected("the ERP refused the token [secret]"))
        #expect(await eventually { log.all.contains { $0.contains("stderr: debug: the token is [secret]") } }, "\(log.all)")
        #expect(!log.all.joined(separator: "\n").contains(secret))
        #expect(!"\(leak)".contains(secret))
    }

    @Test("configuration problems name the setting; a missing program is a configuration error")
    func configuration() throws {
        func problems(_ raw: [String: String], secret: String? = nil) -> [String] {
            do {
                _ = try ExternalProcessAdapter(settings: AdapterSettings(raw), secret: secret, log: { _ in })
                return []
            } catch {
                return error.problems
            }
        }
        #expect(problems(["command": "ledger"]).first?.hasPrefix("command: give the program's path") == true)
        #expect(problems(["command": "/nonexistent/ledger"]).first?.hasPrefix("command: /nonexistent/ledger is not an executable file") == true)
        let python = try TestPrograms.python()
        #expect(problems(["command": python, "env": "LEDGER FILE"]).first?.hasPrefix("env:") == true)
        #expect(problems(["command": python, "args": "[1, 2]"]).first?.hasPrefix("args:") == true)
        #expect(problems(["command": python, "timeout": "0"]).first?.hasPrefix("timeout:") == true)
        #expect(problems(["command": python, "secret": "env:TOKEN"]).first?.hasPrefix("secret:") == true)
        let error = problems(["command": "/nonexistent", "secret": "env:TOKEN"], secret: "very-secret-value").joined()
        #expect(!error.contains("very-secret-value"))
        #expect(problems(["command": python, "args": #"["-c", "print(1)"]"#, "env": "A=1 B=x=y"]).isEmpty)
    }

    @Test("run() starts the program before any request, restarts it after a crash, and stops it when cancelled")
    func supervised() async throws {
        let (adapter, _) = try TestPrograms.scriptedAdapter()
        let runner = Task { await adapter.run() }
        #expect(await eventually { adapter.status.starts == 1 }, "run() starts the program eagerly")
        let pid = try #require(adapter.status.processID)
        kill(pid, SIGKILL)
        #expect(await eventually { adapter.status.starts == 2 }, "run() restarts it without a request")
        let second = try #require(adapter.status.processID)
        runner.cancel()
        await runner.value
        #expect(await eventually { isGone(second) }, "cancelling run() stops the program")
    }

    @Test("a program that exits at once fails its connection check at once, with its exit status (not after the timeout)")
    func exitsAtOnce() async throws {
        let settings = try ExternalProcessAdapter.descriptor.schema.validate(["command": "/bin/false", "timeout": "30"], prefix: "targets.ledger").get()
        // Many fresh adapters: the exit races the handshake, and either order must end the check at once.
        for _ in 0..<20 {
            let adapter = try ExternalProcessAdapter(settings: settings, secret: nil, target: "ledger", log: { _ in })
            defer { adapter.shutdown() }
            let started = ContinuousClock.now
            var problems: [String] = []
            do throws(AdapterConfigurationError) { try await adapter.checkConnection() } catch { problems = error.problems }
            #expect(problems.first?.hasPrefix("command: /bin/false did not start: the program exited (") == true, "\(problems)")
            #expect(problems.first?.contains("before answering describe") == true, "\(problems)")
            #expect(ContinuousClock.now - started < .seconds(20), "the check waited for the 30 s timeout")
        }
    }
}
