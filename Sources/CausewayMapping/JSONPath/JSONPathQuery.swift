public import CausewayCore

/// A compiled RFC 9535 JSONPath query.
///
/// The text is parsed and type-checked once, in ``init(_:)``; ``select(_:)`` and
/// ``selectValues(_:)`` only walk the compiled form, so a query can be kept and applied to many
/// documents. All of RFC 9535 is supported: child and descendant segments; name, wildcard,
/// index, slice and filter selectors; comparisons, existence tests and logical operators in
/// filters; and the function extensions `length`, `count`, `match`, `search` and `value`, whose
/// arguments are type-checked at parse time (an ill-typed query is a ``JSONPathSyntaxError``).
///
/// ```swift
/// let query = try JSONPathQuery("$.lines[?@.qty > 1].sku")
/// for node in query.select(document) {
///     print(node.path, node.value)  // $['lines'][1]['sku'] "B-2"
/// }
/// ```
///
/// Two queries are equal when their texts are equal.
public struct JSONPathQuery: Sendable, Hashable, CustomStringConvertible {
    /// The query text as given to ``init(_:)``.
    public let text: String

    let path: CompiledPath

    /// Parses and type-checks a query.
    ///
    /// - Throws: ``JSONPathSyntaxError`` with the position of the first problem, when the text
    ///   is not a valid, well-typed RFC 9535 query.
    public init(_ text: String) throws(JSONPathSyntaxError) {
        var parser = JSONPathParser(text)
        path = CompiledPath(try parser.parseQuery())
        self.text = text
    }

    /// Whether this is a singular query (RFC 9535 §2.3.5.1): every segment is a child segment
    /// with a single name or index selector, so the query selects at most one node.
    /// `$`, `$.a`, `$['a'][0]` and `$.lines[-1].sku` are singular; `$.lines[*]`, `$..a`,
    /// `$[0,1]` and `$[0:1]` are not.
    public var isSingular: Bool { path.singularSteps != nil }

    /// The nodes the query selects from `root`, in the order RFC 9535 defines, each with its
    /// normalized path.
    ///
    /// Object members are visited in their stored order.
    public func select(_ root: JSONValue) -> [JSONPathNode] {
        if let steps = path.singularSteps {
            var elements: [NormalizedPath.Element] = []
            elements.reserveCapacity(steps.count)
            var current = root
            for step in steps {
                switch step {
                case .name(let name):
                    guard case .object(let object) = current, let value = memberValue(object, name) else { return [] }
                    elements.append(.name(name))
                    current = value
                case .index(let index):
                    guard case .array(let array) = current else { return [] }
                    let resolved = index < 0 ? array.count + index : index
                    guard resolved >= 0 && resolved < array.count else { return [] }
                    elements.append(.index(resolved))
                    current = array[resolved]
                }
            }
            return [JSONPathNode(value: current, path: NormalizedPath(elements))]
        }
        let evaluator = JSONPathEvaluator(root: root)
        var arena = PathArena()
        let nodes = evaluator.run(path, from: PathNode(value: root, slot: PathArena.root), in: &arena)
        let table = arena.freeze()
        return nodes.map { JSONPathNode(value: $0.value, path: NormalizedPath(table: table, slot: $0.slot)) }
    }

    /// The values of the nodes the query selects from `root`, in order, without computing
    /// their paths. The fastest way to evaluate a query.
    public func selectValues(_ root: JSONValue) -> [JSONValue] {
        JSONPathEvaluator(root: root).values(path, from: root)
    }

    /// The value of the first node the query selects from `root`, or `nil` when it selects none.
    ///
    /// For a singular query this is the node's value, found without allocating.
    public func firstValue(_ root: JSONValue) -> JSONValue? {
        let evaluator = JSONPathEvaluator(root: root)
        if let steps = path.singularSteps { return evaluator.walk(steps, from: root) }
        return evaluator.values(path, from: root).first
    }

    /// The query text.
    public var description: String { text }

    /// For a singular query whose indexes are not negative, the normalized path it designates —
    /// known without a document, so that "nothing is there" can still name the place.
    public var singularPath: NormalizedPath? {
        guard let steps = path.singularSteps else { return nil }
        var result = NormalizedPath()
        for step in steps {
            switch step {
            case .name(let name): result.append(name: name)
            case .index(let index):
                guard index >= 0 else { return nil }
                result.append(index: index)
            }
        }
        return result
    }

    /// Queries are equal when their texts are equal.
    public static func == (lhs: JSONPathQuery, rhs: JSONPathQuery) -> Bool { lhs.text == rhs.text }

    /// Hashes the query text.
    public func hash(into hasher: inout Hasher) { hasher.combine(text) }
}

/// One node of a nodelist: a value selected by a query, and where it is in the queried document.
public struct JSONPathNode: Sendable, Hashable {
    /// The selected value.
    public let value: JSONValue
    /// The node's location, for example `$['lines'][1]['sku']`.
    public let path: NormalizedPath

    /// A node with this value at this location.
    public init(value: JSONValue, path: NormalizedPath) {
        self.value = value
        self.path = path
    }
}
