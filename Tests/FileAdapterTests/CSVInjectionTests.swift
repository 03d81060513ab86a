import AdapterKit
import CausewayCore
import CausewayTesting
import FileAdapter
import Foundation
import Testing

@Suite("File-drop adapter: CSV cells from agreements cannot become formulas or carry NUL")
struct CSVInjectionTests {
    static func rowsDelivery(_ cells: [(String, CellValue)], nonce: String) throws -> Delivery {
        let template = try MappedDeliveries.rows(nonce: nonce)
        let rows = RowsAction(table: "erp_purchase_order", key: ["agreement_digest"], returning: [], row: Row(cells), children: [])
        return MappedDeliveries.with(LegacyAction(index: 0, name: "po", target: "inbox", payload: .rows(rows)), like: template)
    }

    @Test("formula prefixes (= + - @ tab CR) get a leading quote; plain negative decimals stay numbers")
    func formulas() async throws {
        let (adapter, folder) = try dropFolder("csv")
        let values = ["=HYPERLINK(\"http://evil.example\",\"x\")", "+1+2", "-1+cmd|' /C calc'!A0", "@SUM(A1:A2)", "\tTAB", "\rCR",
                      "-12.50", "-3", "12.50", "a=b", "-", "-.5", "--1"]
        let delivery = try Self.rowsDelivery(values.enumerated().map { ("c\($0.offset)", .text($0.element)) }, nonce: "formula")
        let outcome = await adapter.deliver(delivery)
        let name = try #require(outcome.reference?.id, "\(outcome)")
        // Read the file back with Python's csv module, an independent RFC 4180 reader.
        let python = try PythonTool.path()
        let result = try CommandRunner.run(python, ["-c", """
            import csv, json, sys
            with open(sys.argv[1], newline='', encoding='utf-8') as f:
                print(json.dumps(list(csv.reader(f)), ensure_ascii=False))
            """, folder.appendingPathComponent(name).path])
        #expect(result.status == 0, "\(result)")
        let fields = try #require(try JSONReader().read(result.stdout)[1]?.arrayValue?.dropFirst().compactMap(\.stringValue))
        #expect(fields == ["'=HYPERLINK(\"http://evil.example\",\"x\")", "'+1+2", "'-1+cmd|' /C calc'!A0", "'@SUM(A1:A2)", "'\tTAB", "'\rCR",
                           "-12.50", "-3", "12.50", "a=b", "'-", "'-.5", "'--1"])
    }

    @Test("a NUL in a value is rejected naming the record and column; no file is written")
    func nul() async throws {
        let (adapter, folder) = try dropFolder("csv")
        let delivery = try Self.rowsDelivery([("external_ref", .text("PO-1")), ("note", .text("before\u{0}after"))], nonce: "nul")
        let outcome = await adapter.deliver(delivery)
        #expect(outcome.outcomeClass == .rejected, "\(outcome)")
        #expect(outcome.reason?.contains("erp_purchase_order[1].note") == true, "\(outcome)")
        #expect(outcome.reason?.contains("NUL") == true, "\(outcome)")
        #expect(try listing(folder).isEmpty)
    }
}
