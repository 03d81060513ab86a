import CausewayCore

/// The declared types of RFC 9535 §2.4.1, used to check function expressions at parse time.
enum JSONPathType: Sendable {
    /// A JSON value or Nothing.
    case value
    /// LogicalTrue or LogicalFalse.
    case logical
    /// A nodelist.
    case nodes

    var name: String {
        switch self {
        case .value: "ValueType"
        case .logical: "LogicalType"
        case .nodes: "NodesType"
        }
    }
}

/// The function extensions of RFC 9535 §2.4.4–§2.4.8.
enum JSONPathFunction: Sendable {
    case length, count, match, search, value

    init?(name: String) {
        switch name {
        case "length": self = .length
        case "count": self = .count
        case "match": self = .match
        case "search": self = .search
        case "value": self = .value
        default: return nil
        }
    }

    var name: String {
        switch self {
        case .length: "length"
        case .count: "count"
        case .match: "match"
        case .search: "search"
        case .value: "value"
        }
    }

    var parameterTypes: [JSONPathType] {
        switch self {
        case .length: [.value]
        case .count: [.nodes]
        case .match, .search: [.value, .value]
        case .value: [.nodes]
        }
    }

    var resultType: JSONPathType {
        switch self {
        case .length, .count, .value: .value
        case .match, .search: .logical
        }
    }
}

extension JSONPathEvaluator {
    /// Evaluates a function whose declared result type is ValueType. `nil` is Nothing.
    func valueResult(of call: FunctionCall, current: JSONValue) -> JSONValue? {
        switch call.function {
        case .length:
            guard let argument = valueArgument(call, 0, current: current) else { return nil }
            switch argument {
            case .string(let string):
                var count = 0
                for _ in string.unicodeScalars { count += 1 }
                return .number(Double(count))
            case .array(let array): return .number(Double(array.count))
            case .object(let object): return .number(Double(object.count))
            default: return nil
            }
        case .count:
            return .number(Double(nodesArgumentCount(call, 0, current: current)))
        case .value:
            guard case .nodes(let expression) = call.arguments[0] else { return nil }
            if case .query(let query) = expression, let steps = query.path.singularSteps {
                return walk(steps, from: query.isAbsolute ? root : current)
            }
            let nodes = self.nodes(expression, current: current)
            // Not `nodes.count == 1 ? nodes[0] : nil`: `JSONValue` is `ExpressibleByNilLiteral`, so
            // that `nil` would become `JSONValue.null` instead of Nothing.
            guard nodes.count == 1 else { return .none }
            return nodes[0]
        case .match, .search:
            return nil
        }
    }

    /// Evaluates a function whose declared result type is LogicalType.
    func logicalResult(of call: FunctionCall, current: JSONValue) -> Bool {
        switch call.function {
        case .match, .search:
            guard case .string(let subject)? = valueArgument(call, 0, current: current) else { return false }
            let regex: IRegexp
            switch call.pattern {
            case .compiled(let compiled):
                regex = compiled
            case .invalid:
                return false
            case .dynamic:
                guard case .string(let pattern)? = valueArgument(call, 1, current: current),
                    let compiled = IRegexp(pattern)
                else { return false }
                regex = compiled
            }
            return call.function == .match ? regex.matchesWhole(subject) : regex.matchesSubstring(of: subject)
        case .length, .count, .value:
            return false
        }
    }

    /// Evaluates a function whose declared result type is NodesType. None of the built-in
    /// functions has that result type; this is here so the type system stays complete.
    func nodesResult(of call: FunctionCall, current: JSONValue) -> [JSONValue] {
        []
    }

    private func valueArgument(_ call: FunctionCall, _ index: Int, current: JSONValue) -> JSONValue? {
        guard case .value(let expression) = call.arguments[index] else { return nil }
        return value(expression, current: current)
    }

    private func nodesArgumentCount(_ call: FunctionCall, _ index: Int, current: JSONValue) -> Int {
        guard case .nodes(let expression) = call.arguments[index] else { return 0 }
        if case .query(let query) = expression, let steps = query.path.singularSteps {
            return isSomething(walk(steps, from: query.isAbsolute ? root : current)) ? 1 : 0
        }
        return nodes(expression, current: current).count
    }
}
