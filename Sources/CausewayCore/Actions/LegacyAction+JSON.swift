/// The JSON form of actions: what `causeway mappings preview` prints and golden fixtures hold.
extension LegacyAction {
    public var json: JSONValue {
        var object: JSONObject = ["index": .number(Double(index)), "name": .string(name), "kind": .string(kind.rawValue),
                                  "target": .string(target)]
        switch payload {
        case .rows(let rows): object["rows"] = rows.json
        case .http(let http): object["http"] = http.json
        case .xml(let xml): object["xml"] = xml.json
        case .erpPurchaseOrder(let order): object["purchaseOrder"] = order.json
        }
        return .object(object)
    }
}

extension Row {
    public var json: JSONValue { .object(JSONObject(uncheckedMembers: cells.map { ($0.column, $0.value.json) })) }

    /// Column → declared type, for the `types` member.
    var typesJSON: JSONValue { .object(JSONObject(uncheckedMembers: cells.map { ($0.column, .string($0.value.type.description)) })) }
}

extension RowsAction {
    public var json: JSONValue {
        var object: JSONObject = ["table": .string(table), "key": .array(key.map(JSONValue.string)),
                                  "returning": .array(returning.map(JSONValue.string)),
                                  "values": row.json, "types": row.typesJSON]
        if let provenanceColumn { object["provenance"] = .string(provenanceColumn) }
        if !children.isEmpty { object["children"] = .array(children.map(\.json)) }
        if let update {
            object["update"] = ["match": .array(update.match.map(JSONValue.string)), "versionColumn": .string(update.versionColumn),
                                "version": .number(Double(update.version))]
        }
        return .object(object)
    }
}

extension ChildRows {
    public var json: JSONValue {
        [
            "table": .string(table),
            "links": .object(JSONObject(uncheckedMembers: links.map { ($0.column, .string($0.parentColumn)) })),
            "types": rows.first?.typesJSON ?? [:],
            "rows": .array(rows.map(\.json)),
        ]
    }
}

extension HTTPRequestAction {
    public var json: JSONValue {
        var object: JSONObject = ["method": .string(method), "path": .string(path)]
        if !headers.isEmpty { object["headers"] = .object(JSONObject(uncheckedMembers: headers.map { ($0.name, .string($0.value)) })) }
        if let body { object["body"] = body }
        if let captureReference { object["captureReference"] = .string(captureReference) }
        return .object(object)
    }
}

extension XMLElementNode {
    public var json: JSONValue {
        var object: JSONObject = ["element": .string(name)]
        if !namespaces.isEmpty {
            object["namespaces"] = .object(JSONObject(uncheckedMembers: namespaces.map { ($0.prefix, .string($0.uri)) }))
        }
        if !attributes.isEmpty {
            object["attributes"] = .object(JSONObject(uncheckedMembers: attributes.map { ($0.name, .string($0.value)) }))
        }
        if !children.isEmpty {
            object["children"] = .array(children.map { child in
                switch child {
                case .element(let element): element.json
                case .text(let text): ["text": .string(text)]
                }
            })
        }
        return .object(object)
    }
}

extension XMLDocumentAction {
    public var json: JSONValue {
        var object: JSONObject = ["root": root.json, "document": .string(XMLSerializer.document(self))]
        if let soap {
            var s: JSONObject = ["version": .string(soap.version)]
            if let action = soap.action { s["action"] = .string(action) }
            object["soap"] = .object(s)
        }
        if let schema { object["schema"] = .string(schema) }
        if let schemaDigest { object["schemaDigest"] = .string(schemaDigest.description) }
        if let path { object["path"] = .string(path) }
        return .object(object)
    }
}

extension ERPPurchaseOrderAction {
    public var json: JSONValue {
        var object: JSONObject = ["supplier": .string(supplier), "reference": .string(reference)]
        if let currency { object["currency"] = .string(currency) }
        if let orderDate { object["orderDate"] = .string(orderDate) }
        object["workflow"] = .string(workflow.rawValue)
        object["lines"] = .array(lines.map { line in
            var l: JSONObject = ["product": .string(line.product), "quantity": .string(line.quantity), "unit": .string(line.unit),
                                 "unitPrice": .string(line.unitPrice)]
            if let description = line.description { l["description"] = .string(description) }
            return .object(l)
        })
        object["attachments"] = .array(attachments.map { .string($0.rawValue) })
        // A first version's JSON is what it was before changes existed (goldens and stored actions stay byte-identical).
        if operation != .create { object["operation"] = .string(operation.rawValue) }
        if let version { object["version"] = .number(Double(version)) }
        return .object(object)
    }
}
