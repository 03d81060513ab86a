public import CausewayCore
import Foundation

/// Retention (migration v8): the bodies and attempts of finished agreements are copied to an
/// archive and removed from the store; the agreement's row (digest, ids, partner, status, total),
/// its outbox entries (actions, provenance, legacy references), the ledger, the Merkle tree and the
/// checkpoints stay, so every receipt still verifies and `causeway ledger verify` still passes.
///
/// *Finished* means nothing more will happen to it by itself: no entry `pending` or `in_flight`,
/// every delivered entry has its receipt, and no attempt finished at or after the cutoff. A
/// dead-lettered agreement is finished (its dead letters stay; an operator's retry still works,
/// delivering the stored action, but without the signed document as an attachment).
public protocol RetentionStore: AgreementStore {
    /// Finds up to `request.limit` finished agreements received (and last attempted) before
    /// `request.cutoff`, oldest first, that are not archived yet. Unless `request.dryRun`, calls
    /// `archive` with their archive records inside the transaction that removes them, and removes
    /// them only when `archive` returns (it writes and fsyncs them); if it throws, nothing is removed.
    func pruneBatch(_ request: PruneRequest, archive: @Sendable ([JSONObject]) throws -> Void) async throws -> PruneBatch

    /// When and to which file an agreement was archived, or nil when it was not.
    func archiveRecord(digest: ContentDigest) async throws -> ArchiveRecord?
}

/// One batch of a prune.
public struct PruneRequest: Sendable {
    /// Agreements received and last attempted before this time (ms since the epoch) are old.
    public var cutoff: Int64
    /// The time recorded as the archive time.
    public var now: Int64
    /// The archive file's name, recorded with each agreement it holds.
    public var archiveName: String
    /// At most this many agreements.
    public var limit: Int
    /// Count only: nothing is archived or removed.
    public var dryRun: Bool

    public init(cutoff: Int64, now: Int64, archiveName: String, limit: Int = 200, dryRun: Bool = false) {
        self.cutoff = cutoff
        self.now = now
        self.archiveName = archiveName
        self.limit = limit
        self.dryRun = dryRun
    }
}

/// What one batch archived (or, in a dry run, would archive).
public struct PruneBatch: Sendable {
    /// The agreements, oldest first.
    public var digests: [ContentDigest]
    /// Attempt rows removed (or that would be).
    public var attempts: Int
    /// How many old, finished agreements the batch's first selection found (at most the limit):
    /// more than it archived when another instance took some meanwhile. Fewer than the limit: no more.
    public var candidates: Int

    public init(digests: [ContentDigest], attempts: Int, candidates: Int? = nil) {
        self.digests = digests
        self.attempts = attempts
        self.candidates = candidates ?? digests.count
    }
}

/// Where a pruned agreement's body went.
public struct ArchiveRecord: Sendable, Hashable {
    /// When it was archived (ms since the epoch).
    public let archivedAt: Int64
    /// The archive file's name (in `retention.archive`).
    public let file: String
    /// How many attempts were archived with it.
    public let attempts: Int

    public init(archivedAt: Int64, file: String, attempts: Int) {
        self.archivedAt = archivedAt
        self.file = file
        self.attempts = attempts
    }
}

/// Builds the archive record of one agreement: one JSON object per line of an archive file
/// (format `causeway-archive/1`, Docs/store.md, Retention).
enum ArchiveLine {
    static let format = "causeway-archive/1"

    struct Agreement {
        var digest: String, agreementID: String, partner: String, type: String, status: String
        var document: [UInt8], verification: String, mappingID: String, mappingVersion: String, mappingDigest: String
        var total: String?, currency: String?, receivedAt: Int64
    }

    struct Entry {
        var id: Int64, actionIndex: Int, name: String, target: String, kind: String, adapter: String, action: String, provenance: String
        var receiptID: String, state: String, attempts: Int, lastError: String?, legacyRef: String?, deliveredAt: Int64?, receiptSeq: Int64?
    }

    struct Attempt {
        var entry: Int64, number: Int, worker: String, startedAt: Int64, finishedAt: Int64, outcome: String, detail: String?
    }

    static func object(_ a: Agreement, entries: [Entry], attempts: [Attempt], archivedAt: Int64) throws -> JSONObject {
        func number(_ n: Int64) -> JSONValue { .number(Double(n)) }
        func text(_ s: String?) -> JSONValue { s.map(JSONValue.string) ?? .null }
        return [
            "format": .string(format), "archivedAt": number(archivedAt), "digest": .string(a.digest), "agreementId": .string(a.agreementID),
            "partner": .string(a.partner), "type": .string(a.type), "status": .string(a.status), "receivedAt": number(a.receivedAt),
            "total": text(a.total), "currency": text(a.currency),
            "mapping": ["id": .string(a.mappingID), "version": .string(a.mappingVersion), "digest": .string(a.mappingDigest)],
            // The signed bytes exactly as received (base64), so the archive can be verified again.
            "document": .string(Data(a.document).base64EncodedString()),
            "verification": try StoreJSON.value(a.verification) ?? .null,
            "entries": .array(try entries.map { e in
                [
                    "id": number(e.id), "actionIndex": .number(Double(e.actionIndex)), "name": .string(e.name), "target": .string(e.target),
                    "kind": .string(e.kind), "adapter": .string(e.adapter), "state": .string(e.state), "attempts": .number(Double(e.attempts)),
                    "receiptId": .string(e.receiptID), "receiptSeq": e.receiptSeq.map(number) ?? .null, "lastError": text(e.lastError),
                    "legacyRef": try StoreJSON.value(e.legacyRef) ?? .null, "deliveredAt": e.deliveredAt.map(number) ?? .null,
                    "action": try StoreJSON.value(e.action) ?? .null, "provenance": try StoreJSON.value(e.provenance) ?? .null,
                ]
            }),
            "attempts": .array(attempts.map { t in
                [
                    "entry": number(t.entry), "number": .number(Double(t.number)), "worker": .string(t.worker), "startedAt": number(t.startedAt),
                    "finishedAt": number(t.finishedAt), "outcome": .string(t.outcome), "detail": text(t.detail),
                ]
            }),
        ]
    }
}
