public import CausewayCore
public import Foundation

/// A loaded, checked mapping: the pure function from an agreement to typed legacy actions.
///
/// Load it with ``load(file:partnerFolder:)``: every problem in the file is reported at once as
/// `file:line:column: message`. Evaluate it with ``map(_:context:)``.
public struct Mapping: Sendable {
    /// The language version this build reads (`causeway-mapping: 1`).
    public static let languageVersion = 1

    /// The mapping's id (`id:`), e.g. `stahlteile-po`.
    public let id: String
    /// The mapping's own version (`version:`), e.g. `"1.2.0"`.
    public let version: String
    /// The agreement type it accepts (`accepts:`).
    public let accepts: String
    /// The mapping file, relative to the partner folder.
    public let file: String
    /// SHA-256 over the canonical form of the mapping and its crosswalks (and schemas).
    public let digest: ContentDigest
    /// The crosswalks by name.
    public let crosswalks: [String: Crosswalk]
    /// The targets the actions name, in action order.
    public var targets: [String] { actions.map(\.target) }
    /// The action names, in order.
    public var actionNames: [String] { actions.map(\.name) }

    let actions: [ActionSpec]
    let assertions: [AssertionSpec]
    /// Where `accepts:` is written (or the file's start), for failures about the agreement type.
    let acceptsLocation: SourceLocation

    static let topKeys: Set<String> = ["causeway-mapping", "id", "version", "accepts", "description", "crosswalks", "assertions", "actions"]

    /// Loads and checks a mapping file. Paths in it (crosswalks, schemas) are relative to `partnerFolder`.
    public static func load(file: String, partnerFolder: URL) throws(MappingLoadError) -> Mapping {
        let url = partnerFolder.appendingPathComponent(file)
        let display = url.path
        var d = Diagnostics()
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw MappingLoadError([MappingDiagnostic("mapping.file_missing", "cannot read the mapping file", at: SourceLocation(file: display, line: 1, column: 1))])
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw MappingLoadError([MappingDiagnostic("mapping.encoding", "the mapping file is not UTF-8", at: SourceLocation(file: display, line: 1, column: 1))])
        }
        guard let root = YNode.parse(text, file: display, diagnostics: &d) else { throw MappingLoadError(d.sorted()) }
        let mapping = MappingLoader(partnerFolder: partnerFolder, file: file, display: display).load(root, &d)
        guard d.isEmpty, let mapping else { throw MappingLoadError(d.sorted()) }
        return mapping
    }

    init(id: String, version: String, accepts: String, file: String, digest: ContentDigest, crosswalks: [String: Crosswalk],
         actions: [ActionSpec], assertions: [AssertionSpec], acceptsLocation: SourceLocation) {
        self.acceptsLocation = acceptsLocation
        self.id = id
        self.version = version
        self.accepts = accepts
        self.file = file
        self.digest = digest
        self.crosswalks = crosswalks
        self.actions = actions
        self.assertions = assertions
    }
}

/// Reads a mapping file's YAML into specs, collecting every diagnostic.
struct MappingLoader {
    let partnerFolder: URL
    let file: String
    let display: String

    func load(_ root: YNode, _ d: inout Diagnostics) -> Mapping? {
        guard let top = root.mapping("the mapping file", allowed: Mapping.topKeys, &d) else { return nil }
        // Language version first: a file for another version is not read further.
        guard let versionNode = top["causeway-mapping"] else {
            d.error("mapping.language_version", "the file must start with 'causeway-mapping: 1' (the language version)", at: root.location)
            return nil
        }
        guard versionNode.scalar == String(Mapping.languageVersion) else {
            d.error("mapping.language_version", "this gateway reads causeway-mapping: \(Mapping.languageVersion), not '\(versionNode.scalar ?? "?")'",
                    at: versionNode.location)
            return nil
        }
        let id = required(top, "id", &d)
        let version = required(top, "version", &d)
        if let v = top["version"], v.isAmbiguousPlainScalar {
            d.error("mapping.ambiguous_scalar", "quote the version (version: \"\(v.scalar ?? "")\"): YAML 1.1 readers turn it into a number",
                    at: v.location)
        }
        let accepts = top["accepts"].flatMap { $0.string("'accepts'", &d) } ?? PurchaseAgreement.typeName

        // Crosswalks.
        var crosswalks: [String: Crosswalk] = [:]
        var crosswalkDigests = JSONObject()
        if let node = top["crosswalks"], let pairs = node.mapping("'crosswalks'", allowed: Set(node.pairs?.map(\.key) ?? []), &d)?.pairs {
            for (name, _, spec) in pairs {
                guard let spec = spec.mapping("crosswalk '\(name)'", allowed: ["file", "key", "value", "on_miss", "default"], &d),
                    let path = required(spec, "file", &d), let key = required(spec, "key", &d), let value = required(spec, "value", &d)
                else { continue }
                var onMiss = Crosswalk.MissPolicy.error
                switch spec["on_miss"]?.scalar {
                case nil, "error": break
                case "pass_through": onMiss = .passThrough
                case "default":
                    spec["default"]?.lintAmbiguous(&d)
                    guard let fallback = spec["default"]?.string("'default'", &d) else {
                        d.error("mapping.type_error", "on_miss: default needs 'default': the value to use", at: spec.location)
                        continue
                    }
                    onMiss = .value(fallback)
                default:
                    d.error("mapping.type_error", "'on_miss' must be error, pass_through or default", at: spec["on_miss"]!.location)
                }
                let url = partnerFolder.appendingPathComponent(path)
                guard let data = FileManager.default.contents(atPath: url.path), let text = String(data: data, encoding: .utf8) else {
                    d.error("mapping.crosswalk_missing", "cannot read the crosswalk file \(path)", at: spec["file"]!.location)
                    continue
                }
                guard let crosswalk = CSV.crosswalk(name: name, file: path, text: text, keyColumn: key, valueColumn: value, onMiss: onMiss,
                                                    at: spec.location, &d)
                else { continue }
                crosswalks[name] = crosswalk
                crosswalkDigests[name] = [
                    "file": .string(path), "header": .array(crosswalk.header.map(JSONValue.string)),
                    "rows": .array(crosswalk.rows.map { .array($0.map(JSONValue.string)) }),
                ]
            }
        }

        // Declared names count even when a table failed to load, so its uses do not add follow-on errors.
        let declared = Set(top["crosswalks"]?.pairs?.map(\.key) ?? [])
        var parser = ExpressionParser(crosswalks: declared)

        // Assertions.
        var assertions: [AssertionSpec] = []
        if let node = top["assertions"] {
            if let items = node.items {
                for item in items {
                    guard let spec = item.mapping("an assertion", allowed: ["that", "message"], &d) else { continue }
                    guard let thatNode = spec["that"], let message = spec["message"]?.string("'message'", &d) else {
                        d.error("mapping.type_error", "an assertion needs 'that' (a condition) and 'message'", at: item.location)
                        continue
                    }
                    if let condition = parser.condition(thatNode, d: &d) {
                        assertions.append(AssertionSpec(condition: condition, message: message, location: item.location))
                    }
                }
            } else {
                d.error("mapping.type_error", "'assertions' must be a list", at: node.location)
            }
        }

        // Actions.
        var actions: [ActionSpec] = []
        var schemaDigests = JSONObject()
        guard let actionsNode = top["actions"], let items = actionsNode.items, !items.isEmpty else {
            d.error("mapping.no_actions", "'actions' must list at least one action", at: top["actions"]?.location ?? root.location)
            return nil
        }
        var names: Set<String> = []
        for item in items {
            guard let spec = item.mapping("an action", allowed: ["name", "target", "rows", "http", "xml", "erp_purchase_order", "on_change", "on_cancel"], &d),
                let name = required(spec, "name", &d), let target = required(spec, "target", &d)
            else { continue }
            if !names.insert(name).inserted { d.error("mapping.duplicate_action", "two actions are named '\(name)'", at: spec["name"]!.location) }
            let kinds = ["rows", "http", "xml", "erp_purchase_order"].filter { spec[$0] != nil }
            guard kinds.count == 1 else {
                d.error("mapping.action_kind", "an action has exactly one of rows, http, xml, erp_purchase_order", at: item.location)
                continue
            }
            let body = self.body(spec, kind: kinds[0], operation: .create, &parser, &schemaDigests, &d)
            // What a change and a cancellation mean for this action: a body of the same family, which may
            // also read previous: (the version followed), original: (version 1) and legacy: (the references
            // the legacy systems answered, by action name).
            var revisions: [ActionSpec.Body?] = []
            for (key, operation) in [("on_change", ERPPurchaseOrderAction.Operation.amend), ("on_cancel", .cancel)] {
                guard let node = spec[key] else {
                    revisions.append(nil)
                    continue
                }
                guard let section = node.mapping("'\(key)'", allowed: ["rows", "http", "xml", "erp_purchase_order"], &d) else {
                    revisions.append(nil)
                    continue
                }
                let sectionKinds = ["rows", "http", "xml", "erp_purchase_order"].filter { section[$0] != nil }
                guard sectionKinds == [kinds[0]] else {
                    d.error("mapping.action_kind", "'\(key)' of action '\(name)' has exactly one \(kinds[0]) section, like the action (same target)",
                            at: node.location)
                    revisions.append(nil)
                    continue
                }
                var revisionParser = parser
                revisionParser.variables += ["previous", "original", "legacy"]
                revisions.append(self.body(section, kind: kinds[0], operation: operation, &revisionParser, &schemaDigests, &d))
            }
            if let body {
                var action = ActionSpec(name: name, target: target, body: body, location: item.location)
                action.onChange = revisions[0]
                action.onCancel = revisions[1]
                actions.append(action)
            }
        }

        guard let id, let version, d.isEmpty else { return nil }
        let canonical: JSONValue = [
            "causeway-mapping": .number(Double(Mapping.languageVersion)),
            "mapping": root.json,
            "crosswalks": .object(crosswalkDigests),
            "schemas": .object(schemaDigests),
        ]
        return Mapping(id: id, version: version, accepts: accepts, file: file, digest: ContentDigest(of: JCS.canonicalize(canonical)),
                       crosswalks: crosswalks, actions: actions, assertions: assertions,
                       acceptsLocation: top["accepts"]?.location ?? SourceLocation(file: display, line: 1, column: 1))
    }

    /// One action body (`rows`, `http`, `xml`, `erp_purchase_order`) of `spec`; `operation` says
    /// whether it is the first version's (`create`), a change's (`amend`) or a cancellation's (`cancel`).
    func body(_ spec: YNode, kind: String, operation: ERPPurchaseOrderAction.Operation, _ parser: inout ExpressionParser,
              _ schemaDigests: inout JSONObject, _ d: inout Diagnostics) -> ActionSpec.Body? {
        switch kind {
        case "rows": return rows(spec["rows"]!, &parser, &d, revision: operation != .create).map(ActionSpec.Body.rows)
        case "http": return http(spec["http"]!, &parser, &d).map(ActionSpec.Body.http)
        case "xml":
            var xmlSpec = xml(spec["xml"]!, &parser, &d)
            if let schema = xmlSpec?.schema {
                if let data = FileManager.default.contents(atPath: partnerFolder.appendingPathComponent(schema).path) {
                    let digest = ContentDigest(of: Array(data))
                    schemaDigests[schema] = .string(digest.description)
                    xmlSpec?.schemaDigest = digest
                } else {
                    d.error("mapping.schema_missing", "cannot read the XML schema \(schema)", at: spec["xml"]!["schema"]!.location)
                }
            }
            return xmlSpec.map(ActionSpec.Body.xml)
        default: return erp(spec["erp_purchase_order"]!, &parser, &d, operation: operation).map(ActionSpec.Body.erp)
        }
    }

    func required(_ node: YNode, _ key: String, _ d: inout Diagnostics) -> String? {
        guard let value = node[key] else {
            d.error("mapping.missing_key", "'\(key)' is required here", at: node.location)
            return nil
        }
        return value.string("'\(key)'", &d)
    }

    func columns(_ node: YNode?, _ parser: inout ExpressionParser, _ d: inout Diagnostics) -> [(name: String, cell: Cell)] {
        guard let node else { return [] }
        guard let pairs = node.pairs else {
            d.error("mapping.type_error", "'columns' must map column names to expressions", at: node.location)
            return []
        }
        var result: [(name: String, cell: Cell)] = []
        for (name, _, value) in pairs {
            if let cell = parser.cell(value, what: "column '\(name)'", &d) { result.append((name, cell)) }
        }
        return result
    }

    /// - Parameter revision: an `on_change`/`on_cancel` body: `match` and `version` instead of `key`.
    func rows(_ node: YNode, _ parser: inout ExpressionParser, _ d: inout Diagnostics, revision: Bool = false) -> RowsSpec? {
        let allowed: Set<String> = revision ? ["table", "match", "version", "returns", "provenance", "columns", "children"]
            : ["table", "key", "returns", "provenance", "columns", "children"]
        guard let spec = node.mapping("'rows'", allowed: allowed, &d), let table = required(spec, "table", &d) else { return nil }
        var match: [String]?
        var versionColumn: String?
        if revision {
            match = spec["match"].flatMap { $0.strings("'match'", &d) }
            versionColumn = spec["version"].flatMap { $0.string("'version'", &d) }
            if match?.isEmpty ?? true {
                d.error("mapping.key_required", "a change's or cancellation's 'rows' needs 'match': the columns that find the row the first version wrote",
                        at: spec.location)
            }
            if versionColumn == nil {
                d.error("mapping.key_required", "a change's or cancellation's 'rows' needs 'version': the column that holds the version applied to the row",
                        at: spec.location)
            }
        }
        let key = match ?? spec["key"].flatMap { $0.strings("'key'", &d) } ?? []
        let returns = spec["returns"].flatMap { $0.strings("'returns'", &d) } ?? []
        let provenance = spec["provenance"].flatMap { $0.string("'provenance'", &d) }
        let cols = columns(spec["columns"], &parser, &d)
        if cols.isEmpty { d.error("mapping.no_columns", "'rows' needs 'columns'", at: spec.location) }
        let names = Set(cols.map(\.name))
        for column in key where !names.contains(column) && column != provenance {
            d.error("mapping.unknown_column", "the \(revision ? "match" : "key") column '\(column)' has no cell in 'columns'",
                    at: spec[revision ? "match" : "key"]!.location)
        }
        if let versionColumn, names.contains(versionColumn) {
            d.error("mapping.duplicate_column", "'\(versionColumn)' is the version column: the gateway sets it, so it has no cell in 'columns'",
                    at: spec["version"]!.location)
        }
        if key.isEmpty, !revision {
            d.error("mapping.key_required", "'rows' needs 'key': the columns that make the write idempotent (a unique constraint in the table)",
                    at: spec.location)
        }
        var children: [ChildRowsSpec] = []
        if let childNodes = spec["children"] {
            for child in childNodes.items ?? [] {
                guard let c = child.mapping("child rows", allowed: ["table", "for_each", "columns"], &d), let childTable = required(c, "table", &d)
                else { continue }
                var childParser = parser
                childParser.parentColumns = returns
                var loop: Loop?
                if let each = c["for_each"] {
                    loop = childParser.loop(each, d: &d)
                    if let loop { childParser.variables.append(loop.variable) }
                }
                let childColumns = columns(c["columns"], &childParser, &d)
                let linksWritten = c["columns"]?.pairs?.contains { $0.value["parent"] != nil } ?? false
                if !linksWritten {
                    d.error("mapping.no_parent_link", "child rows must link to the parent with a column such as po_id: {parent: po_id}",
                            at: c.location)
                }
                children.append(ChildRowsSpec(table: childTable, loop: loop, columns: childColumns, location: c.location))
            }
            if childNodes.items == nil { d.error("mapping.type_error", "'children' must be a list", at: childNodes.location) }
        }
        var result = RowsSpec(table: table, key: key, returns: returns, provenanceColumn: provenance, columns: cols, children: children)
        result.match = match
        result.versionColumn = versionColumn
        return result
    }

    func template(_ node: YNode, _ parser: inout ExpressionParser, _ d: inout Diagnostics) -> JSONTemplate? {
        if let object = node["object"], node.pairs?.count == 1 {
            guard let pairs = object.pairs else {
                d.error("mapping.type_error", "'object' maps member names to values", at: object.location)
                return nil
            }
            var members: [(key: String, value: JSONTemplate)] = []
            for (key, _, value) in pairs {
                if let t = template(value, &parser, &d) { members.append((key, t)) }
            }
            return .object(members)
        }
        if let array = node["array"], node.pairs?.count == 1 {
            if let items = array.items {
                return .array(items.compactMap { template($0, &parser, &d) })
            }
            guard let spec = array.mapping("'array'", allowed: ["for_each", "item"], &d), let each = spec["for_each"], let item = spec["item"] else {
                d.error("mapping.type_error", "'array' is a list of values, or {for_each: …, item: …}", at: array.location)
                return nil
            }
            guard let loop = parser.loop(each, d: &d) else { return nil }
            parser.variables.append(loop.variable)
            defer { parser.variables.removeLast() }
            return template(item, &parser, &d).map { .repeated(loop, item: $0) }
        }
        return parser.cell(node, what: "a body value", &d).map(JSONTemplate.value)
    }

    func http(_ node: YNode, _ parser: inout ExpressionParser, _ d: inout Diagnostics) -> HTTPSpec? {
        guard let spec = node.mapping("'http'", allowed: ["method", "path", "headers", "body", "capture_reference"], &d) else { return nil }
        let method = spec["method"].flatMap { $0.string("'method'", &d) } ?? "POST"
        guard ["GET", "POST", "PUT", "PATCH", "DELETE"].contains(method) else {
            d.error("mapping.type_error", "'method' must be GET, POST, PUT, PATCH or DELETE", at: spec["method"]!.location)
            return nil
        }
        guard let pathNode = spec["path"] else {
            d.error("mapping.missing_key", "'path' is required here", at: spec.location)
            return nil
        }
        let path: Cell?
        if let literal = pathNode.scalar {
            path = Cell(expression: Expression(kind: .constant(literal), location: pathNode.location, type: .string), type: nil, rounding: .exact,
                        optional: false, defaultValue: nil, allowNull: false, maxLength: nil, accepted: nil, location: pathNode.location)
            if !Evaluator.isSafePath(literal) {
                d.error("mapping.invalid_path", "'path' must start with '/' and use only URL path characters, without '..' segments or '#'",
                        at: pathNode.location)
            }
        } else {
            path = parser.cell(pathNode, what: "'path'", &d)
        }
        var headers: [(name: String, value: Cell)] = []
        if let h = spec["headers"] {
            for (name, keyLocation, value) in h.pairs ?? [] {
                let token = !name.isEmpty && name.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "!#$%&'*+-.^_`|~".unicodeScalars.contains($0)) }
                if !token { d.error("mapping.invalid_header", "'\(name)' is not a valid HTTP header name", at: keyLocation) }
                if let cell = parser.cell(value, what: "header '\(name)'", &d) { headers.append((name, cell)) }
            }
        }
        let body = spec["body"].flatMap { template($0, &parser, &d) }
        var capture: String?
        if let c = spec["capture_reference"], let text = c.string("'capture_reference'", &d) {
            do { _ = try JSONPathQuery(text) } catch {
                d.error("mapping.invalid_jsonpath", "invalid JSONPath: \(error.message)", at: c.location.advanced(by: error.offset + 1))
            }
            capture = text
        }
        guard let path else { return nil }
        return HTTPSpec(method: method, path: path, headers: headers, body: body, captureReference: capture)
    }

    func element(_ node: YNode, _ parser: inout ExpressionParser, _ d: inout Diagnostics) -> XMLElementSpec? {
        guard let spec = node.mapping("an XML element",
                                      allowed: ["element", "namespaces", "attributes", "text", "children", "for_each", "optional", "when"], &d),
            let name = required(spec, "element", &d)
        else { return nil }
        if !MappingLoader.isQName(name) {
            d.error("mapping.invalid_xml_name", "'\(name)' is not a valid XML element name (prefix:LocalName)", at: spec["element"]!.location)
        }
        for (attribute, keyLocation, _) in spec["attributes"]?.pairs ?? [] where !MappingLoader.isQName(attribute) {
            d.error("mapping.invalid_xml_name", "'\(attribute)' is not a valid XML attribute name", at: keyLocation)
        }
        for (prefix, keyLocation, _) in spec["namespaces"]?.pairs ?? [] where prefix != "default" && !MappingLoader.isNCName(prefix) {
            d.error("mapping.invalid_xml_name", "'\(prefix)' is not a valid namespace prefix", at: keyLocation)
        }
        var loop: Loop?
        if let each = spec["for_each"] {
            loop = parser.loop(each, d: &d)
            if let loop { parser.variables.append(loop.variable) }
        }
        defer { if loop != nil { parser.variables.removeLast() } }
        var namespaces: [(prefix: String, uri: String)] = []
        for (prefix, _, uri) in spec["namespaces"]?.pairs ?? [] {
            if let u = uri.string("a namespace URI", &d) { namespaces.append((prefix == "default" ? "" : prefix, u)) }
        }
        var attributes: [(name: String, value: Cell)] = []
        for (attribute, _, value) in spec["attributes"]?.pairs ?? [] {
            if let cell = parser.cell(value, what: "attribute '\(attribute)'", &d) { attributes.append((attribute, cell)) }
        }
        let text = spec["text"].flatMap { parser.cell($0, what: "the text of <\(name)>", &d) }
        var children: [XMLElementSpec] = []
        for child in spec["children"]?.items ?? [] {
            if let c = element(child, &parser, &d) { children.append(c) }
        }
        if text != nil, !children.isEmpty {
            d.error("mapping.type_error", "<\(name)> has both 'text' and 'children'; mixed content is not supported", at: spec.location)
        }
        let optional = spec["optional"].flatMap { $0.bool("'optional'", &d) } ?? false
        let when = spec["when"].flatMap { parser.condition($0, d: &d) }
        return XMLElementSpec(name: name, namespaces: namespaces, attributes: attributes, text: text, children: children, loop: loop,
                              optional: optional, when: when, location: spec.location)
    }

    static func isNCName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first == "_" || first.properties.isAlphabetic else { return false }
        return name.unicodeScalars.allSatisfy { $0 == "_" || $0 == "-" || $0 == "." || $0.properties.isAlphabetic || ("0"..."9").contains($0) }
    }

    static func isQName(_ name: String) -> Bool {
        let parts = name.split(separator: ":", omittingEmptySubsequences: false)
        return (parts.count == 1 || parts.count == 2) && parts.allSatisfy { isNCName(String($0)) }
    }

    /// Every prefix used by an element or attribute is declared on it or an ancestor.
    func checkPrefixes(_ element: XMLElementSpec, declared: Set<String>, _ d: inout Diagnostics) {
        let scope = declared.union(element.namespaces.map(\.prefix))
        let names = [element.name] + element.attributes.map(\.name)
        for name in names where name.contains(":") {
            let prefix = String(name.split(separator: ":")[0])
            if !scope.contains(prefix) {
                d.error("mapping.undeclared_prefix", "the prefix '\(prefix)' of '\(name)' is not declared in 'namespaces' here or above",
                        at: element.location)
            }
        }
        for child in element.children { checkPrefixes(child, declared: scope, &d) }
    }

    func xml(_ node: YNode, _ parser: inout ExpressionParser, _ d: inout Diagnostics) -> XMLSpec? {
        guard let spec = node.mapping("'xml'", allowed: ["root", "soap", "schema", "path"], &d) else { return nil }
        guard let rootNode = spec["root"], let root = element(rootNode, &parser, &d) else {
            if spec["root"] == nil { d.error("mapping.missing_key", "'root' is required here", at: spec.location) }
            return nil
        }
        if root.loop != nil { d.error("mapping.type_error", "the root element cannot repeat", at: root.location) }
        if root.when != nil || root.optional {
            d.error("mapping.type_error", "the root element is always written: it cannot have 'when' or 'optional'", at: root.location)
        }
        checkPrefixes(root, declared: ["xml"], &d)
        var soap: XMLDocumentAction.SOAP?
        if let s = spec["soap"], let soapSpec = s.mapping("'soap'", allowed: ["version", "action"], &d) {
            let version = soapSpec["version"].flatMap { $0.string("'version'", &d) } ?? "1.1"
            if version != "1.1", version != "1.2" { d.error("mapping.type_error", "SOAP 'version' must be \"1.1\" or \"1.2\"", at: soapSpec.location) }
            soap = XMLDocumentAction.SOAP(version: version, action: soapSpec["action"].flatMap { $0.string("'action'", &d) })
        }
        let path = spec["path"].flatMap { $0.string("'path'", &d) }
        if let path, !Evaluator.isSafePath(path) {
            d.error("mapping.invalid_path", "'path' must start with '/' and use only URL path characters, without '..' segments or '#'",
                    at: spec["path"]!.location)
        }
        return XMLSpec(root: root, soap: soap, schema: spec["schema"].flatMap { $0.string("'schema'", &d) }, schemaDigest: nil, path: path)
    }

    func erp(_ node: YNode, _ parser: inout ExpressionParser, _ d: inout Diagnostics,
             operation: ERPPurchaseOrderAction.Operation = .create) -> ERPSpec? {
        guard let spec = node.mapping("'erp_purchase_order'",
                                      allowed: ["supplier", "reference", "currency", "order_date", "workflow", "attachments", "lines"], &d)
        else { return nil }
        func cell(_ key: String, required: Bool = true) -> Cell? {
            guard let n = spec[key] else {
                if required { d.error("mapping.missing_key", "'\(key)' is required here", at: spec.location) }
                return nil
            }
            return parser.cell(n, what: "'\(key)'", &d)
        }
        let supplier = cell("supplier"), reference = cell("reference")
        let currency = cell("currency", required: false), orderDate = cell("order_date", required: false)
        var workflow = ERPPurchaseOrderAction.Workflow.draft
        if let w = spec["workflow"], let text = w.string("'workflow'", &d) {
            if let value = ERPPurchaseOrderAction.Workflow(rawValue: text) { workflow = value } else {
                d.error("mapping.type_error", "'workflow' must be draft, quote or confirm", at: w.location)
            }
        }
        var attachments: [ERPPurchaseOrderAction.Attachment] = []
        for text in spec["attachments"].flatMap({ $0.strings("'attachments'", &d) }) ?? [] {
            if let value = ERPPurchaseOrderAction.Attachment(rawValue: text) { attachments.append(value) } else {
                d.error("mapping.type_error", "attachments are 'agreement' and 'provenance', not '\(text)'", at: spec["attachments"]!.location)
            }
        }
        // A cancellation needs no lines: it cancels the order the reference finds.
        if operation == .cancel, spec["lines"] == nil {
            guard let supplier, let reference else { return nil }
            return ERPSpec(supplier: supplier, reference: reference, currency: currency, orderDate: orderDate, workflow: workflow,
                           attachments: attachments, loop: nil, product: nil, quantity: nil, unit: nil, unitPrice: nil, description: nil,
                           operation: operation)
        }
        guard let linesNode = spec["lines"], let lines = linesNode.mapping("'lines'",
                                                                             allowed: ["for_each", "product", "quantity", "unit", "unit_price", "description"], &d)
        else {
            if spec["lines"] == nil { d.error("mapping.missing_key", "'lines' is required here", at: spec.location) }
            return nil
        }
        guard let each = lines["for_each"], let loop = parser.loop(each, d: &d) else {
            if lines["for_each"] == nil { d.error("mapping.missing_key", "'lines' needs 'for_each'", at: lines.location) }
            return nil
        }
        parser.variables.append(loop.variable)
        defer { parser.variables.removeLast() }
        func lineCell(_ key: String, required: Bool = true) -> Cell? {
            guard let n = lines[key] else {
                if required { d.error("mapping.missing_key", "'\(key)' is required in 'lines'", at: lines.location) }
                return nil
            }
            return parser.cell(n, what: "'\(key)'", &d)
        }
        let product = lineCell("product"), quantity = lineCell("quantity"), unit = lineCell("unit"), unitPrice = lineCell("unit_price")
        let description = lineCell("description", required: false)
        guard let supplier, let reference, let product, let quantity, let unit, let unitPrice else { return nil }
        return ERPSpec(supplier: supplier, reference: reference, currency: currency, orderDate: orderDate, workflow: workflow,
                       attachments: attachments, loop: loop, product: product, quantity: quantity, unit: unit, unitPrice: unitPrice,
                       description: description, operation: operation)
    }
}

extension Mapping {
    /// Whether any action says what a change (`on_change`) or a cancellation (`on_cancel`) means.
    public func handles(_ kind: AgreementRevision.Kind) -> Bool {
        actions.contains { (kind == .change ? $0.onChange : $0.onCancel) != nil }
    }
}
