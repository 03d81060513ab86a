import CausewayCore
@testable import CausewayMapping
import CausewayTesting
import Foundation
import Testing

/// A throwaway partner folder holding one mapping file (and optional extra files).
func scratchMapping(_ yaml: String, files: [String: String] = [:]) throws -> URL {
    let folder = try CommandRunner.temporaryDirectory("mapping")
    try Data(yaml.utf8).write(to: folder.appendingPathComponent("m.yaml"))
    for (name, text) in files {
        let url = folder.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
    }
    return folder
}

func loadErrors(_ yaml: String, files: [String: String] = [:]) throws -> [MappingDiagnostic] {
    let folder = try scratchMapping(yaml, files: files)
    do {
        _ = try Mapping.load(file: "m.yaml", partnerFolder: folder)
        return []
    } catch {
        return error.diagnostics
    }
}

func mapping(_ yaml: String, files: [String: String] = [:]) throws -> Mapping {
    try Mapping.load(file: "m.yaml", partnerFolder: try scratchMapping(yaml, files: files))
}

/// A mapping with one `rows` action whose columns are given.
func rowsMapping(_ columns: String, crosswalks: String = "") -> String {
    """
    causeway-mapping: 1
    id: t
    version: "1"
    \(crosswalks)
    actions:
      - name: a
        target: db
        rows:
          table: t
          key: [k]
          columns:
            k: {const: "1"}
    \(columns.split(separator: "\n").map { "        " + $0 }.joined(separator: "\n"))
    """
}

let sampleAgreement: JSONValue = [
    "id": "urn:x:1", "issued": "2026-11-20T23:30:00-02:00", "currency": "EUR", "total": "12.50", "nothing": .null,
    "lines": [
        ["sku": "A", "quantity": "2.5", "unitPrice": "3.15", "description": "  Käfig  "],
        ["sku": "B", "quantity": "1", "unitPrice": "6.20", "description": "x"],
    ],
]

func values(_ m: Mapping, _ agreement: JSONValue = sampleAgreement) -> (JSONObject?, [MappingFailure]) {
    let result = m.map(agreement, context: MappingContext(digest: ContentDigest(of: [1]), partner: "p"))
    guard case .rows(let rows)? = result.actions.first?.payload else { return (nil, result.failures) }
    return (rows.row.json.objectValue, result.failures)
}

@Suite("Mapping language: load-time checks point at file:line:column")
struct MappingLoadTests {
    @Test("unknown keys, with a suggestion")
    func unknownKey() throws {
        let errors = try loadErrors(rowsMapping("x: {agreement: \"$.id\", optinal: true}"))
        let error = try #require(errors.first)
        #expect(error.code == "mapping.unknown_key")
        #expect(error.location?.line == 13)
        #expect(error.location?.file.hasSuffix("m.yaml") == true)
        #expect(error.description.contains("m.yaml:13:"))
    }

    @Test("an invalid JSONPath points into the query")
    func invalidPath() throws {
        let errors = try loadErrors(rowsMapping("x: {agreement: \"$.lines[?@.q >]\"}"))
        let error = try #require(errors.first)
        #expect(error.code == "mapping.invalid_jsonpath")
        #expect(error.location?.line == 13)
        #expect((error.location?.column ?? 0) > 20)
    }

    @Test("unknown functions, type errors, non-singular queries, undeclared crosswalks — all at once")
    func manyAtOnce() throws {
        let errors = try loadErrors(rowsMapping("""
            a: {uppercase: {agreement: "$.id"}}
            b: {multiply: [{upper: {agreement: "$.id"}}, {const: "2"}], as: "decimal(10,2)"}
            c: {agreement: "$.lines[*].sku"}
            d: {agreement: "$.id", lookup: nowhere}
            e: {sum: {agreement: "$.lines[*].quantity"}}
            """))
        #expect(Set(errors.map(\.code)) == ["mapping.unknown_function", "mapping.type_error", "mapping.not_singular",
                                            "mapping.unknown_crosswalk", "mapping.scale_required"])
        #expect(errors.map { $0.location?.line ?? 0 } == [13, 14, 15, 16, 17])
    }

    @Test("missing crosswalk columns and duplicate keys are load errors")
    func crosswalkColumns() throws {
        let header = "crosswalks:\n  sku: {file: sku.csv, key: partner_sku, value: erp}\n"
        var errors = try loadErrors(rowsMapping("x: {agreement: \"$.id\", lookup: sku}", crosswalks: header),
                                    files: ["sku.csv": "partner_sku,erp_item\nA,1\n"])
        #expect(errors.map(\.code) == ["mapping.crosswalk_column"])
        #expect(errors.first?.message.contains("erp_item") == true)
        errors = try loadErrors(rowsMapping("x: {agreement: \"$.id\", lookup: sku}", crosswalks: header),
                                files: ["sku.csv": "partner_sku,erp\nA,1\nA,2\n"])
        #expect(errors.map(\.code) == ["mapping.crosswalk_duplicate"])
    }

    @Test("YAML 1.1 traps must be quoted; anchors and duplicate keys are refused")
    func strictYAML() throws {
        #expect(try loadErrors(rowsMapping("x: {const: 0815}")).map(\.code) == ["mapping.ambiguous_scalar"])
        #expect(try loadErrors(rowsMapping("x: {const: no}")).map(\.code) == ["mapping.ambiguous_scalar"])
        #expect(try loadErrors(rowsMapping("x: {const: \"0815\"}")).isEmpty)
        #expect(try loadErrors(rowsMapping("x: {const: \"1\"}\nx: {const: \"2\"}")).map(\.code) == ["mapping.duplicate_key"])
        let unquotedVersion = rowsMapping("x: {const: \"1\"}").replacingOccurrences(of: "version: \"1\"", with: "version: 1.10")
        #expect(try loadErrors(unquotedVersion).map(\.code) == ["mapping.ambiguous_scalar"])
    }

    @Test("the language version is required and checked")
    func languageVersion() throws {
        let wrong = rowsMapping("x: {const: \"1\"}").replacingOccurrences(of: "causeway-mapping: 1", with: "causeway-mapping: 2")
        #expect(try loadErrors(wrong).map(\.code) == ["mapping.language_version"])
    }

    @Test("the digest covers crosswalk contents, not YAML comments or layout")
    func digest() throws {
        let header = "crosswalks:\n  sku: {file: sku.csv, key: k, value: v}\n"
        let yaml = rowsMapping("x: {agreement: \"$.id\", lookup: sku}", crosswalks: header)
        let a = try mapping(yaml, files: ["sku.csv": "k,v\nA,1\n"])
        let b = try mapping("# a comment\n" + yaml.replacingOccurrences(of: "{const: \"1\"}", with: "{ const: '1' }"),
                            files: ["sku.csv": "k,v\r\nA,1\r\n"])
        let c = try mapping(yaml, files: ["sku.csv": "k,v\nA,2\n"])
        #expect(a.digest == b.digest)
        #expect(a.digest != c.digest)
    }
}

@Suite("Mapping language: evaluation")
struct MappingEvaluationTests {
    @Test("absent, null, default and optional are distinct")
    func absentAndNull() throws {
        var (row, failures) = values(try mapping(rowsMapping("""
            a: {agreement: "$.missing", optional: true}
            b: {agreement: "$.missing", default: "D"}
            c: {agreement: "$.nothing", null: allow}
            """)))
        #expect(failures.isEmpty)
        #expect(row?["a"] == .null)
        #expect(row?["b"] == "D")
        #expect(row?["c"] == .null)
        (row, failures) = values(try mapping(rowsMapping("""
            a: {agreement: "$.missing"}
            b: {agreement: "$.nothing", default: "D"}
            """)))
        #expect(row == nil)
        #expect(failures.map(\.code) == ["mapping.value_missing", "mapping.null_value"])
        #expect(failures.first?.inputPath == "$.missing" || failures.first?.inputPath == "$['missing']")
        #expect(failures.first?.target == "a.a")
    }

    @Test("decimal arithmetic with declared scale and rounding")
    func decimals() throws {
        let (row, failures) = values(try mapping(rowsMapping("""
            amount: {multiply: [{agreement: "$.lines[0].quantity"}, {agreement: "$.lines[0].unitPrice"}], as: "decimal(10,2)", rounding: half-even}
            up: {multiply: [{agreement: "$.lines[0].quantity"}, {agreement: "$.lines[0].unitPrice"}], as: "decimal(10,2)", rounding: half-up}
            sum: {sum: {agreement: "$.lines[*].quantity"}, as: "decimal(10,3)"}
            over: {sum: {multiply: [{line: "$.quantity"}, {line: "$.unitPrice"}]}, over: {agreement: "$.lines[*]", as: line}, as: "decimal(12,4)"}
            third: {divide: [{const: "10"}, {const: "3"}], scale: 4, rounding: half-even, as: "decimal(10,4)"}
            total: {agreement: "$.total", as: "decimal(10,2)"}
            """)))
        #expect(failures.isEmpty, "\(failures)")
        #expect(row?["amount"] == "7.88")  // 7.875 → half-even → 7.88
        #expect(row?["up"] == "7.88")
        #expect(row?["sum"] == "3.500")
        #expect(row?["over"] == "14.0750")
        #expect(row?["third"] == "3.3333")
        #expect(row?["total"] == "12.50")
    }

    @Test("exact rounding refuses to lose digits; precision is enforced")
    func exact() throws {
        let (_, failures) = values(try mapping(rowsMapping("""
            a: {multiply: [{agreement: "$.lines[0].quantity"}, {agreement: "$.lines[0].unitPrice"}], as: "decimal(10,2)"}
            b: {agreement: "$.total", as: "decimal(3,2)"}
            c: {agreement: "$.lines[0].description", as: "decimal(10,2)"}
            """)))
        #expect(failures.map(\.code) == ["mapping.rounding", "mapping.out_of_range", "mapping.type_error"])
    }

    @Test("strings, dates and conditions")
    func functions() throws {
        let (row, failures) = values(try mapping(rowsMapping("""
            trim: {trim: {agreement: "$.lines[0].description"}}
            upper: {upper: {trim: {agreement: "$.lines[0].description"}}}
            concat: {concat: [{agreement: "$.currency"}, {agreement: "$.lines[1].sku"}], separator: "-"}
            pad: {pad: {agreement: "$.lines[1].quantity"}, width: 4, with: "0"}
            sub: {substring: {agreement: "$.id"}, start: 6, length: 1}
            replace: {replace: {agreement: "$.id"}, find: ":", with: "/"}
            asWritten: {agreement: "$.issued", as: date}
            utcDate: {date: {agreement: "$.issued"}, offset: Z}
            compact: {date: {agreement: "$.issued"}, format: "DD.MM.YYYY hh:mm"}
            stamp: {agreement: "$.issued", as: timestamp}
            count: {count: {agreement: "$.lines[*]"}}
            length: {length: {agreement: "$.id"}}
            coalesce: {coalesce: [{agreement: "$.missing"}, {agreement: "$.nothing"}, {const: "fallback"}]}
            branch: {if: {greater: [{agreement: "$.total"}, {const: "10"}]}, then: {const: "big"}, else: {const: "small"}}
            matches: {if: {matches: {agreement: "$.id"}, pattern: "urn:x:[0-9]+"}, then: {const: "yes"}, else: {const: "no"}}
            member: {if: {in: {agreement: "$.currency"}, values: [EUR, SEK]}, then: {const: "ok"}}
            meta: {meta: agreement.digest}
            """)))
        #expect(failures.isEmpty, "\(failures)")
        #expect(row?["trim"] == "Käfig")
        #expect(row?["upper"] == "KÄFIG")
        #expect(row?["concat"] == "EUR-B")
        #expect(row?["pad"] == "0001")
        #expect(row?["sub"] == "1")
        #expect(row?["replace"] == "urn/x/1")
        #expect(row?["asWritten"] == "2026-11-20")
        #expect(row?["utcDate"] == "2026-11-21")
        #expect(row?["compact"] == "20.11.2026 23:30")
        #expect(row?["stamp"] == "2026-11-21T01:30:00Z")
        #expect(row?["count"] == "2")
        #expect(row?["length"] == "7")
        #expect(row?["coalesce"] == "fallback")
        #expect(row?["branch"] == "big")
        #expect(row?["matches"] == "yes")
        #expect(row?["member"] == "ok")
        #expect(row?["meta"] == .string(ContentDigest(of: [1]).description))
    }

    @Test("crosswalk miss policies: error names the key and the input path, pass_through, default")
    func crosswalks() throws {
        let header = """
            crosswalks:
              strict: {file: c.csv, key: k, value: v}
              loose: {file: c.csv, key: k, value: v, on_miss: pass_through}
              fallback: {file: c.csv, key: k, value: v, on_miss: default, default: "?"}
            """
        let m = try mapping(rowsMapping("""
            a: {agreement: "$.lines[1].sku", lookup: loose}
            b: {agreement: "$.lines[1].sku", lookup: fallback}
            c: {agreement: "$.lines[0].sku", lookup: strict}
            """, crosswalks: header), files: ["c.csv": "k,v\nA,alpha\n"])
        var (row, failures) = values(m)
        #expect(failures.isEmpty)
        #expect(row?["a"] == "B")
        #expect(row?["b"] == "?")
        #expect(row?["c"] == "alpha")
        let strict = try mapping(rowsMapping("c: {agreement: \"$.lines[1].sku\", lookup: strict}", crosswalks: header),
                                 files: ["c.csv": "k,v\nA,alpha\n"])
        (row, failures) = values(strict)
        #expect(failures.map(\.code) == ["mapping.lookup_missing"])
        #expect(failures.first?.inputPath == "$['lines'][1]['sku']")
        #expect(failures.first?.message.contains("'B'") == false)  // payload values are not echoed
    }

    @Test("assertions fail with the mapping's location")
    func assertions() throws {
        let yaml = rowsMapping("x: {const: \"1\"}").replacingOccurrences(of: "actions:", with: """
            assertions:
              - that: {exists: {agreement: "$.parties.seller.vatId"}}
                message: the seller's VAT id must be present
            actions:
            """)
        let result = try mapping(yaml).map(sampleAgreement, context: MappingContext(digest: ContentDigest(of: [1]), partner: "p"))
        #expect(result.failures.map(\.code) == ["mapping.assertion_failed"])
        #expect(result.failures.first?.location.line == 6)
        #expect(result.actions.isEmpty)
    }

    @Test("XML is built as a tree and escaped by construction")
    func xmlEscaping() throws {
        let yaml = """
            causeway-mapping: 1
            id: x
            version: "1"
            actions:
              - name: doc
                target: inbox
                xml:
                  root:
                    element: Order
                    namespaces: {default: "urn:o", cbc: "urn:c"}
                    children:
                      - element: "cbc:Note"
                        attributes: {lang: {const: "de"}}
                        text: {agreement: "$.note"}
                      - element: "cbc:Line"
                        for_each: {agreement: "$.lines[*]", as: line}
                        text: {line: "$.sku"}
                      - element: "cbc:Missing"
                        optional: true
                        text: {agreement: "$.nope"}
            """
        let note: JSONValue = ["note": "<b>\"Fett\" & Öl</b>", "lines": [["sku": "A"], ["sku": "B"]]]
        let result = try mapping(yaml).map(note, context: MappingContext(digest: ContentDigest(of: [1]), partner: "p"))
        guard case .xml(let xml)? = result.actions.first?.payload else {
            Issue.record("no XML action: \(result.failures)")
            return
        }
        let document = XMLSerializer.document(xml)
        #expect(document.contains(#"<cbc:Note lang="de">&lt;b&gt;"Fett" &amp; Öl&lt;/b&gt;</cbc:Note>"#))
        #expect(document.contains(#"<Order xmlns="urn:o" xmlns:cbc="urn:c">"#))
        #expect(document.contains("<cbc:Line>A</cbc:Line><cbc:Line>B</cbc:Line>"))
        #expect(!document.contains("Missing"))
    }
}

@Suite("Mapping language: guards found by trying the docs' examples")
struct MappingGuardTests {
    let context = MappingContext(digest: ContentDigest(of: [1]), partner: "p")

    @Test("YAML anchors and aliases are refused")
    func aliases() throws {
        let errors = try loadErrors(rowsMapping("a: &r {agreement: \"$.id\"}\nb: *r"))
        #expect(errors.map(\.code).contains("mapping.yaml_alias"))
    }

    @Test("the mapping cannot read the proofs: they are outside the digest")
    func noProofs() throws {
        let m = try mapping(rowsMapping("p: {agreement: \"$.proof.created\", optional: true}"))
        var agreement = sampleAgreement.objectValue!
        agreement["proof"] = ["created": "2026-11-11T09:30:00Z"]
        let (row, failures) = values(m, .object(agreement))
        #expect(failures.isEmpty)
        #expect(row?["p"] == .null)
    }

    @Test("an ERP line whose optional description is missing still makes the order")
    func erpOptionalDescription() throws {
        let yaml = """
            causeway-mapping: 1
            id: e
            version: "1"
            actions:
              - name: po
                target: erp
                erp_purchase_order:
                  supplier: {const: S}
                  reference: {agreement: "$.id"}
                  lines:
                    for_each: {agreement: "$.lines[*]", as: line}
                    product: {line: "$.sku"}
                    quantity: {line: "$.quantity", as: "decimal(10,3)"}
                    unit: {const: u}
                    unit_price: {line: "$.unitPrice", as: "decimal(10,4)"}
                    description: {line: "$.note", optional: true}
            """
        let result = try mapping(yaml).map(sampleAgreement, context: context)
        #expect(result.failures.isEmpty, "\(result.failures)")
        guard case .erpPurchaseOrder(let order)? = result.actions.first?.payload else {
            Issue.record("the purchase order is missing")
            return
        }
        #expect(order.lines.map(\.description) == [nil, nil])
    }

    @Test("the XML root cannot be conditional; names and prefixes are checked")
    func xmlNames() throws {
        func xml(_ root: String) -> String {
            """
            causeway-mapping: 1
            id: x
            version: "1"
            actions:
              - name: doc
                target: inbox
                xml:
                  root:
            \(root.split(separator: "\n").map { "          " + $0 }.joined(separator: "\n"))
            """
        }
        #expect(try loadErrors(xml("element: Order\nwhen: {exists: {agreement: \"$.x\"}}")).map(\.code) == ["mapping.type_error"])
        #expect(try loadErrors(xml("element: \"Order><Evil\"")).map(\.code) == ["mapping.invalid_xml_name"])
        #expect(try loadErrors(xml("element: \"cbc:ID\"")).map(\.code) == ["mapping.undeclared_prefix"])
        #expect(try loadErrors(xml("element: Order\nattributes: {\"a b\": {const: x}}")).map(\.code) == ["mapping.invalid_xml_name"])
    }

    @Test("a sum over items refuses an item without a value")
    func sumOverMissing() throws {
        var agreement = sampleAgreement.objectValue!
        agreement["lines"] = [["quantity": "2"], ["other": "x"]]
        let m = try mapping(rowsMapping("s: {sum: {line: \"$.quantity\"}, over: {agreement: \"$.lines[*]\", as: line}, as: \"decimal(10,2)\"}"))
        let (_, failures) = values(m, .object(agreement))
        #expect(failures.map(\.code) == ["mapping.value_missing"])
        #expect(failures.first?.inputPath == "$['lines'][1]['quantity']")
    }

    @Test("HTTP paths and headers cannot smuggle control characters or leave the base path")
    func httpPaths() throws {
        func http(_ path: String) -> String {
            """
            causeway-mapping: 1
            id: h
            version: "1"
            actions:
              - name: call
                target: api
                http:
                  path: \(path)
                  headers: {X-Ref: {agreement: "$.id"}}
            """
        }
        var agreement = sampleAgreement.objectValue!
        agreement["id"] = "a\r\nX-Injected: 1"
        var result = try mapping(http("{concat: [{const: \"/orders/\"}, {agreement: \"$.id\"}]}")).map(.object(agreement), context: context)
        #expect(Set(result.failures.map(\.code)) == ["mapping.invalid_path", "mapping.invalid_header"])
        agreement["id"] = "../admin"
        result = try mapping(http("{concat: [{const: \"/orders/\"}, {agreement: \"$.id\"}]}")).map(.object(agreement), context: context)
        #expect(result.failures.map(\.code).contains("mapping.invalid_path"))
        agreement["id"] = "A/B ü"
        result = try mapping(http("{concat: [{const: \"/orders/\"}, {url_encode: {agreement: \"$.id\"}}]}")).map(.object(agreement), context: context)
        guard case .http(let request)? = result.actions.first?.payload else {
            Issue.record("no request: \(result.failures)")
            return
        }
        #expect(request.path == "/orders/A%2FB%20%C3%BC")
    }

    @Test("decimal results beyond 38 digits are errors, not silent rounding")
    func precision() throws {
        var agreement = sampleAgreement.objectValue!
        agreement["x"] = "1.00000000000000000001"
        let m = try mapping(rowsMapping("p: {multiply: [{agreement: \"$.x\"}, {agreement: \"$.x\"}], as: \"decimal(38,30)\"}"))
        let (_, failures) = values(m, .object(agreement))
        #expect(failures.map(\.code) == ["mapping.precision_lost"])
    }

    @Test("round keeps its scale in text; lengths count code points")
    func roundAndLength() throws {
        var agreement = sampleAgreement.objectValue!
        agreement["word"] = "é🇫🇮"
        let m = try mapping(rowsMapping("""
            r: {concat: [{round: {const: "66.600"}, scale: 2, rounding: half-even}, {const: " EUR"}]}
            n: {length: {agreement: "$.word"}}
            """))
        let (row, failures) = values(m, .object(agreement))
        #expect(failures.isEmpty, "\(failures)")
        #expect(row?["r"] == "66.60 EUR")
        #expect(row?["n"] == "3")
    }

    @Test("a loop over a singular query is a load error with a hint")
    func singularLoop() throws {
        let errors = try loadErrors("""
            causeway-mapping: 1
            id: t
            version: "1"
            actions:
              - name: a
                target: db
                rows:
                  table: t
                  key: [k]
                  returns: [id]
                  columns:
                    k: {const: "1"}
                  children:
                    - table: c
                      for_each: {agreement: "$.lines", as: line}
                      columns:
                        id: {parent: id}
            """)
        #expect(errors.map(\.code) == ["mapping.loop_singular"])
    }

    @Test("the mapping refuses agreements of another type")
    func acceptsType() throws {
        var agreement = sampleAgreement.objectValue!
        agreement["type"] = "Invoice"
        let result = try mapping(rowsMapping("x: {const: \"1\"}")).map(.object(agreement), context: context)
        #expect(result.failures.map(\.code) == ["mapping.type_not_accepted"])
    }
}
