import CausewayCore
import CausewayTesting
import CausewayTrust
import Foundation
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The ledger audited from outside, with real `causeway serve` processes on loopback:
/// `causeway ledger watch` against a gateway whose store is rolled back and then forked, and two
/// gateways witnessing each other (C2SP tlog-witness).
@Suite("Ledger watch and witnesses", .serialized)
struct LedgerWitnessTests {
    static let fixtures = TestPaths.repository.appendingPathComponent("Mappings/stahlteile/fixtures/agreements")

    static func submit(_ gateway: RunningGateway, _ name: String) async throws {
        let bytes = Array(try Data(contentsOf: fixtures.appendingPathComponent("\(name).json")))
        let (status, body) = try await gateway.request("POST", "/v1/agreements", body: bytes)
        #expect(status == 202 || status == 200, "\(String(describing: body))")
    }

    /// A GET or POST answered as text.
    static func text(_ gateway: RunningGateway, _ method: String, _ path: String, body: String? = nil, token: String? = nil) async throws -> (Int, String) {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(gateway.port)\(path)")!)
        request.httpMethod = method
        request.timeoutInterval = 20
        if let body { request.httpBody = Data(body.utf8) }
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    /// The size of the gateway's latest checkpoint (0 when none yet).
    static func checkpointSize(_ gateway: RunningGateway) async throws -> Int {
        let (status, note) = try await text(gateway, "GET", "/v1/ledger/checkpoint", token: gateway.viewerToken)
        guard status == 200, let parsed = try? SignedNote(parsing: note), let checkpoint = try? Checkpoint(parsing: parsed.text) else { return 0 }
        return checkpoint.size
    }

    /// Polls an async condition for up to `seconds`.
    static func until(seconds: Double, _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if (try? await condition()) == true { return true }
            try await Task.sleep(for: .milliseconds(200))
        }
        return try await condition()
    }

    /// The ledger's entry count, through the API.
    static func ledgerEntries(_ gateway: RunningGateway) async throws -> Int {
        let (_, body) = try await gateway.request("GET", "/v1/agreements?limit=200", token: gateway.viewerToken)
        var receipts = 0
        for summary in body?["agreements"]?.arrayValue ?? [] {
            let (_, detail) = try await gateway.request("GET", "/v1/agreements/\(summary["digest"]?.stringValue ?? "")", token: gateway.viewerToken)
            receipts += detail?["receipts"]?.arrayValue?.count ?? 0
        }
        return receipts
    }

    /// Submits fixtures and waits until a checkpoint covers every receipt issued.
    static func grow(_ gateway: RunningGateway, _ names: [String]) async throws -> Int {
        let before = try await ledgerEntries(gateway)
        for name in names { try await submit(gateway, name) }
        var entries = before
        let issued = try await until(seconds: 30) {
            entries = try await ledgerEntries(gateway)
            return entries > before
        }
        try #require(issued, "no receipt was issued:\n\(gateway.log)")
        // Every action of the agreements delivered: the count settles.
        try await Task.sleep(for: .milliseconds(500))
        entries = try await ledgerEntries(gateway)
        let covered = try await until(seconds: 30) { try await checkpointSize(gateway) >= entries }
        try #require(covered, "no checkpoint covers the \(entries) receipts:\n\(gateway.log)")
        return entries
    }

    static func did(_ gateway: RunningGateway) throws -> String {
        try SigningIdentity(contentsOfKeyFile: gateway.directory.appendingPathComponent("key.json").path).didKey.did
    }

    func watch(_ gateway: RunningGateway, state: URL, did: String? = nil) throws -> CommandRunner.Result {
        try CommandRunner.causeway(["ledger", "watch", "--gateway", "http://127.0.0.1:\(gateway.port)", "--state", state.path, "--once"]
                                   + (did.map { ["--gateway-did", $0] } ?? []),
                                   environment: ["CAUSEWAY_TOKEN": gateway.viewerToken])
    }

    @Test("ledger watch: consistent growth passes; a store rolled back is named TRUNCATED, a history rewritten after it FORK; the state is never moved back")
    func watchRollbackAndFork() async throws {
        let gateway = try RunningGateway(extra: "ledger:\n  checkpoint_interval_seconds: 0.2")
        defer { _ = gateway.stop() }
        try await gateway.waitUntilReady()
        let state = try CommandRunner.temporaryDirectory("watch-state").appendingPathComponent("state")
        let did = try Self.did(gateway)

        // The first run needs a key.
        let keyless = try watch(gateway, state: state)
        #expect(keyless.status == 2 && keyless.stderr.contains("--gateway-did"), "\(keyless)")

        let first = try await Self.grow(gateway, ["one-line"])
        let pinned = try watch(gateway, state: state, did: did)
        #expect(pinned.status == 0 && pinned.stdout.contains("first checkpoint") && pinned.stdout.contains("size \(first)"), "\(pinned)")
        let stateFile = state.appendingPathComponent("checkpoint")
        let mode = try FileManager.default.attributesOfItem(atPath: stateFile.path)[.posixPermissions] as? NSNumber
        #expect(mode?.intValue == 0o600)

        // Back up the store (stopped, so the copy is whole), then grow the log.
        #expect(gateway.stop() == 0)
        let store = gateway.directory.appendingPathComponent("causeway.sqlite")
        let backup = gateway.directory.appendingPathComponent("backup.sqlite")
        // A graceful stop folds the write-ahead log into the file: the file alone is the store.
        #expect(!FileManager.default.fileExists(atPath: store.path + "-wal")
                    || ((try? FileManager.default.attributesOfItem(atPath: store.path + "-wal")[.size] as? NSNumber)??.intValue ?? 0) == 0,
                "the stopped gateway left a write-ahead log with commits in it")
        try FileManager.default.copyItem(at: store, to: backup)
        try gateway.start()
        try await gateway.waitUntilReady()
        let grown = try await Self.grow(gateway, ["multi-line", "kilograms"])
        #expect(grown > first)
        let consistent = try watch(gateway, state: state)  // the key is pinned now
        #expect(consistent.status == 0 && consistent.stdout.contains("grew from \(first) to \(grown)"), "\(consistent)")
        let kept = try String(contentsOf: stateFile, encoding: .utf8)

        // Roll the store back to the copy.
        #expect(gateway.stop() == 0)
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: store.path + suffix) }
        try FileManager.default.copyItem(at: backup, to: store)
        try gateway.start()
        try await gateway.waitUntilReady()
        #expect(try await Self.checkpointSize(gateway) == first)
        let truncated = try watch(gateway, state: state)
        #expect(truncated.status == 1, "\(truncated)")
        #expect(truncated.stdout.contains("TRUNCATED") && truncated.stdout.contains("size \(grown)") && truncated.stdout.contains("size \(first)"),
                "\(truncated)")
        #expect(try String(contentsOf: stateFile, encoding: .utf8) == kept, "the watcher moved its state back")
        let evidence = try FileManager.default.contentsOfDirectory(atPath: state.appendingPathComponent("evidence").path)
        #expect(evidence.count == 2, "\(evidence)")  // the stored and the gateway's checkpoint
        // Watching on an interval stops at the first misbehaviour, with the same report.
        let interval = try CommandRunner.causeway(["ledger", "watch", "--gateway", "http://127.0.0.1:\(gateway.port)", "--state", state.path,
                                                   "--interval", "0.5"], environment: ["CAUSEWAY_TOKEN": gateway.viewerToken])
        #expect(interval.status == 1 && interval.stdout.contains("TRUNCATED"), "\(interval)")

        // The rolled-back gateway issues other receipts in the same places: a fork.
        var size = first
        for name in ["multi-line", "kilograms", "one-line"] where size < grown {
            try await Self.submit(gateway, name)
            _ = try await Self.until(seconds: 30) { try await Self.checkpointSize(gateway) > size }
            size = try await Self.checkpointSize(gateway)
        }
        try #require(size >= grown, "the rolled-back log did not grow back to \(grown):\n\(gateway.log)")
        let fork = try watch(gateway, state: state)
        #expect(fork.status == 1, "\(fork)")
        #expect(fork.stdout.contains("FORK"), "\(fork)")
        #expect(try String(contentsOf: stateFile, encoding: .utf8) == kept)

        // A wrong key is refused before anything is compared; an unreachable gateway is exit 2.
        let other = SigningIdentity().didKey.did
        let wrongKey = try watch(gateway, state: state, did: other)
        #expect(wrongKey.status == 2 && wrongKey.stderr.contains("trusts"), "\(wrongKey)")
        _ = gateway.stop()
        let unreachable = try watch(gateway, state: state)
        #expect(unreachable.status == 2 && unreachable.stderr.contains("cannot reach"), "\(unreachable)")
    }
}

extension LedgerWitnessTests {
    /// Appends YAML to a file (a configuration or a partner.yaml written by RunningGateway).
    static func append(_ text: String, to file: URL) throws {
        let old = try String(contentsOf: file, encoding: .utf8)
        try Data((old + "\n" + text + "\n").utf8).write(to: file)
    }

    static func vkey(_ gateway: RunningGateway, log: Bool) throws -> String {
        let r = try CommandRunner.causeway(["ledger", "witness-key", "--config", gateway.configFile] + (log ? ["--log"] : []), in: gateway.directory)
        try #require(r.status == 0, "\(r)")
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func originPath(_ origin: String) -> String {
        "/witness/" + ContentDigest(of: Array(origin.utf8)).hex + "/checkpoint"
    }

    @Test("two gateways witness each other: each cosigns the other's checkpoints, a forked, stale, unknown or forged checkpoint is refused, and a partner requiring 1 cosignature gets its receipt only once cosigned")
    func twoGatewaysWitnessEachOther() async throws {
        let recorder = try await CallbackRecorder(fail: 0)
        defer { recorder.stop() }
        let work = try CommandRunner.temporaryDirectory("witness")
        let received = recorder.received

        let a = try RunningGateway(extra: "ledger:\n  origin: a.test/causeway\n  checkpoint_interval_seconds: 0.2", start: false)
        let b = try RunningGateway(extra: "ledger:\n  origin: b.test/causeway\n  checkpoint_interval_seconds: 0.2", start: false)
        defer { _ = a.stop(); _ = b.stop() }
        let (witnessA, witnessB) = (try Self.vkey(a, log: false), try Self.vkey(b, log: false))
        let (logA, logB) = (try Self.vkey(a, log: true), try Self.vkey(b, log: true))
        #expect(witnessA.hasPrefix("a.test/causeway+") && logA.hasPrefix("a.test/causeway+") && witnessA != logA)
        // Each witnesses the other's log; each partner lists the other gateway as its witness, B's requires one cosignature.
        try Self.append("witness:\n  logs:\n    - {origin: b.test/causeway, key: \"\(logB)\"}", to: a.directory.appendingPathComponent(a.configFile))
        try Self.append("witness:\n  logs:\n    - {origin: a.test/causeway, key: \"\(logA)\"}", to: b.directory.appendingPathComponent(b.configFile))
        try Self.append("ledger:\n  witnesses:\n    - {url: \"http://127.0.0.1:\(b.port)/witness\", key: \"\(witnessB)\"}",
                        to: a.directory.appendingPathComponent("partners/stahlteile/partner.yaml"))
        try Self.append("""
            receipts: {callback: "\(recorder.url)"}
            ledger:
              witnesses:
                - {url: "http://127.0.0.1:\(a.port)/witness", key: "\(witnessA)"}
              cosignatures_required: 1
            """, to: b.directory.appendingPathComponent("partners/stahlteile/partner.yaml"))

        // B runs alone: its receipt is issued and checkpointed, but held, since its witness is down.
        try b.start()
        try await b.waitUntilReady()
        let entries = try await Self.grow(b, ["one-line"])
        try await Task.sleep(for: .seconds(2))
        #expect(received().isEmpty, "a receipt was pushed before any witness cosigned its checkpoint: \(received())")

        // A starts: it cosigns B's checkpoint, and the receipt is pushed.
        try a.start()
        try await a.waitUntilReady()
        let pushed = try await Self.until(seconds: 30) { received().count >= entries }
        #expect(pushed, "the receipt was not pushed after cosigning:\n\(b.log)")
        let (status, cosignedB) = try await Self.text(a, "GET", Self.originPath("b.test/causeway"))
        #expect(status == 200, "\(cosignedB)")
        let noteB = try SignedNote(parsing: cosignedB)
        let verified = try noteB.verify(with: [try NoteKey(vkey: logB), try NoteKey(vkey: witnessA)],
                                        requiring: [try NoteKey(vkey: logB), try NoteKey(vkey: witnessA)])
        #expect(verified.count == 2 && verified.contains { ($0.timestamp ?? 0) > 0 })
        let sizeB = try Checkpoint(parsing: noteB.text).size
        let seqs = received().compactMap { $0["body"]?["receipt"]?["ledger"]?["seq"]?.numberValue }  // pushes are receipt bundles
        #expect(!seqs.isEmpty && seqs.allSatisfy { Int($0) < sizeB }, "pushed receipts \(seqs) beyond the cosigned size \(sizeB)")

        // B's dashboard: the ledger and its witness on the overview; the receipt's proof status and bundle on the order page.
        let session = try DashboardTests.signIn(b, token: b.viewerToken)
        let overview = try DashboardTests.curl(b, "GET", "/", cookie: session.cookie).body
        #expect(overview.contains("id=\"tree-size\">\(entries)</span>"), "\(overview)")
        #expect(overview.contains("id=\"cosignatures\"") && overview.contains("a.test/causeway"), "no witness cosignature on the overview")
        let (_, listed) = try await b.request("GET", "/v1/agreements", token: b.viewerToken)
        let digest = try #require(listed?["agreements"]?.arrayValue?.first?["digest"]?.stringValue)
        let orderPage = try DashboardTests.curl(b, "GET", "/orders/\(digest)", cookie: session.cookie).body
        #expect(orderPage.contains("in checkpoint ") && orderPage.contains("/bundle\" download>bundle</a>"), "\(orderPage)")
        let receiptID = try #require(received().first?["body"]?["receipt"]?["id"]?.stringValue)
        let download = try DashboardTests.curl(b, "GET", "/orders/\(digest)/receipts/\(receiptID)/bundle", cookie: session.cookie)
        #expect(download.status == 200 && download.headers["content-disposition"]?.hasPrefix("attachment") == true, "\(download.status) \(download.headers)")
        let bundleFile = work.appendingPathComponent("bundle.json")
        try Data(download.body.utf8).write(to: bundleFile)
        let checked = try CommandRunner.causeway(["receipts", "verify", bundleFile.path, "--gateway-did", try Self.did(b)])
        #expect(checked.status == 0, "\(checked)")
        // B publishes A's cosignature: on its checkpoint, in the bundles it serves and in the bundles it pushed,
        // so a partner checks the witness offline (and one requiring a cosignature B lacks is refused).
        let (_, publishedB) = try await Self.text(b, "GET", "/v1/ledger/checkpoint", token: b.viewerToken)
        let publishedNote = try SignedNote(parsing: publishedB)
        #expect(try publishedNote.verify(with: [try NoteKey(vkey: logB), try NoteKey(vkey: witnessA)],
                                         requiring: [try NoteKey(vkey: logB), try NoteKey(vkey: witnessA)]).count == 2,
                "B's checkpoint does not carry A's cosignature:\n\(publishedB)")
        let pushedBundle = try #require(received().first?["body"]?.objectValue)
        let pushedFile = work.appendingPathComponent("pushed-bundle.json")
        try Data(JSONWriter.string(.object(pushedBundle)).utf8).write(to: pushedFile)
        let withWitness = try CommandRunner.causeway(["receipts", "verify", pushedFile.path, "--gateway-did", try Self.did(b),
                                                     "--witness", witnessA, "--cosignatures", "1"])
        #expect(withWitness.status == 0, "the pushed bundle lacks the witness cosignature: \(withWitness)")
        let unknownWitness = try CommandRunner.causeway(["receipts", "verify", pushedFile.path, "--gateway-did", try Self.did(b),
                                                        "--witness", witnessB,
                                                        "--cosignatures", "1"])
        #expect(unknownWitness.status == 1, "a cosignature by a witness that never signed was accepted: \(unknownWitness)")

        // And B cosigns A's.
        _ = try await Self.grow(a, ["multi-line"])
        let cosignedA = try await Self.until(seconds: 30) {
            let (status, text) = try await Self.text(b, "GET", Self.originPath("a.test/causeway"))
            guard status == 200 else { return false }
            let note = try SignedNote(parsing: text)
            try note.verify(with: [try NoteKey(vkey: logA), try NoteKey(vkey: witnessB)], requiring: [try NoteKey(vkey: logA), try NoteKey(vkey: witnessB)])
            return try Checkpoint(parsing: note.text).size >= 1
        }
        #expect(cosignedA, "B did not cosign A's checkpoint:\n\(a.log)")

        // Refusals by witness A for log B, which leave A's state as it was.
        let (_, before) = try await Self.text(a, "GET", Self.originPath("b.test/causeway"))
        let cosigned = try Checkpoint(parsing: try SignedNote(parsing: before).text)
        let keyB = try SigningIdentity(contentsOfKeyFile: b.directory.appendingPathComponent("key.json").path)
        func signed(_ origin: String, _ size: Int, _ root: [UInt8], by identity: SigningIdentity) throws -> String {
            try SignedCheckpoint.sign(try Checkpoint(origin: origin, size: size, rootHash: root), with: identity).formatted
        }
        func post(old: Int, proof: [[UInt8]], note: String) async throws -> (Int, String) {
            try await Self.text(a, "POST", "/witness/add-checkpoint",
                                body: AddCheckpointRequest(oldSize: old, consistencyProof: proof, checkpointNote: note).formatted)
        }
        let otherRoot = (0..<32).map { _ in UInt8.random(in: 0...255) }
        // A fork: a larger tree whose proof cannot lead from the cosigned root; the same size with another root.
        let forkLength = MerkleTree.consistencyProofLength(from: cosigned.size, to: cosigned.size + 3)
        let forked = try await post(old: cosigned.size, proof: (0..<forkLength).map { _ in otherRoot },
                                    note: try signed("b.test/causeway", cosigned.size + 3, otherRoot, by: keyB))
        #expect(forked.0 == 422, "\(forked)")
        let sameSize = try await post(old: cosigned.size, proof: [], note: try signed("b.test/causeway", cosigned.size, otherRoot, by: keyB))
        #expect(sameSize.0 == 422, "\(sameSize)")
        // A stale old size: 409 with the size last cosigned.
        let stale = try await post(old: 0, proof: [], note: try signed("b.test/causeway", cosigned.size + 3, otherRoot, by: keyB))
        #expect(stale.0 == 409 && stale.1 == "\(cosigned.size)\n", "\(stale)")
        // A log A does not witness, and a checkpoint of B's log signed by another key.
        let unknown = try await post(old: 0, proof: [], note: try signed("c.test/causeway", 1, otherRoot, by: keyB))
        #expect(unknown.0 == 404, "\(unknown)")
        let forged = try await post(old: cosigned.size, proof: [], note: try signed("b.test/causeway", cosigned.size, cosigned.rootHash, by: SigningIdentity()))
        #expect(forged.0 == 403, "\(forged)")
        let malformed = try await Self.text(a, "POST", "/witness/add-checkpoint", body: "old 01\n\n")
        #expect(malformed.0 == 400, "\(malformed)")
        let (_, after) = try await Self.text(a, "GET", Self.originPath("b.test/causeway"))
        // B's own collector may have moved it on since, but never to a refused checkpoint.
        let kept = try Checkpoint(parsing: try SignedNote(parsing: after).text)
        #expect(kept.rootHash != otherRoot && kept.size >= cosigned.size, "a refused request moved the witness's state")
        #expect(a.log.contains("not consistent"), "the fork was not logged as evidence")
    }
}

extension LedgerWitnessTests {
    @Test("config check names each bad witness setting: a witness key where a log key belongs, a key that is no key, a log listed twice, an unknown setting")
    func witnessConfigurationProblems() throws {
        let gateway = try RunningGateway(start: false)
        let witnessKey = try Self.vkey(gateway, log: false)
        let logKey = try Self.vkey(gateway, log: true)
        let file = gateway.directory.appendingPathComponent(gateway.configFile)
        try Self.append("""
            witness:
              nme: x
              logs:
                - {origin: a.test/log, key: "\(witnessKey)"}
                - {origin: b.test/log, key: "not-a-key"}
                - {origin: c.test/log, key: "\(logKey)"}
                - {origin: c.test/log, key: "\(logKey)"}
            """, to: file)
        let r = try CommandRunner.causeway(["config", "check", "--config", gateway.configFile], in: gateway.directory,
                                           environment: ["TEST_OPS_TOKEN": gateway.token, "TEST_VIEWER_TOKEN": gateway.viewerToken])
        #expect(r.status == 1, "\(r)")
        for expected in ["witness.nme: unknown setting", "witness.logs[a.test/log].key: this vkey is a witness (cosignature, type 0x04) key",
                         "witness.logs[b.test/log].key:", "the origin c.test/log is listed twice"] {
            #expect(r.stderr.contains(expected), "missing '\(expected)' in \(r.stderr)")
        }
        #expect(!r.stderr.contains("witness.logs[c.test/log].key"), "a valid key was refused: \(r.stderr)")
    }
}
