public import CausewayCore
public import CausewayStore
public import CausewayTrust
import Foundation

/// The ledger's one sequencer: signs a receipt for every delivered entry that has none and
/// appends the receipts to the ledger in order, chained by hash, each the next leaf of the
/// Merkle tree (its leaf hash is over the signed receipt, proof included; the store adds the
/// tree nodes in the same transaction). Receipts are issued only after
/// the legacy commit, and never for a failure.
public final class ReceiptIssuer: Sendable {
    let store: any AgreementStore
    let identity: SigningIdentity
    /// The ledger's origin, unique per deployment (e.g. `erp.acme.example/causeway`).
    let origin: String
    let now: @Sendable () -> Int64
    /// The gateway's KERI AID, when it is one: receipts are issued by its DID and name the event.
    let keri: ReceiptSigner.KERISigner?
    /// Hears each batch once it is stored (tracing's receipt spans).
    public let observer = ReceiptObserver()
    /// Hears how many receipts each stored batch held (the metrics' counter).
    let counted: @Sendable (Int) -> Void

    public init(store: any AgreementStore, identity: SigningIdentity, origin: String,
                now: @escaping @Sendable () -> Int64 = WallClock.milliseconds, keri: ReceiptSigner.KERISigner? = nil,
                counted: @escaping @Sendable (Int) -> Void = { _ in }) {
        self.counted = counted
        self.store = store
        self.identity = identity
        self.origin = origin
        self.now = now
        self.keri = keri
    }

    static func timestamp(_ milliseconds: Int64) -> String {
        Timestamp(epochSeconds: milliseconds / 1000, nanoseconds: Int32(milliseconds % 1000) * 1_000_000, millisecondPrecision: true).text
    }

    /// Issues receipts for up to `limit` delivered entries that have none; returns how many. If
    /// another instance appended meanwhile, the batch is refused whole by the store and retried on
    /// the next call. Deliveries whose workers issue their receipts with their attempts
    /// (``DeliveryWorker``) leave none behind; this sweeps what one left when that failed, and
    /// what was delivered before (an upgrade, a store restored from a backup).
    @discardableResult
    public func issuePending(limit: Int = 256) async throws -> Int {
        let entries = try await store.entriesAwaitingReceipts(limit: limit)
        guard !entries.isEmpty else { return 0 }
        let head = try await store.ledgerHead()
        let issued = now()
        let subjects = try entries.map { entry in
            ReceiptSubject(entry: entry, provenance: try ProvenanceRecord(json: entry.provenance), reference: entry.legacyReference,
                           committedAt: entry.deliveredAt ?? issued)
        }
        let appends = try receipts(for: subjects, after: head, issued: issued)
        try await store.appendReceipts(appends)
        await stored(appends, startedAt: issued)
        return appends.count
    }

    /// Signs the receipts of `subjects`, in order, as the ledger's next entries after `head`
    /// (nil: the ledger is empty), each chained to the one before.
    public func receipts(for subjects: [ReceiptSubject], after head: LedgerHead?, issued: Int64) throws -> [LedgerAppend] {
        var sequence = head.map { $0.sequence + 1 } ?? 0
        var previous = head?.leaf ?? LedgerChain.genesis
        var appends: [LedgerAppend] = []
        appends.reserveCapacity(subjects.count)
        for subject in subjects {
            let entry = subject.entry
            let reference = subject.reference
            let receipt = DeliveryReceipt(
                id: entry.receiptID, issuer: keri?.did ?? identity.didKey.did, issued: Self.timestamp(issued), partner: entry.partner,
                provenance: subject.provenance, adapter: entry.adapter,
                reference: (reference?["system"]?.stringValue ?? entry.adapter, reference?["kind"]?.stringValue ?? entry.kind,
                            reference?["id"]?.stringValue ?? ""),
                committedAt: Self.timestamp(subject.committedAt),
                ledger: .init(origin: origin, sequence: sequence, previous: previous))
            let (body, leaf) = receipt.signable
            let (signed, canonical) = try ReceiptSigner.signCanonical(body: body, issuer: receipt.issuer, with: identity, keri: keri,
                                                                      created: Timestamp(epochSeconds: issued / 1000).text)
            appends.append(LedgerAppend(entryID: entry.id, receiptID: entry.receiptID, digest: entry.digest, sequence: sequence,
                                        previous: previous, leaf: leaf, receipt: signed, canonical: canonical))
            previous = leaf
            sequence += 1
        }
        return appends
    }

    /// Tells the counter and the observer about receipts just stored (by this issuer or with
    /// their attempts).
    func stored(_ appends: [LedgerAppend], startedAt: Int64) async {
        guard !appends.isEmpty else { return }
        counted(appends.count)
        await observer.heard(appends, startedAt: startedAt)
    }
}

/// What a receipt says of one delivered entry: the entry, its provenance (decoded), the legacy
/// reference its delivery returned, and when the legacy system committed it.
public struct ReceiptSubject: Sendable {
    public let entry: OutboxEntry
    public let provenance: ProvenanceRecord
    public let reference: JSONValue?
    public let committedAt: Int64

    public init(entry: OutboxEntry, provenance: ProvenanceRecord, reference: JSONValue?, committedAt: Int64) {
        self.entry = entry
        self.provenance = provenance
        self.reference = reference
        self.committedAt = committedAt
    }
}
