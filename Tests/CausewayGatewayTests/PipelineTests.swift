import AdapterKit
import AdapterKitTesting
import CausewayCore
import CausewayGateway
@_spi(Testing) import CausewayStore
import CausewayTesting
import CausewayTrust
import Foundation
import Synchronization
import Testing

/// A clock the test moves by hand.
final class TestClock: Sendable {
    let time = Mutex<Int64>(1_795_000_000_000)
    var now: @Sendable () -> Int64 { { self.time.withLock { $0 } } }
    func advance(_ milliseconds: Int64) { time.withLock { $0 += milliseconds } }
}

/// A count several tasks add to.
final class TestCount: Sendable {
    let value = Mutex(0)
}

let gatewayKey = try! SigningIdentity(seed: Array(repeating: 77, count: 32))

/// An agreement with one rows action per target, ready for the store.
func incoming(_ n: Int, targets: [String] = ["erp"], at time: Int64) -> IncomingAgreement {
    let digest = ContentDigest(of: Array("pipeline agreement \(n)".utf8))
    let actions = targets.enumerated().map { index, target -> IncomingAgreement.Action in
        let action = LegacyAction(index: index, name: "a\(index)", target: target, payload: .rows(RowsAction(
            table: "t", key: ["k"], returning: [], row: Row([("k", .text("\(n)"))]), children: [])))
        let receiptID = "urn:uuid:00000000-0000-4000-8000-\(String(format: "%06d%06d", n, index))"
        let provenance = ProvenanceRecord(
            receiptID: receiptID, generated: "2026-11-22T10:00:00.000Z", action: action, adapter: "memory", agreementID: "urn:test:\(n)",
            agreementType: "PurchaseAgreement", agreementDigest: digest,
            signers: [.init(role: "seller", did: "did:key:z6MkS", verificationMethod: "did:key:z6MkS#z6MkS", proofDigest: digest, delegation: nil)],
            plan: .init(partner: "stahlteile", mapping: "m", version: "1", digest: digest, actionIndex: index),
            gateway: gatewayKey.didKey.did, software: "causeway-test")
        return IncomingAgreement.Action(index: index, name: action.name, target: target, kind: action.kind.rawValue, adapter: "memory",
                                        action: action.json, provenance: provenance.json, receiptID: receiptID)
    }
    return IncomingAgreement(digest: digest, agreementID: "urn:test:\(n)", partner: "stahlteile", type: "PurchaseAgreement",
                             document: Array("{}".utf8), verification: ["verified": true], mappingID: "m", mappingVersion: "1",
                             mappingDigest: digest, total: "1.00", currency: "EUR", receivedAt: time, actions: actions)
}

struct Pipeline {
    let clock = TestClock()
    let store: SQLiteStore
    let adapters: [String: InMemoryAdapter]
    let worker: DeliveryWorker
    let issuer: ReceiptIssuer
    /// Receipts the issuer counted as stored (by its loop or with their attempts).
    let counted = TestCount()

    /// - Parameter receiptsWithAttempts: the worker signs each delivery's receipt in the
    ///   transaction of its attempt, as `causeway serve`'s does; otherwise the test issues them.
    init(targets: [String] = ["erp"], retry: RetryPolicy = .init(maxAttempts: 4, baseDelayMilliseconds: 1_000, maxDelayMilliseconds: 8_000),
         breakers: CircuitBreakers = .init(), receiptsWithAttempts: Bool = false) async throws {
        store = try SQLiteStore(path: try CommandRunner.temporaryDirectory("pipeline").appendingPathComponent("c.sqlite").path)
        try await store.migrate()
        adapters = Dictionary(uniqueKeysWithValues: targets.map { ($0, InMemoryAdapter()) })
        let counted = counted
        issuer = ReceiptIssuer(store: store, identity: gatewayKey, origin: "test/causeway", now: clock.now,
                               counted: { n in counted.value.withLock { $0 += n } })
        worker = DeliveryWorker(configuration: .init(worker: "w1", retry: retry), store: store, adapters: adapters, breakers: breakers,
                                now: clock.now, jitter: { 0 }, receipts: receiptsWithAttempts ? issuer : nil)
    }

    func status(_ agreement: IncomingAgreement) async throws -> AgreementStatus? {
        try await store.agreement(digest: agreement.digest)?.summary.status
    }
}

@Suite("Delivery pipeline (store + worker + receipts)")
struct PipelineTests {
    @Test("every action is delivered once and receipted; the receipts chain and verify")
    func happyPath() async throws {
        let p = try await Pipeline(targets: ["erp", "portal"])
        var agreements: [IncomingAgreement] = []
        for n in 0..<10 {
            let agreement = incoming(n, targets: ["erp", "portal"], at: p.clock.now())
            agreements.append(agreement)
            #expect(try await p.store.accept(agreement) == .accepted)
        }
        while try await p.worker.runOnce() > 0 {}
        #expect(p.adapters["erp"]!.written.count == 10)
        #expect(p.adapters["portal"]!.written.count == 10)
        for agreement in agreements { #expect(try await p.status(agreement) == .delivered) }
        #expect(try await p.issuer.issuePending() == 20)
        #expect(try await p.issuer.issuePending() == 0)
        let ledger = try await p.store.ledger(from: 0, limit: 100)
        #expect(ledger.count == 20)
        #expect(LedgerChain.verify(ledger).isEmpty)
        for receipt in ledger { #expect(ReceiptSigner.verify(receipt, expectedIssuer: gatewayKey.didKey.did).isEmpty) }
        let receipts = try await p.store.receipts(digest: agreements[3].digest)
        #expect(receipts.count == 2)
        #expect(receipts.first?["agreement"]?["digest"]?.stringValue == agreements[3].digest.description)
        #expect(receipts.first?["legacyRef"]?["system"]?.stringValue == "memory")
        #expect(receipts.first?["outcome"]?.stringValue == "delivered")
    }

    @Test("with the issuer, each delivery's receipt commits with its attempt; a ledger that does not add up leaves the attempts recorded and the receipts to the issuer's loop")
    func receiptsWithAttempts() async throws {
        let p = try await Pipeline(targets: ["erp", "portal"], receiptsWithAttempts: true)
        var agreements: [IncomingAgreement] = []
        for n in 0..<10 {
            agreements.append(incoming(n, targets: ["erp", "portal"], at: p.clock.now()))
            #expect(try await p.store.accept(agreements[n]) == .accepted)
        }
        while try await p.worker.runOnce() > 0 {}
        for agreement in agreements { #expect(try await p.status(agreement) == .delivered) }
        #expect(try await p.store.entriesAwaitingReceipts(limit: 100).isEmpty)
        #expect(try await p.issuer.issuePending() == 0)
        #expect(p.counted.value.withLock { $0 } == 20)
        let ledger = try await p.store.ledger(from: 0, limit: 100)
        #expect(ledger.count == 20)
        #expect(LedgerChain.verify(ledger).isEmpty)
        for receipt in ledger { #expect(ReceiptSigner.verify(receipt, expectedIssuer: gatewayKey.didKey.did).isEmpty) }
        #expect(try await p.store.treeSize() == 20)
        let receipts = try await p.store.receipts(digest: agreements[3].digest)
        #expect(receipts.count == 2)
        #expect(receipts.first?["agreement"]?["digest"]?.stringValue == agreements[3].digest.description)
        #expect(receipts.first?["legacyRef"]?["system"]?.stringValue == "memory")
        #expect(receipts.first?["outcome"]?.stringValue == "delivered")

        // The tree loses a leaf behind the store's back: appends are refused, deliveries are not.
        try await p.store.execute(unsafeSQL: "DELETE FROM merkle_nodes WHERE level = 0 AND idx = 19")
        let late = incoming(10, targets: ["erp", "portal"], at: p.clock.now())
        #expect(try await p.store.accept(late) == .accepted)
        while try await p.worker.runOnce() > 0 {}
        #expect(try await p.status(late) == .delivered)
        #expect(p.adapters["erp"]!.written.count == 11)
        #expect(try await p.store.entriesAwaitingReceipts(limit: 100).count == 2)
        #expect(try await p.store.ledger(from: 0, limit: 100).count == 20)
        await #expect(throws: (any Error).self) { try await p.issuer.issuePending() }
        #expect(p.counted.value.withLock { $0 } == 20)
    }

    @Test("retryable failures back off and retry; nothing is written twice")
    func retries() async throws {
        let p = try await Pipeline()
        let agreement = incoming(1, at: p.clock.now())
        _ = try await p.store.accept(agreement)
        p.adapters["erp"]!.inject(.retryable, .retryable)
        #expect(try await p.worker.runOnce() == 1)
        #expect(try await p.status(agreement) == .retrying)
        #expect(try await p.worker.runOnce() == 0)  // not due yet: backoff
        p.clock.advance(500)  // jitter 0 → half of 1 s
        #expect(try await p.worker.runOnce() == 1)
        p.clock.advance(999)
        #expect(try await p.worker.runOnce() == 0)
        p.clock.advance(1)  // second failure: half of 2 s
        #expect(try await p.worker.runOnce() == 1)
        #expect(try await p.status(agreement) == .delivered)
        let stored = try #require(try await p.store.agreement(digest: agreement.digest))
        #expect(stored.attempts.map(\.outcome) == ["retryable", "retryable", "delivered"])
        #expect(p.adapters["erp"]!.written.count == 1)
        #expect(try await p.issuer.issuePending() == 1)
    }

    @Test("an unknown outcome after the write is settled by a lookup, not a second write")
    func unknownOutcome() async throws {
        let p = try await Pipeline()
        let agreement = incoming(1, at: p.clock.now())
        _ = try await p.store.accept(agreement)
        p.adapters["erp"]!.inject(.unknownAfterWrite)
        try await p.worker.runOnce()
        #expect(try await p.status(agreement) == .retrying)
        p.clock.advance(10_000)
        try await p.worker.runOnce()
        #expect(try await p.status(agreement) == .delivered)
        let stored = try #require(try await p.store.agreement(digest: agreement.digest))
        #expect(stored.attempts.map(\.outcome) == ["unknown", "found"])
        #expect(p.adapters["erp"]!.deliveries == 1)
        #expect(p.adapters["erp"]!.written.count == 1)
    }

    @Test("a rejection dead-letters at once, with no receipt; an operator retry delivers")
    func rejection() async throws {
        let p = try await Pipeline()
        let agreement = incoming(1, at: p.clock.now())
        _ = try await p.store.accept(agreement)
        p.adapters["erp"]!.inject(.rejected)
        try await p.worker.runOnce()
        #expect(try await p.status(agreement) == .deadLetter)
        #expect(try await p.issuer.issuePending() == 0)
        #expect(try await p.store.receipts(digest: agreement.digest).isEmpty)
        let stored = try #require(try await p.store.agreement(digest: agreement.digest))
        #expect(stored.entries.first?.lastError?.contains("refused") == true)
        #expect(try await p.store.retry(digest: agreement.digest, now: p.clock.now()) == 1)
        try await p.worker.runOnce()
        #expect(try await p.status(agreement) == .delivered)
        #expect(try await p.issuer.issuePending() == 1)
    }

    @Test("after the last allowed attempt the entry is dead-lettered with the reason")
    func exhausted() async throws {
        let p = try await Pipeline(retry: .init(maxAttempts: 3, baseDelayMilliseconds: 10, maxDelayMilliseconds: 10))
        let agreement = incoming(1, at: p.clock.now())
        _ = try await p.store.accept(agreement)
        p.adapters["erp"]!.inject(.retryable, .retryable, .retryable)
        for _ in 0..<3 {
            try await p.worker.runOnce()
            p.clock.advance(100)
        }
        #expect(try await p.status(agreement) == .deadLetter)
        let stored = try #require(try await p.store.agreement(digest: agreement.digest))
        #expect(stored.entries.first?.lastError?.hasPrefix("gave up after 3 attempts") == true)
        #expect(p.adapters["erp"]!.written.isEmpty)
    }

    @Test("a failing target's circuit opens and its entries wait, while other targets go on")
    func circuitBreaker() async throws {
        let breakers = CircuitBreakers(configuration: .init(failureThreshold: 2, openMilliseconds: 60_000))
        let p = try await Pipeline(targets: ["erp", "portal"], retry: .init(maxAttempts: 10, baseDelayMilliseconds: 1, maxDelayMilliseconds: 1),
                                   breakers: breakers)
        for n in 0..<4 { _ = try await p.store.accept(incoming(n, targets: ["erp", "portal"], at: p.clock.now())) }
        p.adapters["erp"]!.inject(.retryable, .retryable, .retryable, .retryable)
        try await p.worker.runOnce()
        #expect(breakers.state(of: "erp", now: p.clock.now()) == .open)
        #expect(p.adapters["portal"]!.written.count == 4)
        p.clock.advance(10)
        #expect(try await p.worker.runOnce() == 0)  // erp is excluded while open
        p.clock.advance(60_000)
        #expect(breakers.state(of: "erp", now: p.clock.now()) == .halfOpen)
        while try await p.worker.runOnce() > 0 { p.clock.advance(10) }
        #expect(p.adapters["erp"]!.written.count == 4)
        #expect(breakers.state(of: "erp", now: p.clock.now()) == .closed)
    }

    @Test("an entry whose target is not configured is dead-lettered with the reason")
    func unknownTarget() async throws {
        let p = try await Pipeline(targets: ["erp"])
        let agreement = incoming(1, targets: ["nowhere"], at: p.clock.now())
        _ = try await p.store.accept(agreement)
        try await p.worker.runOnce()
        #expect(try await p.status(agreement) == .deadLetter)
        #expect(try await p.store.agreement(digest: agreement.digest)?.entries.first?.lastError == "no target named 'nowhere' is configured")
    }
}

@Suite("Delivery decisions (pure)")
struct DeliveryStateMachineTests {
    let entry = OutboxEntryFactory.make(attempts: 0, needsLookup: false)

    @Test("backoff doubles, is capped, and jitter stays within [half, full]")
    func backoff() {
        let policy = RetryPolicy(maxAttempts: 10, baseDelayMilliseconds: 1_000, maxDelayMilliseconds: 10_000)
        #expect(policy.delay(afterAttempt: 1, jitter: 0) == 500)
        #expect(policy.delay(afterAttempt: 1, jitter: 1) == 1_000)
        #expect(policy.delay(afterAttempt: 3, jitter: 1) == 4_000)
        #expect(policy.delay(afterAttempt: 9, jitter: 1) == 10_000)
        #expect(policy.delay(afterAttempt: 60, jitter: 0.5) == 7_500)
    }

    @Test("Retry-After is a lower bound on the next attempt")
    func retryAfter() {
        let next = DeliveryStateMachine.afterDelivery(.retryable("503", after: .seconds(30)), entry: entry, now: 0, policy: .init(), jitter: 0)
        #expect(next == .retry(at: 30_000, lookupFirst: false))
    }

    @Test("unknown outcomes retry with a lookup first; lookups settle or defer")
    func unknownAndLookup() {
        #expect(DeliveryStateMachine.afterDelivery(.unknown("timeout"), entry: entry, now: 0, policy: .init(), jitter: 0)
            == .retry(at: 500, lookupFirst: true))
        let reference = LegacyReference(system: "s", kind: "k", id: "1")
        #expect(DeliveryStateMachine.afterLookup(.found(reference), entry: entry, now: 0, policy: .init(), jitter: 0)
            == .found(.delivered(reference: reference.json)))
        #expect(DeliveryStateMachine.afterLookup(.notFound, entry: entry, now: 0, policy: .init(), jitter: 0) == .deliver)
        #expect(DeliveryStateMachine.firstStep(for: OutboxEntryFactory.make(attempts: 1, needsLookup: true)) == .lookup)
    }
}

enum OutboxEntryFactory {
    static func make(attempts: Int, needsLookup: Bool) -> OutboxEntry {
        OutboxEntry(id: 1, digest: ContentDigest(of: [1]), agreementID: "x", partner: "p", actionIndex: 0, name: "a", target: "t", kind: "rows",
                    adapter: "memory", action: .null, provenance: .null, receiptID: "r", state: .inFlight, attempts: attempts, nextAttemptAt: 0,
                    needsLookup: needsLookup, lastError: nil, legacyReference: nil, deliveredAt: nil)
    }
}
