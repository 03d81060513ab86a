import CausewayCore
import CausewayTesting
import Foundation
import Testing

/// The nordic-fasteners OrderChange and OrderCancellation subsets hold the UBL 2.1 rules the
/// gateway relies on: the golden change and cancellation validate, and documents breaking a rule
/// of the real schemas (a required element missing, one too many, the order of the sequence, the
/// wrong document) do not. Checked with libxml2's validator (`xmllint`, Debian libxml2-utils).
@Suite("UBL OrderChange and OrderCancellation subsets")
struct UBLRevisionSchemaTests {
    static let folder = TestPaths.repository.appendingPathComponent("Mappings/nordic-fasteners")

    /// The XML document of the golden `name`'s xml action.
    static func golden(_ name: String) throws -> String {
        let data = try Data(contentsOf: folder.appendingPathComponent("fixtures/expected/\(name).json"))
        let action = try JSONReader().read(Array(data))["actions"]?.arrayValue?.first { $0["kind"] == "xml" }
        return try #require(action?["xml"]?["document"]?.stringValue, "\(name) has no xml action")
    }

    /// xmllint's verdict on `document` against `schema` (a file in schemas/): exit status and messages.
    static func validate(_ document: String, _ schema: String) throws -> (valid: Bool, messages: String) {
        let xmllint = ["/usr/bin/xmllint", "/bin/xmllint"].first { FileManager.default.isExecutableFile(atPath: $0) }
        let tool = try #require(xmllint, "xmllint is missing: install libxml2-utils (scripts/test does)")
        let file = try CommandRunner.temporaryDirectory("ubl-revision").appendingPathComponent("document.xml")
        try Data(document.utf8).write(to: file)
        let result = try CommandRunner.run(tool, ["--noout", "--schema", folder.appendingPathComponent("schemas/\(schema)").path, file.path])
        return (result.status == 0, result.stderr)
    }

    static let change = "UBL-OrderChange-2.1-subset.xsd"
    static let cancellation = "UBL-OrderCancellation-2.1-subset.xsd"

    /// The golden change (OrderChange, version 2) and cancellation (OrderCancellation with the reason),
    /// each naming the original order, validate against their own subset and not against the other's.
    @Test("the golden OrderChange and OrderCancellation carry version or reason and the original order's id, and validate", arguments: [
        ("multi-line-change", change, "<cbc:SequenceNumberID>2</cbc:SequenceNumberID>", "UBL-Order-2.1-subset.xsd"),
        ("multi-line-cancel", cancellation, "<cbc:CancellationNote>projektet är uppskjutet</cbc:CancellationNote>", change),
    ])
    func goldenValidates(golden: String, schema: String, carries: String, notAlso: String) throws {
        let document = try Self.golden(golden)
        #expect(document.contains(carries))
        #expect(document.contains("<cac:OrderReference><cbc:ID>urn:uuid:4e7cde9a-4b7a-4c1e-9a51-000000000002</cbc:ID>"))
        let verdict = try Self.validate(document, schema)
        #expect(verdict.valid, "\(verdict.messages)")
        #expect(try !Self.validate(document, notAlso).valid, "\(golden) also validates against \(notAlso)")
    }

    /// Each edit of a valid golden breaks one UBL 2.1 rule; the message names the element.
    @Test("documents breaking a UBL 2.1 rule are refused, naming the element", arguments: [
        ("multi-line-change", "UBL-OrderChange-2.1-subset.xsd", "<cbc:SequenceNumberID>2</cbc:SequenceNumberID>", "", "SequenceNumberID"),
        ("multi-line-change", "UBL-OrderChange-2.1-subset.xsd", "<cbc:SequenceNumberID>2</cbc:SequenceNumberID>",
         "<cbc:SequenceNumberID>2</cbc:SequenceNumberID><cbc:SequenceNumberID>3</cbc:SequenceNumberID>", "SequenceNumberID"),
        ("multi-line-change", "UBL-OrderChange-2.1-subset.xsd", "<cac:OrderReference><cbc:ID>urn:uuid:4e7cde9a-4b7a-4c1e-9a51-000000000002</cbc:ID><cbc:IssueDate>2026-11-12</cbc:IssueDate></cac:OrderReference>",
         "", "OrderReference"),
        ("multi-line-cancel", "UBL-OrderCancellation-2.1-subset.xsd", "<cbc:CancellationNote>projektet är uppskjutet</cbc:CancellationNote>", "", "CancellationNote"),
        ("multi-line-cancel", "UBL-OrderCancellation-2.1-subset.xsd", "<cbc:CancellationNote>projektet är uppskjutet</cbc:CancellationNote>",
         "<cbc:CancellationNote>a</cbc:CancellationNote><cbc:CancellationNote>b</cbc:CancellationNote>", "CancellationNote"),
        ("multi-line-cancel", "UBL-OrderCancellation-2.1-subset.xsd", "<cbc:ID>urn:uuid:ec6c68be-4b7a-4c1e-9a51-000000000003</cbc:ID>", "", "IssueDate"),
    ])
    func broken(golden: String, schema: String, find: String, replace: String, named: String) throws {
        let document = try Self.golden(golden)
        #expect(document.contains(find), "the golden no longer has \(find)")
        let verdict = try Self.validate(document.replacingOccurrences(of: find, with: replace), schema)
        #expect(!verdict.valid, "\(golden) with \(find) → \(replace) validated")
        #expect(verdict.messages.contains(named), "\(verdict.messages)")
    }

    @Test("the OrderReference moved after the parties breaks the sequence of OrderChange")
    func sequenceOrder() throws {
        let document = try Self.golden("multi-line-change")
        let reference = try #require(document.range(of: "<cac:OrderReference>.*?</cac:OrderReference>", options: .regularExpression))
        let moved = document.replacingCharacters(in: reference, with: "")
            .replacingOccurrences(of: "</cac:SellerSupplierParty>", with: "</cac:SellerSupplierParty>" + document[reference])
        let verdict = try Self.validate(moved, Self.change)
        #expect(!verdict.valid)
        #expect(verdict.messages.contains("OrderReference"), "\(verdict.messages)")
    }
}
