import CausewayCore
@testable import CausewayGateway
@_spi(Testing) import CausewayStore
import CausewayTesting
import CausewayTrust
import Foundation
import Logging
import Testing

/// The checkpointer on a real SQLite store: what it signs, when, and what it refuses to sign.
@Suite("Checkpointer")
struct CheckpointerTests {
    let store: SQLiteStore
    let identity = SigningIdentity()
    let file: String
    let checkpointer: Checkpointer

    init() async throws {
        let directory = try CommandRunner.temporaryDirectory("checkpointer")
        store = try SQLiteStore(path: directory.appendingPathComponent("c.sqlite").path)
        try await store.migrate()
        file = directory.appendingPathComponent("c.sqlite.checkpoint").path
        checkpointer = Checkpointer(store: store, identity: identity, configuration: .init(origin: "test.local/causeway", file: file),
                                    logger: Logger(label: "test"))
    }

    /// Appends `count` receipts (plain JSON; the store does not check signatures).
    func append(_ count: Int, tag appended: Int) async throws {
        let digest = ContentDigest(of: Array("checkpointer \(appended)".utf8))
        let incoming = IncomingAgreement(
            digest: digest, agreementID: "urn:test:\(appended)", partner: "p", type: "PurchaseAgreement", document: Array("{}".utf8),
            verification: ["verified": true], mappingID: "m", mappingVersion: "1", mappingDigest: ContentDigest(of: [1]), total: nil,
            currency: nil, receivedAt: 0,
            actions: (0..<count).map { .init(index: $0, name: "a", target: "t", kind: "k", adapter: "a", action: [:], provenance: [:],
                                             receiptID: "urn:r:\(appended):\($0)") })
        _ = try await store.accept(incoming)
        let entries = try #require(try await store.agreement(digest: digest)).entries
        var head = try await store.ledgerHead()
        var appends: [LedgerAppend] = []
        for entry in entries {
            let sequence = head.map { $0.sequence + 1 } ?? 0
            let previous = head?.leaf ?? LedgerChain.genesis
            let receipt: JSONObject = ["id": .string(entry.receiptID), "ledger": ["seq": .number(Double(sequence))]]
            let leaf = LedgerChain.leafHash(of: receipt)
            appends.append(LedgerAppend(entryID: entry.id, receiptID: entry.receiptID, digest: digest, sequence: sequence, previous: previous,
                                        leaf: leaf, receipt: receipt))
            head = LedgerHead(sequence: sequence, leaf: leaf)
        }
        try await store.appendReceipts(appends)
    }

    @Test("signs the tree as it is at first, then only when it grew; the store and the 0600 file hold the same signed note")
    func signsWhenGrown() async throws {
        let first = try #require(try await checkpointer.checkpoint())
        #expect(first.size == 0)
        #expect(try await checkpointer.checkpoint() == nil)
        try await append(5, tag: 0)
        let second = try #require(try await checkpointer.checkpoint())
        #expect(second.size == 5)
        #expect(second.root == (try await MerkleTree.root(size: 5, from: store)))
        #expect(try await store.latestCheckpoint() == second)
        let opened = try SignedCheckpoint(verifying: second.note, logKey: identity.didKey, expectedOrigin: "test.local/causeway")
        #expect(opened.checkpoint.size == 5)
        #expect(try String(contentsOfFile: file, encoding: .utf8) == second.note)
        #expect(try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int == 0o600)
        #expect(try await checkpointer.checkpoint() == nil)
        // A deleted file is written again, even when the tree has not grown.
        try FileManager.default.removeItem(atPath: file)
        #expect(try await checkpointer.checkpoint() == nil)
        #expect(try String(contentsOfFile: file, encoding: .utf8) == second.note)
    }

    @Test("never signs a tree that does not extend the last checkpoint")
    func refusesInconsistentTree() async throws {
        try await append(6, tag: 0)
        let six = try #require(try await checkpointer.checkpoint())
        // The first four leaves' subtree is replaced behind the store's back; the next appends build on it.
        try await store.execute(unsafeSQL: "UPDATE merkle_nodes SET hash = zeroblob(32) WHERE level = 2 AND idx = 0")
        try await append(2, tag: 1)
        await #expect(throws: CheckpointerError.self) { try await checkpointer.checkpoint() }
        #expect(try await store.latestCheckpoint() == six)
        #expect(try String(contentsOfFile: file, encoding: .utf8) == six.note)
    }
}
