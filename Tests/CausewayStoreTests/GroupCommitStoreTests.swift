import CausewayCore
import CausewayStore
import CausewayTesting
import Foundation
import Testing

/// Group commit in the stores: ``AgreementStore/acceptBatch(_:)`` and
/// ``AgreementStore/finishBatch(_:)`` write many items in one transaction and must leave exactly
/// what the same items written one at a time leave, on both stores.
@Suite("Agreement store: batches (group commit)")
struct GroupCommitStoreTests {
    /// An agreement without total, currency or actions (stored as delivered at once).
    static func bare(_ n: Int) -> IncomingAgreement {
        IncomingAgreement(
            digest: ContentDigest(of: Array("bare \(n)".utf8)), agreementID: "urn:bare:\(n)", partner: "stahlteile", type: "PurchaseAgreement",
            document: Array(#"{"id":"urn:bare"}"#.utf8), verification: ["verified": true], mappingID: "m", mappingVersion: "1",
            mappingDigest: ContentDigest(of: [1]), total: nil, currency: nil, receivedAt: 1_500, actions: [])
    }

    /// Everything a test compares about one stored agreement (ids and all).
    static func snapshot(_ store: any AgreementStore, _ digests: [ContentDigest]) async throws -> [String] {
        var lines: [String] = []
        for digest in digests {
            guard let stored = try await store.agreement(digest: digest) else {
                lines.append("\(digest): none")
                continue
            }
            lines.append("\(digest): \(stored.summary.status) total=\(stored.summary.total ?? "nil") doc=\(stored.document.count)")
            for entry in stored.entries {
                lines.append("  entry \(entry.id) #\(entry.actionIndex) \(entry.state) attempts=\(entry.attempts) next=\(entry.nextAttemptAt) "
                    + "lookup=\(entry.needsLookup) error=\(entry.lastError ?? "nil") ref=\(entry.legacyReference.map { JSONWriter.string($0) } ?? "nil") "
                    + "deliveredAt=\(entry.deliveredAt.map(String.init) ?? "nil") receipt=\(entry.receiptID)")
            }
            for attempt in stored.attempts {
                lines.append("  attempt \(attempt.entryID) #\(attempt.number) \(attempt.outcome) \(attempt.detail ?? "nil") \(attempt.finishedAt)")
            }
        }
        return lines
    }

    @Test("acceptBatch: new, a digest twice, known from before, a business-id conflict inside the batch, no actions — as one at a time would",
          arguments: StoreKind.allCases)
    func acceptBatch(kind: StoreKind) async throws {
        let batched = try await kind.make()
        let sequential = try await kind.make()
        for store in [batched, sequential] { #expect(try await store.accept(incoming(1)) == .accepted) }
        let batch = [incoming(2), incoming(2), incoming(1), incoming(3, id: "urn:test:2"), Self.bare(4), incoming(5, actions: 3)]
        let results = try await batched.acceptBatch(batch)
        #expect(results == [.accepted, .known(.accepted), .known(.accepted), .conflict(existing: incoming(2).digest), .accepted, .accepted])
        var oneByOne: [IntakeResult] = []
        for agreement in batch { oneByOne.append(try await sequential.accept(agreement)) }
        #expect(results == oneByOne)
        let digests = [incoming(1), incoming(2), incoming(3, id: "urn:test:2"), Self.bare(4), incoming(5)].map(\.digest)
        let stored = try await Self.snapshot(batched, digests)
        #expect(stored == (try await Self.snapshot(sequential, digests)))
        #expect(stored.contains { $0.hasPrefix("\(incoming(3, id: "urn:test:2").digest): none") })
        #expect(stored.contains { $0.hasPrefix("\(Self.bare(4).digest): delivered total=nil") })
        #expect(try await batched.agreement(digest: incoming(5).digest)?.entries.count == 3)
        #expect(try await batched.acceptBatch([]) == [])
    }

    @Test("finishBatch: delivered, retry with lookup, dead letter, the same entry twice, another worker's — as one at a time would",
          arguments: StoreKind.allCases)
    func finishBatch(kind: StoreKind) async throws {
        let batched = try await kind.make()
        let sequential = try await kind.make()
        var records: [[AttemptRecord]] = []
        for store in [batched, sequential] {
            _ = try await store.acceptBatch([incoming(1), incoming(2)])
            let entries = try await store.claim(ClaimRequest(worker: "w", limit: 10, now: 2_000, leaseMilliseconds: 10_000))
            #expect(entries.count == 4)
            func id(_ n: Int, _ target: String) throws -> Int64 {
                try #require(entries.first { $0.digest == incoming(n).digest && $0.target == target }).id
            }
            records.append([
                AttemptRecord(entryID: try id(1, "erp"), worker: "w", startedAt: 2_000, finishedAt: 2_100, outcome: "delivered", detail: nil,
                              next: .delivered(reference: ["system": "tryton", "kind": "purchase", "id": "P1"])),
                AttemptRecord(entryID: try id(1, "portal"), worker: "w", startedAt: 2_000, finishedAt: 2_200, outcome: "unknown",
                              detail: "timeout after sending", next: .retry(at: 5_000, lookupFirst: true)),
                AttemptRecord(entryID: try id(2, "erp"), worker: "w", startedAt: 2_000, finishedAt: 2_300, outcome: "rejected", detail: "HTTP 422",
                              next: .deadLetter(reason: "HTTP 422: unknown SKU")),
                AttemptRecord(entryID: try id(1, "erp"), worker: "w", startedAt: 2_000, finishedAt: 2_400, outcome: "delivered", detail: nil,
                              next: .delivered(reference: ["id": "P1-again"])),
                AttemptRecord(entryID: try id(2, "portal"), worker: "someone-else", startedAt: 2_000, finishedAt: 2_500, outcome: "delivered",
                              detail: nil, next: .delivered(reference: ["id": "X"])),
                AttemptRecord(entryID: 999_999, worker: "w", startedAt: 2_000, finishedAt: 2_600, outcome: "delivered", detail: nil,
                              next: .delivered(reference: ["id": "none"])),
            ])
        }
        let recorded = try await batched.finishBatch(records[0])
        #expect(recorded == [true, true, true, false, false, false])
        var oneByOne: [Bool] = []
        for record in records[1] { oneByOne.append(try await sequential.finish(record)) }
        #expect(recorded == oneByOne)
        let digests = [incoming(1).digest, incoming(2).digest]
        let after = try await Self.snapshot(batched, digests)
        #expect(after == (try await Self.snapshot(sequential, digests)))
        #expect(try await batched.agreement(digest: incoming(1).digest)?.summary.status == .retrying)
        let second = try #require(try await batched.agreement(digest: incoming(2).digest))
        #expect(second.entries.map(\.state).sorted { $0.rawValue < $1.rawValue } == [.deadLetter, .inFlight])
        #expect(second.summary.status == (try await sequential.agreement(digest: incoming(2).digest))?.summary.status)
    }

    /// The receipts a test's issuing closure signs (unsigned stand-ins: the store checks the chain
    /// and builds the tree, it does not verify signatures).
    static func receipts(_ entries: [OutboxEntry], after head: LedgerHead?) -> [LedgerAppend] {
        var sequence = head.map { $0.sequence + 1 } ?? 0
        var previous = head?.leaf ?? LedgerChain.genesis
        return entries.map { entry in
            let receipt: JSONObject = ["type": "DeliveryReceipt", "id": .string(entry.receiptID),
                                       "ledger": ["seq": .number(Double(sequence)), "prev": .string(previous.description)]]
            let append = LedgerAppend(entryID: entry.id, receiptID: entry.receiptID, digest: entry.digest, sequence: sequence,
                                      previous: previous, leaf: LedgerChain.leafHash(of: receipt), receipt: receipt)
            sequence += 1
            previous = append.leaf
            return append
        }
    }

    struct IssuingFailed: Error {}

    @Test("finishBatch(issuing:): the delivered attempts' receipts commit with them, after the ledger's head; a failure to issue records nothing",
          arguments: StoreKind.allCases)
    func finishWithReceipts(kind: StoreKind) async throws {
        let store = try await kind.make()
        _ = try await fillLedger(store, count: 2, tag: 9)
        let before = try #require(try await store.ledgerHead())
        _ = try await store.acceptBatch([incoming(1), incoming(2)])
        let entries = try await store.claim(ClaimRequest(worker: "w", limit: 10, now: 2_000, leaseMilliseconds: 10_000))
        #expect(entries.count == 4)
        func entry(_ n: Int, _ target: String) throws -> OutboxEntry {
            try #require(entries.first { $0.digest == incoming(n).digest && $0.target == target })
        }
        let records = [
            AttemptRecord(entryID: try entry(1, "erp").id, worker: "w", startedAt: 2_000, finishedAt: 2_100, outcome: "delivered", detail: nil,
                          next: .delivered(reference: ["id": "P1"])),
            AttemptRecord(entryID: try entry(1, "portal").id, worker: "w", startedAt: 2_000, finishedAt: 2_200, outcome: "retryable",
                          detail: "HTTP 503", next: .retry(at: 5_000, lookupFirst: false)),
            AttemptRecord(entryID: try entry(2, "erp").id, worker: "w", startedAt: 2_000, finishedAt: 2_300, outcome: "delivered", detail: nil,
                          next: .delivered(reference: ["id": "P2"])),
            AttemptRecord(entryID: try entry(2, "portal").id, worker: "someone-else", startedAt: 2_000, finishedAt: 2_400, outcome: "delivered",
                          detail: nil, next: .delivered(reference: ["id": "X"])),
        ]
        let digests = [incoming(1).digest, incoming(2).digest]
        let untouched = try await Self.snapshot(store, digests)

        // The closure fails, or answers for other entries: nothing is recorded, the ledger is as it was.
        await #expect(throws: IssuingFailed.self) { _ = try await store.finishBatch(records) { _, _ in throw IssuingFailed() } }
        let otherEntry = try entry(2, "portal")
        await #expect(throws: StoreError.self) {
            _ = try await store.finishBatch(records) { head, _ in Self.receipts([otherEntry], after: head) }
        }
        #expect(try await Self.snapshot(store, digests) == untouched)
        #expect(try await store.ledgerHead() == before)

        let issuedEntries = [try entry(1, "erp"), try entry(2, "erp")]
        let finished = try await store.finishBatch(records) { head, delivered in
            guard head == before, delivered == [0, 2] else { throw IssuingFailed() }
            return Self.receipts(issuedEntries, after: head)
        }
        #expect(finished.recorded == [true, true, true, false])
        #expect(finished.receipts.map(\.sequence) == [before.sequence + 1, before.sequence + 2])
        #expect(try await store.ledgerHead() == LedgerHead(sequence: before.sequence + 2, leaf: finished.receipts[1].leaf))
        #expect(try await store.treeSize() == before.sequence + 3)
        #expect(try await store.entriesAwaitingReceipts(limit: 10).isEmpty)
        #expect(try await store.receipts(digest: incoming(1).digest).map { $0["id"]?.stringValue } == [try entry(1, "erp").receiptID])
        #expect(try await store.agreement(digest: incoming(2).digest)?.entries.map(\.state).sorted { $0.rawValue < $1.rawValue }
            == [.delivered, .inFlight])

        // A batch without a delivery does not issue (a closure that throws would fail it).
        let retry = AttemptRecord(entryID: try entry(2, "portal").id, worker: "w", startedAt: 2_000, finishedAt: 2_500, outcome: "retryable",
                                  detail: nil, next: .retry(at: 9_000, lookupFirst: false))
        #expect(try await store.finishBatch([retry]) { _, _ in throw IssuingFailed() }.recorded == [true])
    }

    @Test("many agreements and attempts in one batch each (256), and the claim that refreshes their statuses together", arguments: StoreKind.allCases)
    func large(kind: StoreKind) async throws {
        let store = try await kind.make()
        let agreements = (100..<356).map { incoming($0, actions: 1) }
        #expect(try await store.acceptBatch(agreements) == Array(repeating: .accepted, count: 256))
        let claimed = try await store.claim(ClaimRequest(worker: "w", limit: 1_000, now: 2_000, leaseMilliseconds: 10_000))
        #expect(claimed.count == 256)
        #expect(try await store.statusCounts()[.delivering] == 256)
        let recorded = try await store.finishBatch(claimed.map {
            AttemptRecord(entryID: $0.id, worker: "w", startedAt: 2_000, finishedAt: 2_100, outcome: "delivered", detail: nil,
                          next: .delivered(reference: ["id": .string("R\($0.id)")]))
        })
        #expect(recorded.allSatisfy { $0 } && recorded.count == 256)
        #expect(try await store.statusCounts()[.delivered] == 256)
        #expect(try await store.entriesAwaitingReceipts(limit: 1_000).count == 256)
    }
}
