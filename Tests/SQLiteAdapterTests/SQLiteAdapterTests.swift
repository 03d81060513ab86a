import AdapterKit
import AdapterKitTesting
import CausewayCore
import CausewayMapping
import CausewayTesting
import Foundation
import SQLiteAdapter
import Testing

func stagingAdapter() throws -> (SQLiteRowsAdapter, String) {
    let path = try CommandRunner.temporaryDirectory("sqlite-staging").appendingPathComponent("erp.sqlite").path
    let adapter = try SQLiteRowsAdapter(path: path)
    try adapter.execute(script: try String(contentsOf: TestPaths.repository.appendingPathComponent("Deploy/examples/erp-staging.sqlite.sql"),
                                           encoding: .utf8))
    return (adapter, path)
}

func stahlteileDelivery(fixture: String = "multi-line", nonce: String) throws -> Delivery {
    let folder = TestPaths.repository.appendingPathComponent("Mappings/stahlteile")
    let mapping = try PartnerConfiguration.load(folder: folder).loadMappings()[0]
    let bytes = Array(try Data(contentsOf: folder.appendingPathComponent("fixtures/agreements/\(fixture).json")))
    let agreement = try Agreement(bytes: bytes)
    let digest = ContentDigest(of: agreement.digest.bytes + Array(nonce.utf8))
    let action = try #require(mapping.map(.object(agreement.document), context: MappingContext(digest: digest, partner: "stahlteile")).actions.first)
    let provenance = ProvenanceRecord(
        receiptID: "urn:uuid:\(UUID().uuidString.lowercased())", generated: "2026-11-22T10:00:00.000Z", action: action, adapter: "sqlite",
        agreementID: agreement.id!, agreementType: "PurchaseAgreement", agreementDigest: digest, signers: [],
        plan: .init(partner: "stahlteile", mapping: mapping.id, version: mapping.version, digest: mapping.digest, actionIndex: 0),
        gateway: "did:key:z6MkTest", software: "causeway-test")
    return Delivery(agreementDigest: digest, agreementID: agreement.id!, action: action, provenance: provenance, signedAgreement: bytes)
}

@Suite("SQLite rows adapter (the embedded twin)")
struct SQLiteAdapterTests {
    @Test("passes the adapter conformance suite")
    func conformance() async throws {
        let (adapter, _) = try stagingAdapter()
        var counter = 0
        let failures = await AdapterConformance.run(adapter) {
            counter += 1
            return try! stahlteileDelivery(nonce: "c\(counter)")
        }
        #expect(failures.isEmpty, "\(failures)")
    }

    @Test("a batch answers as one delivery at a time would: each delivered once, a refused one alone")
    func batches() async throws {
        let (adapter, path) = try stagingAdapter()
        var counter = 0
        let failures = await AdapterConformance.runBatch(adapter, makeDelivery: {
            counter += 1
            return try! stahlteileDelivery(nonce: "batch-\(counter)")
        }, makeRejected: {
            counter += 1
            return try! stahlteileDelivery(nonce: "refused-\(counter)").settingCell("supplier_code", to: .null(.text))
        })
        #expect(failures.isEmpty, "\(failures)")
        let sqlite = "/usr/bin/sqlite3"
        try #require(FileManager.default.isExecutableFile(atPath: sqlite), "sqlite3 is missing: scripts/test installs it")
        // 5 + 1 new + 2 beside the refused one; the refused ones wrote nothing; every order has its 4 lines.
        #expect(try CommandRunner.run(sqlite, [path, "SELECT count(*), count(provenance) FROM erp_purchase_order"]).stdout == "8|8\n")
        #expect(try CommandRunner.run(sqlite, [path, "SELECT count(*) FROM erp_purchase_order_line"]).stdout == "32\n")
    }

    @Test("writes the order, its lines with exact decimal text, and the provenance; a retry writes nothing more")
    func writes() async throws {
        let (adapter, path) = try stagingAdapter()
        let delivery = try stahlteileDelivery(fixture: "kilograms", nonce: "w")
        let outcome = await adapter.deliver(delivery)
        #expect(outcome.outcomeClass == .delivered, "\(outcome)")
        #expect(await adapter.deliver(delivery).reference == outcome.reference)
        // Inspect with the sqlite3 shell (Debian sqlite3, installed by scripts/test).
        let sqlite = "/usr/bin/sqlite3"
        try #require(FileManager.default.isExecutableFile(atPath: sqlite), "sqlite3 is missing: scripts/test installs it")
        var r = try CommandRunner.run(sqlite, [path, "SELECT line_no, quantity, line_amount FROM erp_purchase_order_line ORDER BY line_no"])
        #expect(r.stdout == "1|2.500|46.18\n2|0.250|4.62\n3|12.000|94.20\n")
        r = try CommandRunner.run(sqlite, [path, "SELECT count(*), json_extract(provenance, '$.idempotencyKey') FROM erp_purchase_order"])
        #expect(r.stdout == "1|\(delivery.idempotencyKey)\n")
    }

    @Test("a missing column is rejected naming it")
    func missingColumn() async throws {
        let (adapter, _) = try stagingAdapter()
        let good = try stahlteileDelivery(nonce: "m")
        guard case .rows(let rows) = good.action.payload else { Issue.record("not rows"); return }
        let action = LegacyAction(index: 0, name: "po", target: "erp-staging", payload: .rows(RowsAction(
            table: rows.table, key: rows.key, returning: rows.returning, row: Row(rows.row.cells + [("colour", .text("blue"))]),
            children: rows.children, provenanceColumn: rows.provenanceColumn)))
        let outcome = await adapter.deliver(Delivery(agreementDigest: good.agreementDigest, agreementID: good.agreementID, action: action,
                                                     provenance: good.provenance, signedAgreement: []))
        #expect(outcome.outcomeClass == .rejected)
        #expect(outcome.reason == "erp_purchase_order.colour: no such column")
    }
}

@Suite("SQLite rows adapter: an unwritable database is retried, not dead-lettered")
struct SQLiteReadOnlyTests {
    /// Makes the file unwritable for this process: mode 0444, and for root (whom modes do not
    /// stop) the immutable attribute.
    static func setWritable(_ path: String, _ writable: Bool) throws {
        if writable, geteuid() == 0 { try chattr("-i", path) }
        try FileManager.default.setAttributes([.posixPermissions: writable ? 0o644 : 0o444], ofItemAtPath: path)
        if !writable, geteuid() == 0 { try chattr("+i", path) }
    }

    static func chattr(_ flag: String, _ path: String) throws {
        let chattr = try CommandRunner.run("/usr/bin/chattr", [flag, path])
        try #require(chattr.status == 0, "chattr (needed as root to make a file read-only): \(chattr)")
    }

    @Test("a read-only database file answers retryable; once writable, the same adapter delivers")
    func readOnlyThenWritable() async throws {
        let (setup, path) = try stagingAdapter()
        _ = setup
        try Self.setWritable(path, false)
        defer { try? Self.setWritable(path, true) }
        let adapter = try SQLiteRowsAdapter(path: path)
        let delivery = try stahlteileDelivery(nonce: "read-only")
        let first = await adapter.deliver(delivery)
        #expect(first.outcomeClass == .retryable, "\(first)")
        #expect(first.reason?.contains("SQLITE_READONLY") == true, "\(first)")
        #expect(await adapter.deliver(delivery).outcomeClass == .retryable)
        try Self.setWritable(path, true)
        let later = await adapter.deliver(delivery)
        #expect(later.outcomeClass == .delivered, "\(later)")
        let count = try CommandRunner.run("/usr/bin/sqlite3", [path, "SELECT count(*) FROM erp_purchase_order"])
        #expect(count.stdout == "1\n")
    }
}
