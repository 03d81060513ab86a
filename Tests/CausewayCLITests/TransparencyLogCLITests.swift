import CausewayCore
import CausewayTesting
import CausewayTrust
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// The transparency log through a real `causeway serve`: checkpoints, proofs, bundles and tiles
/// verified with the offline verifiers, and `causeway ledger verify` against a store that lost
/// entries or had one edited, on both stores.
@Suite("Transparency log: serve, prove, verify", .serialized)
struct TransparencyLogCLITests {
    static let origin = "test.local/causeway"
    static let ledgerYAML = "ledger:\n  origin: \(origin)\n  checkpoint_interval_seconds: 0.2"

    /// A gateway that delivered `count` generated agreements and checkpointed every receipt.
    /// Returns it running, with the number of ledger entries.
    static func checkpointedGateway(count: Int, store: String? = nil) async throws -> (RunningGateway, Int) {
        let generated = try GeneratedAgreements(count: count)
        let gateway = try RunningGateway(store: store, partners: generated.partners, extra: ledgerYAML)
        try await gateway.waitUntilReady()
        let digests = try await submitUntilAccepted(generated.documents, to: [gateway])
        #expect(digests.count == count)
        var entries = 0
        for digest in digests {
            for _ in 0..<200 {
                let (_, body) = try await gateway.request("GET", "/v1/agreements/\(digest)", token: gateway.viewerToken)
                if body?["status"]?.stringValue == "delivered", let receipts = body?["receipts"]?.arrayValue, !receipts.isEmpty {
                    entries += receipts.count
                    break
                }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        for _ in 0..<100 {
            let (status, note) = try await gateway.fetch("/v1/ledger/checkpoint")
            if status == 200, String(decoding: note, as: UTF8.self).split(separator: "\n").dropFirst().first == Substring(String(entries)) { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        return (gateway, entries)
    }

    @Test("checkpoint, bundle, inclusion and consistency proofs and tiles verify offline against the gateway's DID")
    func endToEnd() async throws {
        let (gateway, size) = try await Self.checkpointedGateway(count: 6)
        defer { _ = gateway.stop() }
        try #require(size >= 6, "\(gateway.log)")
        let ledger = try #require(try await gateway.request("GET", "/v1/agreements?limit=50", token: gateway.viewerToken).1?["agreements"]?.arrayValue)
        #expect(ledger.count == 6)

        // The checkpoint is a signed note by the key the receipts' issuer DID names.
        let (noteStatus, noteBytes) = try await gateway.fetch("/v1/ledger/checkpoint")
        #expect(noteStatus == 200)
        let note = String(decoding: noteBytes, as: UTF8.self)
        let firstDigest = try #require(ledger.first?["digest"]?.stringValue)
        let receipts = try #require(try await gateway.request("GET", "/v1/agreements/\(firstDigest)", token: gateway.viewerToken).1?["receipts"]?.arrayValue)
        let receipt = try #require(receipts.first?.objectValue)
        let issuer = try #require(receipt["issuer"]?.stringValue)
        let gatewayKey = try DIDKey(parsing: issuer)
        let checkpoint = try SignedCheckpoint(verifying: note, logKey: gatewayKey, expectedOrigin: Self.origin).checkpoint
        #expect(checkpoint.size == size)
        // Also what the C2SP tiles layout serves as `<prefix>/checkpoint`; without a token: 401.
        #expect(try await gateway.fetch("/v1/ledger/checkpoint", token: nil).0 == 401)

        // The bundle verifies offline, pinned to the gateway's DID.
        let id = try #require(receipt["id"]?.stringValue)
        let (bundleStatus, bundleBytes) = try await gateway.fetch("/v1/receipts/\(id)/bundle")
        #expect(bundleStatus == 200, "\(String(decoding: bundleBytes, as: UTF8.self))")
        let bundle = try ReceiptBundle(bytes: bundleBytes)
        let verification = bundle.verify(gatewayDID: issuer)
        #expect(verification.isValid, "\(verification.findings)")
        #expect(bundle.receipt == receipt)

        // Inclusion at the checkpoint's size and at an older size.
        let index = try #require(receipt["ledger"]?["seq"]?.exactInt)
        let leaf = ReceiptBundle.leafHash(of: receipt)
        var (status, body) = try await gateway.request("GET", "/v1/ledger/proof/inclusion?receipt=\(id)", token: gateway.viewerToken)
        #expect(status == 200)
        try MerkleTree.verifyInclusion(leafHash: leaf, index: index, size: size, proof: Self.hashes(body?["proof"]), root: checkpoint.rootHash)
        #expect(body?["checkpoint"]?.stringValue == note)
        (status, body) = try await gateway.request("GET", "/v1/ledger/proof/inclusion?receipt=\(id)&size=\(index + 1)", token: gateway.viewerToken)
        #expect(status == 200)
        let oldRoot = try #require(body?["root"]?.stringValue.flatMap { Base64.decodeCanonical($0) })
        try MerkleTree.verifyInclusion(leafHash: leaf, index: index, size: index + 1, proof: Self.hashes(body?["proof"]), root: oldRoot)

        // Consistency from that older tree to the checkpoint.
        (status, body) = try await gateway.request("GET", "/v1/ledger/proof/consistency?from=\(index + 1)&to=\(size)", token: gateway.viewerToken)
        #expect(status == 200)
        try MerkleTree.verifyConsistency(oldSize: index + 1, newSize: size, oldRoot: oldRoot, newRoot: checkpoint.rootHash,
                                         proof: Self.hashes(body?["proof"]))

        // Tiles: the partial level-0 tile holds every leaf hash; the entry bundle every receipt.
        let (tileStatus, tile) = try await gateway.fetch("/v1/ledger/tile/0/000.p/\(size)")
        #expect(tileStatus == 200)
        #expect(tile.count == 32 * size)
        let (entriesStatus, entryBytes) = try await gateway.fetch("/v1/ledger/tile/entries/000.p/\(size)")
        #expect(entriesStatus == 200)
        let entries = try TlogTiles.decodeEntryBundle(entryBytes)
        #expect(entries.count == size)
        var tree = InMemoryMerkleTree()
        for (position, entry) in entries.enumerated() {
            tree.append(leafData: entry)
            #expect(Array(tile[(32 * position)..<(32 * position + 32)]) == MerkleHash.leaf(entry))
        }
        #expect(try await MerkleTree.root(size: size, from: tree) == checkpoint.rootHash)
        #expect(try await gateway.fetch("/v1/ledger/tile/0/000").0 == 404)  // not full yet
        #expect(try await gateway.fetch("/v1/ledger/tile/0/000.p/\(size + 1)").0 == 404)  // beyond the checkpoint

        // Strict parameters: each refusal names the parameter.
        for (path, code) in [
            ("/v1/ledger/proof/inclusion?receipt=\(id)&size=\(size + 1)", "query.size_invalid"),
            ("/v1/ledger/proof/inclusion?receipt=\(id)&size=\(index)", "query.size_invalid"),
            ("/v1/ledger/proof/inclusion?receipt=\(id)&sise=3", "query.unknown_parameter"),
            ("/v1/ledger/proof/inclusion", "query.receipt_missing"),
            ("/v1/ledger/proof/consistency?from=3", "query.size_missing"),
            ("/v1/ledger/proof/consistency?from=3&to=\(size + 1)", "query.to_invalid"),
            ("/v1/ledger/proof/consistency?from=\(size)&to=2", "query.from_invalid"),
            ("/v1/ledger/proof/consistency?from=x&to=2", "query.from_invalid"),
            ("/v1/ledger/tile/0/0001", "tile.path_invalid"),
        ] {
            (status, body) = try await gateway.request("GET", path, token: gateway.viewerToken)
            #expect(status == 400, "\(path)")
            #expect(body?["code"]?.stringValue == code, "\(path): \(String(describing: body))")
        }
        (status, body) = try await gateway.request("GET", "/v1/receipts/urn:uuid:00000000-0000-0000-0000-000000000000/bundle", token: gateway.viewerToken)
        #expect(status == 404)
        #expect(gateway.stop() == 0, "\(gateway.log)")

        // The checkpoint file beside the store holds the last checkpoint, private to the gateway's user.
        let file = gateway.directory.appendingPathComponent("causeway.sqlite.checkpoint").path
        let kept = try SignedCheckpoint(verifying: try String(contentsOfFile: file, encoding: .utf8), logKey: gatewayKey).checkpoint
        #expect(kept.size == size)
        let mode = try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    enum Damage: String, CaseIterable, CustomStringConvertible {
        case lastOne, lastFive, all, editedReceipt, editedLeaf
        var description: String { rawValue }
    }

    @Test("ledger verify detects lost last entries (1, 5, all) and edited leaves, naming them", arguments: [false, true])
    func tamper(postgres: Bool) async throws {
        var url: String?
        var admin = ""
        if postgres {
            guard let cluster = ProcessInfo.processInfo.environment["CAUSEWAY_TEST_POSTGRES"] else {
                throw MissingTestInput(path: "CAUSEWAY_TEST_POSTGRES", hint: "needs the cluster that scripts/test starts")
            }
            admin = cluster
            let name = "causeway_tlog_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
            let created = try CommandRunner.run("/usr/bin/psql", [admin, "-v", "ON_ERROR_STOP=1", "-c", "CREATE DATABASE \(name)"])
            try #require(created.status == 0, "\(created)")
            url = admin.replacingOccurrences(of: "/postgres", with: "/\(name)")
        }
        let (gateway, size) = try await Self.checkpointedGateway(count: 8, store: url)
        try #require(size >= 8, "\(gateway.log)")
        #expect(gateway.stop() == 0, "\(gateway.log)")
        let directory = gateway.directory
        let config = try String(contentsOf: directory.appendingPathComponent(gateway.configFile), encoding: .utf8)
        let checkpointFile = postgres ? "causeway-checkpoint" : "causeway.sqlite.checkpoint"
        let intact = try CommandRunner.causeway(["ledger", "verify", "--config", gateway.configFile], in: directory)
        #expect(intact.status == 0, "\(intact)")
        #expect(intact.stdout.contains("ledger intact: \(size) entries"), "\(intact)")
        #expect(intact.stdout.contains("(\(size) entries) is covered"), "\(intact)")

        for damage in Damage.allCases {
            // A copy of the store per damage, with a configuration naming it and the same checkpoint file.
            let variant = "variant-\(damage)"
            let store: String
            let run: (String) throws -> CommandRunner.Result
            if let url {
                let name = String(url.split(separator: "/").last ?? "") + "_" + damage.rawValue.lowercased()
                let copied = try CommandRunner.run("/usr/bin/psql", [admin, "-v", "ON_ERROR_STOP=1", "-c",
                                                                     "CREATE DATABASE \(name) TEMPLATE \(url.split(separator: "/").last ?? "")"])
                try #require(copied.status == 0, "\(copied)")
                store = admin.replacingOccurrences(of: "/postgres", with: "/\(name)")
                run = { sql in try CommandRunner.run("/usr/bin/psql", [store, "-v", "ON_ERROR_STOP=1", "-c", sql]) }
            } else {
                try FileManager.default.copyItem(at: directory.appendingPathComponent("causeway.sqlite"),
                                                 to: directory.appendingPathComponent("\(variant).sqlite"))
                store = "sqlite:\(variant).sqlite"
                let path = directory.appendingPathComponent("\(variant).sqlite").path
                run = { sql in try CommandRunner.run("/usr/bin/sqlite3", [path, sql]) }
            }
            let storeLine = config.split(separator: "\n").first { $0.hasPrefix("store:") }.map(String.init) ?? ""
            let variantConfig = config.replacingOccurrences(of: storeLine, with: "store: \(store)")
                .replacingOccurrences(of: "ledger:\n", with: "ledger:\n  checkpoint_file: \(checkpointFile)\n")
            try Data(variantConfig.utf8).write(to: directory.appendingPathComponent("\(variant).yaml"))

            // The damage, done thoroughly: the entries, their tree nodes and the store's checkpoints go together.
            let shift = postgres ? "(idx + 1) * (2 ^ level)" : "((idx + 1) << level)"
            func truncate(to kept: Int) -> String {
                "DELETE FROM ledger WHERE seq >= \(kept); DELETE FROM merkle_nodes WHERE \(shift) > \(kept); DELETE FROM checkpoints WHERE size > \(kept);"
            }
            let expected: String
            switch damage {
            case .lastOne:
                try apply(run, truncate(to: size - 1))
                expected = "entry \(size - 1) is missing: the checkpoint of "
            case .lastFive:
                try apply(run, truncate(to: size - 5))
                expected = "entries \(size - 5)…\(size - 1) are missing: the checkpoint of "
            case .all:
                try apply(run, truncate(to: 0))
                expected = "entries 0…\(size - 1) are missing: the checkpoint of "
            case .editedReceipt:
                try apply(run, "UPDATE ledger SET receipt = replace(receipt, '\"outcome\":\"delivered\"', '\"outcome\":\"Delivered\"') WHERE seq = 3")
                expected = "the stored leaf hash of entries 3 is not the hash of the stored receipt"
            case .editedLeaf:
                try apply(run, "UPDATE merkle_nodes SET hash = \(postgres ? "decode(repeat('00', 32), 'hex')" : "zeroblob(32)") WHERE level = 0 AND idx = 2")
                expected = "the stored leaf hash of entries 2 is not the hash of the stored receipt"
            }
            let r = try CommandRunner.causeway(["ledger", "verify", "--config", "\(variant).yaml"], in: directory)
            #expect(r.status == 1, "\(damage): \(r)")
            #expect(r.stdout.contains(expected), "\(damage): \(r)")
            if [.lastOne, .lastFive, .all].contains(damage) {
                #expect(r.stdout.contains("covers \(size) entries, the store has"), "\(damage): \(r)")
            }
            // Given explicitly, a checkpoint from elsewhere is compared the same way.
            if damage == .lastOne {
                let copy = try CommandRunner.temporaryDirectory("kept").appendingPathComponent("witness.checkpoint")
                try FileManager.default.copyItem(at: directory.appendingPathComponent(checkpointFile), to: copy)
                let given = try CommandRunner.causeway(["ledger", "verify", "--config", "\(variant).yaml", "--checkpoint", copy.path], in: directory)
                #expect(given.status == 1, "\(given)")
                #expect(given.stdout.contains(expected), "\(given)")
            }
        }
        let missing = try CommandRunner.causeway(["ledger", "verify", "--config", gateway.configFile, "--checkpoint", "no-such-file"], in: directory)
        #expect(missing.status == 2, "\(missing)")
    }

    /// Runs SQL on the damaged copy; it must succeed.
    func apply(_ run: (String) throws -> CommandRunner.Result, _ sql: String) throws {
        let r = try run(sql)
        try #require(r.status == 0 && !r.stderr.contains("rror"), "\(sql): \(r)")
    }

    static func hashes(_ value: JSONValue?) -> [[UInt8]] {
        (value?.arrayValue ?? []).compactMap { $0.stringValue.flatMap { Base64.decodeCanonical($0) } }
    }
}

extension RunningGateway {
    /// The raw bytes of a GET (tiles, the checkpoint note), with the viewer token unless told otherwise.
    func fetch(_ path: String, token: String? = "viewer") async throws -> (Int, [UInt8]) {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.timeoutInterval = 20
        if let token { request.setValue("Bearer \(token == "viewer" ? viewerToken : token)", forHTTPHeaderField: "Authorization") }
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, Array(data))
    }
}
