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
        // The store: every agreement (every version of every chain) and its outbox entries.
        var entries: [OutboxEntry] = []
        var places: [ContentDigest: ChainPlace] = [:]
        var agreements = 0
        var before: Int64?
        while true {
            let page = try await store.agreements(AgreementQuery(before: before, limit: 200))
            for summary in page {
                agreements += 1
                places[summary.digest] = ChainPlace(chain: summary.chain ?? summary.digest, version: summary.version)
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
        var stale: [OutboxEntry] = []
        var chainKeys: [Int64: String] = [:]
        var inProgress = 0
        let keyOf = { (entry: OutboxEntry) in "\(entry.digest)/\(entry.actionIndex)" }
        let place = { (entry: OutboxEntry) in places[entry.digest] ?? ChainPlace(chain: entry.digest, version: 1) }
        // One action of one chain: `original digest/action index`, the same for every version.
        let chainKeyOf = { (entry: OutboxEntry) in "\(place(entry).chain)/\(entry.actionIndex)" }
        let entriesByKey = Dictionary(entries.map { (keyOf($0), $0) }, uniquingKeysWith: { first, _ in first })
        let chains = Dictionary(grouping: entries, by: chainKeyOf)
        for entry in entries { chainKeys[entry.id] = chainKeyOf(entry) }

        // The legacy systems, target by target.
        let byTarget = Dictionary(grouping: entries, by: \.target)
        for target in Set(byTarget.keys).union(adapters.keys).sorted() {
            let targetEntries = byTarget[target] ?? []
            inProgress += targetEntries.filter { $0.state == .pending || $0.state == .inFlight }.count
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
                let document = ExpectedDocument(agreementDigest: entry.digest, action: action, chain: place(entry).chain, version: place(entry).version)
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
            var byChain: [String: [LegacyDocument]] = [:]
            for document in documents {
                let entry = document.idempotencyKey.flatMap { entriesByKey[$0] }
                var chainKey = entry.map(chainKeyOf)
                if let chain = document.chain, let key = document.idempotencyKey, let index = key.split(separator: "/").last {
                    chainKey = "\(chain)/\(index)"
                }
                guard let chainKey, let versions = chains[chainKey] else {
                    findings.append(ReconcileFinding(
                        .orphan, digest: document.agreementDigest, target: target,
                        detail: "\(document.reference) is tied to no agreement in the store",
                        evidence: ["reference": document.reference.json, "idempotency_key": document.idempotencyKey.map(JSONValue.string) ?? .null,
                                   "fields": document.fields]))
                    continue
                }
                // Another target's document in a table both write to: that target reports it.
                if (entry ?? versions.first)?.target != target { continue }
                byChain[chainKey, default: []].append(document)
            }
            let targetChains = Dictionary(grouping: targetEntries, by: chainKeyOf)
            for (chainKey, group) in targetChains.sorted(by: { ($0.value.map(\.id).min() ?? 0) < ($1.value.map(\.id).min() ?? 0) }) {
                let versions = group.sorted { (place($0).version, $0.id) < (place($1).version, $1.id) }
                let found = byChain[chainKey] ?? []
                let settled = versions.filter { $0.state == .delivered || $0.state == .deadLetter }
                let latestDelivered = versions.last { $0.state == .delivered }
                let chain = place(versions[0]).chain.description
                func evidence(_ entry: OutboxEntry, _ more: JSONObject = [:]) -> JSONValue {
                    var object: JSONObject = ["idempotency_key": .string(keyOf(entry)), "chain": .string(chain),
                                              "version": .number(Double(place(entry).version))]
                    for (name, value) in more { object[name] = value }
                    return .object(object)
                }
                if found.count > 1 {
                    let entry = latestDelivered ?? settled.last ?? versions[versions.count - 1]
                    findings.append(ReconcileFinding(
                        .duplicate, digest: entry.digest.description, target: target,
                        detail: "\(found.count) legacy documents for \(keyOf(entry)): \(found.map(\.reference.description).joined(separator: ", "))",
                        evidence: evidence(entry, ["references": .array(found.map(\.reference.json))])))
                    continue
                }
                guard let document = found.first else {
                    // Nothing in the legacy system: reported once, for the chain's latest settled
                    // version; a repair re-drives the chain's settled versions, oldest first.
                    guard let entry = settled.last else { continue }  // in progress, or voided by a cancellation
                    missing += settled
                    let key = keyOf(entry)
                    let why = entry.state == .delivered ? "delivered per the store" : "dead-lettered (should have been delivered)"
                    let version = place(entry).version
                    findings.append(ReconcileFinding(
                        .missing, digest: entry.digest.description, target: target,
                        detail: "\(key)\(version > 1 ? " (version \(version))" : "") is \(why) but not in the legacy system",
                        evidence: evidence(entry, ["state": .string(entry.state.rawValue), "recorded_reference": entry.legacyReference ?? .null,
                                                   "last_error": entry.lastError.map(JSONValue.string) ?? .null])))
                    continue
                }
                if settled.isEmpty {
                    if versions.allSatisfy({ $0.state == .void }) {
                        findings.append(ReconcileFinding(
                            .orphan, digest: document.agreementDigest, target: target,
                            detail: "\(document.reference) belongs to chain \(chain), whose actions a cancellation voided before any was tried",
                            evidence: ["reference": document.reference.json, "idempotency_key": document.idempotencyKey.map(JSONValue.string) ?? .null,
                                       "chain": .string(chain), "fields": document.fields]))
                    }
                    continue  // otherwise in progress
                }
                if !document.inconsistencies.isEmpty {
                    let entry = latestDelivered ?? settled[settled.count - 1]
                    findings.append(ReconcileFinding(
                        .divergent, digest: entry.digest.description, target: target,
                        detail: "\(document.reference) contradicts itself about the version it holds: "
                            + document.inconsistencies.map(\.description).joined(separator: "; "),
                        evidence: evidence(entry, ["reference": document.reference.json, "differences": .array(document.inconsistencies.map(\.json))])))
                    continue
                }
                // The version the document holds; one that does not say is taken to hold the latest delivered.
                let compared: OutboxEntry?
                if let held = document.version {
                    compared = versions.last { place($0).version == held }
                } else {
                    compared = latestDelivered ?? settled.last
                }
                let held = document.version ?? compared.map { place($0).version } ?? 1
                if let latest = latestDelivered, held < place(latest).version {
                    let heldEntry = versions.last { place($0).version == held }
                    stale += versions.filter { $0.state == .delivered && place($0).version > held }
                    findings.append(ReconcileFinding(
                        .stale, digest: latest.digest.description, target: target,
                        detail: "\(document.reference) still holds version \(held) of \(chain); version \(place(latest).version) "
                            + "(\(latest.digest)) is delivered",
                        evidence: evidence(latest, [
                            "reference": document.reference.json, "held_version": .number(Double(held)),
                            "expected_version": .number(Double(place(latest).version)),
                            "held_digest": (heldEntry?.digest.description ?? document.agreementDigest).map(JSONValue.string) ?? .null,
                            "expected_digest": .string(latest.digest.description),
                            "held_idempotency_key": document.idempotencyKey.map(JSONValue.string) ?? .null])))
                } else if let entry = compared, entry.state != .void {
                    if entry.state == .pending || entry.state == .inFlight { continue }  // its outcome is not recorded yet
                    guard let action = actions[keyOf(entry)] else { continue }
                    let differences = inventory.differences(document, from: action)
                    let what = place(entry).version > 1 ? " (version \(place(entry).version))" : ""
                    if differences.isEmpty {
                        findings.append(ReconcileFinding(.matched, digest: entry.digest.description, target: target,
                                                         detail: "\(document.reference) matches the mapping\(what)",
                                                         evidence: evidence(entry, ["reference": document.reference.json])))
                    } else {
                        findings.append(ReconcileFinding(
                            .divergent, digest: entry.digest.description, target: target,
                            detail: "\(document.reference)\(what): " + differences.map(\.description).joined(separator: "; "),
                            evidence: evidence(entry, ["reference": document.reference.json, "differences": .array(differences.map(\.json))])))
                    }
                } else {
                    // The document names a version the store does not hold for this action (or one a cancellation voided).
                    let entry = latestDelivered ?? settled[settled.count - 1]
                    let difference = FieldDifference(field: "version", expected: "\(place(entry).version)", actual: "\(held)")
                    findings.append(ReconcileFinding(
                        .divergent, digest: entry.digest.description, target: target,
                        detail: "\(document.reference) holds version \(held) of \(chain), which the store does not hold as delivered: \(difference)",
                        evidence: evidence(entry, ["reference": document.reference.json, "differences": [difference.json]])))
                }
                // A later version that was dead-lettered should have been applied too.
                for entry in versions where entry.state == .deadLetter && place(entry).version > held {
                    missing.append(entry)
                    findings.append(ReconcileFinding(
                        .missing, digest: entry.digest.description, target: target,
                        detail: "\(keyOf(entry)) (version \(place(entry).version)) is dead-lettered (should have been delivered) "
                            + "but \(document.reference) holds version \(held)",
                        evidence: evidence(entry, ["state": .string(entry.state.rawValue), "held_version": .number(Double(held)),
                                                   "reference": document.reference.json,
                                                   "last_error": entry.lastError.map(JSONValue.string) ?? .null])))
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
                               ledgerReceipts: ledger.count, partyReceipts: partyReceipts?.count, missingEntries: missing, staleEntries: stale,
                               chainKeys: chainKeys)
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

    /// Re-drives the `stale` chains and the `missing` deliveries, and changes nothing else.
    ///
    /// - A dead-lettered entry goes back in the queue through the store's retry path (the worker
    ///   looks its key up first).
    /// - A delivered entry whose document is gone, or a delivered version the legacy document does
    ///   not hold yet (`stale`), is looked up in the target and, only when not found, delivered
    ///   again through its adapter with the same action, key and provenance. A chain's versions go
    ///   oldest first (a change applies only over the version it supersedes); once one fails, the
    ///   chain's later versions are not tried.
    public func repair(_ report: ReconcileReport, now: Int64) async throws -> [RepairRecord] {
        var records: [RepairRecord] = []
        var requeued = Set<ContentDigest>()
        var failedChains = Set<String>()
        // Stale chains first: a re-queued dead letter of a later version waits for these.
        let work = report.staleEntries.map { (ReconcileFinding.Class.stale, $0) } + report.missingEntries.map { (ReconcileFinding.Class.missing, $0) }
        for (finding, entry) in work {
            let key = "\(entry.digest)/\(entry.actionIndex)"
            let chainKey = report.chainKeys[entry.id] ?? key
            func record(_ action: RepairRecord.Action, _ detail: String) {
                records.append(RepairRecord(digest: entry.digest.description, target: entry.target, idempotencyKey: key, action: action, detail: detail,
                                            finding: finding))
                if action == .failed { failedChains.insert(chainKey) }
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
            if failedChains.contains(chainKey) {
                record(.failed, "not tried: an earlier version of the chain could not be re-applied")
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
                    let what = finding == .stale ? "re-applied" : "delivered again"
                    record(.redelivered, "\(what) as \(outcome.reference.map(\.description) ?? "?")")
                } else {
                    record(.failed, "the delivery ended \(outcome)")
                }
            }
        }
        return records
    }
}

/// Where an agreement sits in its chain of versions.
struct ChainPlace: Sendable, Hashable {
    /// The original's digest.
    let chain: ContentDigest
    /// 1 for the original.
    let version: Int
}
