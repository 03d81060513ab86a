public import CausewayCore
public import CausewayStore

/// One result of a reconciliation: what was compared, what was found, and the evidence.
public struct ReconcileFinding: Sendable, Hashable {
    /// What kind of result it is.
    public enum Class: String, Sendable, Hashable, CaseIterable {
        /// The legacy document is there and every field is what the pinned mapping produced.
        case matched
        /// Delivered per the store (or dead-lettered, so it should have been), but not in the legacy system.
        case missing
        /// In the legacy system, tied to no agreement the store holds.
        case orphan
        /// There, but fields differ from what the pinned mapping produced.
        case divergent
        /// Delivered per the store, but the ledger holds no receipt for it.
        case deliveredWithoutReceipt = "delivered_without_receipt"
        /// A receipt (in the ledger or held by a party) for an action the store does not hold as delivered.
        case receiptWithoutDelivery = "receipt_without_delivery"
        /// A receipt whose signature does not verify under the gateway's did:key.
        case invalidReceiptSignature = "invalid_receipt_signature"
        /// More than one legacy document for one agreement action.
        case duplicate
        /// The legacy document still holds an older version of its agreement than the latest
        /// delivered change or cancellation of the chain.
        case stale
    }

    public let findingClass: Class
    /// The agreement digest, where there is one.
    public let digest: String?
    /// The configured target, where there is one.
    public let target: String?
    /// One line for people.
    public let detail: String
    /// What was seen: references, fields, receipt ids, verification findings.
    public let evidence: JSONValue

    public init(_ findingClass: Class, digest: String?, target: String?, detail: String, evidence: JSONValue) {
        self.findingClass = findingClass
        self.digest = digest
        self.target = target
        self.detail = detail
        self.evidence = evidence
    }

    /// `{class, digest, target, detail, evidence}`.
    public var json: JSONValue {
        ["class": .string(findingClass.rawValue), "digest": digest.map(JSONValue.string) ?? .null, "target": target.map(JSONValue.string) ?? .null,
         "detail": .string(detail), "evidence": evidence]
    }
}

/// Whether and how one target could be compared.
public struct TargetReconciliation: Sendable, Hashable {
    public enum State: String, Sendable, Hashable {
        /// Its legacy documents were listed and compared.
        case reconciled
        /// Its adapter cannot list what it wrote (it does not adopt `LegacyInventory`), or it is not configured.
        case notReconcilable = "not_reconcilable"
        /// Its adapter can, but the legacy system could not be read now.
        case unavailable
    }

    public let target: String
    public let state: State
    public let reason: String?
    /// Legacy documents listed.
    public let documents: Int
}

/// Everything a reconciliation found.
public struct ReconcileReport: Sendable {
    public let findings: [ReconcileFinding]
    public let targets: [TargetReconciliation]
    /// Agreements and outbox entries in the store.
    public let agreements: Int
    public let entries: Int
    /// Entries not yet settled (pending or in flight): not compared.
    public let inProgress: Int
    /// Receipts checked: the ledger's, and the parties' (nil when none were given).
    public let ledgerReceipts: Int
    public let partyReceipts: Int?
    /// The entries behind `missing` findings, for `--repair` (a chain's versions oldest first).
    public let missingEntries: [OutboxEntry]
    /// The delivered versions behind `stale` findings that the legacy documents do not hold yet,
    /// each chain's oldest first, for `--repair`.
    public let staleEntries: [OutboxEntry]
    /// Outbox entry id → `original digest/action index`: which chain each entry belongs to.
    let chainKeys: [Int64: String]

    /// Nothing is off: every finding is `matched` and no reconcilable target was unreadable.
    public var isClean: Bool {
        findings.allSatisfy { $0.findingClass == .matched } && !targets.contains { $0.state == .unavailable }
    }

    /// How many findings of each class (every class listed, zeros included).
    public var counts: [(ReconcileFinding.Class, Int)] {
        ReconcileFinding.Class.allCases.map { findingClass in (findingClass, findings.filter { $0.findingClass == findingClass }.count) }
    }

    public var summary: JSONValue {
        var counts = JSONObject()
        for (findingClass, count) in self.counts { counts[findingClass.rawValue] = .number(Double(count)) }
        var targets = JSONObject()
        for target in self.targets {
            var object: JSONObject = ["state": .string(target.state.rawValue), "documents": .number(Double(target.documents))]
            if let reason = target.reason { object["reason"] = .string(reason) }
            targets[target.target] = .object(object)
        }
        return ["clean": .bool(isClean), "agreements": .number(Double(agreements)), "entries": .number(Double(entries)),
                "in_progress": .number(Double(inProgress)), "ledger_receipts": .number(Double(ledgerReceipts)),
                "party_receipts": partyReceipts.map { .number(Double($0)) } ?? .null, "counts": .object(counts), "targets": .object(targets),
                "not_reconcilable": .array(self.targets.filter { $0.state == .notReconcilable }.map { .string($0.target) })]
    }

    public var json: JSONValue { ["findings": .array(findings.map(\.json)), "summary": summary] }
}

/// What `--repair` did for one missing entry or one version of a stale chain.
public struct RepairRecord: Sendable, Hashable {
    public enum Action: String, Sendable, Hashable {
        /// A dead-lettered entry put back in the queue (the store's retry path; the worker looks the key up first).
        case requeued
        /// A delivered entry whose document was gone, or a delivered version the document did not
        /// hold (stale): looked up (not found), then delivered again.
        case redelivered
        /// The lookup found the document after all: nothing was written.
        case foundOnLookup = "found_on_lookup"
        /// The lookup or the delivery did not succeed; nothing changed.
        case failed
    }

    public let digest: String
    public let target: String
    public let idempotencyKey: String
    public let action: Action
    public let detail: String
    /// The finding repaired: `missing` or `stale`.
    public let finding: ReconcileFinding.Class

    public var json: JSONValue {
        ["digest": .string(digest), "target": .string(target), "idempotency_key": .string(idempotencyKey), "action": .string(action.rawValue),
         "detail": .string(detail), "finding": .string(finding.rawValue)]
    }
}
