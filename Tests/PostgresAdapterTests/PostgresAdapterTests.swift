import AdapterKit
import AdapterKitTesting
import CausewayCore
import CausewayMapping
import CausewayTesting
import Foundation
import PostgresAdapter
import PostgresNIO
import Testing

/// A fresh database with the reference ERP staging schema, on the cluster scripts/test starts.
enum StagingDatabase {
    static func make() async throws -> (adapter: PostgresRowsAdapter, url: String) {
        guard let admin = ProcessInfo.processInfo.environment["CAUSEWAY_TEST_POSTGRES"] else {
            throw MissingTestInput(path: "CAUSEWAY_TEST_POSTGRES", hint: "the PostgreSQL adapter tests need the cluster that scripts/test starts")
        }
        let name = "causeway_staging_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        try await psql(admin, "CREATE DATABASE \(name)")
        let url = admin.replacingOccurrences(of: "/postgres", with: "/\(name)")
        let schema = try String(contentsOf: TestPaths.repository.appendingPathComponent("Deploy/examples/erp-staging.sql"), encoding: .utf8)
        try await psql(url, schema)
        let settings = try PostgresRowsAdapter.descriptor.schema.validate(["url": url], prefix: "targets.erp-staging").get()
        let adapter = try PostgresRowsAdapter(settings: settings, password: nil)
        Task { await adapter.run() }
        return (adapter, url)
    }

    /// Runs SQL with the psql client (test setup and inspection only).
    @discardableResult
    static func psql(_ url: String, _ sql: String) async throws -> String {
        let result = try CommandRunner.run("/usr/bin/psql", [url, "-v", "ON_ERROR_STOP=1", "-Atq", "-c", sql])
        guard result.status == 0 else { throw MissingTestInput(path: "psql", hint: result.stderr) }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// Actions of the stahlteile mapping for its fixture agreements, with fresh digests on demand.
enum StahlteileActions {
    static let folder = TestPaths.repository.appendingPathComponent("Mappings/stahlteile")

    static func action(fixture: String = "multi-line", nonce: String) throws -> Delivery {
        let partner = try PartnerConfiguration.load(folder: folder)
        let mapping = try partner.loadMappings()[0]
        let bytes = Array(try Data(contentsOf: folder.appendingPathComponent("fixtures/agreements/\(fixture).json")))
        let agreement = try Agreement(bytes: bytes)
        // A distinct digest per nonce: each delivery is a different agreement for the target.
        let digest = ContentDigest(of: agreement.digest.bytes + Array(nonce.utf8))
        let result = mapping.map(.object(agreement.document), context: MappingContext(digest: digest, partner: "stahlteile"))
        let action = try #require(result.actions.first)
        let provenance = ProvenanceRecord(
            receiptID: "urn:uuid:\(UUID().uuidString.lowercased())", generated: "2026-11-22T10:00:00.000Z", action: action,
            adapter: "postgresql", agreementID: agreement.id!, agreementType: "PurchaseAgreement", agreementDigest: digest, signers: [],
            plan: .init(partner: "stahlteile", mapping: mapping.id, version: mapping.version, digest: mapping.digest, actionIndex: 0),
            gateway: "did:key:z6MkTest", software: "causeway-test")
        return Delivery(agreementDigest: digest, agreementID: agreement.id!, action: action, provenance: provenance, signedAgreement: bytes)
    }
}

@Suite("PostgreSQL rows adapter against a real PostgreSQL")
struct PostgresAdapterTests {
    @Test("passes the adapter conformance suite")
    func conformance() async throws {
        let (adapter, _) = try await StagingDatabase.make()
        var counter = 0
        let failures = await AdapterConformance.run(adapter) {
            counter += 1
            return try! StahlteileActions.action(nonce: "conformance-\(counter)")
        }
        #expect(failures.isEmpty, "\(failures)")
    }

    @Test("a batch answers as one delivery at a time would: each delivered once, a refused one alone, in one transaction when all succeed")
    func batches() async throws {
        let (adapter, url) = try await StagingDatabase.make()
        var counter = 0
        let failures = await AdapterConformance.runBatch(adapter, makeDelivery: {
            counter += 1
            return try! StahlteileActions.action(nonce: "batch-\(counter)")
        }, makeRejected: {
            counter += 1
            return try! StahlteileActions.action(nonce: "refused-\(counter)").settingCell("order_date", to: .text("14.11.2026", .text))
        })
        #expect(failures.isEmpty, "\(failures)")
        // 5 + 1 new + 2 beside the refused one; the refused ones wrote nothing; every order has its 4 lines and its provenance.
        #expect(try await StagingDatabase.psql(url, "SELECT count(*), count(provenance) FROM erp_purchase_order") == "8|8")
        #expect(try await StagingDatabase.psql(url, "SELECT count(*) FROM erp_purchase_order_line") == "32")
        // A batch that commits is one transaction: its orders share the writing transaction's id.
        let together = (0..<4).map { try! StahlteileActions.action(nonce: "together-\($0)") }
        let outcomes = await adapter.deliverBatch(together)
        #expect(outcomes.allSatisfy { $0.outcomeClass == .delivered }, "\(outcomes)")
        let ids = outcomes.compactMap(\.reference?.id).joined(separator: ",")
        #expect(try await StagingDatabase.psql(url, "SELECT count(DISTINCT xmin::text) FROM erp_purchase_order WHERE po_id IN (\(ids))") == "1")
        // Orders of one shape share their statements: one insert for the orders, one for all their
        // lines (rows one statement wrote share its command id, cmin) — each line under its own order.
        #expect(try await StagingDatabase.psql(url, "SELECT count(DISTINCT cmin::text) FROM erp_purchase_order WHERE po_id IN (\(ids))") == "1")
        #expect(try await StagingDatabase.psql(url, "SELECT count(DISTINCT cmin::text), count(*) FROM erp_purchase_order_line WHERE po_id IN (\(ids))")
            == "1|\(together.count * 4)")
        for (delivery, outcome) in zip(together, outcomes) {
            let id = try #require(outcome.reference?.id)
            #expect(try await StagingDatabase.psql(url, """
                SELECT o.agreement_digest, o.provenance->>'idempotencyKey', count(l.*) FROM erp_purchase_order o
                JOIN erp_purchase_order_line l ON l.po_id = o.po_id WHERE o.po_id = \(id) GROUP BY 1, 2
                """) == "\(delivery.agreementDigest)|\(delivery.idempotencyKey)|4")
        }
    }

    @Test("a batch's rows, carried as one JSON parameter, hold exactly what one delivery at a time writes: quotes, backslashes, non-ASCII, NULL")
    func batchValuesAsAlone() async throws {
        let (adapter, url) = try await StagingDatabase.make()
        let awkward: [(String, CellValue)] = [
            ("incoterm", .text(#"FCA "Werk" \ 'Tor' 3"#)), ("delivery_place", .text("Zürich — 北京 \u{1F69A}\n\ttab")),
            ("payment_terms", .null(.text)), ("delivery_date", .null(.date)),
        ]
        func awkwardDelivery(_ nonce: String) throws -> Delivery {
            try awkward.reduce(try StahlteileActions.action(nonce: nonce)) { $0.settingCell($1.0, to: $1.1) }
        }
        let alone = await adapter.deliver(try awkwardDelivery("alone"))
        let together = await adapter.deliverBatch(try (0..<3).map { try awkwardDelivery("together-\($0)") })
        let ids = try together.map { try #require($0.reference?.id, "\(together)") }
        let aloneID = try #require(alone.reference?.id, "\(alone)")
        // The three were written by one statement (one command id), not one at a time.
        #expect(try await StagingDatabase.psql(url, "SELECT count(DISTINCT cmin::text) FROM erp_purchase_order WHERE po_id IN (\(ids.joined(separator: ",")))") == "1")
        let columns = "supplier_code, order_date, currency, total_amount, incoterm, delivery_place, delivery_date IS NULL, payment_terms IS NULL"
        let expected = try await StagingDatabase.psql(url, "SELECT \(columns) FROM erp_purchase_order WHERE po_id = \(aloneID)")
        #expect(expected.contains("|FCA \"Werk\" \\ 'Tor' 3|Zürich — 北京 \u{1F69A}\n\ttab|") && expected.hasSuffix("|t|t"), "\(expected)")
        let lines = "SELECT string_agg(line_no || ':' || item_code || ':' || description || ':' || quantity || ':' || uom || ':' || unit_price || ':' || line_amount, ';' ORDER BY line_no) FROM erp_purchase_order_line WHERE po_id = "
        let expectedLines = try await StagingDatabase.psql(url, lines + aloneID)
        for id in ids {
            #expect(try await StagingDatabase.psql(url, "SELECT \(columns) FROM erp_purchase_order WHERE po_id = \(id)") == expected)
            #expect(try await StagingDatabase.psql(url, lines + id) == expectedLines)
        }
    }

    @Test("writes the purchase order, its numbered lines and the provenance in one transaction")
    func writesRows() async throws {
        let (adapter, url) = try await StagingDatabase.make()
        let delivery = try StahlteileActions.action(fixture: "kilograms", nonce: "rows")
        let outcome = await adapter.deliver(delivery)
        #expect(outcome.outcomeClass == .delivered, "\(outcome)")
        let poID = try #require(outcome.reference?.id)
        #expect(outcome.reference?.kind == "erp_purchase_order")
        let header = try await StagingDatabase.psql(url, """
            SELECT supplier_code, order_date, total_amount, agreement_digest, provenance->>'idempotencyKey' FROM erp_purchase_order WHERE po_id = \(poID)
            """)
        #expect(header == "V-1001|2026-11-14|144.99|\(delivery.agreementDigest)|\(delivery.idempotencyKey)")
        let lines = try await StagingDatabase.psql(url, "SELECT line_no, item_code, quantity, uom, line_amount FROM erp_purchase_order_line WHERE po_id = \(poID) ORDER BY line_no")
        #expect(lines == "1|BRG-22205|2.500|KGM|46.18\n2|BRG-22205|0.250|KGM|4.62\n3|BRG-6205|12.000|PCE|94.20")
    }

    @Test("a retry after a lost answer finds the row instead of writing twice")
    func lookupAndRetry() async throws {
        let (adapter, url) = try await StagingDatabase.make()
        let delivery = try StahlteileActions.action(nonce: "retry")
        #expect(await adapter.lookup(delivery) == .notFound)
        let first = await adapter.deliver(delivery)
        #expect(await adapter.lookup(delivery) == .found(first.reference!))
        #expect(await adapter.deliver(delivery).reference == first.reference)
        #expect(try await StagingDatabase.psql(url, "SELECT count(*) FROM erp_purchase_order") == "1")
        #expect(try await StagingDatabase.psql(url, "SELECT count(*) FROM erp_purchase_order_line") == "4")
    }

    @Test("values that do not fit are rejected naming the column, and nothing is written")
    func rejections() async throws {
        let (adapter, url) = try await StagingDatabase.make()
        let good = try StahlteileActions.action(nonce: "bad")
        guard case .rows(let rows) = good.action.payload else { Issue.record("not rows"); return }
        func with(_ column: String, _ value: CellValue) -> Delivery {
            var cells: [(column: String, value: CellValue)] = rows.row.cells.map { $0.column == column ? ($0.column, value) : $0 }
            if !cells.contains(where: { $0.column == column }) { cells.append((column, value)) }
            let action = LegacyAction(index: 0, name: "purchase-order", target: "erp-staging", payload: .rows(RowsAction(
                table: rows.table, key: rows.key, returning: rows.returning, row: Row(cells), children: rows.children,
                provenanceColumn: rows.provenanceColumn)))
            return Delivery(agreementDigest: good.agreementDigest, agreementID: good.agreementID, action: action, provenance: good.provenance,
                            signedAgreement: good.signedAgreement)
        }
        var outcome = await adapter.deliver(with("order_date", .text("14.11.2026", .text)))
        #expect(outcome.outcomeClass == .rejected)
        #expect(outcome.reason?.contains("erp_purchase_order.order_date") == true)
        outcome = await adapter.deliver(with("total_amount", .text("1234567890123456.00", .decimal(precision: 18, scale: 2))))
        #expect(outcome.outcomeClass == .rejected)
        #expect(outcome.reason?.contains("SQLSTATE 22003") == true, "\(outcome)")
        outcome = await adapter.deliver(with("no_such_column", .text("x")))
        #expect(outcome.outcomeClass == .rejected)
        #expect(try await StagingDatabase.psql(url, "SELECT count(*) FROM erp_purchase_order") == "0")
    }

    @Test("a stopped database is retryable, not rejected")
    func unreachable() async throws {
        var configuration = PostgresClient.Configuration(host: "127.0.0.1", port: 1, username: "nobody", password: nil, database: "x", tls: .disable)
        configuration.options.connectTimeout = .seconds(2)
        let adapter = PostgresRowsAdapter(configuration: configuration, timeout: .seconds(3))
        let runner = Task { await adapter.run() }
        defer { runner.cancel() }
        let delivery = try StahlteileActions.action(nonce: "down")
        let outcome = await adapter.deliver(delivery)
        #expect(outcome.outcomeClass == .retryable || outcome.outcomeClass == .unknown, "\(outcome)")
        #expect(await adapter.lookup(delivery) != .notFound)
    }
}
