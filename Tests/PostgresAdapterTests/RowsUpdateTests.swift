import AdapterKit
import AdapterKitTesting
import CausewayCore
import CausewayTesting
import Foundation
import PostgresAdapter
import Testing

/// Versions of one stahlteile agreement as rows actions: the first inserts, later ones update the
/// row it wrote (matched by `agreement_digest`), each with its own provenance record.
enum RowsVersions {
    /// A staging database with the version and status columns a change mapping writes (added here
    /// when the staging schema does not have them).
    static func database() async throws -> (adapter: PostgresRowsAdapter, url: String, first: Delivery, reference: LegacyReference) {
        let (adapter, url) = try await StagingDatabase.make()
        try await StagingDatabase.psql(url, "ALTER TABLE erp_purchase_order ADD COLUMN IF NOT EXISTS version integer, ADD COLUMN IF NOT EXISTS status text NOT NULL DEFAULT 'open'")
        let first = try StahlteileActions.action(fixture: "kilograms", nonce: "v1-" + UUID().uuidString)
        let outcome = await adapter.deliver(first)
        let reference = try #require(outcome.reference, "\(outcome)")
        return (adapter, url, first, reference)
    }

    /// Version `version` of `first` (``Delivery/rowsChange(version:set:lines:adapter:)``).
    static func change(_ first: Delivery, version: Int, set: [(String, CellValue)], lines: [Row]?) throws -> Delivery {
        try first.rowsChange(version: version, set: set, lines: lines, adapter: "test")
    }

    /// One line of the staging schema (po_id is linked by the adapter).
    static func line(_ number: Int, _ item: String, _ quantity: String, _ unit: String, _ price: String, _ amount: String) -> Row {
        Row([("line_no", .text(String(number), .integer)), ("item_code", .text(item)), ("description", .text("\(item) line \(number)")),
             ("quantity", .text(quantity, .decimal(precision: 14, scale: 3))), ("uom", .text(unit)),
             ("unit_price", .text(price, .decimal(precision: 14, scale: 4))), ("line_amount", .text(amount, .decimal(precision: 14, scale: 2)))])
    }

    /// Version 2: line 1's quantity and price change, line 2 goes, line 4 is new; the total follows.
    static func second(_ first: Delivery) throws -> Delivery {
        try change(first, version: 2, set: [("total_amount", .text("165.70", .decimal(precision: 14, scale: 2)))], lines: [
            line(1, "BRG-22205", "3.000", "KGM", "18.2000", "54.60"),
            line(3, "BRG-6205", "12.000", "PCE", "7.8500", "94.20"),
            line(4, "BRG-6206", "2.000", "PCE", "8.4500", "16.90"),
        ])
    }

    /// Version 3: a cancellation of version 2's terms, which lists no child table.
    static func cancellation(_ first: Delivery, version: Int = 3) throws -> Delivery {
        try change(first, version: version, set: [("total_amount", .text("165.70", .decimal(precision: 14, scale: 2))), ("status", .text("cancelled"))],
                   lines: nil)
    }
}

@Suite("PostgreSQL rows adapter: changes and cancellations update the first version's row")
struct PostgresRowsUpdateTests {
    static let lines = "SELECT line_no, item_code, quantity, unit_price, line_amount FROM erp_purchase_order_line ORDER BY line_no"

    @Test("a change updates the parent, replaces the lines and appends its provenance; applying it again writes nothing")
    func change() async throws {
        let (adapter, url, first, reference) = try await RowsVersions.database()
        let second = try RowsVersions.second(first)
        #expect(await adapter.lookup(second) == .notFound)

        let outcome = await adapter.deliver(second)
        #expect(outcome == .delivered(reference), "\(outcome)")
        let header = try await StagingDatabase.psql(url, """
            SELECT po_id, version, total_amount, status, jsonb_typeof(provenance), jsonb_array_length(provenance),
                   provenance->0->>'receiptId', provenance->1->>'receiptId', provenance->1->'agreement'->>'digest' FROM erp_purchase_order
            """)
        #expect(header == "\(reference.id)|2|165.70|open|array|2|\(first.provenance.receiptID)|\(second.provenance.receiptID)|\(second.agreementDigest)")
        #expect(try await StagingDatabase.psql(url, Self.lines)
            == "1|BRG-22205|3.000|18.2000|54.60\n3|BRG-6205|12.000|7.8500|94.20\n4|BRG-6206|2.000|8.4500|16.90")
        // The second record is the provenance exactly as an insert writes it.
        let record = try await StagingDatabase.psql(url, "SELECT provenance->1 = '\(String(decoding: second.provenance.canonicalBytes, as: UTF8.self))'::jsonb FROM erp_purchase_order")
        #expect(record == "t")

        // Again (a retry after a lost answer): delivered with the same reference, nothing written twice.
        let before = try await StagingDatabase.psql(url, "SELECT provenance::text, (SELECT count(*) FROM erp_purchase_order_line) FROM erp_purchase_order")
        #expect(await adapter.deliver(second) == .delivered(reference))
        #expect(try await StagingDatabase.psql(url, "SELECT provenance::text, (SELECT count(*) FROM erp_purchase_order_line) FROM erp_purchase_order") == before)
        #expect(await adapter.lookup(second) == .found(reference))
        #expect(await adapter.lookup(try RowsVersions.cancellation(first)) == .notFound)
    }

    @Test("two deliveries of the same change at once: the row is locked, so the second finds it applied and writes nothing")
    func concurrent() async throws {
        let (adapter, url, first, reference) = try await RowsVersions.database()
        let second = try RowsVersions.second(first)
        async let a = adapter.deliver(second)
        async let b = adapter.deliver(second)
        let outcomes = await [a, b]
        #expect(outcomes == [.delivered(reference), .delivered(reference)], "\(outcomes)")
        #expect(try await StagingDatabase.psql(url, "SELECT version, jsonb_array_length(provenance), (SELECT count(*) FROM erp_purchase_order_line) FROM erp_purchase_order")
            == "2|2|3")
    }

    @Test("a version gap is rejected; a cancellation sets the status and leaves the lines as they are")
    func gapAndCancellation() async throws {
        let (adapter, url, first, _) = try await RowsVersions.database()
        #expect(await adapter.deliver(try RowsVersions.second(first)).outcomeClass == .delivered)
        let lines = try await StagingDatabase.psql(url, Self.lines)

        let gap = await adapter.deliver(try RowsVersions.cancellation(first, version: 4))
        #expect(gap == .rejected("erp_purchase_order: version 3 is not applied to this row (it holds version 2); the gateway delivers versions in order, "
            + "so the row was changed outside Causeway"), "\(gap)")
        #expect(try await StagingDatabase.psql(url, "SELECT version, status FROM erp_purchase_order") == "2|open")

        let cancelled = await adapter.deliver(try RowsVersions.cancellation(first))
        #expect(cancelled.outcomeClass == .delivered, "\(cancelled)")
        #expect(try await StagingDatabase.psql(url, "SELECT version, status, total_amount, jsonb_array_length(provenance) FROM erp_purchase_order")
            == "3|cancelled|165.70|3")
        #expect(try await StagingDatabase.psql(url, Self.lines) == lines)
    }

    @Test("a row written before the table had versions counts as version 1")
    func nullVersion() async throws {
        let (adapter, url, first, _) = try await RowsVersions.database()
        #expect(try await StagingDatabase.psql(url, "SELECT version IS NULL, jsonb_typeof(provenance) FROM erp_purchase_order") == "t|object")
        #expect(await adapter.deliver(try RowsVersions.cancellation(first, version: 3)).outcomeClass == .rejected)
        #expect(await adapter.deliver(try RowsVersions.cancellation(first, version: 2)).outcomeClass == .delivered)
        #expect(try await StagingDatabase.psql(url, "SELECT version, status, jsonb_array_length(provenance) FROM erp_purchase_order") == "2|cancelled|2")
    }

    @Test("an update whose row is not there is rejected naming the table and the match column")
    func missingRow() async throws {
        let (adapter, url, first, _) = try await RowsVersions.database()
        let other = try StahlteileActions.action(fixture: "kilograms", nonce: "never-delivered")
        let orphan = try RowsVersions.change(other, version: 2, set: [], lines: nil)
        let outcome = await adapter.deliver(orphan)
        #expect(outcome == .rejected("the row the first version wrote is not in erp_purchase_order (agreement_digest = \(other.agreementDigest))"),
                "\(outcome)")
        #expect(await adapter.lookup(orphan) == .notFound)
        #expect(try await StagingDatabase.psql(url, "SELECT count(*), max(agreement_digest) FROM erp_purchase_order") == "1|\(first.agreementDigest)")
    }

    @Test("a value that does not fit rejects the update, and the transaction leaves the row at version 2")
    func rollback() async throws {
        let (adapter, url, first, _) = try await RowsVersions.database()
        #expect(await adapter.deliver(try RowsVersions.second(first)).outcomeClass == .delivered)
        let state = "SELECT version, total_amount, jsonb_array_length(provenance), (SELECT string_agg(line_no || ':' || quantity, ',' ORDER BY line_no) FROM erp_purchase_order_line) FROM erp_purchase_order"
        let before = try await StagingDatabase.psql(url, state)
        #expect(before == "2|165.70|2|1:3.000,3:12.000,4:2.000")

        // Text into an integer column: found before anything is written.
        let text = await adapter.deliver(try RowsVersions.change(first, version: 3, set: [("total_amount", .text("170.00", .decimal(precision: 14, scale: 2)))],
                                                             lines: [RowsVersions.line(1, "BRG-22205", "3.000", "KGM", "18.2000", "54.60"), Row([
                                                                 ("line_no", .text("two")), ("item_code", .text("X")), ("description", .text("X")),
                                                                 ("quantity", .text("1")), ("uom", .text("PCE")), ("unit_price", .text("1")),
                                                                 ("line_amount", .text("1")),
                                                             ])]))
        #expect(text == .rejected("erp_purchase_order_line.line_no: the value does not fit the column's type integer"), "\(text)")
        #expect(try await StagingDatabase.psql(url, state) == before)

        // A quantity beyond numeric(14,3): PostgreSQL refuses it at the line insert, after the parent's
        // update and the old lines' delete ran — all of it is rolled back.
        let overflow = await adapter.deliver(try RowsVersions.change(first, version: 3, set: [("total_amount", .text("170.00", .decimal(precision: 14, scale: 2)))],
                                                                 lines: [RowsVersions.line(1, "BRG-22205", "123456789012.000", "KGM", "1.0000", "1.00")]))
        #expect(overflow.outcomeClass == .rejected, "\(overflow)")
        #expect(overflow.reason?.contains("SQLSTATE 22003") == true, "\(overflow)")
        #expect(try await StagingDatabase.psql(url, state) == before)
        #expect(await adapter.lookup(try RowsVersions.cancellation(first)) == .notFound)
    }
}
