import AdapterKit
import CausewayCore

/// A file ready to be placed: its final name, its bytes, and the provenance companion's bytes.
struct RenderedFile: Sendable {
    let name: String
    let bytes: [UInt8]
    /// The provenance record's canonical bytes, when the target writes the companion file.
    let provenance: [UInt8]?

    var provenanceName: String { name + ".provenance.json" }
}

/// An action this target's format cannot express (a rejection).
struct RenderProblem: Error {
    let reason: String
}

extension FileDropAdapter {
    /// The file name for a delivery: `[prefix][stem-]sha256-<hex>-<index>.<format>`, where the stem
    /// is the last segment of an `xml` action's `path` (letters, digits, `.`, `_`, `-` only).
    func fileName(for delivery: Delivery) -> String {
        var stem = ""
        if case .xml(let xml) = delivery.action.payload, let path = xml.path {
            let segment = path.split(separator: "/").last.map(String.init) ?? ""
            let safe = String(segment.unicodeScalars.filter { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0)
                || $0 == "." || $0 == "_" || $0 == "-") }.map(Character.init))
            let trimmed = safe.drop { $0 == "." }
            if !trimmed.isEmpty { stem = String(trimmed) + "-" }
        }
        return "\(configuration.prefix)\(stem)sha256-\(delivery.agreementDigest.hex)-\(delivery.action.index).\(configuration.format.rawValue)"
    }

    /// The bytes of the file for a delivery, or why this format cannot hold its action.
    func render(_ delivery: Delivery) -> Result<RenderedFile, RenderProblem> {
        let format = configuration.format
        guard format.actionKinds.contains(delivery.action.kind) else {
            let kinds = format.actionKinds.map(\.rawValue).sorted().joined(separator: ", ")
            return .failure(RenderProblem(reason: "a \(format.rawValue) file cannot express a \(delivery.action.kind.rawValue) action "
                + "(the \(format.rawValue) format holds \(kinds)); route action '\(delivery.action.name)' to a target of another format"))
        }
        let bytes: [UInt8]
        switch (format, delivery.action.payload) {
        case (.xml, .xml(let xml)):
            bytes = Array(XMLSerializer.document(xml).utf8)
        case (.json, _):
            bytes = Array((JSONWriter.string(Self.jsonDocument(delivery), style: .pretty) + "\n").utf8)
        case (.csv, .rows(let rows)):
            switch CSVTable.make(rows: rows) {
            case .success(let table):
                if let problem = table.nulProblem() { return .failure(problem) }
                bytes = table.encoded(delimiter: configuration.csvDelimiter)
            case .failure(let problem): return .failure(problem)
            }
        case (.csv, .erpPurchaseOrder(let order)):
            let table = CSVTable(order: order)
            if let problem = table.nulProblem() { return .failure(problem) }
            bytes = table.encoded(delimiter: configuration.csvDelimiter)
        default:
            return .failure(RenderProblem(reason: "a \(format.rawValue) file cannot express a \(delivery.action.kind.rawValue) action"))
        }
        return .success(RenderedFile(name: fileName(for: delivery), bytes: bytes,
                                     provenance: configuration.provenance ? delivery.provenance.canonicalBytes : nil))
    }

    /// The JSON file: the idempotency key, the agreement, for a change or cancellation its
    /// `revision` (operation, version, amends, supersedes), then the action's own JSON form
    /// (index, name, kind, target and its payload). Every decimal stays the exact text the
    /// mapping produced; there are no JSON numbers for money or quantities.
    static func jsonDocument(_ delivery: Delivery) -> JSONValue {
        var object = JSONObject([
            ("idempotencyKey", .string(delivery.idempotencyKey)),
            ("agreement", ["id": .string(delivery.agreementID), "digest": .string(delivery.agreementDigest.description)]),
        ])
        // A change's or cancellation's file says which version it is and what it follows (absent for an original).
        if let revision = delivery.revisionJSON { object["revision"] = revision }
        for member in delivery.action.json.objectValue ?? JSONObject() { object[member.key] = member.value }
        return .object(object)
    }
}

/// Records for a CSV file: one header line (`record` and the union of the columns), then one
/// line per row, its first field naming its table. Parent first, then each child's rows.
struct CSVTable {
    static let recordColumn = "record"

    var columns: [String] = []
    var records: [(record: String, cells: [String: String])] = []

    mutating func add(record: String, cells: [(column: String, text: String?)]) {
        var values: [String: String] = [:]
        for (column, text) in cells {
            if !columns.contains(column) { columns.append(column) }
            if let text { values[column] = text }
        }
        records.append((record, values))
    }

    /// Rows: the parent row, then each child row. A child's link columns carry the parent's value
    /// of the linked column when the parent row has it (generated keys such as `po_id` do not exist
    /// in a file: the file itself is the link).
    static func make(rows: RowsAction) -> Result<CSVTable, RenderProblem> {
        var table = CSVTable()
        let all = [rows.row] + rows.children.flatMap(\.rows)
        for row in all where row.cells.contains(where: { $0.column == Self.recordColumn }) {
            return .failure(RenderProblem(reason: "the column name '\(Self.recordColumn)' is reserved in csv files (the first field names the table); rename the column in the mapping"))
        }
        table.add(record: rows.table, cells: rows.row.cells.map { ($0.column, Self.text($0.value)) })
        for child in rows.children {
            for row in child.rows {
                var cells = row.cells.map { (column: $0.column, text: Self.text($0.value)) }
                for link in child.links where !cells.contains(where: { $0.column == link.column }) {
                    if let value = rows.row[link.parentColumn].flatMap(Self.text) { cells.append((link.column, value)) }
                }
                table.add(record: child.table, cells: cells)
            }
        }
        return .success(table)
    }

    /// A purchase order: one `purchase_order` record, then one `line` record per line, numbered from 1.
    init(order: ERPPurchaseOrderAction) {
        add(record: "purchase_order", cells: [("supplier", order.supplier), ("reference", order.reference), ("currency", order.currency),
                                              ("order_date", order.orderDate), ("workflow", order.workflow.rawValue)])
        for (number, line) in order.lines.enumerated() {
            add(record: "line", cells: [("line_no", String(number + 1)), ("product", line.product), ("quantity", line.quantity),
                                        ("unit", line.unit), ("unit_price", line.unitPrice), ("description", line.description)])
        }
    }

    init() {}

    /// A cell's text: canonical text as is, NULL as an empty field, JSON cells as canonical JSON.
    static func text(_ cell: CellValue) -> String? {
        switch cell.value {
        case .null: nil
        case .text(let text): text
        case .json(let json): JSONWriter.string(json, style: .canonical)
        }
    }

    /// The first field holding a NUL character, as a problem naming it (`record[n].column`): a NUL
    /// ends a string in many CSV readers, so the rest of the field (and what follows) could be lost
    /// or misread. Such a delivery is rejected, never written.
    func nulProblem() -> RenderProblem? {
        for (number, record) in records.enumerated() {
            for column in columns where record.cells[column]?.utf8.contains(0) == true {
                return RenderProblem(reason: "\(record.record)[\(number + 1)].\(column): the value holds a NUL character, which a csv file must not carry; "
                    + "correct the agreement or the mapping")
            }
        }
        return nil
    }

    /// A field a spreadsheet would run as a formula, made inert (OWASP "CSV injection"): text that
    /// starts with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'`. A plain decimal
    /// such as `-12.50` stays as it is, so that amounts and quantities remain numbers.
    static func neutralised(_ field: String) -> String {
        guard let first = field.utf8.first, [UInt8(ascii: "="), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "@"), 9, 13].contains(first) else {
            return field
        }
        if isPlainNegativeDecimal(field) { return field }
        return "'" + field
    }

    /// `-` then digits, optionally `.` and digits: `-12.50`, `-3`.
    static func isPlainNegativeDecimal(_ field: String) -> Bool {
        let bytes = Array(field.utf8)
        guard bytes.count >= 2, bytes[0] == UInt8(ascii: "-") else { return false }
        let digits = bytes.dropFirst().split(separator: UInt8(ascii: "."), maxSplits: 1, omittingEmptySubsequences: false)
        return !digits.contains(where: \.isEmpty) && digits.allSatisfy { $0.allSatisfy { (48...57).contains($0) } }
    }

    /// UTF-8, CRLF line ends, every field that holds the delimiter, a quote, CR or LF quoted with
    /// quotes doubled (RFC 4180); every field first passed through ``neutralised(_:)``.
    func encoded(delimiter: UInt8) -> [UInt8] {
        var output: [UInt8] = []
        func line(_ fields: [String]) {
            for (position, field) in fields.enumerated() {
                if position > 0 { output.append(delimiter) }
                let bytes = Array(Self.neutralised(field).utf8)
                if bytes.contains(where: { $0 == delimiter || $0 == UInt8(ascii: "\"") || $0 == 10 || $0 == 13 }) {
                    output.append(UInt8(ascii: "\""))
                    for byte in bytes {
                        if byte == UInt8(ascii: "\"") { output.append(byte) }
                        output.append(byte)
                    }
                    output.append(UInt8(ascii: "\""))
                } else {
                    output.append(contentsOf: bytes)
                }
            }
            output.append(contentsOf: [13, 10])
        }
        line([Self.recordColumn] + columns)
        for record in records {
            line([record.record] + columns.map { record.cells[$0] ?? "" })
        }
        return output
    }
}
