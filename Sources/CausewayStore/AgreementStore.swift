public import CausewayCore

/// Where Causeway keeps agreements, their outbox of actions, every attempt, and the ledger of
/// receipts. Two implementations pass one shared test suite: SQLite (the embedded default, one
/// file) and PostgreSQL (for several gateway instances sharing the work).
///
/// Every method is one transaction. Nothing is acknowledged to a client before ``accept(_:)``
/// has returned.
public protocol AgreementStore: MerkleNodeSource, Sendable {
    /// Creates or upgrades the schema (versioned migrations, idempotent).
    func migrate() async throws

    /// Stores a verified agreement and one outbox entry per action, atomically.
    ///
    /// The digest makes resubmission harmless (`.known`); the same partner and business id
    /// with a different digest is a `.conflict`, never an update.
    func accept(_ agreement: IncomingAgreement) async throws -> IntakeResult

    /// Stores several agreements in one transaction (group commit at intake): the results are in
    /// the order given, each what ``accept(_:)`` would have answered had they come one after the
    /// other (a digest twice is `.accepted` then `.known`). A thrown error means none is stored.
    func acceptBatch(_ agreements: [IncomingAgreement]) async throws -> [IntakeResult]

    /// Everything stored about one agreement.
    func agreement(digest: ContentDigest) async throws -> StoredAgreement?

    /// Every version of an agreement's chain, oldest first: the original (by its digest) and the
    /// changes and cancellation accepted for it. Empty when the digest names no original.
    func versions(of original: ContentDigest) async throws -> [AgreementSummary]

    /// The latest version of an agreement's chain (the original itself when it never changed), or
    /// nil when the digest names no original: one indexed read, whatever the chain's length.
    func latestVersion(of original: ContentDigest) async throws -> AgreementSummary?

    /// Agreements, newest first, filtered and paged by a cursor.
    func agreements(_ query: AgreementQuery) async throws -> [AgreementSummary]

    /// Claims due outbox entries for a worker: pending ones whose time has come, and in-flight
    /// ones whose lease expired (their outcome is unknown, so they come back needing a lookup).
    /// Entries claimed by another instance are skipped, never waited for.
    func claim(_ request: ClaimRequest) async throws -> [OutboxEntry]

    /// Records one attempt and moves its entry on, if the worker still holds the claim.
    /// Returns false when the claim was lost (the lease expired and another worker took it).
    func finish(_ attempt: AttemptRecord) async throws -> Bool

    /// Records several attempts in one transaction, each as ``finish(_:)`` would, in the order
    /// given; a thrown error means none is recorded.
    func finishBatch(_ attempts: [AttemptRecord]) async throws -> [Bool]

    /// Records attempts as ``finishBatch(_:)`` does and, in the same transaction, appends the
    /// receipts of the recorded attempts that delivered, as ``appendReceipts(_:)`` would: a
    /// delivery's attempt and its receipt commit together. `issue` is called at most once, under
    /// the ledger's lock, with the ledger's head and the positions in `attempts` of those
    /// attempts, in order; it returns their receipts in ledger order. A thrown error (`issue`'s
    /// too) means nothing is recorded.
    func finishBatch(_ attempts: [AttemptRecord], issuing issue: ReceiptIssuing) async throws -> FinishedBatch

    /// Gives claimed entries back without an attempt (graceful shutdown).
    func release(worker: String, entries: [Int64]) async throws

    /// Puts an agreement's dead-lettered entries back in the queue (an operator's retry).
    /// Returns how many entries were re-queued.
    func retry(digest: ContentDigest, now: Int64) async throws -> Int

    /// Delivered entries that have no receipt yet, oldest first.
    func entriesAwaitingReceipts(limit: Int) async throws -> [OutboxEntry]

    /// The last ledger entry's sequence number and leaf, or nil for an empty ledger.
    func ledgerHead() async throws -> LedgerHead?

    /// Appends signed receipts to the ledger in one transaction. Fails (and writes nothing) if
    /// a sequence number or a `prev` is already taken: the ledger never forks.
    ///
    /// The same transaction stores each receipt's Merkle leaf (``LedgerAppend/treeLeaf``) and
    /// every complete subtree node the leaf closes, so proofs are O(log n) indexed reads.
    func appendReceipts(_ receipts: [LedgerAppend]) async throws

    /// The number of leaves in the ledger's Merkle tree (= ledger entries, when intact).
    func treeSize() async throws -> Int

    /// Records a signed checkpoint. Refuses (throws, writes nothing) a size smaller than the
    /// last checkpoint's, a different root at the same size, a size beyond the tree, or a root
    /// that is not the stored tree's root at that size. The same checkpoint again is a no-op.
    func appendCheckpoint(_ checkpoint: StoredCheckpoint) async throws

    /// The checkpoint with the largest size, or nil before the first.
    func latestCheckpoint() async throws -> StoredCheckpoint?

    /// The smallest recorded checkpoint covering at least `size` leaves, or nil if none does.
    func checkpoint(atLeast size: Int) async throws -> StoredCheckpoint?

    /// The signed receipts of one agreement, in ledger order.
    func receipts(digest: ContentDigest) async throws -> [JSONObject]

    /// One signed receipt by its id.
    func receipt(id: String) async throws -> JSONObject?

    /// Ledger entries (signed receipts) from a sequence number on, in order.
    func ledger(from sequence: Int, limit: Int) async throws -> [JSONObject]

    /// The next ledger sequence number a named reader (a partner's receipt push) has not yet
    /// handled; 0 for a reader never seen.
    func cursor(_ name: String) async throws -> Int

    /// Moves a named reader's cursor (only forward; a smaller value is ignored).
    func setCursor(_ name: String, to sequence: Int) async throws

    /// How many agreements have each status (statuses with none are absent), counting each chain of
    /// changes once, at its current version.
    func statusCounts() async throws -> [AgreementStatus: Int]

    /// The stored key event log of a KERI AID, or nil when none was accepted.
    func keyEventLog(aid: String) async throws -> StoredKEL?

    /// Every stored key event log (loaded into the gateway's cache at start).
    func keyEventLogs() async throws -> [StoredKEL]

    /// Offers a validated KEL: stored when it is the AID's first, replaces the stored one only
    /// when it extends it (the stored SAIDs are a prefix of the offered ones); a regression is
    /// refused, a fork refused and recorded as duplicity — in one transaction.
    func offerKeyEventLog(_ kel: StoredKEL) async throws -> KELUpdateOutcome

    /// Recorded duplicities, newest first.
    func kelDuplicities(limit: Int) async throws -> [KELDuplicity]

    /// How many duplicities were recorded.
    func kelDuplicityCount() async throws -> Int

    /// Attempts finished at or after `since`, counted per time bucket of `bucketMilliseconds`,
    /// partner and target, oldest bucket first.
    func activity(since: Int64, bucketMilliseconds: Int64) async throws -> [ActivityBucket]
}
