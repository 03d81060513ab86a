import AdapterKit
import AdapterKitTesting
import CausewayCore
@testable import CausewayGateway
import CausewayStore
import CausewayTesting
import Foundation
import InMemoryTracing
import Tracing
import Logging
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

    @Test("with tracing on, a batching target still gets its batch in one call, and each delivery its own span with its own outcome")
    func tracedBatch() async throws {
        let store = try SQLiteStore(path: try CommandRunner.temporaryDirectory("traced-batch").appendingPathComponent("c.sqlite").path)
        try await store.migrate()
        let tracer = InMemoryTracer()
        let tracing = GatewayTracing(tracer: TracerBox(tracer), store: store, logger: Logger(label: "test"), services: [])
        let base = BatchingMemoryAdapter()
        let traced = try #require(tracing.traced(base, target: "erp") as? any BatchDeliveringAdapter, "a traced batching adapter still batches")
        var deliveries: [Delivery] = []
        for n in 0..<3 {
            let agreement = incoming(n, at: 1)
            // Agreements 0 and 1 were traced at intake; agreement 2 was not.
            if n < 2 {
                try await store.recordTraceContext(.init(traceparent: "00-\(String(repeating: "a", count: 31))\(n)-00f067aa0ba902b7-01", tracestate: ""),
                                                   digest: agreement.digest)
            }
            let action = try LegacyAction(json: agreement.actions[0].action)
            deliveries.append(Delivery(agreementDigest: agreement.digest, agreementID: agreement.agreementID, action: action,
                                       provenance: try ProvenanceRecord(json: agreement.actions[0].provenance), signedAgreement: []))
        }
        base.base.inject(.rejected)
        let outcomes = await traced.deliverBatch(deliveries)
        #expect(outcomes.map(\.outcomeClass) == [.rejected, .delivered, .delivered])
        #expect(base.batches.withLock { $0 } == [3])
        let spans = tracer.finishedSpans.filter { $0.operationName == "causeway.delivery" }
        #expect(spans.count == 2, "one span per traced delivery: \(spans.map(\.operationName))")
        func span(_ delivery: Delivery) -> FinishedInMemorySpan? {
            spans.first { $0.attributes.get("causeway.agreement.digest") == .string(delivery.agreementDigest.description) }
        }
        #expect(span(deliveries[0])?.attributes.get("causeway.outcome") == .string("rejected"))
        #expect(span(deliveries[1])?.attributes.get("causeway.outcome") == .string("delivered"))
        #expect(span(deliveries[2]) == nil)
        #expect(spans.allSatisfy { $0.attributes.get("causeway.batch.size") == .int64(3) }, "\(spans.map(\.attributes))")
    }
}
