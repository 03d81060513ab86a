import CausewayCore
import CausewayTesting
import Foundation
import Testing

/// `causeway reconcile` against a real gateway that delivered into real PostgreSQL staging
/// tables, after the legacy rows, the ledger and a party's receipts were tampered with.
@Suite("Reconcile CLI: a real gateway, PostgreSQL staging tables, tampering by psql", .serialized)
struct ReconcileCLITests {
    static func psql(_ url: String, _ sql: String) throws -> String { try ReliabilityTests.psql(url, sql) }

    static func reconcile(_ gateway: RunningGateway, _ extra: [String] = []) throws -> (CommandRunner.Result, JSONValue?) {
        let result = try CommandRunner.causeway(["reconcile", "--config", gateway.configFile] + extra, in: gateway.directory)
        return (result, extra.contains("--json") ? try? JSONReader().read(Array(result.stdout.utf8)) : nil)
    }

    static func findings(_ report: JSONValue?, _ findingClass: String) -> [JSONValue] {
        (report?["findings"]?.arrayValue ?? []).filter { $0["class"]?.stringValue == findingClass }
    }

    static func digests(_ report: JSONValue?, _ findingClass: String) -> [String?] {
        findings(report, findingClass).map { $0["digest"]?.stringValue }
    }

    @Test("every finding class from tampering; --repair brings the deleted order back exactly once; usage errors exit 2")
    func everyClass() async throws {
        let work = try GeneratedAgreements(count: 6, seed: 31)
        let (gateway, store, target) = try ReliabilityTests.stagingGateway("causeway_rec", work, delivery: nil)
        defer { _ = gateway.stop() }
        try await gateway.waitUntilReady()
        let accepted = try await submitUntilAccepted(work.documents, to: [gateway])
        #expect(accepted.count == 6)
        let settled = try await eventually(seconds: 120) { try Self.psql(store, "SELECT count(*) FROM ledger") == "6" }
        #expect(settled, "\(gateway.log.suffix(2000))")
        // Nothing changes under the reconciliation from here on.
        #expect(gateway.stop() == 0)

        // 1. Untouched: everything matches, as JSON and as a table.
        let (clean, cleanReport) = try Self.reconcile(gateway, ["--json"])
        #expect(clean.status == 0, "\(clean)")
        #expect(cleanReport?["summary"]?["clean"] == .bool(true))
        #expect(cleanReport?["summary"]?["counts"]?["matched"]?.numberValue == 6)
        #expect(cleanReport?["summary"]?["targets"]?["erp-staging"]?["state"]?.stringValue == "reconciled")
        let (cleanTable, _) = try Self.reconcile(gateway)
        #expect(cleanTable.status == 0, "\(cleanTable)")
        #expect(cleanTable.stdout.contains("everything matched"), "\(cleanTable)")
        // Targets whose adapters cannot list what they wrote are named in the summary, not findings.
        let config = try String(contentsOf: gateway.directory.appendingPathComponent(gateway.configFile), encoding: .utf8)
        try Data(config.replacingOccurrences(of: "targets:\n", with: """
            targets:
              portal: {adapter: http, base_url: "http://127.0.0.1:9/"}
              ledger-program: {adapter: process, command: /bin/cat}

            """).utf8).write(to: gateway.directory.appendingPathComponent("reconcile-more.yaml"))
        let (more, moreReport) = try Self.reconcile(gateway, ["--json", "--config", "reconcile-more.yaml"])
        #expect(more.status == 0, "\(more)")
        #expect(moreReport?["summary"]?["not_reconcilable"] == ["ledger-program", "portal"], "\(more.stdout)")
        #expect(moreReport?["summary"]?["counts"]?["matched"]?.numberValue == 6)

        // What the parties hold: every receipt, one file each; the last one edited after signing.
        let d = accepted.sorted()
        let folder = gateway.directory.appendingPathComponent("party-receipts")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for (position, digest) in d.enumerated() {
            var receipt = try JSONReader().read(Array(try Self.psql(store, "SELECT receipt FROM ledger WHERE digest = '\(digest)'").utf8))
            if position == 5, case .object(var object) = receipt {
                object["legacyRef"] = ["system": "postgresql", "kind": "erp_purchase_order", "id": "424242"]
                receipt = .object(object)
            }
            try Data(JSONWriter.string(receipt).utf8).write(to: folder.appendingPathComponent("receipt-\(position).json"))
        }

        // 2. Tamper with the legacy rows, the ledger and the store.
        let quantity = try Self.psql(target, """
            SELECT quantity FROM erp_purchase_order_line JOIN erp_purchase_order USING (po_id) WHERE agreement_digest = '\(d[0])' AND line_no = 1
            """)
        let lines = try Self.psql(target, "SELECT count(*) FROM erp_purchase_order_line JOIN erp_purchase_order USING (po_id) WHERE agreement_digest = '\(d[1])'")
        _ = try Self.psql(target, """
            UPDATE erp_purchase_order_line SET quantity = quantity + 1
              WHERE line_no = 1 AND po_id = (SELECT po_id FROM erp_purchase_order WHERE agreement_digest = '\(d[0])');
            DELETE FROM erp_purchase_order_line WHERE po_id = (SELECT po_id FROM erp_purchase_order WHERE agreement_digest = '\(d[1])');
            DELETE FROM erp_purchase_order WHERE agreement_digest = '\(d[1])';
            INSERT INTO erp_purchase_order (external_ref, agreement_digest, supplier_code, order_date, currency, total_amount, provenance)
              VALUES ('typed-in-by-hand', 'PO-BY-HAND-7', 'V-1001', '2026-11-30', 'EUR', 10.00, '{}');
            INSERT INTO erp_purchase_order (external_ref, agreement_digest, supplier_code, order_date, currency, total_amount, provenance)
              SELECT external_ref, agreement_digest || ' (copy)', supplier_code, order_date, currency, total_amount, provenance
              FROM erp_purchase_order WHERE agreement_digest = '\(d[2])';
            """)
        _ = try Self.psql(store, """
            DELETE FROM ledger WHERE digest = '\(d[3])';
            UPDATE outbox SET state = 'dead_letter', last_error = 'restored from an older backup' WHERE digest = '\(d[4])';
            """)

        let (tampered, report) = try Self.reconcile(gateway, ["--json", "--receipts", folder.path])
        #expect(tampered.status == 1, "\(tampered)")
        #expect(report?["summary"]?["clean"] == .bool(false))
        let divergent = Self.findings(report, "divergent")
        #expect(Self.digests(report, "divergent") == [d[0]], "\(tampered.stdout)")
        let difference = divergent.first?["evidence"]?["differences"]?[0]
        #expect(difference?["field"]?.stringValue == "erp_purchase_order_line[1].quantity")
        #expect(difference.flatMap { $0["expected"]?.stringValue }.flatMap(DecimalText.parse) == DecimalText.parse(quantity))
        #expect(difference.flatMap { $0["actual"]?.stringValue }.flatMap(DecimalText.parse) == DecimalText.parse(quantity).map { $0 + 1 })
        #expect(Self.digests(report, "missing") == [d[1]])
        let orphans = Self.findings(report, "orphan")
        #expect(orphans.count == 1)
        #expect(orphans.first?["evidence"]?["fields"]?["row"]?["agreement_digest"]?.stringValue == "PO-BY-HAND-7")
        #expect(Self.digests(report, "duplicate") == [d[2]])
        #expect(Self.findings(report, "duplicate").first?["evidence"]?["references"]?.arrayValue?.count == 2)
        #expect(Self.digests(report, "delivered_without_receipt") == [d[3]])
        // The ledger's receipt and the party's copy of it, both for an action the store holds as dead-lettered.
        #expect(Self.digests(report, "receipt_without_delivery") == [d[4], d[4]])
        let invalid = Self.findings(report, "invalid_receipt_signature")
        #expect(invalid.map { $0["digest"]?.stringValue } == [d[5]])
        #expect(invalid.first?["evidence"]?["source"]?.stringValue == "receipt-5.json")
        #expect(Set(Self.digests(report, "matched")) == [d[3], d[4], d[5]])
        #expect(report?["summary"]?["party_receipts"]?.numberValue == 6)
        for finding in report?["findings"]?.arrayValue ?? [] {
            #expect(finding["detail"]?.stringValue?.isEmpty == false)
            #expect(finding["target"] != nil && finding["evidence"] != nil)
        }

        // The table names the classes and the field.
        let (table, _) = try Self.reconcile(gateway, ["--receipts", folder.path])
        #expect(table.status == 1)
        for word in ["divergent", "missing", "orphan", "duplicate", "delivered_without_receipt", "receipt_without_delivery",
                     "invalid_receipt_signature", "erp_purchase_order_line[1].quantity", "not everything matched"] {
            #expect(table.stdout.contains(word), "\(word) in\n\(table.stdout)")
        }

        // 3. --repair re-drives the missing order only, once.
        let (repaired, repairReport) = try Self.reconcile(gateway, ["--json", "--repair"])
        #expect(repaired.status == 1, "\(repaired)")
        let repairs = repairReport?["repairs"]?.arrayValue ?? []
        #expect(repairs.count == 1, "\(repaired.stdout)")
        #expect(repairs.first?["digest"]?.stringValue == d[1])
        #expect(repairs.first?["action"]?.stringValue == "redelivered")
        #expect(try Self.psql(target, "SELECT count(*) FROM erp_purchase_order WHERE agreement_digest = '\(d[1])'") == "1")
        #expect(try Self.psql(target, "SELECT count(*) FROM erp_purchase_order_line JOIN erp_purchase_order USING (po_id) WHERE agreement_digest = '\(d[1])'")
                == lines)
        // Nothing else changed: the edited quantity and the orphan are still there.
        #expect(try Self.psql(target, "SELECT count(*) FROM erp_purchase_order WHERE agreement_digest = 'PO-BY-HAND-7'") == "1")

        let (again, againReport) = try Self.reconcile(gateway, ["--json", "--repair"])
        #expect(again.status == 1)
        #expect(Self.digests(againReport, "missing").isEmpty)
        #expect(Self.digests(againReport, "matched").contains(d[1]))
        #expect(againReport?["repairs"]?.arrayValue?.isEmpty == true, "\(again.stdout)")
        #expect(Self.digests(againReport, "divergent") == [d[0]])
        #expect(try Self.psql(target, "SELECT count(*) FROM erp_purchase_order WHERE agreement_digest = '\(d[1])'") == "1")

        // 4. Usage and configuration errors exit 2.
        let (noConfig, _) = try Self.reconcile(gateway, ["--config", "nowhere.yaml"])
        #expect(noConfig.status == 2, "\(noConfig)")
        let (noReceipts, _) = try Self.reconcile(gateway, ["--receipts", "/nonexistent/receipts"])
        #expect(noReceipts.status == 2, "\(noReceipts)")
        #expect(noReceipts.stderr.contains("--receipts"), "\(noReceipts)")
    }
}
