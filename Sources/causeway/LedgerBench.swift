import ArgumentParser
import CausewayCore
import CausewayGateway
@_spi(Testing) import CausewayStore
import CausewayTrust
import Foundation
import Logging

/// The transparency log's costs on a real store: appends per second in batches (ledger rows and
/// tree nodes in one transaction), inclusion and consistency proof times at the full size, and
/// the cost of signing a checkpoint; the in-memory tree is the baseline in the same run.
struct LedgerBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledger",
        abstract: "Transparency log: appends/s, proof times at N entries, checkpoint signing (goals: ≥ 10,000 appends/s, a proof < 5 ms at 10^6).",
        discussion: """
            Fills a fresh store (an SQLite file in --dir, or the PostgreSQL database --postgres names, which must be empty) \
            with --entries receipts of about 600 bytes in batches of --batch, timing only the store's append (the outbox \
            rows the ledger refers to are made first, untimed). Then times --proofs inclusion and consistency proofs at \
            random positions of the full tree, read from the store, and the same from an in-memory tree (the baseline). \
            Build with -c release for meaningful numbers.
            """)

    @Option(name: .long, help: "Ledger entries to append.")
    var entries: Int = 1_000_000

    @Option(name: .long, help: "Receipts per append (one transaction each).")
    var batch: Int = 1000

    @Option(name: .long, help: "Proofs of each kind to time.")
    var proofs: Int = 1000

    @Option(name: .long, help: "Folder for the SQLite file (default: a new temporary folder).")
    var dir: String?

    @Option(name: .long, help: "Measure PostgreSQL instead: postgresql://user[:password]@host:port/database (an empty database).")
    var postgres: String?

    @Flag(name: .long, help: "Print JSON.")
    var json = false

    func validate() throws {
        guard entries >= 2, entries <= 10_000_000 else { throw ValidationError("--entries must be from 2 to 10,000,000") }
        guard batch >= 1, batch <= 10_000 else { throw ValidationError("--batch must be from 1 to 10,000") }
        guard proofs >= 1, proofs <= 1_000_000 else { throw ValidationError("--proofs must be from 1 to 1,000,000") }
    }

    func run() async throws {
        let store: any AgreementStore
        let label: String
        var runner: Task<Void, Never>?
        if let postgres {
            let pg = try PostgresStore(url: postgres)
            runner = Task { await pg.run() }
            store = pg
            label = "postgresql"
        } else {
            let folder = dir ?? FileManager.default.temporaryDirectory.appendingPathComponent("causeway-ledger-bench-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let path = folder + "/ledger-bench.sqlite"
            guard !FileManager.default.fileExists(atPath: path) else { throw CLIError("\(path) exists; give an empty --dir") }
            store = try SQLiteStore(path: path)
            label = "sqlite \(path)"
        }
        defer { runner?.cancel() }
        try await store.migrate()
        guard try await store.treeSize() == 0 else { throw CLIError("the store's ledger is not empty; the bench needs a fresh database") }

        // Outbox rows for the ledger to refer to (untimed): agreements of 1000 actions each.
        let setupStart = ContinuousClock.now
        var entryIDs: [(id: Int64, receipt: String, digest: ContentDigest)] = []
        entryIDs.reserveCapacity(entries)
        var agreement = 0
        while entryIDs.count < entries {
            let count = min(1000, entries - entryIDs.count)
            let incoming = Self.agreement(agreement, actions: count)
            _ = try await store.accept(incoming)
            guard let stored = try await store.agreement(digest: incoming.digest) else { throw CLIError("the bench agreement was not stored") }
            entryIDs += stored.entries.map { ($0.id, $0.receiptID, incoming.digest) }
            agreement += 1
        }
        let setup = ContinuousClock.now - setupStart

        // Appends: receipts prepared per batch (untimed), the store's append timed.
        var appendTime = Duration.zero
        var previous = LedgerChain.genesis
        var memory = InMemoryMerkleTree()
        var memoryTime = Duration.zero
        var start = 0
        while start < entries {
            let slice = entryIDs[start..<min(start + batch, entries)]
            var appends: [LedgerAppend] = []
            appends.reserveCapacity(slice.count)
            for (offset, entry) in slice.enumerated() {
                let receipt = Self.receipt(id: entry.receipt, sequence: start + offset, previous: previous)
                let leaf = LedgerChain.leafHash(of: receipt)
                appends.append(LedgerAppend(entryID: entry.id, receiptID: entry.receipt, digest: entry.digest, sequence: start + offset,
                                            previous: previous, leaf: leaf, receipt: receipt))
                previous = leaf
            }
            let began = ContinuousClock.now
            try await store.appendReceipts(appends)
            appendTime += ContinuousClock.now - began
            let memoryBegan = ContinuousClock.now
            for append in appends { memory.append(leafHash: append.treeLeaf) }
            memoryTime += ContinuousClock.now - memoryBegan
            start += slice.count
        }
        let size = try await store.treeSize()
        guard size == entries else { throw CLIError("the store holds \(size) leaves after \(entries) appends") }
        let root = try await MerkleTree.root(size: size, from: store)
        guard root == (try await MerkleTree.root(size: size, from: memory)) else { throw CLIError("the store's root differs from the in-memory tree's") }

        // Proofs at the full size, random positions (the same for store and memory).
        var generator = SystemRandomNumberGenerator()
        let leaves = (0..<proofs).map { _ in Int.random(in: 0..<size, using: &generator) }
        let olds = (0..<proofs).map { _ in Int.random(in: 1..<size, using: &generator) }
        let inclusion = try await Self.time(leaves) { try await MerkleTree.inclusionProof(leaf: $0, size: size, from: store) }
        let consistency = try await Self.time(olds) { try await MerkleTree.consistencyProof(from: $0, to: size, from: store) }
        let memoryInclusion = try await Self.time(leaves) { try await MerkleTree.inclusionProof(leaf: $0, size: size, from: memory) }
        let memoryConsistency = try await Self.time(olds) { try await MerkleTree.consistencyProof(from: $0, to: size, from: memory) }

        // Checkpoints: signing alone, and sign + root + store (what the checkpointer does).
        let identity = SigningIdentity()
        let body = try Checkpoint(origin: "bench.local/causeway", size: size, rootHash: root)
        let signing = try await Self.time(Array(0..<200)) { _ in try SignedCheckpoint.sign(body, with: identity) }
        let checkpointer = Checkpointer(store: store, identity: identity, configuration: .init(origin: "bench.local/causeway", file: nil),
                                        logger: .init(label: "bench"))
        let began = ContinuousClock.now
        _ = try await checkpointer.checkpoint()
        let checkpointing = ContinuousClock.now - began

        let seconds = { (d: Duration) in Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }
        let report: JSONObject = [
            "store": .string(label), "entries": .number(Double(entries)), "batch": .number(Double(batch)),
            "setupSeconds": .number(Self.round(seconds(setup))),
            "appendsPerSecond": .number(Self.round(Double(entries) / seconds(appendTime))),
            "baselineMemoryAppendsPerSecond": .number(Self.round(Double(entries) / seconds(memoryTime))),
            "inclusionMs": inclusion.json, "consistencyMs": consistency.json,
            "baselineMemoryInclusionMs": memoryInclusion.json, "baselineMemoryConsistencyMs": memoryConsistency.json,
            "checkpointSignMs": signing.json, "checkpointSignRootStoreMs": .number(Self.round(seconds(checkpointing) * 1000)),
        ]
        if json {
            print(JSONWriter.string(.object(report), style: .pretty))
            return
        }
        print("""
            ledger bench on \(label): \(entries) entries in batches of \(batch) (setup of the outbox rows \(Self.round(seconds(setup))) s, untimed)
              appends:       \(Int(Double(entries) / seconds(appendTime)))/s into the store   (baseline: in-memory tree \(Int(Double(entries) / seconds(memoryTime)))/s)
              inclusion:     \(inclusion.text) from the store   (baseline: memory \(memoryInclusion.text))
              consistency:   \(consistency.text) from the store   (baseline: memory \(memoryConsistency.text))
              checkpoint:    sign \(signing.text); root + sign + store \(Self.round(seconds(checkpointing) * 1000)) ms
            goals: appends ≥ 10,000/s \(Double(entries) / seconds(appendTime) >= 10_000 ? "met" : "NOT met"); \
            a proof < 5 ms \(max(inclusion.p99, consistency.p99) < 5 ? "met (p99)" : "NOT met (p99)")
            """)
    }

    struct Timing {
        let mean: Double
        let p50: Double
        let p99: Double
        var json: JSONValue { ["mean": .number(mean), "p50": .number(p50), "p99": .number(p99)] }
        var text: String { "mean \(mean) ms, p50 \(p50) ms, p99 \(p99) ms" }
    }

    /// Times `body` once per input; milliseconds, rounded.
    static func time<Input, Output>(_ inputs: [Input], _ body: (Input) async throws -> Output) async throws -> Timing {
        var samples: [Double] = []
        samples.reserveCapacity(inputs.count)
        for input in inputs {
            let began = ContinuousClock.now
            _ = try await body(input)
            let elapsed = ContinuousClock.now - began
            samples.append(Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000)
        }
        samples.sort()
        let mean = samples.reduce(0, +) / Double(samples.count)
        return Timing(mean: round(mean), p50: round(samples[samples.count / 2]), p99: round(samples[min(samples.count - 1, samples.count * 99 / 100)]))
    }

    static func round(_ value: Double) -> Double { (value * 1000).rounded() / 1000 }

    static func agreement(_ n: Int, actions: Int) -> IncomingAgreement {
        let digest = ContentDigest(of: Array("ledger bench agreement \(n) \(UUID().uuidString)".utf8))
        return IncomingAgreement(
            digest: digest, agreementID: "urn:bench:\(digest.description)", partner: "bench", type: "PurchaseAgreement",
            document: Array(#"{"bench":true}"#.utf8), verification: ["verified": true], mappingID: "bench", mappingVersion: "1",
            mappingDigest: ContentDigest(of: [1]), total: nil, currency: nil, receivedAt: 0,
            actions: (0..<actions).map { index in
                let receipt = RandomUUID.urn()
                return .init(index: index, name: "a", target: "erp", kind: "rows", adapter: "bench", action: ["i": .number(Double(index))],
                             provenance: ["receiptId": .string(receipt)], receiptID: receipt)
            })
    }

    /// A receipt of about the size and shape of a real one (unsigned fields with a fixed proof).
    static func receipt(id: String, sequence: Int, previous: ContentDigest) -> JSONObject {
        [
            "type": "DeliveryReceipt", "v": 1, "id": .string(id),
            "issuer": "did:key:z6MkpTHR8VNsBxYAAWHut2Geadd9jSwuBV8xRoAnwWsdvktH", "issued": "2026-12-04T01:00:00.000Z", "partner": "bench",
            "agreement": ["id": "urn:uuid:5f0c2a9e-3b1d-4c6e-8f70-1a2b3c4d5e6f", "type": "PurchaseAgreement",
                          "digest": .string(ContentDigest(of: Array(id.utf8)).description)],
            "action": ["index": 0, "adapter": "bench", "target": "erp", "idempotencyKey": .string(id + "/0")],
            "outcome": "delivered", "legacyRef": ["system": "erp", "kind": "purchase", "id": .string("P\(sequence)")],
            "ledger": ["origin": "bench.local/causeway", "seq": .number(Double(sequence)), "prev": .string(previous.description)],
            "proof": ["type": "DataIntegrityProof", "cryptosuite": "eddsa-jcs-2022",
                      "proofValue": "z5QmV7kL1Kx9ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefgh"],
        ]
    }
}
