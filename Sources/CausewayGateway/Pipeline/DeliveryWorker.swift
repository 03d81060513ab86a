public import AdapterKit
import CausewayCore
public import CausewayStore
import Foundation
import Logging

/// Where the worker finds a target's adapter. A delivery borrows the adapter for as long as it
/// runs, so that a live reload replacing the target shuts the old adapter down only after the
/// deliveries holding it have finished (``GatewayRuntime``).
public protocol DeliveryTargets: Sendable {
    /// Runs `body` with the adapter of `target` (nil: no such target), held for `body`'s duration.
    func withAdapter<T: Sendable>(for target: String, _ body: ((any Adapter)?) async throws -> T) async throws -> T
}

/// A fixed set of adapters by target name (tests, one-shot commands).
public struct FixedDeliveryTargets: DeliveryTargets {
    public let adapters: [String: any Adapter]
    public init(_ adapters: [String: any Adapter]) { self.adapters = adapters }
    public func withAdapter<T: Sendable>(for target: String, _ body: ((any Adapter)?) async throws -> T) async throws -> T {
        try await body(adapters[target])
    }
}

/// Claims outbox entries and delivers them through their targets' adapters.
///
/// Several workers (in one or several gateway instances) share the outbox: the store hands each
/// entry to one of them. A worker looks an entry up first when its last outcome was unknown,
/// records every attempt, backs off with jitter, opens a target's circuit after repeated
/// failures, and limits how many deliveries of one partner run at once.
public final class DeliveryWorker: Sendable {
    public struct Configuration: Sendable {
        /// This worker's name in claims (unique per instance).
        public var worker: String
        public var batchSize: Int
        /// How long a claim holds; a crashed worker's entries come back after it (needing a lookup).
        public var leaseMilliseconds: Int64
        /// The pause when there is nothing to do.
        public var idleMilliseconds: Int64
        /// Deliveries of one partner running at once, per worker.
        public var partnerConcurrency: Int
        public var retry: RetryPolicy

        public init(worker: String, batchSize: Int = 16, leaseMilliseconds: Int64 = 60_000, idleMilliseconds: Int64 = 200,
                    partnerConcurrency: Int = 4, retry: RetryPolicy = .init()) {
            self.worker = worker
            self.batchSize = batchSize
            self.leaseMilliseconds = leaseMilliseconds
            self.idleMilliseconds = idleMilliseconds
            self.partnerConcurrency = partnerConcurrency
            self.retry = retry
        }
    }

    let configuration: Configuration
    let store: any AgreementStore
    /// Adapters by target name, read per delivery (a reload may replace them).
    let targets: any DeliveryTargets
    public let breakers: CircuitBreakers
    let now: @Sendable () -> Int64
    let jitter: @Sendable () -> Double
    /// Told how every attempt ended (metrics).
    let observe: (@Sendable (Observation) -> Void)?
    /// Attempts finishing together (a round's deliveries run side by side, and several loops share
    /// this worker) are recorded in one transaction: group commit (``GroupCommitter``).
    let attempts: GroupCommitter<FinishedAttempt, Bool>
    /// Signs the receipts of delivered attempts in their transaction; nil: the attempts alone, and
    /// the issuer's loop, woken by ``finishedWork``, issues the receipts.
    let receipts: ReceiptIssuer?
    /// Rung by intake when new work is stored: the worker stops pausing.
    public let newWork = Doorbell()
    /// Rung when a delivery is recorded without its receipt: the receipt issuer stops pausing.
    public let finishedWork = Doorbell()

    public convenience init(configuration: Configuration, store: any AgreementStore, adapters: [String: any Adapter],
                            breakers: CircuitBreakers = .init(), now: @escaping @Sendable () -> Int64 = WallClock.milliseconds,
                            jitter: @escaping @Sendable () -> Double = { Double.random(in: 0...1) },
                            receipts: ReceiptIssuer? = nil, observe: (@Sendable (Observation) -> Void)? = nil) {
        self.init(configuration: configuration, store: store, targets: FixedDeliveryTargets(adapters), breakers: breakers, now: now,
                  jitter: jitter, receipts: receipts, observe: observe)
    }

    /// A worker whose adapters are looked up per delivery in `targets` (live reload).
    /// - Parameter receipts: the gateway's receipt issuer, to sign each delivery's receipt in the
    ///   transaction that records its attempt; nil: attempts alone (``finishedWork`` is rung).
    public init(configuration: Configuration, store: any AgreementStore, targets: any DeliveryTargets, breakers: CircuitBreakers = .init(),
                now: @escaping @Sendable () -> Int64 = WallClock.milliseconds,
                jitter: @escaping @Sendable () -> Double = { Double.random(in: 0...1) },
                receipts: ReceiptIssuer? = nil, observe: (@Sendable (Observation) -> Void)? = nil) {
        self.observe = observe
        self.configuration = configuration
        self.store = store
        self.receipts = receipts
        let finishedWork = finishedWork
        attempts = GroupCommitter(maxBatch: 256, writeBatch: { batch in
            try await Self.record(batch, store: store, receipts: receipts, finishedWork: finishedWork)
        }, writeOne: { attempt in
            try await Self.record([attempt], store: store, receipts: receipts, finishedWork: finishedWork)[0]
        })
        self.targets = targets
        self.breakers = breakers
        self.now = now
        self.jitter = jitter
    }

    /// Delivers until the task is cancelled. Claimed entries not started when cancelled are released.
    /// A store that cannot be reached (a database restart) pauses the worker; it never ends it:
    /// unfinished claims expire into lookups. `report` hears each failed round's error, and nil
    /// after each good round (the gateway shows it in `/healthz`).
    public func run(report: (@Sendable (_ failure: (any Error)?) -> Void)? = nil) async throws {
        var pause = configuration.idleMilliseconds
        while !Task.isCancelled {
            do {
                let done = try await runOnce()
                report?(nil)
                pause = configuration.idleMilliseconds
                if done == 0 { await newWork.wait(upTo: .milliseconds(pause)) }
            } catch {
                if !Task.isCancelled { report?(error) }
                pause = min(pause * 2, 5_000)
                try? await Task.sleep(for: .milliseconds(pause))
            }
        }
    }

    /// One round: claim a batch and deliver it. Returns how many entries were processed.
    @discardableResult
    public func runOnce() async throws -> Int {
        let time = now()
        let entries = try await store.claim(ClaimRequest(
            worker: configuration.worker, limit: configuration.batchSize, now: time, leaseMilliseconds: configuration.leaseMilliseconds,
            excludingTargets: breakers.openTargets(now: time)))
        guard !entries.isEmpty else { return 0 }
        let byPartner = Dictionary(grouping: entries, by: \.partner)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (_, partnerEntries) in byPartner {
                group.addTask { try await self.process(partnerEntries) }
            }
            try await group.waitForAll()
        }
        return entries.count
    }

    /// One finished attempt, as metrics see it.
    public struct Observation: Sendable {
        public let partner: String
        public let target: String
        public let outcome: String
        public let next: GatewayMetrics.AttemptNext
        public let seconds: Double
    }

    /// - Parameter provenance: the entry's provenance, decoded for its delivery (a receipt needs it).
    func finish(_ entry: OutboxEntry, startedAt: Int64, outcome: String, detail: String?, next: AttemptRecord.Next,
                provenance: ProvenanceRecord? = nil) async throws {
        if let observe {
            let kind: GatewayMetrics.AttemptNext = switch next {
            case .delivered: .delivered
            case .retry: .retry
            case .deadLetter: .deadLetter
            }
            observe(Observation(partner: entry.partner, target: entry.target, outcome: outcome, next: kind,
                                seconds: Double(now() - startedAt) / 1000))
        }
        logAttempt(entry, outcome: outcome, detail: detail, next: next)
        let record = AttemptRecord(entryID: entry.id, worker: configuration.worker, startedAt: startedAt, finishedAt: now(),
                                   outcome: outcome, detail: detail, next: next)
        var subject: ReceiptSubject?
        if receipts != nil, case .delivered(let reference) = next,
           let provenance = provenance ?? (try? ProvenanceRecord(json: entry.provenance)) {
            subject = ReceiptSubject(entry: entry, provenance: provenance, reference: reference, committedAt: record.finishedAt)
        }
        _ = try await attempts.submit(FinishedAttempt(record: record, subject: subject))
    }

    /// An attempt to record and, when it delivered, what its receipt says.
    struct FinishedAttempt: Sendable {
        let record: AttemptRecord
        let subject: ReceiptSubject?
    }

    /// Records a batch of attempts (one transaction) and, with `receipts`, the receipts of those
    /// that delivered in the same transaction. When the receipts cannot be issued there (a ledger
    /// that does not add up, a signing failure), the attempts are recorded alone — a delivery is
    /// never left unrecorded for its receipt's sake — and the issuer's loop is woken: it retries the
    /// receipts and reports what fails.
    static func record(_ batch: [FinishedAttempt], store: any AgreementStore, receipts: ReceiptIssuer?,
                       finishedWork: Doorbell) async throws -> [Bool] {
        let records = batch.map(\.record)
        guard let receipts, batch.contains(where: { $0.subject != nil }) else {
            let recorded = try await store.finishBatch(records)
            if zip(records, recorded).contains(where: { $0.delivers && $1 }) { finishedWork.ring() }
            return recorded
        }
        let startedAt = receipts.now()
        let finished: FinishedBatch
        do {
            finished = try await store.finishBatch(records) { head, delivered in
                let subjects = delivered.compactMap { batch[$0].subject }
                guard subjects.count == delivered.count else { throw ReceiptSubjectMissing() }
                return try receipts.receipts(for: subjects, after: head, issued: startedAt)
            }
        } catch {
            // The attempts alone, then the warning: when the store itself is gone (a lost
            // connection), this fails the same way and its error is what the caller hears, with
            // no word about receipts.
            let recorded = try await store.finishBatch(records)
            logger.warning("deliveries recorded without their receipts; the receipt issuer retries them",
                           metadata: ["error": .string(String(describing: error))])
            finishedWork.ring()
            return recorded
        }
        await receipts.stored(finished.receipts, startedAt: startedAt)
        return finished.recorded
    }

    /// A delivered attempt without what its receipt says (its provenance did not decode): the
    /// batch is recorded without receipts, and the issuer's loop reports the entry.
    struct ReceiptSubjectMissing: Error, CustomStringConvertible {
        var description: String { "a delivered entry's provenance does not decode" }
    }

    /// A stored action or provenance record that no longer decodes (a dead letter, never a retry).
    public struct StoredActionError: Error {
        public let message: String
    }

    /// What the adapter gets for a stored outbox entry: its action and provenance decoded, and the
    /// signed agreement where the action attaches it. Throws `StoredActionError` for an entry that
    /// does not decode, and the store's error when the agreement cannot be read.
    public static func delivery(of entry: OutboxEntry, store: any AgreementStore) async throws -> Delivery {
        let action: LegacyAction
        let provenance: ProvenanceRecord
        do {
            action = try LegacyAction(json: entry.action)
            provenance = try ProvenanceRecord(json: entry.provenance)
        } catch {
            throw StoredActionError(message: error.message)
        }
        var document: [UInt8] = []
        if case .erpPurchaseOrder(let order) = action.payload, order.attachments.contains(.agreement) {
            document = try await store.agreement(digest: entry.digest)?.document ?? []
        }
        return Delivery(agreementDigest: entry.digest, agreementID: entry.agreementID, action: action, provenance: provenance,
                        signedAgreement: document, attempt: entry.attempts + 1)
    }

    /// Delivers one partner's claimed entries and records each attempt. A target whose adapter
    /// delivers batches (the rows adapters) gets its entries in one call — one legacy transaction —
    /// beside the others, which go at most `partnerConcurrency` at a time. Entries that start with
    /// a lookup always go one at a time. Entries not started when the task is cancelled are released.
    func process(_ partnerEntries: [OutboxEntry]) async throws {
        var batches: [[OutboxEntry]] = []
        var single: [OutboxEntry] = []
        for (target, targetEntries) in Dictionary(grouping: partnerEntries, by: \.target) {
            let deliverable = targetEntries.filter { DeliveryStateMachine.firstStep(for: $0) == .deliver }
            if deliverable.count > 1, try await targets.withAdapter(for: target, { $0 is any BatchDeliveringAdapter }) {
                batches.append(deliverable)
                single += targetEntries.filter { DeliveryStateMachine.firstStep(for: $0) != .deliver }
            } else {
                single += targetEntries
            }
        }
        single.sort { ($0.nextAttemptAt, $0.id) < ($1.nextAttemptAt, $1.id) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for batch in batches {
                group.addTask { [batch] in
                    if Task.isCancelled { return try await self.store.release(worker: self.configuration.worker, entries: batch.map(\.id)) }
                    // Held for the whole batch, as for one delivery; a reload meanwhile that made the
                    // target one that does not batch sends the entries one at a time.
                    try await self.targets.withAdapter(for: batch[0].target) { adapter in
                        if let batcher = adapter as? any BatchDeliveringAdapter {
                            try await self.processBatch(batch, adapter: batcher)
                        } else {
                            for entry in batch { try await self.process(entry, adapter: adapter) }
                        }
                    }
                }
            }
            group.addTask { [single] in try await self.processOneByOne(single) }
            try await group.waitForAll()
        }
    }

    /// Delivers entries at most `partnerConcurrency` at a time.
    func processOneByOne(_ entries: [OutboxEntry]) async throws {
        var index = 0
        while index < entries.count {
            if Task.isCancelled {
                try await store.release(worker: configuration.worker, entries: entries[index...].map(\.id))
                return
            }
            let window = entries[index..<min(index + configuration.partnerConcurrency, entries.count)]
            try await withThrowingTaskGroup(of: Void.self) { inner in
                for entry in window { inner.addTask { try await self.process(entry) } }
                try await inner.waitForAll()
            }
            index += window.count
        }
    }

    /// Delivers entries (each to be delivered, none needing a lookup first) in one call of the
    /// adapter, and records each attempt with its own outcome; the records share a transaction.
    func processBatch(_ entries: [OutboxEntry], adapter: any BatchDeliveringAdapter) async throws {
        let startedAt = now()
        var deliveries: [(entry: OutboxEntry, delivery: Delivery)] = []
        for entry in entries {
            do {
                deliveries.append((entry, try await Self.delivery(of: entry, store: store)))
            } catch let error as StoredActionError {
                try await finish(entry, startedAt: startedAt, outcome: "rejected", detail: error.message, next: .deadLetter(reason: error.message))
            }
        }
        guard !deliveries.isEmpty else { return }
        let limit = Duration.milliseconds(max(configuration.leaseMilliseconds * 3 / 4, 100))
        let unanswered = DeliveryOutcome.unknown("the target did not answer within \(limit)")
        var outcomes = await withDeadline(limit, otherwise: Array(repeating: unanswered, count: deliveries.count)) { [deliveries] in
            await adapter.deliverBatch(deliveries.map(\.delivery))
        }
        if outcomes.count != deliveries.count {
            // An adapter that answered for other deliveries than it was given: nothing is known.
            outcomes = Array(repeating: .unknown("the adapter answered \(outcomes.count) outcomes for \(deliveries.count) deliveries"),
                             count: deliveries.count)
        }
        let policy = configuration.retry
        try await withThrowingTaskGroup(of: Void.self) { group in
            for ((entry, delivery), outcome) in zip(deliveries, outcomes) {
                switch outcome.outcomeClass {
                case .delivered, .rejected: breakers.recordSuccess(entry.target)
                case .retryable, .unknown: breakers.recordFailure(entry.target, now: now())
                }
                let next = DeliveryStateMachine.afterDelivery(outcome, entry: entry, now: now(), policy: policy, jitter: jitter())
                group.addTask {
                    try await self.finish(entry, startedAt: startedAt, outcome: outcome.outcomeClass.rawValue, detail: outcome.reason, next: next,
                                          provenance: delivery.provenance)
                }
            }
            try await group.waitForAll()
        }
    }

    /// Delivers one claimed entry and records the attempt.
    func process(_ entry: OutboxEntry) async throws {
        // The adapter is looked up now and held until the attempt is recorded: a reload meanwhile
        // leaves this delivery on the adapter it started with.
        try await targets.withAdapter(for: entry.target) { adapter in try await self.process(entry, adapter: adapter) }
    }

    func process(_ entry: OutboxEntry, adapter: (any Adapter)?) async throws {
        let startedAt = now()
        guard let adapter else {
            try await finish(entry, startedAt: startedAt, outcome: "rejected", detail: "no target named '\(entry.target)' is configured",
                             next: .deadLetter(reason: "no target named '\(entry.target)' is configured"))
            return
        }
        let delivery: Delivery
        do {
            delivery = try await Self.delivery(of: entry, store: store)
        } catch let error as StoredActionError {
            try await finish(entry, startedAt: startedAt, outcome: "rejected", detail: error.message, next: .deadLetter(reason: error.message))
            return
        }
        let policy = configuration.retry
        // Whatever the adapter does, the worker answers within the lease, so that a target that
        // stops answering never holds a partner's delivery slots: the attempt counts as unknown and
        // the next one starts with a lookup.
        let limit = Duration.milliseconds(max(configuration.leaseMilliseconds * 3 / 4, 100))

        if DeliveryStateMachine.firstStep(for: entry) == .lookup {
            let known = await withDeadline(limit, otherwise: .unavailable("the target did not answer the lookup within \(limit)")) {
                await adapter.lookup(delivery)
            }
            switch DeliveryStateMachine.afterLookup(known, entry: entry, now: now(), policy: policy, jitter: jitter()) {
            case .found(let next):
                breakers.recordSuccess(entry.target)
                try await finish(entry, startedAt: startedAt, outcome: "found", detail: "settled by lookup", next: next,
                                 provenance: delivery.provenance)
                return
            case .later(let next, let detail):
                breakers.recordFailure(entry.target, now: now())
                try await finish(entry, startedAt: startedAt, outcome: "lookup_unavailable", detail: detail, next: next)
                return
            case .deliver:
                break
            }
        }

        let outcome = await withDeadline(limit, otherwise: .unknown("the target did not answer within \(limit)")) {
            await adapter.deliver(delivery)
        }
        switch outcome.outcomeClass {
        case .delivered, .rejected: breakers.recordSuccess(entry.target)
        case .retryable, .unknown: breakers.recordFailure(entry.target, now: now())
        }
        let next = DeliveryStateMachine.afterDelivery(outcome, entry: entry, now: now(), policy: policy, jitter: jitter())
        try await finish(entry, startedAt: startedAt, outcome: outcome.outcomeClass.rawValue, detail: outcome.reason, next: next,
                         provenance: delivery.provenance)
    }
}
