public import AdapterKit
public import CausewayCore
public import CausewayStore
import CausewayTrust
import Foundation

/// A receipt as a party holds it: where it came from, and its JSON (or why it could not be read).
public struct PartyReceipt: Sendable {
    /// `file.json` or `file.jsonl:3`.
    public let source: String
    public let receipt: JSONObject?
    public let problem: String?

    public init(source: String, receipt: JSONObject?, problem: String? = nil) {
        self.source = source
        self.receipt = receipt
        self.problem = problem
    }

    /// Reads a folder of `*.json` receipts or a JSON-lines file, one receipt per line.
    public static func load(path: String) throws(ReconcileInputError) -> [PartyReceipt] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ReconcileInputError("--receipts \(path): no such file or folder")
        }
        func parse(_ bytes: [UInt8], _ source: String) -> PartyReceipt {
            guard let value = try? JSONReader().read(bytes), let object = value.objectValue else {
                return PartyReceipt(source: source, receipt: nil, problem: "not a JSON object")
            }
            return PartyReceipt(source: source, receipt: object)
        }
        if isDirectory.boolValue {
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: path) else {
                throw ReconcileInputError("--receipts \(path): cannot list the folder")
            }
            return names.filter { $0.hasSuffix(".json") }.sorted().map { name in
                let file = (path as NSString).appendingPathComponent(name)
                return parse(FileManager.default.contents(atPath: file).map { Array($0) } ?? [], name)
            }
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw ReconcileInputError("--receipts \(path): cannot read the file") }
        return Array(data).split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated().compactMap { number, line in
            line.allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0x09 }) ? nil : parse(Array(line), "\((path as NSString).lastPathComponent):\(number + 1)")
        }
    }
}

/// Unusable input to a reconciliation (a receipts path, a target's settings): exit 2 in the CLI.
public struct ReconcileInputError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Compares the three sources — agreements in the store, the legacy systems' state, and receipts
/// (the ledger's, and optionally the parties') — and reports every finding. Read-only, except
/// ``repair(_:now:)``.
public struct Reconciler: Sendable {
    let store: any AgreementStore
    let adapters: [String: any Adapter]
    /// The gateway's DID: every receipt must be signed by it.
    let gateway: String
    let partyReceipts: [PartyReceipt]?

    public init(store: any AgreementStore, adapters: [String: any Adapter], gateway: String, partyReceipts: [PartyReceipt]? = nil) {
        self.store = store
        self.adapters = adapters
        self.gateway = gateway
        self.partyReceipts = partyReceipts
    }

    public func run() async throws -> ReconcileReport {
        // The store: every agreement and its outbox entries.
        var entries: [OutboxEntry] = []
        var agreements = 0
        var before: Int64?
        while true {
            let page = try await store.agreements(AgreementQuery(before: before, limit: 200))
            for summary in page {
                agreements += 1
                entries += try await store.agreement(digest: summary.digest)?.entries ?? []
            }
            guard let last = page.last, page.count == 200 else { break }
            before = last.sequence
        }
        // The ledger.
        var ledger: [JSONObject] = []
        while true {
            let page = try await store.ledger(from: ledger.count, limit: 1000)
            ledger += page
            if page.count < 1000 { break }
        }

        var findings: [ReconcileFinding] = []
        var targets: [TargetReconciliation] = []
        var missing: [OutboxEntry] = []
        var inProgress = 0
        let keyOf = { (entry: OutboxEntry) in "\(entry.digest)/\(entry.actionIndex)" }
        let entriesByKey = Dictionary(entries.map { (keyOf($0), $0) }, uniquingKeysWith: { first, _ in first })

        // The legacy systems, target by target.
        let byTarget = Dictionary(grouping: entries, by: \.target)
        for target in Set(byTarget.keys).union(adapters.keys).sorted() {
            let targetEntries = byTarget[target] ?? []
            let settled = targetEntries.filter { $0.state == .delivered || $0.state == .deadLetter }
            inProgress += targetEntries.count - settled.count
            guard let adapter = adapters[target] else {
                targets.append(.init(target: target, state: .notReconcilable, reason: "no target named '\(target)' is configured", documents: 0))
                continue
            }
            guard let inventory = adapter as? any LegacyInventory else {
                targets.append(.init(target: target, state: .notReconcilable,
                                     reason: "the \(adapter.descriptor.kind) adapter cannot list what it wrote", documents: 0))
                continue
            }
            var expected: [ExpectedDocument] = []
            var actions: [String: LegacyAction] = [:]
            for entry in targetEntries {
                guard let action = try? LegacyAction(json: entry.action) else { continue }
                let document = ExpectedDocument(agreementDigest: entry.digest, action: action)
                expected.append(document)
                actions[document.idempotencyKey] = action
            }
            let documents: [LegacyDocument]
            do {
                documents = try await inventory.inventory(expected: expected)
            } catch {
                targets.append(.init(target: target, state: .unavailable, reason: error.message, documents: 0))
                continue
            }
            targets.append(.init(target: target, state: .reconciled, reason: nil, documents: documents.count))
            var byKey: [String: [LegacyDocument]] = [:]
            for document in documents {
                // Another target's document in a table both write to: that target reports it.
                if let key = document.idempotencyKey, let entry = entriesByKey[key], entry.target != target { continue }
                guard let key = document.idempotencyKey, entriesByKey[key] != nil else {
                    findings.append(ReconcileFinding(
                        .orphan, digest: document.agreementDigest, target: target,
                        detail: "\(document.reference) is tied to no agreement in the store",
                        evidence: ["reference": document.reference.json, "idempotency_key": document.idempotencyKey.map(JSONValue.string) ?? .null,
                                   "fields": document.fields]))
                    continue
                }
                byKey[key, default: []].append(document)
            }
            for entry in targetEntries.sorted(by: { $0.id < $1.id }) {
                let key = keyOf(entry)
                let found = byKey[key] ?? []
                let digest = entry.digest.description
                if found.count > 1 {
                    findings.append(ReconcileFinding(
                        .duplicate, digest: digest, target: target,
                        detail: "\(found.count) legacy documents for \(key): \(found.map(\.reference.description).joined(separator: ", "))",
                        evidence: ["idempotency_key": .string(key), "references": .array(found.map(\.reference.json))]))
                    continue
                }
                guard entry.state == .delivered || entry.state == .deadLetter else { continue }
                guard let document = found.first else {
                    missing.append(entry)
                    let why = entry.state == .delivered ? "delivered per the store" : "dead-lettered (should have been delivered)"
                    findings.append(ReconcileFinding(
                        .missing, digest: digest, target: target, detail: "\(key) is \(why) but not in the legacy system",
                        evidence: ["idempotency_key": .string(key), "state": .string(entry.state.rawValue),
                                   "recorded_reference": entry.legacyReference ?? .null, "last_error": entry.lastError.map(JSONValue.string) ?? .null]))
                    continue
                }
                guard let action = actions[key] else { continue }
                let differences = inventory.differences(document, from: action)
                if differences.isEmpty {
                    findings.append(ReconcileFinding(.matched, digest: digest, target: target, detail: "\(document.reference) matches the mapping",
                                                     evidence: ["idempotency_key": .string(key), "reference": document.reference.json]))
                } else {
                    findings.append(ReconcileFinding(
                        .divergent, digest: digest, target: target,
                        detail: "\(document.reference): " + differences.map(\.description).joined(separator: "; "),
                        evidence: ["idempotency_key": .string(key), "reference": document.reference.json,
                                   "differences": .array(differences.map(\.json))]))
                }
            }
        }

        // Receipts: the ledger's, then the parties'.
        var receipted = Set<String>()
        for (position, receipt) in ledger.enumerated() {
            let source = "ledger seq \(receipt["ledger"]?["seq"]?.exactInt.map(String.init) ?? "#\(position)")"
            if let key = receipt["action"]?["idempotencyKey"]?.stringValue { receipted.insert(key) }
            findings += check(receipt, source: source, entriesByKey: entriesByKey)
        }
        for entry in entries where entry.state == .delivered && !receipted.contains(keyOf(entry)) {
            findings.append(ReconcileFinding(
                .deliveredWithoutReceipt, digest: entry.digest.description, target: entry.target,
                detail: "\(keyOf(entry)) is delivered but the ledger holds no receipt for it",
                evidence: ["idempotency_key": .string(keyOf(entry)), "receipt_id": .string(entry.receiptID),
                           "recorded_reference": entry.legacyReference ?? .null]))
        }
        for party in partyReceipts ?? [] {
            guard let receipt = party.receipt else {
                findings.append(ReconcileFinding(.invalidReceiptSignature, digest: nil, target: nil,
                                                 detail: "\(party.source): \(party.problem ?? "unreadable"), so no signature can be checked",
                                                 evidence: ["source": .string(party.source)]))
                continue
            }
            findings += check(receipt, source: party.source, entriesByKey: entriesByKey)
        }

        return ReconcileReport(findings: findings, targets: targets, agreements: agreements, entries: entries.count, inProgress: inProgress,
                               ledgerReceipts: ledger.count, partyReceipts: partyReceipts?.count, missingEntries: missing)
    }

    /// A receipt's signature (by the gateway) and whether the store holds its action as delivered.
    func check(_ receipt: JSONObject, source: String, entriesByKey: [String: OutboxEntry]) -> [ReconcileFinding] {
        let key = receipt["action"]?["idempotencyKey"]?.stringValue
        let digest = receipt["agreement"]?["digest"]?.stringValue
        let target = receipt["action"]?["target"]?.stringValue
        let id = receipt["id"]?.stringValue
        let problems = ReceiptSigner.verify(receipt, expectedIssuer: gateway)
        if !problems.isEmpty {
            return [ReconcileFinding(
                .invalidReceiptSignature, digest: digest, target: target,
                detail: "\(source): receipt \(id ?? "without id"): " + problems.map(\.message).joined(separator: "; "),
                evidence: ["source": .string(source), "receipt_id": id.map(JSONValue.string) ?? .null,
                           "problems": .array(problems.map { .string("\($0.code): \($0.message)") })])]
        }
        if let key, let entry = entriesByKey[key], entry.state == .delivered { return [] }
        let state = key.flatMap { entriesByKey[$0] }.map { "the store holds it as \($0.state.rawValue)" } ?? "the store holds no such action"
        return [ReconcileFinding(
            .receiptWithoutDelivery, digest: digest, target: target, detail: "\(source): receipt \(id ?? "without id") for \(key ?? "no key"): \(state)",
            evidence: ["source": .string(source), "receipt_id": id.map(JSONValue.string) ?? .null, "idempotency_key": key.map(JSONValue.string) ?? .null,
                       "legacy_reference": receipt["legacyRef"] ?? .null])]
    }

    /// Re-drives the `missing` deliveries and changes nothing else. A dead-lettered entry goes back
    /// in the queue through the store's retry path (the worker looks its key up first); a delivered
    /// entry whose document is gone is looked up in the target and, only when not found, delivered
    /// again through its adapter with the same action, key and provenance.
    public func repair(_ report: ReconcileReport, now: Int64) async throws -> [RepairRecord] {
        var records: [RepairRecord] = []
        var requeued = Set<ContentDigest>()
        for entry in report.missingEntries {
            let key = "\(entry.digest)/\(entry.actionIndex)"
            func record(_ action: RepairRecord.Action, _ detail: String) {
                records.append(RepairRecord(digest: entry.digest.description, target: entry.target, idempotencyKey: key, action: action, detail: detail))
            }
            if entry.state == .deadLetter {
                if requeued.insert(entry.digest).inserted {
                    let count = try await store.retry(digest: entry.digest, now: now)
                    record(.requeued, "\(count) dead-lettered entr\(count == 1 ? "y" : "ies") re-queued; the worker looks the key up first")
                } else {
                    record(.requeued, "re-queued with its agreement's other dead-lettered entries")
                }
                continue
            }
            guard let adapter = adapters[entry.target] else { record(.failed, "no target named '\(entry.target)' is configured"); continue }
            let delivery: Delivery
            do {
                delivery = try await DeliveryWorker.delivery(of: entry, store: store)
            } catch let error as DeliveryWorker.StoredActionError {
                record(.failed, error.message)
                continue
            }
            switch await adapter.lookup(delivery) {
            case .found(let reference):
                record(.foundOnLookup, "the lookup found \(reference); nothing written")
            case .unavailable(let reason):
                record(.failed, "lookup unavailable: \(reason); nothing written")
            case .notFound:
                let outcome = await adapter.deliver(delivery)
                if outcome.outcomeClass == .delivered {
                    record(.redelivered, "delivered again as \(outcome.reference.map(\.description) ?? "?")")
                } else {
                    record(.failed, "the delivery ended \(outcome)")
                }
            }
        }
        return records
    }
}
