import AdapterKit
import CausewayCore
import CausewayGateway
import CausewayStore
import CausewayTesting
import CausewayTrust
import Foundation
import Testing

/// Changes and cancellations in the reconciler's rig (a real SQLite store, the real `sqlite`
/// adapter writing to the staging twin, the real worker and receipt issuer): versions are stored
/// as the intake stores them and delivered as updates of the row the original inserted.
extension ReconcileRig {
    /// Version `version` of the chain `original` (which `accept(n)` stored): a change whose one
    /// action updates the order to a total and two lines of `quantity` pieces, or a cancellation
    /// that marks it cancelled. `match` replaces the original's digest in the match column (a
    /// value no row has makes the update a rejection, hence a dead letter).
    func acceptVersion(_ n: Int, original: ContentDigest, supersedes: ContentDigest, version: Int, cancellation: Bool = false,
                       quantity: Int = 7, match: String? = nil) async throws -> ContentDigest {
        let digest = ContentDigest(of: Array("reconcile agreement \(n) version \(version)".utf8))
        let lines = (1...2).map { line in
            Row([("line_no", .text("\(line)", .integer)), ("item_code", .text("SKU-\(line)")), ("description", .text("part \(line)")),
                 ("quantity", .text("\(quantity).000", .decimal(precision: 14, scale: 3))), ("uom", .text("PCE")),
                 ("unit_price", .text("12.5000", .decimal(precision: 14, scale: 4))),
                 ("line_amount", .text("\(quantity * 125 / 10).\(quantity * 125 % 10)0", .decimal(precision: 14, scale: 2)))])
        }
        let total = "\(quantity * 2 * 125 / 10).\(quantity * 2 * 125 % 10)0"
        let matchValue = CellValue.text(match ?? original.description)
        let rows = cancellation
            ? RowsAction(table: "erp_purchase_order", key: ["agreement_digest"], returning: ["po_id"],
                         row: Row([("agreement_digest", matchValue), ("status", .text("cancelled"))]), children: [], provenanceColumn: "provenance",
                         update: RowsUpdate(match: ["agreement_digest"], versionColumn: "version", version: version))
            : RowsAction(table: "erp_purchase_order", key: ["agreement_digest"], returning: ["po_id"],
                         row: Row([("agreement_digest", matchValue), ("currency", .text("EUR")),
                                   ("total_amount", .text(total, .decimal(precision: 14, scale: 2)))]),
                         children: [ChildRows(table: "erp_purchase_order_line", links: [("po_id", "po_id")], rows: lines)], provenanceColumn: "provenance",
                         update: RowsUpdate(match: ["agreement_digest"], versionColumn: "version", version: version))
        let action = LegacyAction(index: 0, name: "purchase-order", target: "erp", payload: .rows(rows))
        let type = cancellation ? "PurchaseAgreementCancellation" : "PurchaseAgreementChange"
        let receiptID = "urn:uuid:00000000-0000-4000-8000-\(String(format: "%06d%06d", n, version))"
        var provenance = ProvenanceRecord(
            receiptID: receiptID, generated: "2026-11-22T10:00:00.000Z", action: action, adapter: "sqlite",
            agreementID: "urn:test:\(n):v\(version)", agreementType: type, agreementDigest: digest,
            signers: [.init(role: "buyer", did: "did:key:z6MkB", verificationMethod: "did:key:z6MkB#z6MkB", proofDigest: digest, delegation: nil)],
            plan: .init(partner: "stahlteile", mapping: "m", version: "1", digest: digest, actionIndex: 0),
            gateway: gatewayKey.didKey.did, software: "causeway-test")
        provenance.revision = .init(version: version, amends: original, supersedes: supersedes, previousReceiptID: nil)
        let incoming = IncomingAgreement(
            digest: digest, agreementID: "urn:test:\(n):v\(version)", partner: "stahlteile", type: type, document: Array("{}".utf8),
            verification: ["verified": true], mappingID: "m", mappingVersion: "1", mappingDigest: digest, total: cancellation ? nil : total,
            currency: "EUR", receivedAt: clock.now(),
            actions: [IncomingAgreement.Action(index: 0, name: action.name, target: "erp", kind: action.kind.rawValue, adapter: "sqlite",
                                               action: action.json, provenance: provenance.json, receiptID: receiptID)],
            revision: .init(amends: original, supersedes: supersedes, version: version, cancellation: cancellation))
        #expect(try await store.accept(incoming) == .accepted)
        return digest
    }

    /// Chain `n` delivered version by version: the original (`accept(n)`), then changes to 7 and
    /// to 9 pieces a line when `versions` is 3 (to 7 alone when 2). Returns the digests, oldest first.
    func deliveredChain(_ n: Int, versions: Int = 3) async throws -> [ContentDigest] {
        var digests = [try await accept(n)]
        try await settle()
        for version in 2...versions {
            digests.append(try await acceptVersion(n, original: digests[0], supersedes: digests[version - 2], version: version,
                                                   quantity: version == 2 ? 7 : 9))
            try await settle()
        }
        return digests
    }

    /// The row of chain `original` as `version status total`.
    func order(_ original: ContentDigest) throws -> String {
        try sql(erp, "SELECT coalesce(version, 1) || ' ' || status || ' ' || total_amount FROM erp_purchase_order WHERE agreement_digest = '\(original)'")
    }
}

@Suite("Reconcile engine: agreements with changes and cancellations (real SQLite store and staging database)")
struct ReconcileVersionsTests {
    @Test("a chain v1→v2→v3 is one matched finding for v3, none for the superseded versions; a row set back to v2 is stale; repair re-applies v3")
    func staleAndRepaired() async throws {
        let rig = try await ReconcileRig()
        let chain = try await rig.deliveredChain(1)
        let (v1, v2, v3) = (chain[0], chain[1], chain[2])
        let other = try await rig.accept(2)  // an original without changes, beside it
        try await rig.settle()
        #expect(try rig.order(v1) == "3 open 225.00")
        #expect(try rig.sql(rig.erp, "SELECT json_array_length(provenance) FROM erp_purchase_order WHERE agreement_digest = '\(v1)'") == "3")

        let clean = try await rig.reconcile()
        #expect(clean.isClean, "\(clean.findings.map(\.detail))")
        #expect(clean.of(.matched).compactMap(\.digest).sorted() == [v3.description, other.description].sorted())
        let matched = try #require(clean.of(.matched).first { $0.digest == v3.description })
        #expect(matched.evidence["version"]?.exactInt == 3)
        #expect(matched.evidence["chain"]?.stringValue == v1.description)
        #expect(clean.findings.count == 2, "no finding for the superseded versions 1 and 2: \(clean.findings.map(\.detail))")
        #expect(clean.entries == 4)

        // By hand: the row goes back to version 2 (its version column and its last provenance record).
        _ = try rig.sql(rig.erp, """
            UPDATE erp_purchase_order SET version = 2, total_amount = '175.00', provenance = json_remove(provenance, '$[#-1]')
              WHERE agreement_digest = '\(v1)'
            """)
        let stale = try await rig.reconcile()
        #expect(!stale.isClean)
        let finding = try #require(stale.of(.stale).first)
        #expect(stale.of(.stale).count == 1)
        #expect(finding.digest == v3.description)
        #expect(finding.target == "erp")
        #expect(finding.evidence["held_version"]?.exactInt == 2)
        #expect(finding.evidence["expected_version"]?.exactInt == 3)
        #expect(finding.evidence["held_digest"]?.stringValue == v2.description)
        #expect(finding.evidence["expected_digest"]?.stringValue == v3.description)
        #expect(finding.evidence["chain"]?.stringValue == v1.description)
        #expect(stale.of(.missing).isEmpty && stale.of(.divergent).isEmpty, "\(stale.findings.map(\.detail))")
        #expect(stale.staleEntries.map(\.digest) == [v3])
        #expect(stale.summary["counts"]?["stale"]?.numberValue == 1)

        let reconciler = Reconciler(store: rig.store, adapters: rig.adapters, gateway: gatewayKey.didKey.did)
        let repairs = try await reconciler.repair(stale, now: rig.clock.now())
        #expect(repairs.map(\.action) == [.redelivered], "\(repairs.map(\.detail))")
        #expect(repairs.first?.finding == .stale)
        #expect(repairs.first?.idempotencyKey == "\(v3)/0")
        #expect(repairs.first?.json["finding"]?.stringValue == "stale")
        #expect(try rig.order(v1) == "3 open 225.00")
        #expect(try rig.sql(rig.erp, "SELECT json_extract(provenance, '$[#-1].agreement.digest') FROM erp_purchase_order WHERE agreement_digest = '\(v1)'")
                == v3.description)
        let after = try await reconciler.run()
        #expect(after.isClean, "\(after.findings.map(\.detail))")
        // Nothing stale is left: a second repair does nothing.
        #expect(try await reconciler.repair(after, now: rig.clock.now()).isEmpty)
    }

    @Test("a row set back two versions gets both re-applied in order; a row whose version column and provenance disagree is divergent")
    func twoBehindAndContradiction() async throws {
        let rig = try await ReconcileRig()
        let chain = try await rig.deliveredChain(1)
        let (v1, v2, v3) = (chain[0], chain[1], chain[2])
        // Back to the original: version NULL, one provenance object.
        _ = try rig.sql(rig.erp, """
            UPDATE erp_purchase_order SET version = NULL, provenance = json_extract(provenance, '$[0]') WHERE agreement_digest = '\(v1)'
            """)
        let behind = try await rig.reconcile()
        #expect(behind.of(.stale).first?.evidence["held_version"]?.exactInt == 1)
        #expect(behind.of(.stale).first?.evidence["held_digest"]?.stringValue == v1.description)
        #expect(behind.staleEntries.map(\.digest) == [v2, v3])
        let repairs = try await Reconciler(store: rig.store, adapters: rig.adapters, gateway: gatewayKey.didKey.did).repair(behind, now: rig.clock.now())
        #expect(repairs.map(\.idempotencyKey) == ["\(v2)/0", "\(v3)/0"])
        #expect(repairs.allSatisfy { $0.action == .redelivered }, "\(repairs.map(\.detail))")
        #expect(try rig.order(v1) == "3 open 225.00")
        #expect(try await rig.reconcile().isClean)

        // The version column says 2, the provenance still ends with version 3's record.
        _ = try rig.sql(rig.erp, "UPDATE erp_purchase_order SET version = 2 WHERE agreement_digest = '\(v1)'")
        let contradiction = try await rig.reconcile()
        let divergent = try #require(contradiction.of(.divergent).first)
        #expect(divergent.evidence["differences"]?[0]?["field"]?.stringValue == "erp_purchase_order.version")
        #expect(divergent.evidence["differences"]?[0]?["expected"]?.stringValue == "3")
        #expect(divergent.evidence["differences"]?[0]?["actual"]?.stringValue == "2")
        #expect(contradiction.of(.stale).isEmpty && contradiction.of(.matched).isEmpty)
    }

    @Test("a change not yet delivered does not count (the row is compared with version 1); a delivered change without a receipt is delivered_without_receipt")
    func pendingAndUnreceipted() async throws {
        let rig = try await ReconcileRig()
        let v1 = try await rig.accept(1)
        try await rig.settle()
        let v2 = try await rig.acceptVersion(1, original: v1, supersedes: v1, version: 2, quantity: 7)
        let pending = try await rig.reconcile()
        #expect(pending.isClean, "\(pending.findings.map(\.detail))")
        #expect(pending.of(.matched).map(\.digest) == [v1.description])
        #expect(pending.inProgress == 1)

        try await rig.settle(receipts: false)
        let unreceipted = try await rig.reconcile()
        #expect(unreceipted.of(.matched).map(\.digest) == [v2.description], "\(unreceipted.findings.map(\.detail))")
        #expect(unreceipted.of(.deliveredWithoutReceipt).map(\.digest) == [v2.description])
        #expect(unreceipted.of(.deliveredWithoutReceipt).first?.evidence["idempotency_key"]?.stringValue == "\(v2)/0")
        #expect(unreceipted.of(.missing).isEmpty && unreceipted.of(.stale).isEmpty)
        _ = try await rig.issuer.issuePending()
        #expect(try await rig.reconcile().isClean)
    }

    @Test("a cancelled chain whose row shows the cancellation is matched; an edited status is divergent against the cancellation")
    func cancelled() async throws {
        let rig = try await ReconcileRig()
        let chain = try await rig.deliveredChain(1, versions: 2)
        let (v1, v2) = (chain[0], chain[1])
        let cancel = try await rig.acceptVersion(1, original: v1, supersedes: v2, version: 3, cancellation: true)
        try await rig.settle()
        #expect(try await rig.store.agreement(digest: cancel)?.summary.status == .cancelled)
        #expect(try rig.order(v1) == "3 cancelled 175.00")
        let report = try await rig.reconcile()
        #expect(report.isClean, "\(report.findings.map(\.detail))")
        #expect(report.of(.matched).map(\.digest) == [cancel.description])
        #expect(report.of(.deliveredWithoutReceipt).isEmpty)

        _ = try rig.sql(rig.erp, "UPDATE erp_purchase_order SET status = 'open' WHERE agreement_digest = '\(v1)'")
        let reopened = try await rig.reconcile()
        #expect(reopened.of(.divergent).map(\.digest) == [cancel.description])
        #expect(reopened.of(.divergent).first?.evidence["differences"]?[0]?["field"]?.stringValue == "erp_purchase_order.status")
    }

    @Test("a voided chain (a cancellation accepted before anything was tried) reports nothing missing and nothing in progress")
    func voided() async throws {
        let rig = try await ReconcileRig()
        let v1 = try await rig.accept(1)
        let cancel = try await rig.acceptVersion(1, original: v1, supersedes: v1, version: 2, cancellation: true)
        let kept = try await rig.accept(2)
        try await rig.settle()
        #expect(try await rig.store.agreement(digest: v1)?.entries.map(\.state) == [.void])
        #expect(try await rig.store.agreement(digest: cancel)?.entries.map(\.state) == [.void])
        #expect(try rig.sql(rig.erp, "SELECT count(*) FROM erp_purchase_order WHERE agreement_digest = '\(v1)'") == "0")
        let report = try await rig.reconcile()
        #expect(report.isClean, "\(report.findings.map(\.detail))")
        #expect(report.of(.missing).isEmpty)
        #expect(report.of(.matched).map(\.digest) == [kept.description])
        #expect(report.inProgress == 0)
        #expect(report.entries == 3)
        // A row for the voided chain after all (written behind the gateway's back) is not Causeway's doing.
        _ = try rig.sql(rig.erp, """
            INSERT INTO erp_purchase_order (external_ref, agreement_digest, supplier_code, order_date, currency, total_amount, provenance)
              SELECT 'urn:test:1', '\(v1)', supplier_code, order_date, currency, total_amount, provenance FROM erp_purchase_order
              WHERE agreement_digest = '\(kept)'
            """)
        _ = try rig.sql(rig.erp, """
            UPDATE erp_purchase_order SET provenance = json_set(provenance, '$.agreement.digest', '\(v1)') WHERE agreement_digest = '\(v1)'
            """)
        let written = try await rig.reconcile()
        #expect(written.of(.orphan).map(\.digest) == [v1.description], "\(written.findings.map(\.detail))")
        #expect(written.of(.missing).isEmpty)
    }

    @Test("a deleted row of a changed chain is one missing finding; repair re-drives the original's insert, then the change")
    func missingChain() async throws {
        let rig = try await ReconcileRig()
        let chain = try await rig.deliveredChain(1, versions: 2)
        let (v1, v2) = (chain[0], chain[1])
        _ = try rig.sql(rig.erp, """
            DELETE FROM erp_purchase_order_line WHERE po_id = (SELECT po_id FROM erp_purchase_order WHERE agreement_digest = '\(v1)');
            DELETE FROM erp_purchase_order WHERE agreement_digest = '\(v1)';
            """)
        let report = try await rig.reconcile()
        #expect(report.of(.missing).map(\.digest) == [v2.description], "\(report.findings.map(\.detail))")
        #expect(report.of(.missing).first?.evidence["version"]?.exactInt == 2)
        let repairs = try await Reconciler(store: rig.store, adapters: rig.adapters, gateway: gatewayKey.didKey.did).repair(report, now: rig.clock.now())
        #expect(repairs.map(\.idempotencyKey) == ["\(v1)/0", "\(v2)/0"])
        #expect(repairs.allSatisfy { $0.action == .redelivered && $0.finding == .missing }, "\(repairs.map(\.detail))")
        #expect(try rig.order(v1) == "2 open 175.00")
        #expect(try rig.sql(rig.erp, "SELECT json_array_length(provenance) FROM erp_purchase_order WHERE agreement_digest = '\(v1)'") == "2")
        #expect(try await rig.reconcile().isClean)
    }

    @Test("a dead-lettered change is missing for its version while the row, at version 1, matches the original; repair re-queues it")
    func deadLetteredChange() async throws {
        let rig = try await ReconcileRig()
        let v1 = try await rig.accept(1)
        try await rig.settle()
        let v2 = try await rig.acceptVersion(1, original: v1, supersedes: v1, version: 2, match: "no such order")
        try await rig.settle()
        #expect(try await rig.store.agreement(digest: v2)?.entries.first?.state == .deadLetter)
        let report = try await rig.reconcile()
        #expect(report.of(.matched).map(\.digest) == [v1.description], "\(report.findings.map(\.detail))")
        #expect(report.of(.missing).map(\.digest) == [v2.description])
        #expect(report.of(.missing).first?.evidence["held_version"]?.exactInt == 1)
        #expect(report.of(.stale).isEmpty)
        let repairs = try await Reconciler(store: rig.store, adapters: rig.adapters, gateway: gatewayKey.didKey.did).repair(report, now: rig.clock.now())
        #expect(repairs.map(\.action) == [.requeued])
        #expect(try await rig.store.agreement(digest: v2)?.entries.first?.state == .pending)
    }
}

@Suite("RowsInventory: provenance as one record or an array of records")
struct RowsInventoryVersionTests {
    static let original = ContentDigest(of: Array("original".utf8))
    static let change = ContentDigest(of: Array("change".utf8))

    static func record(_ digest: ContentDigest, version: Int?) -> String {
        let revision = version.map { #", "revision": {"version": \#($0), "amends": "\#(original)", "supersedes": "\#(original)"}"# } ?? ""
        return #"{"agreement": {"digest": "\#(digest)"}, "plan": {"actionIndex": 0}\#(revision)}"#
    }

    static let template = RowsAction(table: "po", key: ["ref"], returning: ["id"], row: Row([("ref", .text("x"))]), children: [],
                                     provenanceColumn: "provenance", update: RowsUpdate(match: ["ref"], versionColumn: "version", version: 2))

    @Test("the last record is the version held; the version column must agree; NULL counts as 1")
    func lastRecord() {
        let single = RowsInventory.lastRecord(Self.record(Self.original, version: nil))
        #expect(single.map { [$0.digest, $0.chain, "\($0.actionIndex) \($0.version) \($0.records)"] }
                == [Self.original.description, Self.original.description, "0 1 1"])
        let array = RowsInventory.lastRecord("[\(Self.record(Self.original, version: nil)), \(Self.record(Self.change, version: 2))]")
        #expect(array.map { [$0.digest, $0.chain, "\($0.actionIndex) \($0.version) \($0.records)"] }
                == [Self.change.description, Self.original.description, "0 2 2"])
        #expect(RowsInventory.lastRecord("[]") == nil)
        #expect(RowsInventory.lastRecord("not json") == nil)

        let changed = "[\(Self.record(Self.original, version: nil)), \(Self.record(Self.change, version: 2))]"
        let first: RowsInventory.TextRow = ["id": "1", "ref": "a", "version": "2", "provenance": changed]
        var second: RowsInventory.TextRow = ["id": "2", "ref": "b", "provenance": Self.record(Self.original, version: nil)]
        second["version"] = .some(nil)  // NULL: the original as inserted
        let third: RowsInventory.TextRow = ["id": "3", "ref": "c", "version": "3", "provenance": changed]
        let rows = [first, second, third]
        let documents = RowsInventory.documents(system: "test", template: Self.template, parents: rows, children: [:], expected: [])
        #expect(documents.map(\.idempotencyKey) == ["\(Self.change)/0", "\(Self.original)/0", "\(Self.change)/0"])
        #expect(documents.map(\.chain) == Array(repeating: Self.original.description, count: 3))
        #expect(documents.map(\.version) == [2, 1, 2])
        #expect(documents[0].inconsistencies.isEmpty && documents[1].inconsistencies.isEmpty)
        #expect(documents[2].inconsistencies == [FieldDifference(field: "po.version", expected: "2", actual: "3")])
    }

    @Test("templates prefer the original's insert and add the child tables of every action on the table")
    func templates() {
        let line = ChildRows(table: "po_line", links: [("po_id", "id")], rows: [])
        let insert = RowsAction(table: "po", key: ["ref"], returning: ["id"], row: Row([("ref", .text("x"))]), children: [line], provenanceColumn: "provenance")
        let cancel = RowsAction(table: "po", key: ["ref"], returning: ["id"], row: Row([("ref", .text("x"))]), children: [],
                                provenanceColumn: "provenance", update: RowsUpdate(match: ["ref"], versionColumn: "version", version: 2))
        let expected = [ExpectedDocument(agreementDigest: Self.change, action: LegacyAction(index: 0, name: "po", target: "t", payload: .rows(cancel)),
                                         chain: Self.original, version: 2),
                        ExpectedDocument(agreementDigest: Self.original, action: LegacyAction(index: 0, name: "po", target: "t", payload: .rows(insert)))]
        let templates = RowsInventory.templates(expected)
        #expect(templates.count == 1)
        #expect(templates.first?.template.children.map(\.table) == ["po_line"])
        #expect(templates.first?.template.update?.versionColumn == "version")
    }
}
