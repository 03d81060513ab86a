import AdapterKit
import AdapterKitTesting
import CausewayCore
import CausewayTesting
import FileAdapter
import Foundation
import Testing

/// A drop folder in a fresh temporary directory and an adapter writing into it.
func dropFolder(_ format: String, provenance: Bool = false, extra: [String: String] = [:]) throws -> (FileDropAdapter, URL) {
    let folder = try CommandRunner.temporaryDirectory("file-drop")
    var raw = ["folder": folder.path, "format": format, "provenance": provenance ? "true" : "false"]
    for (key, value) in extra { raw[key] = value }
    let settings = try FileDropAdapter.descriptor.schema.validate(raw, prefix: "targets.inbox").get()
    return (try FileDropAdapter(settings: settings), folder)
}

func contents(_ url: URL) throws -> [UInt8] { Array(try Data(contentsOf: url)) }

@Suite("File-drop adapter, on real files in a temporary folder")
struct FileAdapterTests {
    @Test("passes the conformance suite in each format", arguments: ["xml", "json", "csv"])
    func conformance(format: String) async throws {
        let (adapter, folder) = try dropFolder(format, provenance: true)
        var counter = 0
        let failures = await AdapterConformance.run(adapter) {
            counter += 1
            let nonce = "conformance-\(format)-\(counter)"
            return format == "xml" ? try! MappedDeliveries.ublOrder(nonce: nonce) : try! MappedDeliveries.rows(nonce: nonce)
        }
        #expect(failures.isEmpty, "\(failures)")
        // Three keys were delivered (first, second, racing): three files and three provenance files, no temporaries.
        let names = try listing(folder)
        #expect(names.count == 6, "\(names)")
        #expect(names.allSatisfy { !$0.hasPrefix(".") }, "\(names)")
    }

    @Test("writes the nordic-fasteners UBL order as its XML document, named by digest and index")
    func ublOrder() async throws {
        let (adapter, folder) = try dropFolder("xml")
        let delivery = try MappedDeliveries.ublOrder(nonce: "ubl")
        let outcome = await adapter.deliver(delivery)
        let name = "orders-sha256-\(delivery.agreementDigest.hex)-1.xml"
        #expect(outcome == .delivered(LegacyReference(system: "file", kind: "xml", id: name)), "\(outcome)")
        #expect(try listing(folder) == [name])
        guard case .xml(let xml) = delivery.action.payload else { Issue.record("not an xml action"); return }
        let bytes = try contents(folder.appendingPathComponent(name))
        #expect(bytes == Array(XMLSerializer.document(xml).utf8))
        // An independent XML parser reads it: the root element and the order id in their namespaces.
        let python = try PythonTool.path()
        let result = try CommandRunner.run(python, ["-c", """
            import sys, xml.etree.ElementTree as E
            root = E.parse(sys.argv[1]).getroot()
            cbc = '{urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2}'
            print(root.tag)
            print(root.find(cbc + 'ID').text)
            print(root.find(cbc + 'DocumentCurrencyCode').text)
            """, folder.appendingPathComponent(name).path])
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout == "{urn:oasis:names:specification:ubl:schema:xsd:Order-2}Order\nurn:uuid:359caea0-4b7a-4c1e-9a51-000000000001\nSEK\n")
    }

    @Test("a retry and a later attempt report the same file and make no second one; lookup finds it")
    func retryWritesOnce() async throws {
        let (adapter, folder) = try dropFolder("json", provenance: true)
        let delivery = try MappedDeliveries.purchaseOrder(nonce: "retry")
        #expect(await adapter.lookup(delivery) == .notFound)
        let first = await adapter.deliver(delivery)
        let reference = try #require(first.reference)
        let later = Delivery(agreementDigest: delivery.agreementDigest, agreementID: delivery.agreementID, action: delivery.action,
                             provenance: delivery.provenance, signedAgreement: delivery.signedAgreement, attempt: 3)
        #expect(await adapter.deliver(delivery) == .delivered(reference))
        #expect(await adapter.deliver(later) == .delivered(reference))
        #expect(await adapter.lookup(delivery) == .found(reference))
        #expect(try listing(folder) == [reference.id, reference.id + ".provenance.json"])
    }

    @Test("a writer that crashed between the temporary write and the link leaves nothing visible; the next lookup and delivery clean up")
    func crashLeftovers() async throws {
        let (adapter, folder) = try dropFolder("csv")
        let delivery = try MappedDeliveries.rows(nonce: "crash")
        let name = "sha256-\(delivery.agreementDigest.hex)-0.csv"
        let leftover = folder.appendingPathComponent(".\(name).0b7e1f0c-crashed.tmp")
        try Data("record,external_ref\r\nerp_purchase_order,urn:uu".utf8).write(to: leftover)
        #expect(await adapter.lookup(delivery) == .notFound)
        #expect(try listing(folder).isEmpty, "lookup removes the crashed writer's temporary file")
        try Data("record,ext".utf8).write(to: leftover)
        let outcome = await adapter.deliver(delivery)
        #expect(outcome == .delivered(LegacyReference(system: "file", kind: "csv", id: name)), "\(outcome)")
        #expect(try listing(folder) == [name])
        let text = String(decoding: try contents(folder.appendingPathComponent(name)), as: UTF8.self)
        #expect(text.hasPrefix("record,external_ref,"), "\(text)")
        #expect(text.hasSuffix("\r\n"))
    }

    @Test("an existing file of the same name with other content is a conflict, rejected and left alone")
    func conflict() async throws {
        let (adapter, folder) = try dropFolder("xml")
        let delivery = try MappedDeliveries.ublOrder(nonce: "conflict")
        let path = folder.appendingPathComponent("orders-sha256-\(delivery.agreementDigest.hex)-1.xml")
        try Data("<Order/>".utf8).write(to: path)
        let outcome = await adapter.deliver(delivery)
        #expect(outcome.outcomeClass == .rejected)
        #expect(outcome.reason?.contains("already exists with different content") == true, "\(outcome)")
        #expect(try contents(path) == Array("<Order/>".utf8))
        #expect(try listing(folder).count == 1)
    }

    @Test("CSV: header and records for parent and child rows, RFC 4180 quoting of commas, quotes and line breaks, Unicode as UTF-8")
    func csvQuoting() async throws {
        let (adapter, folder) = try dropFolder("csv")
        let template = try MappedDeliveries.rows(nonce: "csv")
        let rows = RowsAction(
            table: "erp_purchase_order", key: ["agreement_digest"], returning: ["po_id"],
            row: Row([("external_ref", .text("PO-7, \"Tampere\"")), ("total_amount", .text("6007.30", .decimal(precision: 14, scale: 2))),
                      ("note", .null(.text)), ("delivery_place", .text("Tampere, FI\nHalli 3"))]),
            children: [ChildRows(table: "erp_purchase_order_line", links: [("external_ref", "external_ref"), ("po_id", "po_id")], rows: [
                Row([("line_no", .text("1", .integer)), ("description", .text("Sechskantschraube M8×40 — Ø 8 mm")),
                     ("quantity", .text("500.000", .decimal(precision: 14, scale: 3)))]),
                Row([("line_no", .text("2", .integer)), ("description", .text("Mutter \"DIN 934\"\r\nverzinkt")),
                     ("quantity", .text("0.250", .decimal(precision: 14, scale: 3)))]),
            ])])
        let delivery = MappedDeliveries.with(LegacyAction(index: 0, name: "po", target: "inbox", payload: .rows(rows)), like: template)
        let outcome = await adapter.deliver(delivery)
        let name = try #require(outcome.reference?.id, "\(outcome)")
        let text = String(decoding: try contents(folder.appendingPathComponent(name)), as: UTF8.self)
        let expected = "record,external_ref,total_amount,note,delivery_place,line_no,description,quantity\r\n"
            + "erp_purchase_order,\"PO-7, \"\"Tampere\"\"\",6007.30,,\"Tampere, FI\nHalli 3\",,,\r\n"
            + "erp_purchase_order_line,\"PO-7, \"\"Tampere\"\"\",,,,1,Sechskantschraube M8×40 — Ø 8 mm,500.000\r\n"
            + "erp_purchase_order_line,\"PO-7, \"\"Tampere\"\"\",,,,2,\"Mutter \"\"DIN 934\"\"\r\nverzinkt\",0.250\r\n"
        #expect(text == expected)
        // Python's csv module, an independent RFC 4180 reader, gets the fields back exactly.
        let python = try PythonTool.path()
        let result = try CommandRunner.run(python, ["-c", """
            import csv, json, sys
            with open(sys.argv[1], newline='', encoding='utf-8') as f:
                print(json.dumps(list(csv.reader(f)), ensure_ascii=False))
            """, folder.appendingPathComponent(name).path])
        #expect(result.status == 0, "\(result)")
        let parsed = try JSONReader().read(result.stdout)
        #expect(parsed[1]?[1]?.stringValue == "PO-7, \"Tampere\"")
        #expect(parsed[1]?[4]?.stringValue == "Tampere, FI\nHalli 3")
        #expect(parsed[2]?[6]?.stringValue == "Sechskantschraube M8×40 — Ø 8 mm")
        #expect(parsed[3]?[6]?.stringValue == "Mutter \"DIN 934\"\r\nverzinkt")
        #expect(parsed.arrayValue?.allSatisfy { $0.arrayValue?.count == 8 } == true)
    }

    @Test("CSV with a semicolon separator, and a purchase order as order and line records")
    func csvPurchaseOrder() async throws {
        let (adapter, folder) = try dropFolder("csv", extra: ["csv_delimiter": ";", "prefix": "po-"])
        let delivery = try MappedDeliveries.purchaseOrder(nonce: "csv-po")
        let outcome = await adapter.deliver(delivery)
        let name = try #require(outcome.reference?.id, "\(outcome)")
        #expect(name == "po-sha256-\(delivery.agreementDigest.hex)-0.csv")
        let text = String(decoding: try contents(folder.appendingPathComponent(name)), as: UTF8.self)
        #expect(text == "record;supplier;reference;currency;order_date;workflow;line_no;product;quantity;unit;unit_price;description\r\n"
            + "purchase_order;NF-SE-01;urn:uuid:359caea0-4b7a-4c1e-9a51-000000000001;SEK;2026-11-11;confirm;;;;;;\r\n"
            + "line;;;;;;1;FAST-M8X40;500.000;u;1.3500;Sechskantschraube M8×40, A2-70\r\n")
    }

    @Test("JSON: parses, carries the key and agreement, and every decimal as its exact text")
    func json() async throws {
        let (adapter, folder) = try dropFolder("json")
        let delivery = try MappedDeliveries.rows(nonce: "json")
        let outcome = await adapter.deliver(delivery)
        let name = try #require(outcome.reference?.id, "\(outcome)")
        #expect(name.hasSuffix("-0.json"))
        let bytes = try contents(folder.appendingPathComponent(name))
        let document = try JSONReader().read(bytes)
        #expect(document["idempotencyKey"]?.stringValue == delivery.idempotencyKey)
        #expect(document["agreement"]?["digest"]?.stringValue == delivery.agreementDigest.description)
        #expect(document["kind"]?.stringValue == "rows")
        #expect(document["rows"]?["values"]?["total_amount"] == .string("6007.30"))
        #expect(document["rows"]?["children"]?[0]?["rows"]?[1]?["unit_price"] == .string("9.9500"))
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.contains("\"total_amount\": \"6007.30\""))
        #expect(text.contains("Rillenkugellager 6206-2RS, abgedichtet"))
        // The HTTP notification's body is expressible too.
        let notification = try MappedDeliveries.delivery(partner: "nordic-fasteners", fixture: "one-line", actionIndex: 2, nonce: "json")
        let sent = await adapter.deliver(notification)
        let body = try JSONReader().read(try contents(folder.appendingPathComponent(try #require(sent.reference?.id))))
        #expect(body["http"]?["body"]?["total"] == .string("675.00"))
    }

    @Test("JSON: a change's or cancellation's file names its operation, version and the versions it follows; an original's has no revision")
    func revisionJSON() async throws {
        let (adapter, folder) = try dropFolder("json")
        let original = try MappedDeliveries.rows(nonce: "revision")
        let cancel = try original.asRevision(version: 3, cancellation: true)
        #expect(cancel.operation == "cancel")
        let outcome = await adapter.deliver(cancel)
        let document = try JSONReader().read(try contents(folder.appendingPathComponent(try #require(outcome.reference?.id, "\(outcome)"))))
        #expect(document["revision"]?["operation"]?.stringValue == "cancel")
        #expect(document["revision"]?["version"]?.exactInt == 3)
        #expect(document["revision"]?["amends"]?.stringValue == original.agreementDigest.description)
        #expect(original.operation == "create")
        let first = await adapter.deliver(original)
        let plain = try JSONReader().read(try contents(folder.appendingPathComponent(try #require(first.reference?.id, "\(first)"))))
        #expect(plain["revision"] == nil)
        #expect(first.reference?.id != outcome.reference?.id, "a change is a new file beside the original's")
        #expect(try original.asRevision(version: 2, cancellation: false).operation == "change")
    }

    @Test("the provenance companion holds the record's canonical bytes")
    func provenance() async throws {
        let (adapter, folder) = try dropFolder("xml", provenance: true)
        let delivery = try MappedDeliveries.ublOrder(nonce: "provenance")
        let name = try #require(await adapter.deliver(delivery).reference?.id)
        #expect(try contents(folder.appendingPathComponent(name + ".provenance.json")) == delivery.provenance.canonicalBytes)
    }

    @Test("an action kind the format cannot express is rejected naming the kind and the format")
    func inexpressible() async throws {
        let (xmlAdapter, xmlFolder) = try dropFolder("xml")
        let rows = await xmlAdapter.deliver(try MappedDeliveries.rows(nonce: "kind"))
        #expect(rows.outcomeClass == .rejected)
        #expect(rows.reason?.contains("a xml file cannot express a rows action") == true, "\(rows)")
        #expect(xmlAdapter.descriptor.actionKinds == [.xml])
        let (csvAdapter, csvFolder) = try dropFolder("csv")
        let http = await csvAdapter.deliver(try MappedDeliveries.delivery(partner: "nordic-fasteners", fixture: "one-line", actionIndex: 2, nonce: "kind"))
        #expect(http.outcomeClass == .rejected)
        #expect(http.reason?.contains("csv") == true && http.reason?.contains("http") == true, "\(http)")
        #expect(try listing(xmlFolder).isEmpty && listing(csvFolder).isEmpty)
    }

    @Test("an unusable folder is retryable with the errno text, and lookup is unavailable")
    func unusableFolder() async throws {
        let parent = try CommandRunner.temporaryDirectory("file-drop-bad")
        // A regular file where a folder should be: fails for root too (ENOTDIR).
        let file = parent.appendingPathComponent("not-a-folder")
        try Data("x".utf8).write(to: file)
        let adapter = FileDropAdapter(configuration: .init(folder: file.appendingPathComponent("inbox").path, format: .xml))
        let delivery = try MappedDeliveries.ublOrder(nonce: "denied")
        let outcome = await adapter.deliver(delivery)
        #expect(outcome.outcomeClass == .retryable, "\(outcome)")
        #expect(outcome.reason?.contains("Not a directory (errno \(ENOTDIR))") == true, "\(outcome)")
        guard case .unavailable(let reason) = await adapter.lookup(delivery) else { Issue.record("lookup must be unavailable"); return }
        #expect(reason.contains("Not a directory"))

        // A folder that disappears after start-up.
        let (gone, folder) = try dropFolder("xml")
        try FileManager.default.removeItem(at: folder)
        let missing = await gone.deliver(delivery)
        #expect(missing.outcomeClass == .retryable)
        #expect(missing.reason?.contains("No such file or directory") == true, "\(missing)")
    }

    @Test("configuration: the folder must exist and be a folder; the format one of three; each problem names its setting")
    func configuration() throws {
        let parent = try CommandRunner.temporaryDirectory("file-drop-config")
        let file = parent.appendingPathComponent("plain")
        try Data().write(to: file)
        func problems(_ raw: [String: String]) -> [String] {
            do {
                _ = try FileDropAdapter(settings: AdapterSettings(raw))
                return []
            } catch {
                return error.problems
            }
        }
        let missing = problems(["folder": parent.appendingPathComponent("nope").path, "format": "xml"])
        #expect(missing.count == 1 && missing[0].hasPrefix("folder:") && missing[0].contains("No such file or directory"), "\(missing)")
        #expect(problems(["folder": file.path, "format": "xml"]) == ["folder: \(file.path) is not a folder"])
        #expect(problems(["folder": parent.path, "format": "yaml"]) == ["format: must be xml, json or csv"])
        #expect(problems(["folder": parent.path, "format": "csv", "csv_delimiter": "\""]).first?.hasPrefix("csv_delimiter:") == true)
        #expect(problems(["folder": parent.path, "format": "csv", "prefix": "../x"]).first?.hasPrefix("prefix:") == true)
        #expect(problems(["folder": parent.path, "format": "csv"]).isEmpty)
        // The schema itself requires folder and format.
        let schema = FileDropAdapter.descriptor.schema.validate([:], prefix: "targets.inbox")
        guard case .failure(let error) = schema else { Issue.record("an empty target must not validate"); return }
        #expect(error.problems.contains { $0.hasPrefix("targets.inbox.folder: required") })
        #expect(error.problems.contains { $0.hasPrefix("targets.inbox.format: required") })
    }

    @Test("a file the ERP has moved to its processed folder still counts as delivered")
    func processedFolder() async throws {
        let processed = try CommandRunner.temporaryDirectory("file-drop-processed")
        let (adapter, folder) = try dropFolder("xml", extra: ["processed_folder": processed.path])
        let delivery = try MappedDeliveries.ublOrder(nonce: "processed")
        let reference = try #require(await adapter.deliver(delivery).reference)
        try FileManager.default.moveItem(at: folder.appendingPathComponent(reference.id), to: processed.appendingPathComponent(reference.id))
        #expect(await adapter.lookup(delivery) == .found(reference))
        #expect(await adapter.deliver(delivery) == .delivered(reference))
        #expect(try listing(folder).isEmpty)
    }
}

/// The Python interpreter used as an independent reader of the files (stdlib only).
enum PythonTool {
    static func path() throws -> String {
        for candidate in [TestPaths.python, "/usr/bin/python3"].compactMap({ $0 }) where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        throw MissingTestInput(path: "python3", hint: "install python3 (scripts/test does) or set CAUSEWAY_PYTHON")
    }
}
