import AdapterKit
import AdapterKitTesting
import CausewayCore
import CausewayTesting
import Foundation
import SQLiteAdapter
import Testing

/// Versions of one stahlteile agreement against an SQLite file: the first inserts, later ones
/// update the row it wrote (matched by `agreement_digest`).
enum SQLiteRowsVersions {
    /// The staging twin with a version and a status column, STRICT so that SQLite checks types
    /// (a text in an integer column is refused, as PostgreSQL would).
    static let schema = """
        CREATE TABLE erp_purchase_order (
          po_id INTEGER PRIMARY KEY AUTOINCREMENT, external_ref TEXT NOT NULL, agreement_digest TEXT NOT NULL UNIQUE,
          supplier_code TEXT NOT NULL, order_date TEXT NOT NULL, currency TEXT NOT NULL,
          total_amount TEXT NOT NULL, incoterm TEXT, delivery_place TEXT, delivery_date TEXT,
          payment_terms TEXT, provenance TEXT NOT NULL, version INTEGER, status TEXT NOT NULL DEFAULT 'open') STRICT;
        CREATE TABLE erp_purchase_order_line (
          po_id INTEGER NOT NULL REFERENCES erp_purchase_order(po_id), line_no INTEGER NOT NULL,
          item_code TEXT NOT NULL, description TEXT NOT NULL, quantity TEXT NOT NULL,
          uom TEXT NOT NULL, unit_price TEXT NOT NULL, line_amount TEXT NOT NULL,
          PRIMARY KEY (po_id, line_no)) STRICT;
        """

    static func database() async throws -> (adapter: SQLiteRowsAdapter, path: String, first: Delivery, reference: LegacyReference) {
        let path = try CommandRunner.temporaryDirectory("sqlite-versions").appendingPathComponent("erp.sqlite").path
        let adapter = try SQLiteRowsAdapter(path: path)
        try adapter.execute(script: schema)
        let first = try stahlteileDelivery(fixture: "kilograms", nonce: "v1")
        let outcome = await adapter.deliver(first)
        let reference = try #require(outcome.reference, "\(outcome)")
        return (adapter, path, first, reference)
    }

    /// Version `version` of `first` (``Delivery/rowsChange(version:set:lines:adapter:)``).
    static func change(_ first: Delivery, version: Int, set: [(String, CellValue)], lines: [Row]?) throws -> Delivery {
        try first.rowsChange(version: version, set: set, lines: lines, adapter: "sqlite")
    }

    static func line(_ number: String, _ item: String, _ quantity: String, _ price: String, _ amount: String) -> Row {
        Row([("line_no", .text(number, .integer)), ("item_code", .text(item)), ("description", .text("\(item) line \(number)")),
             ("quantity", .text(quantity, .decimal(precision: 14, scale: 3))), ("uom", .text("PCE")),
             ("unit_price", .text(price, .decimal(precision: 14, scale: 4))), ("line_amount", .text(amount, .decimal(precision: 14, scale: 2)))])
    }

    /// Version 2: line 1's quantity and price change, line 2 goes, line 4 is new; the total follows.
    static func second(_ first: Delivery) throws -> Delivery {
        try change(first, version: 2, set: [("total_amount", .text("165.70", .decimal(precision: 14, scale: 2)))], lines: [
            line("1", "BRG-22205", "3.000", "18.2000", "54.60"), line("3", "BRG-6205", "12.000", "7.8500", "94.20"),
            line("4", "BRG-6206", "2.000", "8.4500", "16.90"),
        ])
    }

    /// A cancellation of version 2's terms, which lists no child table.
    static func cancellation(_ first: Delivery, version: Int = 3) throws -> Delivery {
        try change(first, version: version, set: [("total_amount", .text("165.70", .decimal(precision: 14, scale: 2))), ("status", .text("cancelled"))],
                   lines: nil)
    }

    /// Runs a query with the sqlite3 shell (Debian sqlite3, installed by scripts/test).
    static func query(_ path: String, _ sql: String) throws -> String {
        let result = try CommandRunner.run("/usr/bin/sqlite3", [path, sql])
        guard result.status == 0 else { throw MissingTestInput(path: "sqlite3", hint: result.stderr) }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

@Suite("SQLite rows adapter: changes and cancellations update the first version's row")
struct SQLiteRowsUpdateTests {
    static let lines = "SELECT line_no, item_code, quantity, unit_price, line_amount FROM erp_purchase_order_line ORDER BY line_no"
    static let state = "SELECT version, total_amount, status, json_array_length(provenance), "
        + "(SELECT group_concat(line_no || ':' || quantity, ',') FROM (SELECT * FROM erp_purchase_order_line ORDER BY line_no)) FROM erp_purchase_order"

    @Test("a change updates the parent, replaces the lines and appends its provenance; applying it again writes nothing")
    func change() async throws {
        let (adapter, path, first, reference) = try await SQLiteRowsVersions.database()
        let second = try SQLiteRowsVersions.second(first)
        #expect(await adapter.lookup(second) == .notFound)

        let outcome = await adapter.deliver(second)
        #expect(outcome == .delivered(reference), "\(outcome)")
        let header = try SQLiteRowsVersions.query(path, """
            SELECT po_id, version, total_amount, status, json_type(provenance), json_array_length(provenance), provenance ->> '$[0].receiptId',
                   provenance ->> '$[1].receiptId', provenance ->> '$[1].agreement.digest' FROM erp_purchase_order
            """)
        #expect(header == "\(reference.id)|2|165.70|open|array|2|\(first.provenance.receiptID)|\(second.provenance.receiptID)|\(second.agreementDigest)")
        #expect(try SQLiteRowsVersions.query(path, Self.lines)
            == "1|BRG-22205|3.000|18.2000|54.60\n3|BRG-6205|12.000|7.8500|94.20\n4|BRG-6206|2.000|8.4500|16.90")
        // Each record is the canonical JSON an insert writes, byte for byte.
        #expect(try SQLiteRowsVersions.query(path, "SELECT provenance FROM erp_purchase_order")
            == "[" + String(decoding: first.provenance.canonicalBytes, as: UTF8.self) + ","
            + String(decoding: second.provenance.canonicalBytes, as: UTF8.self) + "]")

        let before = try SQLiteRowsVersions.query(path, "SELECT provenance, (SELECT count(*) FROM erp_purchase_order_line) FROM erp_purchase_order")
        #expect(await adapter.deliver(second) == .delivered(reference))
        #expect(try SQLiteRowsVersions.query(path, "SELECT provenance, (SELECT count(*) FROM erp_purchase_order_line) FROM erp_purchase_order") == before)
        #expect(await adapter.lookup(second) == .found(reference))
        #expect(await adapter.lookup(try SQLiteRowsVersions.cancellation(first)) == .notFound)
    }

    @Test("a version gap is rejected; a cancellation sets the status and leaves the lines as they are")
    func gapAndCancellation() async throws {
        let (adapter, path, first, _) = try await SQLiteRowsVersions.database()
        #expect(await adapter.deliver(try SQLiteRowsVersions.second(first)).outcomeClass == .delivered)
        let lines = try SQLiteRowsVersions.query(path, Self.lines)

        let gap = await adapter.deliver(try SQLiteRowsVersions.cancellation(first, version: 4))
        #expect(gap == .rejected("erp_purchase_order: version 3 is not applied to this row (it holds version 2); the gateway delivers versions in order, "
            + "so the row was changed outside Causeway"), "\(gap)")
        #expect(try SQLiteRowsVersions.query(path, Self.state) == "2|165.70|open|2|1:3.000,3:12.000,4:2.000")

        let cancelled = await adapter.deliver(try SQLiteRowsVersions.cancellation(first))
        #expect(cancelled.outcomeClass == .delivered, "\(cancelled)")
        #expect(try SQLiteRowsVersions.query(path, Self.state) == "3|165.70|cancelled|3|1:3.000,3:12.000,4:2.000")
        #expect(try SQLiteRowsVersions.query(path, Self.lines) == lines)
    }

    @Test("an update whose row is not there is rejected naming the table and the match column")
    func missingRow() async throws {
        let (adapter, path, first, _) = try await SQLiteRowsVersions.database()
        let other = try stahlteileDelivery(fixture: "kilograms", nonce: "never-delivered")
        let orphan = try SQLiteRowsVersions.change(other, version: 2, set: [], lines: nil)
        let outcome = await adapter.deliver(orphan)
        #expect(outcome == .rejected("the row the first version wrote is not in erp_purchase_order (agreement_digest = \(other.agreementDigest))"),
                "\(outcome)")
        #expect(await adapter.lookup(orphan) == .notFound)
        #expect(try SQLiteRowsVersions.query(path, "SELECT count(*), max(agreement_digest), version IS NULL FROM erp_purchase_order")
            == "1|\(first.agreementDigest)|1")
    }

    @Test("text in an integer column rejects the update naming it, and the transaction leaves the row at version 2")
    func rollback() async throws {
        let (adapter, path, first, _) = try await SQLiteRowsVersions.database()
        #expect(await adapter.deliver(try SQLiteRowsVersions.second(first)).outcomeClass == .delivered)
        let before = try SQLiteRowsVersions.query(path, Self.state)
        #expect(before == "2|165.70|open|2|1:3.000,3:12.000,4:2.000")

        // The parent's update and the old lines' delete run before SQLite refuses the new line.
        let bad = try SQLiteRowsVersions.change(first, version: 3, set: [("total_amount", .text("170.00", .decimal(precision: 14, scale: 2)))],
                                                lines: [SQLiteRowsVersions.line("1", "BRG-22205", "3.000", "18.2000", "54.60"),
                                                        SQLiteRowsVersions.line("two", "X", "1.000", "1.0000", "1.00")])
        let outcome = await adapter.deliver(bad)
        #expect(outcome.outcomeClass == .rejected, "\(outcome)")
        #expect(outcome.reason?.contains("erp_purchase_order_line.line_no") == true, "\(outcome)")
        #expect(try SQLiteRowsVersions.query(path, Self.state) == before)
        #expect(await adapter.lookup(bad) == .notFound)
    }
}
