import CausewayCore
import Foundation

extension Evaluator {
    // MARK: Cells

    /// Evaluates a cell and applies its policy (absent, null, default), type, scale and checks.
    mutating func cell(_ cell: Cell, field: String) -> CellValue? {
        fields.append(field)
        defer { fields.removeLast() }
        var value = evaluate(cell.expression)
        switch value {
        case .failed: return nil
        case .absent:
            if let fallback = cell.defaultValue {
                value = .string(fallback)
            } else if cell.optional {
                return .null(cell.type ?? .text)
            } else {
                fail("mapping.value_missing", "'\(field)' has no value: \(describe(cell.expression)) matched nothing (mark the cell optional or give a default)",
                     at: cell.location, input: selectorPath(cell.expression))
                return nil
            }
        case .null:
            if cell.allowNull { return .null(cell.type ?? .text) }
            fail("mapping.null_value", "'\(field)' is null in the agreement (add null: allow to accept it)", at: cell.location,
                 input: selectorPath(cell.expression))
            return nil
        default: break
        }
        guard let result = convert(value, to: cell, field: field) else { return nil }
        if let text = result.text {
            if let maxLength = cell.maxLength, text.unicodeScalars.count > maxLength {
                fail("mapping.too_long", "'\(field)' is \(text.unicodeScalars.count) characters, over its max_length of \(maxLength)", at: cell.location,
                     input: selectorPath(cell.expression))
                return nil
            }
            if let accepted = cell.accepted, !accepted.contains(text) {
                fail("mapping.not_accepted", "'\(field)' must be one of \(accepted.joined(separator: ", "))", at: cell.location,
                     input: selectorPath(cell.expression))
                return nil
            }
        }
        return result
    }

    func describe(_ e: Expression) -> String {
        if case .select(let selector) = e.kind { return "\(selector.root.name) \(selector.query.text)" }
        return "the expression"
    }

    mutating func convert(_ value: MValue, to cell: Cell, field: String) -> CellValue? {
        let location = cell.location
        switch cell.type {
        case nil:
            switch value {
            case .integer(let i): return .text(String(i), .integer)
            case .date(let d): return .text(d.description, .date)
            case .timestamp(let t): return .text(Evaluator.utc(t), .timestamp)
            case .bool(let b): return .text(b ? "true" : "false", .boolean)
            case .json(let j) where j.objectValue != nil || j.arrayValue != nil: return CellValue(.json(j), type: .json)
            default:
                guard let t = text(value, at: location) else { return nil }
                return .text(t)
            }
        case .text?:
            guard let t = text(value, at: location) else { return nil }
            return .text(t)
        case .decimal(let precision, let scale)?:
            // Most money cells copy a decimal string: rescale the text, no arithmetic needed.
            if case .string(let text) = value, let fast = DecimalText.rescaled(text, scale: scale, precision: precision) {
                return .text(fast, .decimal(precision: precision, scale: scale))
            }
            guard let d = decimal(value, at: location, source: cell.expression) else { return nil }
            guard let rounded = DecimalText.round(d, scale: scale, cell.rounding) else {
                fail("mapping.rounding",
                     "'\(field)' has more than \(scale) decimals; declare a rounding on the cell (or, with round/divide, give the function the cell's scale)",
                     at: location, input: selectorPath(cell.expression))
                return nil
            }
            let limit = Evaluator.powerOfTen(precision - scale)
            guard rounded.magnitude < limit else {
                fail("mapping.out_of_range", "'\(field)' is too large for decimal(\(precision),\(scale))",
                     at: location, input: selectorPath(cell.expression))
                return nil
            }
            return .text(DecimalText.format(rounded, scale: scale), .decimal(precision: precision, scale: scale))
        case .integer?:
            switch value {
            case .integer(let i): return .text(String(i), .integer)
            default:
                if let d = decimalIfNumeric(value), d == DecimalText.round(d, scale: 0, .down), d.magnitude < 1e18 {
                    return .text(DecimalText.plain(d), .integer)
                }
                fail("mapping.type_error", "'\(field)' must be a whole number", at: location, input: selectorPath(cell.expression))
                return nil
            }
        case .date?:
            guard let d = calendarDate(value, offsetMinutes: nil, at: location, source: cell.expression) else { return nil }
            return .text(d.description, .date)
        case .timestamp?:
            switch value {
            case .timestamp(let t): return .text(Evaluator.utc(t), .timestamp)
            case .string(let s):
                if let t = Timestamp(rfc3339: s) { return .text(Evaluator.utc(t), .timestamp) }
            default: break
            }
            fail("mapping.type_error", "'\(field)' must be an RFC 3339 date-time", at: location, input: selectorPath(cell.expression))
            return nil
        case .boolean?:
            switch value {
            case .bool(let b): return .text(b ? "true" : "false", .boolean)
            case .string("true"): return .text("true", .boolean)
            case .string("false"): return .text("false", .boolean)
            default:
                fail("mapping.type_error", "'\(field)' must be true or false", at: location, input: selectorPath(cell.expression))
                return nil
            }
        case .json?:
            switch value {
            case .json(let j): return CellValue(.json(j), type: .json)
            case .bool(let b): return CellValue(.json(.bool(b)), type: .json)
            case .integer(let i): return CellValue(.json(.number(Double(i))), type: .json)
            default:
                guard let t = text(value, at: location) else { return nil }
                return CellValue(.json(.string(t)), type: .json)
            }
        }
    }

    /// A path of RFC 3986 path characters (and an optional query), starting with '/', without '..' segments.
    static func isSafePath(_ path: String) -> Bool {
        guard path.hasPrefix("/"), !path.contains("#") else { return false }
        let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@%/?".unicodeScalars)
        guard path.unicodeScalars.allSatisfy(allowed.contains) else { return false }
        let pathPart = path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)[0]
        return !pathPart.split(separator: "/").contains { $0 == ".." || $0 == "." }
    }

    static func powerOfTen(_ n: Int) -> Decimal {
        Decimal(sign: .plus, exponent: n, significand: 1)
    }

    /// An instant in UTC, with milliseconds only when it has them.
    static func utc(_ t: Timestamp) -> String {
        Timestamp(epochSeconds: t.epochSeconds, nanoseconds: t.nanoseconds, millisecondPrecision: t.nanoseconds != 0).text
    }

    // MARK: Rows

    mutating func row(_ columns: [(name: String, cell: Cell)]) -> (Row, [(column: String, parentColumn: String)])? {
        var cells: [(column: String, value: CellValue)] = []
        cells.reserveCapacity(columns.count)
        var links: [(column: String, parentColumn: String)] = []
        var ok = true
        for (name, cell) in columns {
            if case .parent(let parentColumn) = cell.expression.kind {
                links.append((name, parentColumn))
                continue
            }
            if let value = self.cell(cell, field: name) { cells.append((name, value)) } else { ok = false }
        }
        return ok ? (Row(cells), links) : nil
    }

    mutating func evaluate(_ spec: RowsSpec, action: String) -> RowsAction? {
        target = action
        // The children are evaluated even when the parent row fails, so that one run reports all.
        let parent = row(spec.columns)?.0
        var children: [ChildRows] = []
        var ok = parent != nil
        for child in spec.children {
            var rows: [Row] = []
            var links: [(column: String, parentColumn: String)] = []
            if let loop = child.loop {
                iterate(loop) { ev in
                    ev.row = (child.table, ev.frames.last!.position)
                    if let (r, l) = ev.row(child.columns) {
                        rows.append(r)
                        links = l
                    } else {
                        ok = false
                    }
                }
            } else {
                row = (child.table, 0)
                if let (r, l) = row(child.columns) {
                    rows.append(r)
                    links = l
                } else {
                    ok = false
                }
            }
            if links.isEmpty {
                links = child.columns.compactMap { name, cell in
                    if case .parent(let p) = cell.expression.kind { return (name, p) }
                    return nil
                }
            }
            children.append(ChildRows(table: child.table, links: links, rows: rows))
        }
        target = ""
        row = nil
        guard ok, let parent else { return nil }
        var update: RowsUpdate?
        if let match = spec.match, let column = spec.versionColumn, let revision = context.revision {
            update = RowsUpdate(match: match, versionColumn: column, version: revision.version)
        }
        return RowsAction(table: spec.table, key: spec.key, returning: spec.returns, row: parent, children: children,
                          provenanceColumn: spec.provenanceColumn, update: update)
    }

    // MARK: HTTP

    mutating func json(_ template: JSONTemplate, field: String) -> JSONValue? {
        switch template {
        case .object(let members):
            var object = JSONObject()
            var ok = true
            for (key, value) in members {
                guard let v = json(value, field: field + "." + key) else { ok = false; continue }
                if v == .null, case .value(let cell) = value, cell.optional { continue }  // optional and absent: omit the member
                object[key] = v
            }
            return ok ? .object(object) : nil
        case .array(let items):
            var array: [JSONValue] = []
            for (i, item) in items.enumerated() {
                guard let v = json(item, field: "\(field)[\(i)]") else { return nil }
                array.append(v)
            }
            return .array(array)
        case .repeated(let loop, let item):
            var array: [JSONValue] = []
            var ok = true
            iterate(loop) { ev in
                if let v = ev.json(item, field: "\(field)[\(ev.frames.last!.position)]") { array.append(v) } else { ok = false }
            }
            return ok ? .array(array) : nil
        case .value(let cell):
            guard let value = self.cell(cell, field: field) else { return nil }
            switch (value.value, value.type) {
            case (.null, _): return .null
            case (.json(let j), _): return j
            case (.text(let t), .integer): return .number(Double(Int(t) ?? 0))
            case (.text(let t), .boolean): return .bool(t == "true")
            case (.text(let t), _): return .string(t)
            }
        }
    }

    mutating func evaluate(_ spec: HTTPSpec, action: String) -> HTTPRequestAction? {
        target = action
        let path = cell(spec.path, field: "path")?.text
        var headers: [(name: String, value: String)] = []
        var ok = path != nil
        for (name, valueCell) in spec.headers {
            if let v = cell(valueCell, field: "headers.\(name)") {
                if let t = v.text { headers.append((name, t)) }
            } else {
                ok = false
            }
        }
        var body: JSONValue?
        if let template = spec.body {
            body = json(template, field: "body")
            if body == nil { ok = false }
        }
        if let path, !Evaluator.isSafePath(path) {
            fields = ["path"]
            fail("mapping.invalid_path",
                 "the request path must start with '/' and use only URL path characters, without '..' segments or '#'; encode values with url_encode",
                 at: spec.path.location, input: selectorPath(spec.path.expression))
            fields = []
            ok = false
        }
        for (name, value) in headers where value.unicodeScalars.contains(where: { ($0.value < 0x20 && $0.value != 0x09) || $0.value == 0x7F }) {
            fields = ["headers", name]
            let cell = spec.headers.first { $0.name == name }!.value
            fail("mapping.invalid_header", "the header value contains control characters (such as a line break)",
                 at: cell.location, input: selectorPath(cell.expression))
            fields = []
            ok = false
        }
        target = ""
        guard ok, let path else { return nil }
        return HTTPRequestAction(method: spec.method, path: path, headers: headers, body: body, captureReference: spec.captureReference)
    }

    // MARK: XML

    mutating func elements(_ spec: XMLElementSpec, field: String) -> [XMLElementNode]? {
        if let loop = spec.loop {
            var result: [XMLElementNode] = []
            var ok = true
            iterate(loop) { ev in
                switch ev.element(spec, field: "\(field)[\(ev.frames.last!.position)]") {
                case .some(.some(let e)): result.append(e)
                case .some(.none): break
                case .none: ok = false
                }
            }
            return ok ? result : nil
        }
        switch element(spec, field: field) {
        case .some(.some(let e)): return [e]
        case .some(.none): return []
        case .none: return nil
        }
    }

    /// nil: failed; .some(nil): omitted; .some(element).
    mutating func element(_ spec: XMLElementSpec, field: String) -> XMLElementNode?? {
        if let when = spec.when, !check(when) { return .some(nil) }
        var attributes: [(name: String, value: String)] = []
        var ok = true
        for (name, valueCell) in spec.attributes {
            if let v = cell(valueCell, field: "\(field)@\(name)") {
                if let t = v.text { attributes.append((name, t)) }
            } else {
                ok = false
            }
        }
        var children: [XMLChild] = []
        if let textCell = spec.text {
            if spec.optional, !textCell.optional, textCell.defaultValue == nil {
                // An optional element disappears when its value is absent.
                silent += 1
                let probe = evaluate(textCell.expression)
                silent -= 1
                if case .absent = probe { return .some(nil) }
            }
            if let v = cell(textCell, field: field) {
                switch v.value {
                case .null: if spec.optional { return .some(nil) }
                case .text(let t): children.append(.text(t))
                case .json(let j): children.append(.text(JSONWriter.string(j, style: .canonical)))
                }
            } else {
                ok = false
            }
        }
        for child in spec.children {
            let name = child.name
            if let nodes = elements(child, field: field + "/" + name) {
                children += nodes.map(XMLChild.element)
            } else {
                ok = false
            }
        }
        guard ok else { return nil }
        // An optional element that ends up with nothing in it is left out.
        if spec.optional, children.isEmpty, attributes.isEmpty, spec.text == nil { return .some(nil) }
        return .some(XMLElementNode(name: spec.name, namespaces: spec.namespaces, attributes: attributes, children: children))
    }

    mutating func evaluate(_ spec: XMLSpec, action: String) -> XMLDocumentAction? {
        target = action
        defer { target = "" }
        guard let roots = elements(spec.root, field: spec.root.name), let root = roots.first else { return nil }
        return XMLDocumentAction(root: root, soap: spec.soap, schema: spec.schema, schemaDigest: spec.schemaDigest, path: spec.path)
    }

    // MARK: ERP

    mutating func evaluate(_ spec: ERPSpec, action: String) -> ERPPurchaseOrderAction? {
        target = action
        defer { target = "" }
        let supplier = cell(spec.supplier, field: "supplier")?.text
        let reference = cell(spec.reference, field: "reference")?.text
        let currency = spec.currency.map { cell($0, field: "currency") }
        let orderDate = spec.orderDate.map { cell($0, field: "order_date") }
        var lines: [ERPPurchaseOrderAction.Line] = []
        var ok = true
        if let loop = spec.loop, let product = spec.product, let quantity = spec.quantity, let unit = spec.unit, let unitPrice = spec.unitPrice {
            iterate(loop) { ev in
                let prefix = "lines[\(ev.frames.last!.position)]."
                let product = ev.cell(product, field: prefix + "product")?.text
                let quantity = ev.cell(quantity, field: prefix + "quantity")?.text
                let unit = ev.cell(unit, field: prefix + "unit")?.text
                let unitPrice = ev.cell(unitPrice, field: prefix + "unit_price")?.text
                var description: String?
                var descriptionOK = true
                if let d = spec.description {
                    // An optional description may be NULL: that is a line without description, not a failure.
                    if let value = ev.cell(d, field: prefix + "description") { description = value.text } else { descriptionOK = false }
                }
                guard let product, let quantity, let unit, let unitPrice, descriptionOK else {
                    ok = false
                    return
                }
                lines.append(.init(product: product, quantity: quantity, unit: unit, unitPrice: unitPrice, description: description))
            }
        }
        guard ok, let supplier, let reference, currency != .some(nil), orderDate != .some(nil) else { return nil }
        return ERPPurchaseOrderAction(supplier: supplier, reference: reference, currency: currency??.text, orderDate: orderDate??.text,
                                      lines: lines, workflow: spec.workflow, attachments: spec.attachments, operation: spec.operation,
                                      version: spec.operation == .create ? nil : context.revision?.version)
    }
}
