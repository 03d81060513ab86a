import CausewayCore
import CausewayStore
import CausewayTesting
import Foundation
import Testing

/// Changes and cancellations in the stores: each version a row of its agreement's chain, checked
/// in the intake transaction (no forks, nothing after a cancellation), delivered in order, and a
/// cancellation that overtakes an untouched chain voids it — on both stores.
@Suite("Agreement store: changes and cancellations")
struct RevisionStoreTests {
    /// Version `version` of agreement 1 (a change, or a cancellation), following `supersedes`.
    static func revision(_ version: Int, supersedes: ContentDigest, cancellation: Bool = false, actions: Int = 1, variant: String = "",
                         partner: String = "stahlteile") -> IncomingAgreement {
        var agreement = incoming(100 + version, partner: partner, id: "urn:change:\(version)\(variant)", actions: actions)
        agreement.revision = .init(amends: incoming(1).digest, supersedes: supersedes, version: version, cancellation: cancellation)
        return agreement
    }

    static func deliverAll(_ store: any AgreementStore, worker: String = "w", at time: Int64) async throws -> [OutboxEntry] {
        let entries = try await store.claim(ClaimRequest(worker: worker, limit: 50, now: time, leaseMilliseconds: 10_000))
        let records = entries.map { entry in
            AttemptRecord(entryID: entry.id, worker: worker, startedAt: time, finishedAt: time + 1, outcome: "delivered", detail: nil,
                          next: .delivered(reference: ["system": "test", "kind": "row", "id": .string("\(entry.id)")]))
        }
        #expect(try await store.finishBatch(records).allSatisfy { $0 })
        return entries
    }

    @Test("the chain: v2 extends v1, a second v2 is stale, a skipped version is stale, an unknown original or another partner's is unknown",
          arguments: StoreKind.allCases)
    func chain(kind: StoreKind) async throws {
        let store = try await kind.make()
        let original = incoming(1)
        #expect(try await store.accept(original) == .accepted)
        let v2 = Self.revision(2, supersedes: original.digest)
        #expect(try await store.accept(v2) == .accepted)
        #expect(try await store.accept(v2) == .known(.accepted))
        // Someone else's version 2 (other content) lost the race: stale, naming the head.
        #expect(try await store.accept(Self.revision(2, supersedes: original.digest, variant: "b")) == .stale(current: v2.digest, version: 2))
        #expect(try await store.accept(Self.revision(4, supersedes: v2.digest)) == .stale(current: v2.digest, version: 2))
        var unknown = Self.revision(3, supersedes: v2.digest)
        unknown.revision = .init(amends: incoming(99).digest, supersedes: v2.digest, version: 3, cancellation: false)
        #expect(try await store.accept(unknown) == .unknownAgreement)
        #expect(try await store.accept(Self.revision(3, supersedes: v2.digest, partner: "nordic")) == .unknownAgreement)
        // A change cannot name a change as its original.
        var notOriginal = Self.revision(3, supersedes: v2.digest, variant: "c")
        notOriginal.revision = .init(amends: v2.digest, supersedes: v2.digest, version: 3, cancellation: false)
        #expect(try await store.accept(notOriginal) == .unknownAgreement)

        let versions = try await store.versions(of: original.digest)
        #expect(versions.map(\.version) == [1, 2])
        #expect(try await store.latestVersion(of: original.digest)?.digest == v2.digest)
        #expect(try await store.latestVersion(of: v2.digest) == nil, "a change's digest names no chain")
        #expect(try await store.latestVersion(of: incoming(55).digest) == nil)
        #expect(versions.map(\.revision) == [nil, "change"])
        #expect(versions.map(\.chain) == [original.digest, original.digest])
        #expect(versions[0].supersededBy == v2.digest)
        #expect(versions[1].supersededBy == nil)
        // The list's current view shows the chain once, at its head.
        var query = AgreementQuery()
        query.currentOnly = true
        let current = try await store.agreements(query)
        #expect(current.map(\.digest) == [v2.digest])
        #expect(try await store.agreements(AgreementQuery()).count == 2)
    }

    @Test("versions are delivered in order: v2's actions wait until v1 is delivered", arguments: StoreKind.allCases)
    func order(kind: StoreKind) async throws {
        let store = try await kind.make()
        let original = incoming(1)
        #expect(try await store.accept(original) == .accepted)
        let v2 = Self.revision(2, supersedes: original.digest)
        #expect(try await store.accept(v2) == .accepted)
        let first = try await Self.deliverAll(store, at: 2_000)
        #expect(Set(first.map(\.digest)) == [original.digest], "only the original's actions are claimable while it is undelivered")
        #expect(first.count == 2)
        let second = try await Self.deliverAll(store, at: 3_000)
        #expect(second.map(\.digest) == [v2.digest])
        #expect(try await store.agreement(digest: v2.digest)?.summary.status == .delivered)
        #expect(try await store.claim(ClaimRequest(worker: "w", limit: 10, now: 4_000, leaseMilliseconds: 1_000)).isEmpty)
    }

    @Test("a change's actions go out in the mapping's order: a later one waits for the one before; a dead-lettered one holds the rest back",
          arguments: StoreKind.allCases)
    func actionOrder(kind: StoreKind) async throws {
        let store = try await kind.make()
        let original = incoming(1)
        #expect(try await store.accept(original) == .accepted)
        #expect(try await Self.deliverAll(store, at: 2_000).count == 2, "an original's actions go out together")
        let v2 = Self.revision(2, supersedes: original.digest, actions: 3)
        #expect(try await store.accept(v2) == .accepted)
        for (round, expected) in [(0, [0]), (1, [1]), (2, [2])] {
            let claimed = try await Self.deliverAll(store, at: 3_000 + Int64(round) * 100)
            #expect(claimed.map(\.actionIndex) == expected, "round \(round)")
        }
        // The cancellation's first action (the ERP) refuses: the others are never sent.
        let cancel = Self.revision(3, supersedes: v2.digest, cancellation: true, actions: 3)
        #expect(try await store.accept(cancel) == .accepted)
        let first = try await store.claim(ClaimRequest(worker: "w", limit: 10, now: 5_000, leaseMilliseconds: 1_000))
        #expect(first.map(\.actionIndex) == [0])
        #expect(try await store.finish(AttemptRecord(entryID: try #require(first.first).id, worker: "w", startedAt: 5_000, finishedAt: 5_001,
                                                     outcome: "rejected", detail: "goods already received", next: .deadLetter(reason: "goods already received"))))
        #expect(try await store.claim(ClaimRequest(worker: "w", limit: 10, now: 9_000, leaseMilliseconds: 1_000)).isEmpty)
        #expect(try await store.agreement(digest: cancel.digest)?.summary.status == .deadLetter)
    }

    @Test("a cancellation that overtakes an untouched chain voids it; afterwards nothing follows", arguments: StoreKind.allCases)
    func overtaking(kind: StoreKind) async throws {
        let store = try await kind.make()
        let original = incoming(1)
        #expect(try await store.accept(original) == .accepted)
        let v2 = Self.revision(2, supersedes: original.digest)
        #expect(try await store.accept(v2) == .accepted)
        let cancel = Self.revision(3, supersedes: v2.digest, cancellation: true)
        #expect(try await store.accept(cancel) == .accepted)
        for digest in [original.digest, v2.digest, cancel.digest] {
            let stored = try #require(try await store.agreement(digest: digest))
            #expect(stored.summary.status == .cancelled)
            #expect(stored.entries.allSatisfy { $0.state == .void })
        }
        #expect(try await store.claim(ClaimRequest(worker: "w", limit: 10, now: 9_000, leaseMilliseconds: 1_000)).isEmpty,
                "nothing is delivered for a voided chain")
        #expect(try await store.entriesAwaitingReceipts(limit: 10).isEmpty)
        #expect(try await store.accept(Self.revision(4, supersedes: cancel.digest)) == .closed(cancellation: cancel.digest))
        #expect(try await store.statusCounts() == [.cancelled: 1], "a chain counts once, at its current version")
    }

    @Test("a cancellation also voids an original whose attempts all failed before committing (retryable, rejected), never one with an unknown outcome",
          arguments: StoreKind.allCases)
    func overtakingFailedAttempts(kind: StoreKind) async throws {
        let store = try await kind.make()
        // Agreement 1: one action retryable (ERP down), one rejected into a dead letter.
        let failing = incoming(1)
        #expect(try await store.accept(failing) == .accepted)
        let entries = try await store.claim(ClaimRequest(worker: "w", limit: 10, now: 2_000, leaseMilliseconds: 1_000))
        #expect(entries.count == 2)
        #expect(try await store.finishBatch([
            AttemptRecord(entryID: entries[0].id, worker: "w", startedAt: 2_000, finishedAt: 2_001, outcome: "retryable", detail: "503",
                          next: .retry(at: 60_000, lookupFirst: false)),
            AttemptRecord(entryID: entries[1].id, worker: "w", startedAt: 2_000, finishedAt: 2_001, outcome: "rejected", detail: "unknown product",
                          next: .deadLetter(reason: "unknown product")),
        ]) == [true, true])
        let cancel = Self.revision(2, supersedes: failing.digest, cancellation: true)
        #expect(try await store.accept(cancel) == .accepted)
        let voided = try #require(try await store.agreement(digest: failing.digest))
        #expect(voided.summary.status == .cancelled)
        #expect(voided.entries.allSatisfy { $0.state == .void })
        #expect(voided.entries.contains { $0.lastError == "unknown product" }, "the refusal stays on record")
        #expect(try await store.agreement(digest: cancel.digest)?.entries.allSatisfy { $0.state == .void } == true)
        #expect(try await store.claim(ClaimRequest(worker: "w", limit: 10, now: 90_000, leaseMilliseconds: 1_000)).isEmpty)

        // Agreement 7: a timeout after sending (unknown) may have committed: the cancellation is delivered in order.
        let unsure = incoming(7)
        #expect(try await store.accept(unsure) == .accepted)
        let claimed = try await store.claim(ClaimRequest(worker: "w", limit: 10, now: 3_000, leaseMilliseconds: 1_000))
        #expect(try await store.finishBatch(claimed.map {
            AttemptRecord(entryID: $0.id, worker: "w", startedAt: 3_000, finishedAt: 3_001, outcome: $0.actionIndex == 0 ? "unknown" : "retryable",
                          detail: "timeout", next: .retry(at: 60_000, lookupFirst: $0.actionIndex == 0))
        }) == [true, true])
        var late = incoming(8, id: "urn:cancel:unsure", actions: 1)
        late.revision = .init(amends: unsure.digest, supersedes: unsure.digest, version: 2, cancellation: true)
        #expect(try await store.accept(late) == .accepted)
        #expect(try await store.agreement(digest: unsure.digest)?.entries.allSatisfy { $0.state == .pending } == true)
        #expect(try await store.agreement(digest: late.digest)?.entries.map(\.state) == [.pending])
    }

    @Test("a cancellation after delivery is delivered itself and ends as cancelled", arguments: StoreKind.allCases)
    func cancellationAfterDelivery(kind: StoreKind) async throws {
        let store = try await kind.make()
        let original = incoming(1)
        #expect(try await store.accept(original) == .accepted)
        _ = try await Self.deliverAll(store, at: 2_000)
        let cancel = Self.revision(2, supersedes: original.digest, cancellation: true)
        #expect(try await store.accept(cancel) == .accepted)
        #expect(try await store.agreement(digest: cancel.digest)?.summary.status == .accepted)
        let delivered = try await Self.deliverAll(store, at: 3_000)
        #expect(delivered.map(\.digest) == [cancel.digest])
        #expect(try await store.agreement(digest: cancel.digest)?.summary.status == .cancelled)
        #expect(try await store.agreement(digest: original.digest)?.summary.status == .delivered)
        // A cancellation without actions (the mapping does nothing for it) is cancelled at once.
        let other = incoming(7)
        #expect(try await store.accept(other) == .accepted)
        var bare = incoming(8, id: "urn:cancel:bare", actions: 0)
        bare.revision = .init(amends: other.digest, supersedes: other.digest, version: 2, cancellation: true)
        _ = try await Self.deliverAll(store, at: 4_000)
        #expect(try await store.accept(bare) == .accepted)
        #expect(try await store.agreement(digest: bare.digest)?.summary.status == .cancelled)
    }
}
