import CausewayCore
import CausewayStore
import CausewayTesting
import Foundation
import Testing

/// The store implementations under test. Every test of the shared suite runs against each.
enum StoreKind: String, CaseIterable, CustomStringConvertible {
    case sqlite
    case postgres

    var description: String { rawValue }

    /// A fresh, migrated, empty store. PostgreSQL gets a new database on the test cluster that
    /// scripts/test starts (`CAUSEWAY_TEST_POSTGRES`); without it the test fails, never skips.
    func make() async throws -> any AgreementStore {
        switch self {
        case .sqlite:
            let path = try CommandRunner.temporaryDirectory("store").appendingPathComponent("causeway.sqlite").path
            let store = try SQLiteStore(path: path)
            try await store.migrate()
            return store
        case .postgres:
            let store = try await TestPostgres.freshStore()
            try await store.migrate()
            return store
        }
    }
}

func incoming(_ n: Int, partner: String = "stahlteile", id: String? = nil, actions: Int = 2, at time: Int64 = 1_000,
              document: String = #"{"id":"urn:test"}"#) -> IncomingAgreement {
    let digest = ContentDigest(of: Array("agreement \(n) \(id ?? "")".utf8))
    return IncomingAgreement(
        digest: digest, agreementID: id ?? "urn:test:\(n)", partner: partner, type: "PurchaseAgreement",
        document: Array(document.utf8), verification: ["verified": true], mappingID: "m", mappingVersion: "1",
        mappingDigest: ContentDigest(of: [1]), total: "10.00", currency: "EUR", receivedAt: time,
        actions: (0..<actions).map { index in
            .init(index: index, name: "a\(index)", target: index == 0 ? "erp" : "portal", kind: "rows", adapter: "memory",
                  action: ["index": .number(Double(index))], provenance: ["receiptId": .string("urn:r:\(n):\(index)")],
                  receiptID: "urn:r:\(n):\(index)")
        })
}

@Suite("Agreement store (shared suite)")
struct StoreSuite {
    @Test("intake: new, known by digest, conflict by business id", arguments: StoreKind.allCases)
    func intake(kind: StoreKind) async throws {
        let store = try await kind.make()
        try await store.migrate()  // migrations are idempotent
        let first = incoming(1)
        #expect(try await store.accept(first) == .accepted)
        #expect(try await store.accept(first) == .known(.accepted))
        let sameID = incoming(2, id: "urn:test:1")
        #expect(try await store.accept(sameID) == .conflict(existing: first.digest))
        #expect(try await store.accept(incoming(3, partner: "nordic-fasteners", id: "urn:test:1")) == .accepted)
        let stored = try #require(try await store.agreement(digest: first.digest))
        #expect(stored.entries.map(\.actionIndex) == [0, 1])
        #expect(stored.entries.allSatisfy { $0.state == .pending && $0.attempts == 0 })
        #expect(stored.document == first.document)
        #expect(stored.summary.status == .accepted)
        #expect(try await store.agreement(digest: ContentDigest(of: [9])) == nil)
    }

    @Test("a claim makes its agreements delivering, in claim order, but leaves one with a dead-lettered action a dead letter", arguments: StoreKind.allCases)
    func claimStatus(kind: StoreKind) async throws {
        let store = try await kind.make()
        for n in 1...3 { _ = try await store.accept(incoming(n, at: Int64(n))) }
        // Agreement 1's first action fails for good; its second waits for a later claim.
        let first = try await store.claim(ClaimRequest(worker: "w1", limit: 1, now: 2_000, leaseMilliseconds: 60_000))
        #expect(first.map(\.digest) == [incoming(1).digest])
        #expect(try await store.finish(AttemptRecord(entryID: first[0].id, worker: "w1", startedAt: 2_000, finishedAt: 2_001, outcome: "rejected",
                                                     detail: "no", next: .deadLetter(reason: "no"))))
        #expect(try await store.agreement(digest: incoming(1).digest)?.summary.status == .deadLetter)
        let rest = try await store.claim(ClaimRequest(worker: "w1", limit: 10, now: 3_000, leaseMilliseconds: 60_000))
        #expect(rest.count == 5)
        #expect(rest.map(\.id) == rest.map(\.id).sorted())
        #expect(try await store.agreement(digest: incoming(1).digest)?.summary.status == .deadLetter)
        for n in 2...3 { #expect(try await store.agreement(digest: incoming(n).digest)?.summary.status == .delivering) }
        #expect(rest.allSatisfy { $0.state == .inFlight && $0.partner == "stahlteile" && $0.agreementID.hasPrefix("urn:test:") })
    }

    @Test("claims are exclusive; an expired lease comes back needing a lookup", arguments: StoreKind.allCases)
    func claims(kind: StoreKind) async throws {
        let store = try await kind.make()
        _ = try await store.accept(incoming(1))
        let claimed = try await store.claim(ClaimRequest(worker: "w1", limit: 10, now: 2_000, leaseMilliseconds: 1_000))
        #expect(claimed.count == 2)
        #expect(claimed.allSatisfy { $0.state == .inFlight && !$0.needsLookup })
        #expect(try await store.claim(ClaimRequest(worker: "w2", limit: 10, now: 2_500, leaseMilliseconds: 1_000)).isEmpty)
        #expect(try await store.agreement(digest: incoming(1).digest)?.summary.status == .delivering)
        let reclaimed = try await store.claim(ClaimRequest(worker: "w2", limit: 10, now: 3_500, leaseMilliseconds: 1_000))
        #expect(reclaimed.count == 2)
        #expect(reclaimed.allSatisfy { $0.needsLookup })
        // The first worker lost its claim: its late result is refused.
        let late = AttemptRecord(entryID: claimed[0].id, worker: "w1", startedAt: 2_000, finishedAt: 3_600, outcome: "delivered", detail: nil,
                                 next: .delivered(reference: ["id": "1"]))
        #expect(try await store.finish(late) == false)
    }

    @Test("claims skip targets whose circuit is open", arguments: StoreKind.allCases)
    func excludedTargets(kind: StoreKind) async throws {
        let store = try await kind.make()
        _ = try await store.accept(incoming(1))
        let claimed = try await store.claim(ClaimRequest(worker: "w", limit: 10, now: 2_000, leaseMilliseconds: 1_000, excludingTargets: ["erp"]))
        #expect(claimed.map(\.target) == ["portal"])
    }

    @Test("attempts: delivered, retry later, dead letter, operator retry; the status follows", arguments: StoreKind.allCases)
    func lifecycle(kind: StoreKind) async throws {
        let store = try await kind.make()
        let agreement = incoming(1)
        _ = try await store.accept(agreement)
        var entries = try await store.claim(ClaimRequest(worker: "w", limit: 10, now: 2_000, leaseMilliseconds: 10_000))
        let erp = try #require(entries.first { $0.target == "erp" })
        let portal = try #require(entries.first { $0.target == "portal" })
        #expect(try await store.finish(AttemptRecord(entryID: erp.id, worker: "w", startedAt: 2_000, finishedAt: 2_100, outcome: "delivered",
                                                     detail: nil, next: .delivered(reference: ["system": "tryton", "kind": "purchase", "id": "P1"]))))
        #expect(try await store.finish(AttemptRecord(entryID: portal.id, worker: "w", startedAt: 2_000, finishedAt: 2_100, outcome: "unknown",
                                                     detail: "timeout after sending", next: .retry(at: 5_000, lookupFirst: true))))
        var stored = try #require(try await store.agreement(digest: agreement.digest))
        #expect(stored.summary.status == .retrying)
        #expect(stored.summary.references == ["tryton:purchase:P1"])
        #expect(stored.attempts.map(\.outcome) == ["delivered", "unknown"])
        #expect(try await store.claim(ClaimRequest(worker: "w", limit: 10, now: 4_000, leaseMilliseconds: 1_000)).isEmpty)
        entries = try await store.claim(ClaimRequest(worker: "w", limit: 10, now: 5_000, leaseMilliseconds: 1_000))
        #expect(entries.map(\.id) == [portal.id])
        #expect(entries.first?.needsLookup == true)
        #expect(entries.first?.attempts == 1)
        #expect(try await store.finish(AttemptRecord(entryID: portal.id, worker: "w", startedAt: 5_000, finishedAt: 5_100, outcome: "rejected",
                                                     detail: "HTTP 422", next: .deadLetter(reason: "HTTP 422: unknown SKU"))))
        stored = try #require(try await store.agreement(digest: agreement.digest))
        #expect(stored.summary.status == .deadLetter)
        #expect(stored.entries.first { $0.id == portal.id }?.lastError == "HTTP 422: unknown SKU")
        #expect(try await store.retry(digest: agreement.digest, now: 6_000) == 1)
        stored = try #require(try await store.agreement(digest: agreement.digest))
        #expect(stored.summary.status == .retrying)
        let again = try await store.claim(ClaimRequest(worker: "w", limit: 10, now: 6_000, leaseMilliseconds: 1_000))
        #expect(again.map(\.id) == [portal.id])
        #expect(again.first?.needsLookup == true)
        try await store.release(worker: "w", entries: [portal.id])
        #expect(try await store.agreement(digest: agreement.digest)?.entries.first { $0.id == portal.id }?.state == .pending)
    }

    @Test("concurrent workers never claim the same entry", arguments: StoreKind.allCases)
    func concurrentClaims(kind: StoreKind) async throws {
        let store = try await kind.make()
        for n in 0..<20 { _ = try await store.accept(incoming(n)) }
        let ids = try await withThrowingTaskGroup(of: [Int64].self) { group in
            for worker in 0..<4 {
                group.addTask {
                    var mine: [Int64] = []
                    while true {
                        let batch = try await store.claim(ClaimRequest(worker: "w\(worker)", limit: 3, now: 2_000, leaseMilliseconds: 60_000))
                        if batch.isEmpty { return mine }
                        mine += batch.map(\.id)
                    }
                }
            }
            var all: [Int64] = []
            for try await batch in group { all += batch }
            return all
        }
        #expect(ids.count == 40)
        #expect(Set(ids).count == 40)
    }

    @Test("listing: newest first, filters, cursor paging", arguments: StoreKind.allCases)
    func listing(kind: StoreKind) async throws {
        let store = try await kind.make()
        for n in 0..<5 { _ = try await store.accept(incoming(n, partner: n % 2 == 0 ? "a" : "b")) }
        let all = try await store.agreements(AgreementQuery(limit: 10))
        #expect(all.map(\.agreementID) == (0..<5).reversed().map { "urn:test:\($0)" })
        #expect(try await store.agreements(AgreementQuery(partner: "b")).map(\.agreementID) == ["urn:test:3", "urn:test:1"])
        let page1 = try await store.agreements(AgreementQuery(limit: 2))
        let page2 = try await store.agreements(AgreementQuery(before: page1.last?.sequence, limit: 2))
        #expect(page2.map(\.agreementID) == ["urn:test:2", "urn:test:1"])
        #expect(try await store.agreements(AgreementQuery(status: .delivered)).isEmpty)
        #expect(all.first?.targets == ["erp", "portal"])
    }

    @Test("ledger: receipts append in sequence, never fork, and are found by agreement and id", arguments: StoreKind.allCases)
    func ledger(kind: StoreKind) async throws {
        let store = try await kind.make()
        let agreement = incoming(1, actions: 1)
        _ = try await store.accept(agreement)
        let entry = try #require(try await store.claim(ClaimRequest(worker: "w", limit: 1, now: 2_000, leaseMilliseconds: 1_000)).first)
        _ = try await store.finish(AttemptRecord(entryID: entry.id, worker: "w", startedAt: 2_000, finishedAt: 2_001, outcome: "delivered",
                                                 detail: nil, next: .delivered(reference: ["id": "1"])))
        #expect(try await store.entriesAwaitingReceipts(limit: 10).map(\.id) == [entry.id])
        #expect(try await store.ledgerHead() == nil)
        let receipt: JSONObject = ["type": "DeliveryReceipt", "id": .string(entry.receiptID)]
        let leaf = ContentDigest(of: [7])
        let wrongPrevious = LedgerAppend(entryID: entry.id, receiptID: entry.receiptID, digest: agreement.digest, sequence: 0,
                                         previous: leaf, leaf: leaf, receipt: receipt)
        await #expect(throws: (any Error).self) { try await store.appendReceipts([wrongPrevious]) }
        #expect(try await store.ledgerHead() == nil)
        try await store.appendReceipts([LedgerAppend(entryID: entry.id, receiptID: entry.receiptID, digest: agreement.digest, sequence: 0,
                                                     previous: LedgerChain.genesis, leaf: leaf, receipt: receipt)])
        #expect(try await store.ledgerHead() == LedgerHead(sequence: 0, leaf: leaf))
        #expect(try await store.entriesAwaitingReceipts(limit: 10).isEmpty)
        #expect(try await store.receipts(digest: agreement.digest) == [receipt])
        #expect(try await store.receipt(id: entry.receiptID) == receipt)
        #expect(try await store.ledger(from: 0, limit: 10).count == 1)
        // A second writer racing for seq 0 is refused.
        let fork = LedgerAppend(entryID: entry.id, receiptID: "urn:other", digest: agreement.digest, sequence: 0, previous: LedgerChain.genesis,
                                leaf: ContentDigest(of: [8]), receipt: receipt)
        await #expect(throws: (any Error).self) { try await store.appendReceipts([fork]) }
    }

    @Test("reader cursors start at 0, move only forward, and are kept per name", arguments: StoreKind.allCases)
    func cursors(kind: StoreKind) async throws {
        let store = try await kind.make()
        #expect(try await store.cursor("receipts:stahlteile") == 0)
        try await store.setCursor("receipts:stahlteile", to: 5)
        try await store.setCursor("receipts:stahlteile", to: 3)
        try await store.setCursor("receipts:nordic", to: 1)
        #expect(try await store.cursor("receipts:stahlteile") == 5)
        #expect(try await store.cursor("receipts:nordic") == 1)
        try await store.migrate()
        #expect(try await store.cursor("receipts:stahlteile") == 5)
    }

    @Test("an agreement without actions is delivered at once", arguments: StoreKind.allCases)
    func noActions(kind: StoreKind) async throws {
        let store = try await kind.make()
        let agreement = incoming(1, actions: 0)
        _ = try await store.accept(agreement)
        #expect(try await store.agreement(digest: agreement.digest)?.summary.status == .delivered)
    }
}

@Suite("SQLite store specifics")
struct SQLiteStoreTests {
    @Test("data survives closing and reopening the file; migrations are idempotent")
    func reopen() async throws {
        let path = try CommandRunner.temporaryDirectory("reopen").appendingPathComponent("c.sqlite").path
        do {
            let store = try SQLiteStore(path: path)
            try await store.migrate()
            _ = try await store.accept(incoming(1))
        }
        let again = try SQLiteStore(path: path)
        try await again.migrate()
        #expect(try await again.accept(incoming(1)) == .known(.accepted))
        #expect(try await again.agreements(AgreementQuery()).count == 1)
    }
}

/// The queries behind the operator dashboard: list filters (target, time, search) and the overview.
@Suite("Agreement store: dashboard queries")
struct StoreDashboardSuite {
    @Test("list filters by target and received time; search by business id, digest or legacy reference id", arguments: StoreKind.allCases)
    func filters(kind: StoreKind) async throws {
        let store = try await kind.make()
        // 0 and 1 have actions for erp and portal; 2 only for erp (one action).
        _ = try await store.accept(incoming(0, at: 1_000))
        _ = try await store.accept(incoming(1, at: 2_000))
        _ = try await store.accept(incoming(2, actions: 1, at: 3_000))
        #expect(try await store.agreements(AgreementQuery(target: "portal")).map(\.agreementID) == ["urn:test:1", "urn:test:0"])
        #expect(try await store.agreements(AgreementQuery(target: "erp")).count == 3)
        #expect(try await store.agreements(AgreementQuery(target: "nowhere")).isEmpty)
        #expect(try await store.agreements(AgreementQuery(receivedFrom: 2_000)).map(\.agreementID) == ["urn:test:2", "urn:test:1"])
        #expect(try await store.agreements(AgreementQuery(receivedFrom: 1_500, receivedBefore: 3_000)).map(\.agreementID) == ["urn:test:1"])
        #expect(try await store.agreements(AgreementQuery(search: "urn:test:2")).map(\.agreementID) == ["urn:test:2"])
        let digest = incoming(1).digest.description
        #expect(try await store.agreements(AgreementQuery(search: digest)).map(\.agreementID) == ["urn:test:1"])
        #expect(try await store.agreements(AgreementQuery(search: "PO-4711")).isEmpty)

        // Deliver agreement 0's erp action with legacy reference PO-4711: the search finds it by that id.
        let claimed = try await store.claim(ClaimRequest(worker: "w", limit: 10, now: 5_000, leaseMilliseconds: 10_000))
        let erp0 = try #require(claimed.first { $0.agreementID == "urn:test:0" && $0.target == "erp" })
        #expect(try await store.finish(AttemptRecord(entryID: erp0.id, worker: "w", startedAt: 5_000, finishedAt: 5_100, outcome: "delivered",
                                                     detail: nil, next: .delivered(reference: ["system": "erp", "kind": "po", "id": "PO-4711"]))))
        #expect(try await store.agreements(AgreementQuery(search: "PO-4711")).map(\.agreementID) == ["urn:test:0"])
        #expect(try await store.agreements(AgreementQuery(search: "PO-471")).isEmpty)  // the whole id, not a part
        #expect(try await store.agreements(AgreementQuery(target: "portal", search: "PO-4711")).map(\.agreementID) == ["urn:test:0"])
        // …and by the reference exactly as the list shows it (`system:kind:id`), but not by a part of that.
        #expect(try await store.agreements(AgreementQuery(search: "erp:po:PO-4711")).map(\.agreementID) == ["urn:test:0"])
        #expect(try await store.agreements(AgreementQuery(search: "erp:po:PO-471")).isEmpty)
        #expect(try await store.agreements(AgreementQuery(search: "po:PO-4711")).isEmpty)
        #expect(try await store.agreements(AgreementQuery(search: "crm:po:PO-4711")).isEmpty)
        #expect(try await store.agreements(AgreementQuery(search: "erp:po:PO-4711")).first?.references == ["erp:po:PO-4711"])
    }

    @Test("a list entry carries the document's delivery date, when it states one", arguments: StoreKind.allCases)
    func deliveryDate(kind: StoreKind) async throws {
        let store = try await kind.make()
        _ = try await store.accept(incoming(0, document: #"{"id":"urn:test:0","delivery":{"date":"2026-12-16","place":"Tampere"}}"#))
        _ = try await store.accept(incoming(1))
        let listed = try await store.agreements(AgreementQuery())
        #expect(listed.map(\.deliveryDate) == [nil, "2026-12-16"])
        #expect(try await store.agreement(digest: incoming(0).digest)?.summary.deliveryDate == "2026-12-16")
    }

    @Test("status counts and attempt activity per time bucket, partner and target", arguments: StoreKind.allCases)
    func overview(kind: StoreKind) async throws {
        let store = try await kind.make()
        #expect(try await store.statusCounts().isEmpty)
        _ = try await store.accept(incoming(0, partner: "a", at: 1_000))
        _ = try await store.accept(incoming(1, partner: "b", actions: 1, at: 1_000))
        let claimed = try await store.claim(ClaimRequest(worker: "w", limit: 10, now: 2_000, leaseMilliseconds: 60_000))
        #expect(claimed.count == 3)
        for entry in claimed {
            let record: AttemptRecord
            switch (entry.partner, entry.target) {
            case ("a", "erp"):  // committed at 10 500: latency 9 500 ms, bucket 10 000
                record = AttemptRecord(entryID: entry.id, worker: "w", startedAt: 10_000, finishedAt: 10_500, outcome: "delivered", detail: nil,
                                       next: .delivered(reference: ["system": "erp", "kind": "po", "id": "1"]))
            case ("a", "portal"):  // failed at 12 000, same bucket
                record = AttemptRecord(entryID: entry.id, worker: "w", startedAt: 11_000, finishedAt: 12_000, outcome: "rejected",
                                       detail: "HTTP 422", next: .deadLetter(reason: "HTTP 422"))
            default:  // b/erp committed at 21 000: latency 20 000 ms, bucket 20 000
                record = AttemptRecord(entryID: entry.id, worker: "w", startedAt: 20_000, finishedAt: 21_000, outcome: "found", detail: nil,
                                       next: .delivered(reference: ["system": "erp", "kind": "po", "id": "2"]))
            }
            #expect(try await store.finish(record))
        }
        let counts = try await store.statusCounts()
        #expect(counts == [.deadLetter: 1, .delivered: 1])
        let buckets = try await store.activity(since: 0, bucketMilliseconds: 10_000)
        #expect(buckets == [
            ActivityBucket(start: 10_000, partner: "a", target: "erp", attempts: 1, delivered: 1, failed: 0, latencyMilliseconds: 9_500),
            ActivityBucket(start: 10_000, partner: "a", target: "portal", attempts: 1, delivered: 0, failed: 1, latencyMilliseconds: 0),
            ActivityBucket(start: 20_000, partner: "b", target: "erp", attempts: 1, delivered: 1, failed: 0, latencyMilliseconds: 20_000),
        ])
        #expect(try await store.activity(since: 20_000, bucketMilliseconds: 10_000).map(\.partner) == ["b"])
    }
}
