import CausewayCore
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

    public init(store: any AgreementStore, identity: SigningIdentity, origin: String,
                now: @escaping @Sendable () -> Int64 = WallClock.milliseconds, keri: ReceiptSigner.KERISigner? = nil) {
        self.store = store
        self.identity = identity
        self.origin = origin
        self.now = now
        self.keri = keri
    }

    static func timestamp(_ milliseconds: Int64) -> String {
        Timestamp(epochSeconds: milliseconds / 1000, nanoseconds: Int32(milliseconds % 1000) * 1_000_000, millisecondPrecision: true).text
    }

    /// Issues receipts for up to `limit` delivered entries; returns how many. If another instance
    /// appended meanwhile, the batch is refused whole by the store and retried on the next call.
    @discardableResult
    public func issuePending(limit: Int = 256) async throws -> Int {
        let entries = try await store.entriesAwaitingReceipts(limit: limit)
        guard !entries.isEmpty else { return 0 }
        let head = try await store.ledgerHead()
        var sequence = head.map { $0.sequence + 1 } ?? 0
        var previous = head?.leaf ?? LedgerChain.genesis
        let issued = now()
        var appends: [LedgerAppend] = []
        for entry in entries {
            let provenance = try ProvenanceRecord(json: entry.provenance)
            let reference = entry.legacyReference
            let receipt = DeliveryReceipt(
                id: entry.receiptID, issuer: keri?.did ?? identity.didKey.did, issued: Self.timestamp(issued), partner: entry.partner,
                provenance: provenance, adapter: entry.adapter,
                reference: (reference?["system"]?.stringValue ?? entry.adapter, reference?["kind"]?.stringValue ?? entry.kind,
                            reference?["id"]?.stringValue ?? ""),
                committedAt: Self.timestamp(entry.deliveredAt ?? issued),
                ledger: .init(origin: origin, sequence: sequence, previous: previous))
            let (body, leaf) = receipt.signable
            let signed = try ReceiptSigner.sign(body: body, issuer: receipt.issuer, with: identity, keri: keri,
                                                created: Timestamp(epochSeconds: issued / 1000).text)
            appends.append(LedgerAppend(entryID: entry.id, receiptID: entry.receiptID, digest: entry.digest, sequence: sequence,
                                        previous: previous, leaf: leaf, receipt: signed,
                                        treeLeaf: ReceiptBundle.leafHash(of: signed)))
            previous = leaf
            sequence += 1
        }
        try await store.appendReceipts(appends)
        await observer.heard(appends, startedAt: issued)
        return appends.count
    }
}
