/// Reading actions back from their JSON form (the outbox stores ``LegacyAction/json``).
extension LegacyAction {
    /// Why stored action JSON could not be read.
    public struct DecodingError: Error, Sendable, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    /// The action from its JSON form; the inverse of ``json``.
    public init(json: JSONValue) throws(DecodingError) {
        func fail(_ message: String) -> DecodingError { DecodingError(message: "stored action: \(message)") }
        guard let object = json.objectValue, let index = object["index"]?.exactInt, index >= 0, let name = object["name"]?.stringValue,
            let target = object["target"]?.stringValue, let kindText = object["kind"]?.stringValue, let kind = Kind(rawValue: kindText)
        else { throw fail("index (a whole number from 0), name, target and kind are required") }
        let payload: Payload
        switch kind {
        case .rows:
            guard let rows = object["rows"] else { throw fail("'rows' is missing") }
            payload = .rows(try RowsAction(json: rows))
        case .http:
            guard let http = object["http"]?.objectValue, let method = http["method"]?.stringValue, let path = http["path"]?.stringValue else {
                throw fail("'http' needs method and path")
            }
            let headers = (http["headers"]?.objectValue?.members ?? []).compactMap { member in
                member.value.stringValue.map { (name: member.key, value: $0) }
            }
            payload = .http(HTTPRequestAction(method: method, path: path, headers: headers, body: http["body"],
                                              captureReference: http["captureReference"]?.stringValue))
        case .xml:
            guard let xml = object["xml"]?.objectValue, let root = xml["root"] else { throw fail("'xml' needs root") }
            var soap: XMLDocumentAction.SOAP?
            if let s = xml["soap"]?.objectValue, let version = s["version"]?.stringValue {
                soap = .init(version: version, action: s["action"]?.stringValue)
            }
            var schemaDigest: ContentDigest?
            if let text = xml["schemaDigest"]?.stringValue {
                guard let digest = ContentDigest(text) else { throw fail("'xml.schemaDigest' must be sha256:<64 hex>") }
                schemaDigest = digest
            }
            payload = .xml(XMLDocumentAction(root: try XMLElementNode(json: root), soap: soap, schema: xml["schema"]?.stringValue,
                                             schemaDigest: schemaDigest, path: xml["path"]?.stringValue))
        case .erpPurchaseOrder:
            guard let order = object["purchaseOrder"]?.objectValue, let supplier = order["supplier"]?.stringValue,
                let reference = order["reference"]?.stringValue, let workflowText = order["workflow"]?.stringValue,
                let workflow = ERPPurchaseOrderAction.Workflow(rawValue: workflowText), let lines = order["lines"]?.arrayValue
            else { throw fail("'purchaseOrder' needs supplier, reference, workflow and lines") }
            var decodedLines: [ERPPurchaseOrderAction.Line] = []
            for line in lines {
                guard let product = line["product"]?.stringValue, let quantity = line["quantity"]?.stringValue,
                    let unit = line["unit"]?.stringValue, let unitPrice = line["unitPrice"]?.stringValue
                else { throw fail("a purchase order line needs product, quantity, unit and unitPrice") }
                decodedLines.append(.init(product: product, quantity: quantity, unit: unit, unitPrice: unitPrice,
                                          description: line["description"]?.stringValue))
            }
            let attachments = (order["attachments"]?.arrayValue ?? []).compactMap { $0.stringValue.flatMap(ERPPurchaseOrderAction.Attachment.init) }
            var operation = ERPPurchaseOrderAction.Operation.create
            if let text = order["operation"]?.stringValue {
                guard let parsed = ERPPurchaseOrderAction.Operation(rawValue: text) else { throw fail("'purchaseOrder.operation' must be create, amend or cancel") }
                operation = parsed
            }
            payload = .erpPurchaseOrder(ERPPurchaseOrderAction(
                supplier: supplier, reference: reference, currency: order["currency"]?.stringValue, orderDate: order["orderDate"]?.stringValue,
                lines: decodedLines, workflow: workflow, attachments: attachments, operation: operation,
                version: order["version"]?.numberValue.map { Int($0) }))
        }
        self.init(index: index, name: name, target: target, payload: payload)
    }
}

extension CellValue.ValueType {
    /// Parses the text form (`text`, `decimal(14,2)`, …).
    init?(text: String) {
        switch text {
        case "text": self = .text
        case "integer": self = .integer
        case "date": self = .date
        case "timestamp": self = .timestamp
        case "boolean": self = .boolean
        case "json": self = .json
        default:
            guard text.hasPrefix("decimal("), text.hasSuffix(")") else { return nil }
            let parts = text.dropFirst(8).dropLast().split(separator: ",")
            guard parts.count == 2, let p = Int(parts[0]), let s = Int(parts[1]) else { return nil }
            self = .decimal(precision: p, scale: s)
        }
    }
}

extension Row {
    init(values: JSONObject, types: JSONObject) throws(LegacyAction.DecodingError) {
        var cells: [(column: String, value: CellValue)] = []
        for (column, value) in values {
            guard let type = types[column]?.stringValue.flatMap(CellValue.ValueType.init(text:)) else {
                throw LegacyAction.DecodingError(message: "stored action: column '\(column)' has no readable type")
            }
            let cell: CellValue
            switch (value, type) {
            case (.null, _): cell = .null(type)
            case (.string(let text), let t) where t != .json: cell = .text(text, t)
            default: cell = CellValue(.json(value), type: type)
            }
            cells.append((column, cell))
        }
        self.init(cells)
    }
}

extension RowsAction {
    init(json: JSONValue) throws(LegacyAction.DecodingError) {
        guard let object = json.objectValue, let table = object["table"]?.stringValue, let values = object["values"]?.objectValue,
            let types = object["types"]?.objectValue
        else { throw LegacyAction.DecodingError(message: "stored action: rows need table, values and types") }
        let key = (object["key"]?.arrayValue ?? []).compactMap(\.stringValue)
        let returning = (object["returning"]?.arrayValue ?? []).compactMap(\.stringValue)
        var children: [ChildRows] = []
        for child in object["children"]?.arrayValue ?? [] {
            guard let childTable = child["table"]?.stringValue, let links = child["links"]?.objectValue,
                let childTypes = child["types"]?.objectValue, let rows = child["rows"]?.arrayValue
            else { throw LegacyAction.DecodingError(message: "stored action: child rows need table, links, types and rows") }
            var decoded: [Row] = []
            for row in rows {
                guard let rowValues = row.objectValue else { throw LegacyAction.DecodingError(message: "stored action: a child row is not an object") }
                decoded.append(try Row(values: rowValues, types: childTypes))
            }
            children.append(ChildRows(table: childTable, links: links.members.compactMap { m in m.value.stringValue.map { (m.key, $0) } },
                                      rows: decoded))
        }
        var update: RowsUpdate?
        if let spec = object["update"] {
            guard let match = spec["match"]?.arrayValue?.compactMap(\.stringValue), !match.isEmpty,
                let column = spec["versionColumn"]?.stringValue, let version = spec["version"]?.numberValue
            else { throw LegacyAction.DecodingError(message: "stored action: 'update' needs match, versionColumn and version") }
            update = RowsUpdate(match: match, versionColumn: column, version: Int(version))
        }
        self.init(table: table, key: key, returning: returning, row: try Row(values: values, types: types), children: children,
                  provenanceColumn: object["provenance"]?.stringValue, update: update)
    }
}

extension XMLElementNode {
    init(json: JSONValue) throws(LegacyAction.DecodingError) {
        guard let object = json.objectValue, let name = object["element"]?.stringValue else {
            throw LegacyAction.DecodingError(message: "stored action: an XML element needs 'element'")
        }
        let namespaces = (object["namespaces"]?.objectValue?.members ?? []).compactMap { m in m.value.stringValue.map { (prefix: m.key, uri: $0) } }
        let attributes = (object["attributes"]?.objectValue?.members ?? []).compactMap { m in m.value.stringValue.map { (name: m.key, value: $0) } }
        var children: [XMLChild] = []
        for child in object["children"]?.arrayValue ?? [] {
            if let text = child["text"]?.stringValue, child["element"] == nil {
                children.append(.text(text))
            } else {
                children.append(.element(try XMLElementNode(json: child)))
            }
        }
        self.init(name: name, namespaces: namespaces, attributes: attributes, children: children)
    }
}
