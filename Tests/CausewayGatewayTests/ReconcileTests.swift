import AdapterKit
import AdapterKitTesting
import CausewayCore
import CausewayGateway
import CausewayStore
import CausewayTesting
import CausewayTrust
import Foundation
import Testing

/// A gateway's store and an SQLite staging database (the real `sqlite` adapter, the real
/// worker and receipt issuer), for reconciliation tests.
struct ReconcileRig {
    let clock = TestClock()
    let directory: URL
    let store: SQLiteStore
    let erp: String
    let adapters: [String: any Adapter]
    let worker: DeliveryWorker
    let issuer: ReceiptIssuer

    init() async throws {
        directory = try CommandRunner.temporaryDirectory("reconcile")
        store = try SQLiteStore(path: directory.appendingPathComponent("causeway.sqlite").path)
        try await store.migrate()
        erp = directory.appendingPathComponent("erp.sqlite").path
        let schema = try String(contentsOf: TestPaths.repository.appendingPathComponent("Deploy/examples/erp-staging.sqlite.sql"), encoding: .utf8)
        let created = try CommandRunner.run("/usr/bin/sqlite3", [erp], stdin: schema)
        guard created.status == 0 else { throw MissingTestInput(path: "sqlite3", hint: created.stderr) }
        let registration = try #require(AdapterRegistry.registration(kind: "sqlite"))
        let built = try registration.make("erp", AdapterSettings(["path": erp]), [:], .init(partners: directory))
        // `erp-twin` writes into the same database file as `erp` (two targets sharing one table).
        let twin = try registration.make("erp-twin", AdapterSettings(["path": erp]), [:], .init(partners: directory))
        adapters = ["erp": built.adapter, "erp-twin": twin.adapter, "portal": InMemoryAdapter()]
        worker = DeliveryWorker(configuration: .init(worker: "w1", retry: .init(maxAttempts: 2)), store: store, adapters: adapters,
                                now: clock.now, jitter: { 0 })
        issuer = ReceiptIssuer(store: store, identity: gatewayKey, origin: "test/causeway", now: clock.now)
    }

    /// Accepts an agreement whose one action writes a purchase order with two lines to `erp`
    /// (to `table` instead, to make it fail), and optionally one action to `portal`.
    @discardableResult
    func accept(_ n: Int, table: String = "erp_purchase_order", portal: Bool = false, target: String = "erp") async throws -> ContentDigest {
        let digest = ContentDigest(of: Array("reconcile agreement \(n)".utf8))
        let lines = (1...2).map { line in
            Row([("line_no", .text("\(line)", .integer)), ("item_code", .text("SKU-\(line)")), ("description", .text("part \(line)")),
                 ("quantity", .text("\(line * 5).000", .decimal(precision: 14, scale: 3))), ("uom", .text("PCE")),
                 ("unit_price", .text("12.5000", .decimal(precision: 14, scale: 4))),
                 ("line_amount", .text("\(line * 5 * 125 / 10).\(line * 5 * 125 % 10)0", .decimal(precision: 14, scale: 2)))])
        }
        var actions = [LegacyAction(index: 0, name: "purchase-order", target: target, payload: .rows(RowsAction(
            table: table, key: ["agreement_digest"], returning: ["po_id"],
            row: Row([("external_ref", .text("urn:test:\(n)")), ("agreement_digest", .text(digest.description)), ("supplier_code", .text("V-1001")),
                      ("order_date", .text("2026-11-2\(n % 10)", .date)), ("currency", .text("EUR")),
                      ("total_amount", .text("187.50", .decimal(precision: 14, scale: 2))), ("incoterm", .null(.text))]),
            children: [ChildRows(table: "erp_purchase_order_line", links: [("po_id", "po_id")], rows: lines)], provenanceColumn: "provenance")))]
        if portal {
            actions.append(LegacyAction(index: 1, name: "notify", target: "portal", payload: .http(HTTPRequestAction(
                method: "POST", path: "/orders", headers: [], body: ["n": .number(Double(n))], captureReference: nil))))
        }
        let incoming = IncomingAgreement(
            digest: digest, agreementID: "urn:test:\(n)", partner: "stahlteile", type: "PurchaseAgreement", document: Array("{}".utf8),
            verification: ["verified": true], mappingID: "m", mappingVersion: "1", mappingDigest: digest, total: "187.50", currency: "EUR",
            receivedAt: clock.now(), actions: actions.map { action in
                let receiptID = "urn:uuid:00000000-0000-4000-8000-\(String(format: "%06d%06d", n, action.index))"
                let provenance = ProvenanceRecord(
                    receiptID: receiptID, generated: "2026-11-22T10:00:00.000Z", action: action, adapter: action.target == "portal" ? "memory" : "sqlite",
                    agreementID: "urn:test:\(n)", agreementType: "PurchaseAgreement", agreementDigest: digest,
                    signers: [.init(role: "seller", did: "did:key:z6MkS", verificationMethod: "did:key:z6MkS#z6MkS", proofDigest: digest, delegation: nil)],
                    plan: .init(partner: "stahlteile", mapping: "m", version: "1", digest: digest, actionIndex: action.index),
                    gateway: gatewayKey.didKey.did, software: "causeway-test")
                return IncomingAgreement.Action(index: action.index, name: action.name, target: action.target, kind: action.kind.rawValue,
                                                adapter: action.target == "portal" ? "memory" : "sqlite", action: action.json,
                                                provenance: provenance.json, receiptID: receiptID)
            })
        #expect(try await store.accept(incoming) == .accepted)
        return digest
    }

    /// Delivers everything due and issues the receipts.
    func settle(receipts: Bool = true) async throws {
        while try await worker.runOnce() > 0 {}
        if receipts { _ = try await issuer.issuePending() }
    }

    func sql(_ database: String, _ statement: String) throws -> String {
        let result = try CommandRunner.run("/usr/bin/sqlite3", [database, statement])
        guard result.status == 0 else { throw MissingTestInput(path: "sqlite3", hint: result.stderr) }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func reconcile(parties: [PartyReceipt]? = nil) async throws -> ReconcileReport {
        try await Reconciler(store: store, adapters: adapters, gateway: gatewayKey.didKey.did, partyReceipts: parties).run()
    }

    var storeFile: String { directory.appendingPathComponent("causeway.sqlite").path }
}

extension ReconcileReport {
    func of(_ findingClass: ReconcileFinding.Class) -> [ReconcileFinding] { findings.filter { $0.findingClass == findingClass } }
}

@Suite("Reconcile engine (real SQLite store and staging database)")
struct ReconcileEngineTests {
    @Test("freshly delivered agreements all match; decimals compare by value, not by text; a target that cannot list is not reconcilable")
    func allMatched() async throws {
        let rig = try await ReconcileRig()
        var digests: [ContentDigest] = []
        for n in 0..<4 { digests.append(try await rig.accept(n, portal: n == 0)) }
        try await rig.settle()
        // Same values, other text: 5.000 → 5.0, 187.50 → 187.5.
        _ = try rig.sql(rig.erp, "UPDATE erp_purchase_order_line SET quantity = '5.0' WHERE line_no = 1; UPDATE erp_purchase_order SET total_amount = '187.5'")
        let report = try await rig.reconcile()
        #expect(report.isClean, "\(report.findings.map(\.detail))")
        #expect(report.of(.matched).count == 4)
        #expect(Set(report.of(.matched).compactMap(\.digest)) == Set(digests.map(\.description)))
        #expect(report.findings.count == 4)
        #expect(report.targets.first { $0.target == "portal" }?.state == .notReconcilable)
        #expect(report.targets.first { $0.target == "erp" }?.state == .reconciled)
        #expect(report.targets.first { $0.target == "erp" }?.documents == 4)
        #expect(report.targets.first { $0.target == "erp-twin" }?.state == .reconciled)
        #expect(report.summary["not_reconcilable"] == ["portal"])
        #expect(report.entries == 5)
    }

    @Test("an edited quantity is divergent naming the field; a deleted order is missing; a stray order is an orphan; a copy is a duplicate")
    func legacyTampering() async throws {
        let rig = try await ReconcileRig()
        var digests: [String] = []
        for n in 0..<5 { digests.append(try await rig.accept(n).description) }
        try await rig.settle()
        _ = try rig.sql(rig.erp, """
            UPDATE erp_purchase_order_line SET quantity = '7.000' WHERE line_no = 2 AND po_id = (SELECT po_id FROM erp_purchase_order WHERE agreement_digest = '\(digests[0])');
            DELETE FROM erp_purchase_order_line WHERE po_id = (SELECT po_id FROM erp_purchase_order WHERE agreement_digest = '\(digests[1])');
            DELETE FROM erp_purchase_order WHERE agreement_digest = '\(digests[1])';
            INSERT INTO erp_purchase_order (external_ref, agreement_digest, supplier_code, order_date, currency, total_amount, provenance)
              VALUES ('hand-made', 'PO-BY-HAND-1', 'V-1001', '2026-11-30', 'EUR', '10.00', '{}');
            INSERT INTO erp_purchase_order (external_ref, agreement_digest, supplier_code, order_date, currency, total_amount, provenance)
              SELECT external_ref, agreement_digest || '-copy', supplier_code, order_date, currency, total_amount, provenance
              FROM erp_purchase_order WHERE agreement_digest = '\(digests[2])';
            """)
        let report = try await rig.reconcile()
        #expect(!report.isClean)
        let divergent = try #require(report.of(.divergent).first)
        #expect(report.of(.divergent).count == 1)
        #expect(divergent.digest == digests[0])
        let difference = divergent.evidence["differences"]?[0]
        #expect(difference?["field"]?.stringValue == "erp_purchase_order_line[2].quantity")
        #expect(difference?["expected"]?.stringValue == "10.000")
        #expect(difference?["actual"]?.stringValue == "7.000")
        #expect(report.of(.missing).map(\.digest) == [digests[1]])
        #expect(report.of(.missing).first?.evidence["state"]?.stringValue == "delivered")
        #expect(report.of(.orphan).count == 1)
        #expect(report.of(.orphan).first?.evidence["fields"]?["row"]?["agreement_digest"]?.stringValue == "PO-BY-HAND-1")
        #expect(report.of(.duplicate).map(\.digest) == [digests[2]])
        #expect(report.of(.duplicate).first?.evidence["references"]?.arrayValue?.count == 2)
        #expect(Set(report.of(.matched).compactMap(\.digest)) == [digests[3], digests[4]])
        #expect(report.of(.deliveredWithoutReceipt).isEmpty)
        #expect(report.of(.invalidReceiptSignature).isEmpty)
    }

    @Test("receipts: a missing ledger receipt, a party's tampered receipt, and a validly signed receipt the store does not hold")
    func receipts() async throws {
        let rig = try await ReconcileRig()
        let first = try await rig.accept(1)
        let second = try await rig.accept(2)
        try await rig.settle()
        let late = try await rig.accept(3)
        try await rig.settle(receipts: false)  // delivered, not yet receipted

        // What the parties hold: both receipts, one of them edited after signing.
        var parties = try await rig.store.ledger(from: 0, limit: 10).enumerated().map { PartyReceipt(source: "r\($0.offset).json", receipt: $0.element) }
        var edited = try #require(parties[1].receipt)
        edited["legacyRef"] = ["system": "sqlite", "kind": "erp_purchase_order", "id": "999"]
        parties[1] = PartyReceipt(source: "r1.json", receipt: edited)
        // A receipt from another store, signed by the same gateway key: nothing here delivered it.
        let other = try await ReconcileRig()
        let foreign = try await other.accept(9)
        try await other.settle()
        parties.append(PartyReceipt(source: "foreign.json", receipt: try await other.store.receipts(digest: foreign).first))
        parties.append(PartyReceipt(source: "junk.json", receipt: nil, problem: "not a JSON object"))

        let report = try await rig.reconcile(parties: parties)
        #expect(report.of(.deliveredWithoutReceipt).map(\.digest) == [late.description])
        let invalid = report.of(.invalidReceiptSignature)
        #expect(invalid.count == 2)
        #expect(invalid.first?.digest == second.description)
        #expect(invalid.first?.detail.contains("r1.json") == true)
        #expect(invalid.last?.detail.contains("junk.json") == true)
        #expect(report.of(.receiptWithoutDelivery).map(\.digest) == [foreign.description])
        #expect(report.of(.matched).count == 3)
        #expect(report.partyReceipts == 4)
        #expect(report.ledgerReceipts == 2)
        _ = first
    }

    @Test("repair re-delivers a delivered-but-deleted order once (lookup first), re-queues a dead letter, and touches nothing else")
    func repair() async throws {
        let rig = try await ReconcileRig()
        let kept = try await rig.accept(1)
        let deleted = try await rig.accept(2)
        let failing = try await rig.accept(3, table: "erp_no_such_table")
        try await rig.settle()
        #expect(try await rig.store.agreement(digest: failing)?.summary.status == .deadLetter)
        _ = try rig.sql(rig.erp, "UPDATE erp_purchase_order SET currency = 'USD' WHERE agreement_digest = '\(kept)'")
        _ = try rig.sql(rig.erp, """
            DELETE FROM erp_purchase_order_line WHERE po_id = (SELECT po_id FROM erp_purchase_order WHERE agreement_digest = '\(deleted)');
            DELETE FROM erp_purchase_order WHERE agreement_digest = '\(deleted)';
            """)
        let reconciler = Reconciler(store: rig.store, adapters: rig.adapters, gateway: gatewayKey.didKey.did)
        let before = try await reconciler.run()
        #expect(Set(before.of(.missing).compactMap(\.digest)) == [deleted.description, failing.description])
        let repairs = try await reconciler.repair(before, now: rig.clock.now())
        #expect(repairs.count == 2)
        #expect(repairs.first { $0.digest == deleted.description }?.action == .redelivered)
        #expect(repairs.first { $0.digest == failing.description }?.action == .requeued)
        #expect(try rig.sql(rig.erp, "SELECT count(*) FROM erp_purchase_order WHERE agreement_digest = '\(deleted)'") == "1")
        #expect(try rig.sql(rig.erp, "SELECT count(*) FROM erp_purchase_order_line l JOIN erp_purchase_order o USING (po_id) WHERE agreement_digest = '\(deleted)'") == "2")
        // The divergent one was left as it was; the dead letter is back in the queue, needing a lookup.
        #expect(try rig.sql(rig.erp, "SELECT currency FROM erp_purchase_order WHERE agreement_digest = '\(kept)'") == "USD")
        let requeued = try await rig.store.agreement(digest: failing)?.entries.first
        #expect(requeued?.state == .pending)
        #expect(requeued?.needsLookup == true)

        let after = try await reconciler.run()
        #expect(after.of(.missing).isEmpty)  // the re-queued entry is pending: in progress, not compared
        #expect(after.inProgress == 1)
        #expect(after.of(.divergent).map(\.digest) == [kept.description])
        #expect(after.of(.matched).map(\.digest) == [deleted.description])
        // A second repair finds the re-delivered order and writes nothing.
        let again = try await reconciler.repair(after, now: rig.clock.now())
        #expect(again.isEmpty)
        #expect(try rig.sql(rig.erp, "SELECT count(*) FROM erp_purchase_order WHERE agreement_digest = '\(deleted)'") == "1")
    }
}

@Suite("Reconcile engine: targets that cannot be read")
struct ReconcileUnavailableTests {
    @Test("a PostgreSQL target that refuses connections is unavailable: not clean, and no finding claims anything about it")
    func unavailable() async throws {
        let rig = try await ReconcileRig()
        try await rig.accept(1)
        try await rig.settle()
        let registration = try #require(AdapterRegistry.registration(kind: "postgresql"))
        // Port 9 (discard) on loopback: nothing listens there.
        let built = try registration.make("erp", AdapterSettings(["url": "postgresql://causeway@127.0.0.1:9/erp", "timeout": "1",
                                                                  "max_connections": "1"]), [:], .init(partners: rig.directory))
        let report = try await withThrowingTaskGroup(of: ReconcileReport?.self) { group in
            group.addTask {
                await built.run?()
                return nil
            }
            let report = try await Reconciler(store: rig.store, adapters: ["erp": built.adapter], gateway: gatewayKey.didKey.did).run()
            group.cancelAll()
            return report
        }
        #expect(!report.isClean)
        let target = try #require(report.targets.first { $0.target == "erp" })
        #expect(target.state == .unavailable)
        #expect(target.reason?.isEmpty == false)
        #expect(report.of(.missing).isEmpty && report.of(.matched).isEmpty)
        #expect(report.findings.isEmpty, "\(report.findings.map(\.detail))")
        #expect(report.summary["targets"]?["erp"]?["state"]?.stringValue == "unavailable")
    }
}

@Suite("Reconcile engine: two targets writing into one table")
struct ReconcileSharedTableTests {
    @Test("each target reports its own documents; the other target's rows are neither orphans nor counted twice")
    func sharedTable() async throws {
        let rig = try await ReconcileRig()
        let mine = try await rig.accept(1)
        let theirs = try await rig.accept(2, target: "erp-twin")
        try await rig.settle()
        #expect(try rig.sql(rig.erp, "SELECT count(*) FROM erp_purchase_order") == "2")
        let report = try await rig.reconcile()
        #expect(report.isClean, "\(report.findings.map(\.detail))")
        #expect(report.of(.orphan).isEmpty)
        #expect(report.of(.matched).map { "\($0.target ?? "") \($0.digest ?? "")" }.sorted()
                == ["erp \(mine)", "erp-twin \(theirs)"].sorted())
    }
}
