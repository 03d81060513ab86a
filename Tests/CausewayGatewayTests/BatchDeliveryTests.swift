import AdapterKit
import AdapterKitTesting
import CausewayCore
import CausewayGateway
import CausewayStore
import CausewayTesting
import Foundation
import Synchronization
import Testing

/// An in-memory target that takes batches: each batch is recorded, then its deliveries are made
/// one after the other by the in-memory adapter (with its injected faults). `dropLast` answers
/// one outcome too few, as a broken adapter might.
final class BatchingMemoryAdapter: BatchDeliveringAdapter {
    let base = InMemoryAdapter()
    let batches = Mutex<[Int]>([])
    let dropLast = Mutex(false)
    var descriptor: AdapterDescriptor { base.descriptor }
    func deliver(_ delivery: Delivery) async -> DeliveryOutcome { await base.deliver(delivery) }
    func lookup(_ delivery: Delivery) async -> LookupResult { await base.lookup(delivery) }
    func deliverBatch(_ deliveries: [Delivery]) async -> [DeliveryOutcome] {
        batches.withLock { $0.append(deliveries.count) }
        var outcomes: [DeliveryOutcome] = []
        for delivery in deliveries { outcomes.append(await base.deliver(delivery)) }
        if dropLast.withLock({ $0 }) { outcomes.removeLast() }
        return outcomes
    }
}

@Suite("Batched delivery: a round's entries for a rows target in one adapter call")
struct BatchDeliveryTests {
    static func pipeline() async throws -> (store: SQLiteStore, adapter: BatchingMemoryAdapter, other: InMemoryAdapter, worker: DeliveryWorker,
                                            clock: TestClock) {
        let clock = TestClock()
        let store = try SQLiteStore(path: try CommandRunner.temporaryDirectory("batch").appendingPathComponent("c.sqlite").path)
        try await store.migrate()
        let adapter = BatchingMemoryAdapter()
        let other = InMemoryAdapter()
        let worker = DeliveryWorker(configuration: .init(worker: "w1", batchSize: 16, retry: .init(maxAttempts: 4, baseDelayMilliseconds: 1_000)),
                                    store: store, adapters: ["erp": adapter, "portal": other], now: clock.now, jitter: { 0 })
        return (store, adapter, other, worker, clock)
    }

    @Test("one call for the round's entries of a batching target, one at a time for the others; each attempt recorded with its own outcome")
    func batched() async throws {
        let p = try await Self.pipeline()
        var agreements: [IncomingAgreement] = []
        for n in 0..<6 {
            let agreement = incoming(n, targets: ["erp", "portal"], at: p.clock.now())
            agreements.append(agreement)
            #expect(try await p.store.accept(agreement) == .accepted)
        }
        p.adapter.base.inject(.retryable)  // the batch's first delivery fails; its neighbours do not
        #expect(try await p.worker.runOnce() == 12)
        #expect(p.adapter.batches.withLock { $0 } == [6])
        #expect(p.adapter.base.written.count == 5)
        #expect(p.other.written.count == 6)
        var outcomes: [String] = []
        for agreement in agreements {
            let stored = try #require(try await p.store.agreement(digest: agreement.digest))
            outcomes += stored.attempts.filter { $0.entryID == stored.entries.first { $0.target == "erp" }?.id }.map(\.outcome)
        }
        #expect(outcomes.sorted() == ["delivered", "delivered", "delivered", "delivered", "delivered", "retryable"])
        // The failed one alone is due later; it goes by itself (a batch of one is a delivery).
        p.clock.advance(10_000)
        #expect(try await p.worker.runOnce() == 1)
        #expect(p.adapter.batches.withLock { $0 } == [6])
        #expect(p.adapter.base.written.count == 6)
        for agreement in agreements { #expect(try await p.store.agreement(digest: agreement.digest)?.summary.status == .delivered) }
    }

    @Test("entries that need a lookup first are settled one at a time, beside the batch")
    func lookupsAlone() async throws {
        let p = try await Self.pipeline()
        let first = incoming(1, at: p.clock.now())
        _ = try await p.store.accept(first)
        p.adapter.base.inject(.unknownAfterWrite)
        #expect(try await p.worker.runOnce() == 1)  // alone: written, answered unknown
        for n in 2...4 { _ = try await p.store.accept(incoming(n, at: p.clock.now())) }
        p.clock.advance(10_000)
        #expect(try await p.worker.runOnce() == 4)
        #expect(p.adapter.batches.withLock { $0 } == [3])
        let stored = try #require(try await p.store.agreement(digest: first.digest))
        #expect(stored.attempts.map(\.outcome) == ["unknown", "found"])
        #expect(p.adapter.base.written.count == 4)
    }

    @Test("an adapter that answers for fewer deliveries than it was given leaves every one of them unknown, to be looked up")
    func wrongCount() async throws {
        let p = try await Self.pipeline()
        var agreements: [IncomingAgreement] = []
        for n in 0..<3 {
            agreements.append(incoming(n, at: p.clock.now()))
            _ = try await p.store.accept(agreements[n])
        }
        p.adapter.dropLast.withLock { $0 = true }
        #expect(try await p.worker.runOnce() == 3)
        for agreement in agreements {
            let stored = try #require(try await p.store.agreement(digest: agreement.digest))
            #expect(stored.attempts.map(\.outcome) == ["unknown"])
            #expect(stored.entries.first?.needsLookup == true)
        }
        p.adapter.dropLast.withLock { $0 = false }
        p.clock.advance(10_000)
        #expect(try await p.worker.runOnce() == 3)
        for agreement in agreements {
            #expect(try await p.store.agreement(digest: agreement.digest)?.attempts.map(\.outcome) == ["unknown", "found"])
        }
        #expect(p.adapter.base.written.count == 3)
    }
}
