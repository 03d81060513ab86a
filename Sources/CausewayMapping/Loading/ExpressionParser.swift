import CausewayCore
import Foundation

/// Turns YAML nodes into expressions, cells, conditions and loops, checking names and types.
struct ExpressionParser {
    /// Loop variables in scope, innermost last.
    var variables: [String] = []
    /// Declared crosswalk names.
    let crosswalks: Set<String>
    /// Columns the parent row returns, when parsing a child row set.
    var parentColumns: [String]? = nil

    static let cellModifiers: Set<String> = ["as", "rounding", "optional", "default", "null", "max_length", "accepted"]
    static let selectorModifiers: Set<String> = ["reduce", "separator", "lookup"]
    static let heads: [String: Set<String>] = [
        "const": [], "meta": [], "position": ["start"], "parent": [], "lookup": ["key"],
        "concat": ["separator"], "upper": [], "lower": [], "trim": [], "length": [],
        "substring": ["start", "length"], "pad": ["width", "with", "side"], "replace": ["find", "with"], "url_encode": [],
        "date": ["format", "offset"], "timestamp": [], "add": [], "subtract": [], "multiply": [],
        "divide": ["scale", "rounding"], "round": ["scale", "rounding"], "sum": ["over"], "count": [],
        "coalesce": [], "required": ["message"], "if": ["then", "else"],
    ]

    // MARK: Cells

    mutating func cell(_ node: YNode, what: String, _ d: inout Diagnostics) -> Cell? {
        guard node.pairs != nil else {
            let hint = node.scalar.map { s in s.hasPrefix("$") ? " — write {agreement: \"\(s)\"}" : " — write {const: \"\(s)\"}" } ?? ""
            d.error("mapping.type_error", "\(what) must be an expression such as {agreement: \"$.id\"} or {const: \"V-1001\"}\(hint)",
                    at: node.location)
            return nil
        }
        // `round` and `divide` take their own `rounding`; it is not the cell's then.
        let headOwnsRounding = node["round"] != nil || node["divide"] != nil
        guard let expression = expression(node, what: what, extraKeys: headOwnsRounding ? Self.cellModifiers.subtracting(["rounding"]) : Self.cellModifiers,
                                          d: &d)
        else { return nil }
        var type: CellValue.ValueType?
        if let asNode = node["as"], let text = asNode.string("'as'", &d) {
            type = Self.cellType(text)
            if type == nil {
                d.error("mapping.unknown_type", "unknown type '\(text)'; use text, decimal(P,S), integer, date, timestamp, boolean or json",
                        at: asNode.location)
            }
        }
        var rounding = DecimalText.Rounding.exact
        if let r = node["rounding"], !headOwnsRounding {
            if let text = r.string("'rounding'", &d) {
                if let value = DecimalText.Rounding(rawValue: text) { rounding = value } else {
                    d.error("mapping.unknown_rounding", "unknown rounding '\(text)'; use half-even, half-up, down, up or exact", at: r.location)
                }
            }
            if case .decimal = type {} else {
                d.error("mapping.type_error", "'rounding' applies only to cells declared as decimal(P,S)", at: node.keyLocation("rounding"))
            }
        }
        // Type compatibility of the expression with the declared cell type.
        if let type { checkCompatible(expression, with: type, at: node.keyLocation("as") ?? node.location, &d) }
        if type == nil, expression.type == .decimal, !headOwnsRounding {
            d.error("mapping.scale_required", "\(what) computes a decimal: declare its type and scale, e.g. as: decimal(14,2)",
                    at: node.location)
        }
        let optional = node["optional"].flatMap { $0.bool("'optional'", &d) } ?? false
        var defaultValue: String?
        if let value = node["default"] {
            defaultValue = value.string("'default'", &d)
            if value.isAmbiguousPlainScalar {
                d.error("mapping.ambiguous_scalar", "quote the default value: YAML 1.1 readers would change '\(value.scalar ?? "")'",
                        at: value.location)
            }
        }
        var allowNull = false
        if let value = node["null"] {
            if value.scalar == "allow" { allowNull = true } else if value.scalar != "error" {
                d.error("mapping.type_error", "'null' must be 'allow' or 'error'", at: value.location)
            }
        }
        let maxLength = node["max_length"].flatMap { $0.integer("'max_length'", &d) }
        let accepted = node["accepted"].flatMap { $0.strings("'accepted'", &d, values: true) }
        if optional, defaultValue != nil {
            d.error("mapping.conflict", "use either 'optional' or 'default', not both", at: node.keyLocation("default"))
        }
        return Cell(expression: expression, type: type, rounding: rounding, optional: optional, defaultValue: defaultValue,
                    allowNull: allowNull, maxLength: maxLength, accepted: accepted, location: node.location)
    }

    static func cellType(_ text: String) -> CellValue.ValueType? {
        switch text {
        case "text", "string": return .text
        case "integer": return .integer
        case "date": return .date
        case "timestamp": return .timestamp
        case "boolean": return .boolean
        case "json": return .json
        default:
            guard text.hasPrefix("decimal("), text.hasSuffix(")") else { return nil }
            let inner = text.dropFirst("decimal(".count).dropLast().split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            guard inner.count == 2, let p = Int(inner[0]), let s = Int(inner[1]), p >= 1, p <= 38, s >= 0, s <= p else { return nil }
            return .decimal(precision: p, scale: s)
        }
    }

    func checkCompatible(_ expression: Expression, with type: CellValue.ValueType, at location: SourceLocation, _ d: inout Diagnostics) {
        let ok: Bool
        switch type {
        case .text: ok = expression.type != .json
        case .decimal, .integer: ok = [.any, .decimal, .integer, .string].contains(expression.type)
        case .date, .timestamp: ok = [.any, .date, .timestamp, .string].contains(expression.type)
        case .boolean: ok = [.any, .boolean, .string].contains(expression.type)
        case .json: ok = true
        }
        if !ok {
            d.error("mapping.type_error", "the expression gives a \(expression.type.rawValue), which cannot be a \(type) cell", at: location)
        }
    }

    // MARK: Expressions

    /// Parses an expression node. `extraKeys` are keys the caller handles (cell modifiers).
    mutating func expression(_ node: YNode, what: String, extraKeys: Set<String> = [], d: inout Diagnostics) -> Expression? {
        guard let pairs = node.pairs else {
            d.error("mapping.type_error", "\(what) must be an expression (a mapping such as {agreement: \"$.id\"})", at: node.location)
            return nil
        }
        // The head: the one key that names the function or the selector root.
        let selectorRoots = ["agreement"] + variables
        var candidates = pairs.filter { Self.heads[$0.key] != nil || selectorRoots.contains($0.key) }
        // With a selector, `lookup` is the crosswalk shorthand, not the lookup function.
        if candidates.contains(where: { selectorRoots.contains($0.key) }) { candidates.removeAll { $0.key == "lookup" } }
        // A function's own parameter may share a name with another function (`substring`'s `length`).
        if candidates.count > 1 {
            let keys = Set(candidates.map(\.key))
            if let owner = candidates.first(where: { keys.subtracting([$0.key]).isSubset(of: Self.heads[$0.key] ?? []) }) {
                candidates = [owner]
            }
        }
        guard candidates.count == 1, let head = candidates.first else {
            if candidates.count > 1 {
                d.error("mapping.ambiguous_expression", "an expression has exactly one of \(candidates.map { "'\($0.key)'" }.joined(separator: ", "))",
                        at: node.location)
            } else {
                let unknown = pairs.first { !extraKeys.contains($0.key) && !Self.selectorModifiers.contains($0.key) }
                if let unknown {
                    let all = Set(Self.heads.keys).union(selectorRoots)
                    let hint = YNode.closest(unknown.key, in: all).map { " (did you mean '\($0)'?)" } ?? ""
                    let message = variables.isEmpty && unknown.key != "agreement"
                        ? "unknown function or selector root '\(unknown.key)'\(hint)"
                        : "unknown function or selector root '\(unknown.key)'\(hint); loop variables in scope: \(variables.joined(separator: ", "))"
                    d.error("mapping.unknown_function", message, at: unknown.keyLocation)
                } else {
                    d.error("mapping.type_error", "\(what) has no expression", at: node.location)
                }
            }
            return nil
        }
        let isSelector = selectorRoots.contains(head.key)
        let allowed = extraKeys.union([head.key]).union(isSelector ? Self.selectorModifiers : Self.heads[head.key]!)
        for pair in pairs where !allowed.contains(pair.key) {
            d.error("mapping.unknown_key", "unknown key '\(pair.key)' in '\(head.key)'; allowed here: \(allowed.subtracting([head.key]).sorted().joined(separator: ", "))",
                    at: pair.keyLocation)
        }
        let location = head.keyLocation
        if isSelector {
            guard let selector = selector(root: head.key == "agreement" ? .agreement : .variable(head.key), node: head.value, owner: node, d: &d)
            else { return nil }
            let type: StaticType = selector.reduce == .sum ? .decimal : selector.reduce == .count ? .integer : selector.reduce == .join ? .string : .any
            var result = Expression(kind: .select(selector), location: location, type: type)
            if let lookupNode = node["lookup"], let name = lookupNode.string("'lookup'", &d) {
                guard crosswalks.contains(name) else {
                    d.error("mapping.unknown_crosswalk", "no crosswalk named '\(name)' is declared under 'crosswalks'", at: lookupNode.location)
                    return nil
                }
                result = Expression(kind: .lookup(crosswalk: name, key: result, missDefault: nil), location: lookupNode.location, type: .string)
            }
            return result
        }
        return function(head.key, value: head.value, node: node, location: location, d: &d)
    }

    mutating func selector(root: SelectorRoot, node: YNode, owner: YNode, d: inout Diagnostics) -> Selector? {
        guard let text = node.string("a selector", &d) else { return nil }
        let query: JSONPathQuery
        do {
            query = try JSONPathQuery(text)
        } catch {
            // Point into the query: the scalar's column plus one for an opening quote.
            let quote = node.location.column > 0 && !(node.isPlainScalarNode) ? 1 : 0
            d.error("mapping.invalid_jsonpath", "invalid JSONPath: \(error.message)", at: node.location.advanced(by: error.offset + quote))
            return nil
        }
        var reduce: Reduction?
        if let r = owner["reduce"], let text = r.string("'reduce'", &d) {
            reduce = Reduction(rawValue: text)
            if reduce == nil { d.error("mapping.type_error", "'reduce' must be sum, count, join or first", at: r.location) }
        }
        if !query.isSingular, reduce == nil {
            d.error("mapping.not_singular",
                    "'\(text)' can match several nodes; a value needs a singular query (names and indexes only), a 'reduce', or a for_each",
                    at: node.location)
        }
        let separator = owner["separator"].flatMap { $0.string("'separator'", &d) } ?? ", "
        return Selector(root: root, query: query, reduce: reduce, separator: separator, location: node.location)
    }

    /// A `for_each` node: `{agreement|VAR: "$.lines[*]", as: NAME, min: N}`.
    mutating func loop(_ node: YNode, d: inout Diagnostics) -> Loop? {
        guard let pairs = node.pairs else {
            d.error("mapping.type_error", "'for_each' must be {agreement: \"$.lines[*]\", as: line}", at: node.location)
            return nil
        }
        let roots = ["agreement"] + variables
        let allowed = Set(roots).union(["as", "min"])
        for pair in pairs where !allowed.contains(pair.key) {
            d.error("mapping.unknown_key", "unknown key '\(pair.key)' in 'for_each'; use one of \(roots.joined(separator: ", ")), 'as' and 'min'",
                    at: pair.keyLocation)
        }
        guard let rootPair = pairs.first(where: { roots.contains($0.key) }) else {
            d.error("mapping.type_error", "'for_each' needs a selector such as agreement: \"$.lines[*]\"", at: node.location)
            return nil
        }
        guard let name = node["as"]?.string("'as'", &d) else {
            d.error("mapping.type_error", "'for_each' needs 'as': the name of the loop variable", at: node.location)
            return nil
        }
        if ["agreement", "const", "meta", "previous", "original", "legacy"].contains(name) || Self.heads[name] != nil || variables.contains(name) {
            d.error("mapping.invalid_name", "'\(name)' cannot be a loop variable name", at: node["as"]!.location)
        }
        guard let text = rootPair.value.string("a selector", &d) else { return nil }
        let query: JSONPathQuery
        do {
            query = try JSONPathQuery(text)
        } catch {
            d.error("mapping.invalid_jsonpath", "invalid JSONPath: \(error.message)", at: rootPair.value.location.advanced(by: error.offset + 1))
            return nil
        }
        if query.isSingular {
            d.error("mapping.loop_singular",
                    "for_each over '\(text)' would run once, over that one node; select the items, e.g. \(text)[*]",
                    at: rootPair.value.location)
        }
        let minimum = node["min"].flatMap { $0.integer("'min'", &d) } ?? 0
        let selector = Selector(root: rootPair.key == "agreement" ? .agreement : .variable(rootPair.key), query: query, reduce: nil,
                                separator: "", location: rootPair.value.location)
        return Loop(selector: selector, variable: name, minimum: minimum, location: node.location)
    }

    mutating func list(_ node: YNode, what: String, count: ClosedRange<Int>, d: inout Diagnostics) -> [Expression]? {
        guard let items = node.items else {
            d.error("mapping.type_error", "'\(what)' takes a list of expressions", at: node.location)
            return nil
        }
        guard count.contains(items.count) else {
            d.error("mapping.arity", "'\(what)' takes \(count.lowerBound == count.upperBound ? "\(count.lowerBound)" : "at least \(count.lowerBound)") expressions, not \(items.count)",
                    at: node.location)
            return nil
        }
        var result: [Expression] = []
        for item in items {
            guard let e = expression(item, what: "an argument of '\(what)'", d: &d) else { return nil }
            result.append(e)
        }
        return result
    }

    func requireNumeric(_ e: Expression, _ what: String, _ d: inout Diagnostics) {
        if ![.any, .decimal, .integer].contains(e.type), !(e.type == .string && isDecimalConstant(e)) {
            d.error("mapping.type_error", "'\(what)' needs numbers, but this argument gives a \(e.type.rawValue)", at: e.location)
        }
    }

    func isDecimalConstant(_ e: Expression) -> Bool {
        if case .constant(let text) = e.kind { return DecimalText.parse(text) != nil }
        return false
    }

    func requireText(_ e: Expression, _ what: String, _ d: inout Diagnostics) {
        if [.json, .boolean].contains(e.type) {
            d.error("mapping.type_error", "'\(what)' needs text, but this argument gives a \(e.type.rawValue)", at: e.location)
        }
    }

    func rounding(_ node: YNode, _ d: inout Diagnostics) -> DecimalText.Rounding? {
        guard let r = node["rounding"] else {
            d.error("mapping.rounding_required", "division and rounding need an explicit 'rounding' (half-even, half-up, down, up, exact)",
                    at: node.location)
            return nil
        }
        guard let text = r.string("'rounding'", &d), let value = DecimalText.Rounding(rawValue: text) else {
            d.error("mapping.unknown_rounding", "unknown rounding; use half-even, half-up, down, up or exact", at: r.location)
            return nil
        }
        return value
    }

    mutating func function(_ name: String, value: YNode, node: YNode, location: SourceLocation, d: inout Diagnostics) -> Expression? {
        func make(_ kind: Expression.Kind, _ type: StaticType) -> Expression { Expression(kind: kind, location: location, type: type) }
        switch name {
        case "const":
            guard let text = value.string("'const'", &d) else { return nil }
            if value.isAmbiguousPlainScalar {
                d.error("mapping.ambiguous_scalar", "quote this constant: YAML 1.1 readers turn '\(text)' into another type (write const: \"\(text)\")",
                        at: value.location)
            }
            return make(.constant(text), .string)
        case "meta":
            guard let text = value.string("'meta'", &d) else { return nil }
            guard let field = MetaField(rawValue: text) else {
                d.error("mapping.unknown_meta", "unknown meta field '\(text)'; use \(MetaField.allCases.map(\.rawValue).joined(separator: ", "))",
                        at: value.location)
                return nil
            }
            return make(.meta(field), field == .agreementVersion ? .integer : .string)
        case "position":
            guard let variable = value.string("'position'", &d) else { return nil }
            guard variables.contains(variable) else {
                d.error("mapping.unknown_variable", "'position' names '\(variable)', which is not a loop variable in scope", at: value.location)
                return nil
            }
            let start = node["start"].flatMap { $0.integer("'start'", &d) } ?? 1
            return make(.position(variable: variable, start: start), .integer)
        case "parent":
            guard let column = value.string("'parent'", &d) else { return nil }
            guard let parentColumns else {
                d.error("mapping.parent_outside_children", "'parent' is only available in the columns of child rows", at: value.location)
                return nil
            }
            guard parentColumns.contains(column) else {
                d.error("mapping.unknown_parent_column", "the parent row does not return '\(column)'; add it to the parent's 'returns'",
                        at: value.location)
                return nil
            }
            return make(.parent(column: column), .any)
        case "lookup":
            guard let crosswalk = value.string("'lookup'", &d) else { return nil }
            guard crosswalks.contains(crosswalk) else {
                d.error("mapping.unknown_crosswalk", "no crosswalk named '\(crosswalk)' is declared under 'crosswalks'", at: value.location)
                return nil
            }
            guard let keyNode = node["key"] else {
                d.error("mapping.type_error", "'lookup' needs 'key': the expression to look up", at: node.location)
                return nil
            }
            guard let key = expression(keyNode, what: "'key'", d: &d) else { return nil }
            return make(.lookup(crosswalk: crosswalk, key: key, missDefault: nil), .string)
        case "concat":
            guard let parts = list(value, what: "concat", count: 1...64, d: &d) else { return nil }
            for part in parts { requireText(part, "concat", &d) }
            let separator = node["separator"].flatMap { $0.string("'separator'", &d) } ?? ""
            return make(.concat(parts, separator: separator), .string)
        case "url_encode":
            guard let inner = expression(value, what: "the argument of 'url_encode'", d: &d) else { return nil }
            requireText(inner, name, &d)
            return make(.urlEncode(inner), .string)
        case "upper", "lower", "trim", "length":
            guard let inner = expression(value, what: "the argument of '\(name)'", d: &d) else { return nil }
            requireText(inner, name, &d)
            switch name {
            case "upper": return make(.upper(inner), .string)
            case "lower": return make(.lower(inner), .string)
            case "trim": return make(.trim(inner), .string)
            default: return make(.length(inner), .integer)
            }
        case "substring":
            guard let inner = expression(value, what: "the argument of 'substring'", d: &d) else { return nil }
            requireText(inner, name, &d)
            let start = node["start"].flatMap { $0.integer("'start'", &d) } ?? 0
            let length = node["length"].flatMap { $0.integer("'length'", &d) }
            return make(.substring(inner, start: start, length: length), .string)
        case "pad":
            guard let inner = expression(value, what: "the argument of 'pad'", d: &d) else { return nil }
            guard let width = node["width"].flatMap({ $0.integer("'width'", &d) }) else {
                d.error("mapping.type_error", "'pad' needs 'width'", at: node.location)
                return nil
            }
            node["with"]?.lintAmbiguous(&d)
            let fill = node["with"].flatMap { $0.string("'with'", &d) } ?? " "
            guard fill.count == 1 else {
                d.error("mapping.type_error", "'with' must be one character", at: node["with"]?.location ?? node.location)
                return nil
            }
            let side = node["side"].flatMap { $0.string("'side'", &d) } ?? "left"
            guard side == "left" || side == "right" else {
                d.error("mapping.type_error", "'side' must be left or right", at: node["side"]!.location)
                return nil
            }
            return make(.pad(inner, width: width, fill: fill.first!, left: side == "left"), .string)
        case "replace":
            guard let inner = expression(value, what: "the argument of 'replace'", d: &d) else { return nil }
            guard let find = node["find"].flatMap({ $0.string("'find'", &d) }), !find.isEmpty,
                let with = node["with"].flatMap({ $0.string("'with'", &d) })
            else {
                d.error("mapping.type_error", "'replace' needs a non-empty 'find' and a 'with'", at: node.location)
                return nil
            }
            return make(.replace(inner, find: find, with: with), .string)
        case "date":
            guard let inner = expression(value, what: "the argument of 'date'", d: &d) else { return nil }
            if ![.any, .string, .date, .timestamp].contains(inner.type) {
                d.error("mapping.type_error", "'date' needs a date or timestamp, but its argument gives a \(inner.type.rawValue)", at: inner.location)
            }
            var format: DateFormat?
            if let f = node["format"], let text = f.string("'format'", &d) {
                format = DateFormat(text)
                if format == nil {
                    d.error("mapping.invalid_format", "unknown letters in date format '\(text)'; use YYYY, MM, DD, hh, mm, ss", at: f.location)
                }
            }
            var offset: Int?
            if let o = node["offset"], let text = o.string("'offset'", &d) {
                offset = Self.offsetMinutes(text)
                if offset == nil { d.error("mapping.invalid_format", "'offset' must be Z or ±hh:mm, e.g. +02:00", at: o.location) }
            }
            return make(.date(inner, format: format, offsetMinutes: offset), format == nil ? .date : .string)
        case "timestamp":
            guard let inner = expression(value, what: "the argument of 'timestamp'", d: &d) else { return nil }
            return make(.timestamp(inner), .timestamp)
        case "add", "multiply":
            guard let parts = list(value, what: name, count: 2...64, d: &d) else { return nil }
            for part in parts { requireNumeric(part, name, &d) }
            return make(name == "add" ? .add(parts) : .multiply(parts), .decimal)
        case "subtract":
            guard let parts = list(value, what: name, count: 2...2, d: &d) else { return nil }
            for part in parts { requireNumeric(part, name, &d) }
            return make(.subtract(parts[0], parts[1]), .decimal)
        case "divide":
            guard let parts = list(value, what: name, count: 2...2, d: &d) else { return nil }
            for part in parts { requireNumeric(part, name, &d) }
            guard let scale = node["scale"].flatMap({ $0.integer("'scale'", &d) }) else {
                d.error("mapping.scale_required", "'divide' needs an explicit 'scale'", at: node.location)
                return nil
            }
            guard let rounding = rounding(node, &d) else { return nil }
            return make(.divide(parts[0], parts[1], scale: scale, rounding: rounding), .decimal)
        case "round":
            guard let inner = expression(value, what: "the argument of 'round'", d: &d) else { return nil }
            requireNumeric(inner, name, &d)
            guard let scale = node["scale"].flatMap({ $0.integer("'scale'", &d) }) else {
                d.error("mapping.scale_required", "'round' needs an explicit 'scale'", at: node.location)
                return nil
            }
            guard let rounding = rounding(node, &d) else { return nil }
            return make(.round(inner, scale: scale, rounding: rounding), .decimal)
        case "sum":
            var loop: Loop?
            if let over = node["over"] {
                loop = self.loop(over, d: &d)
                guard let loop else { return nil }
                variables.append(loop.variable)
            }
            defer { if loop != nil { variables.removeLast() } }
            // Without 'over', the argument is a selector that may match many nodes.
            if loop == nil, let pairs = value.pairs, let root = pairs.first(where: { (["agreement"] + variables).contains($0.key) }) {
                guard let selector = selector(root: root.key == "agreement" ? .agreement : .variable(root.key), node: root.value,
                                              owner: YNode(content: .mapping([("reduce", root.keyLocation, YNode(content: .scalar("sum", plain: false), location: root.keyLocation))]), location: value.location),
                                              d: &d)
                else { return nil }
                return make(.select(selector), .decimal)
            }
            guard let inner = expression(value, what: "the argument of 'sum'", d: &d) else { return nil }
            requireNumeric(inner, name, &d)
            return make(.sum(inner, over: loop), .decimal)
        case "count":
            guard let pairs = value.pairs, let root = pairs.first(where: { (["agreement"] + variables).contains($0.key) }) else {
                d.error("mapping.type_error", "'count' takes a selector such as {agreement: \"$.lines[*]\"}", at: value.location)
                return nil
            }
            guard let selector = selector(root: root.key == "agreement" ? .agreement : .variable(root.key), node: root.value,
                                          owner: YNode(content: .mapping([("reduce", root.keyLocation, YNode(content: .scalar("count", plain: false), location: root.keyLocation))]), location: value.location),
                                          d: &d)
            else { return nil }
            return make(.select(selector), .integer)
        case "coalesce":
            guard let parts = list(value, what: name, count: 2...16, d: &d) else { return nil }
            let types = Set(parts.map(\.type))
            return make(.coalesce(parts), types.count == 1 ? types.first! : .any)
        case "required":
            guard let inner = expression(value, what: "the argument of 'required'", d: &d) else { return nil }
            let message = node["message"].flatMap { $0.string("'message'", &d) } ?? "a required value is missing"
            return make(.required(inner, message: message), inner.type)
        case "if":
            guard let condition = condition(value, d: &d) else { return nil }
            guard let thenNode = node["then"], let then = expression(thenNode, what: "'then'", d: &d) else {
                if node["then"] == nil { d.error("mapping.type_error", "'if' needs 'then'", at: node.location) }
                return nil
            }
            var otherwise: Expression?
            if let elseNode = node["else"] {
                otherwise = expression(elseNode, what: "'else'", d: &d)
                if otherwise == nil { return nil }
            }
            let type = otherwise == nil || otherwise!.type == then.type ? then.type : .any
            return make(.conditional(condition, then: then, else: otherwise), type)
        default:
            d.error("mapping.unknown_function", "unknown function '\(name)'", at: location)
            return nil
        }
    }

    static func offsetMinutes(_ text: String) -> Int? {
        if text == "Z" { return 0 }
        let chars = Array(text)
        guard chars.count == 6, chars[0] == "+" || chars[0] == "-", chars[3] == ":", let h = Int(String(chars[1...2])),
            let m = Int(String(chars[4...5])), h <= 23, m <= 59
        else { return nil }
        return (chars[0] == "-" ? -1 : 1) * (h * 60 + m)
    }

    // MARK: Conditions

    static let conditionHeads: Set<String> = ["exists", "equals", "greater", "less", "matches", "in", "not", "all", "any"]

    mutating func condition(_ node: YNode, d: inout Diagnostics) -> Condition? {
        guard let pairs = node.pairs, let head = pairs.first(where: { Self.conditionHeads.contains($0.key) }) else {
            d.error("mapping.type_error", "a condition is one of \(Self.conditionHeads.sorted().joined(separator: ", "))", at: node.location)
            return nil
        }
        let extra: Set<String> = head.key == "matches" ? ["pattern"] : head.key == "in" ? ["values"] : []
        for pair in pairs where pair.key != head.key && !extra.contains(pair.key) {
            d.error("mapping.unknown_key", "unknown key '\(pair.key)' in condition '\(head.key)'", at: pair.keyLocation)
        }
        switch head.key {
        case "exists":
            return expression(head.value, what: "'exists'", d: &d).map(Condition.exists)
        case "equals", "greater", "less":
            guard let parts = list(head.value, what: head.key, count: 2...2, d: &d) else { return nil }
            if head.key != "equals" { for part in parts { requireNumeric(part, head.key, &d) } }
            switch head.key {
            case "equals": return .equals(parts[0], parts[1])
            case "greater": return .greater(parts[0], parts[1])
            default: return .less(parts[0], parts[1])
            }
        case "matches":
            guard let subject = expression(head.value, what: "'matches'", d: &d) else { return nil }
            guard let patternNode = node["pattern"], let pattern = patternNode.string("'pattern'", &d) else {
                d.error("mapping.type_error", "'matches' needs 'pattern'", at: node.location)
                return nil
            }
            guard let regex = try? NSRegularExpression(pattern: "^(?:" + pattern + ")$") else {
                d.error("mapping.invalid_pattern", "'pattern' is not a valid regular expression", at: patternNode.location)
                return nil
            }
            return .matches(subject, regex, pattern: pattern)
        case "in":
            guard let subject = expression(head.value, what: "'in'", d: &d) else { return nil }
            guard let values = node["values"]?.strings("'values'", &d, values: true) else {
                d.error("mapping.type_error", "'in' needs 'values': a list of strings", at: node.location)
                return nil
            }
            return .isIn(subject, values)
        case "not":
            return condition(head.value, d: &d).map(Condition.not)
        default:
            guard let items = head.value.items, !items.isEmpty else {
                d.error("mapping.type_error", "'\(head.key)' takes a list of conditions", at: head.value.location)
                return nil
            }
            var conditions: [Condition] = []
            for item in items {
                guard let c = condition(item, d: &d) else { return nil }
                conditions.append(c)
            }
            return head.key == "all" ? .all(conditions) : .any(conditions)
        }
    }
}

extension YNode {
    var isPlainScalarNode: Bool {
        if case .scalar(_, plain: true) = content { return true }
        return false
    }
}
