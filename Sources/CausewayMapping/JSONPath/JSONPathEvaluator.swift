import CausewayCore

/// What the evaluator carries through a query: just the value (`JSONValue`, for
/// ``JSONPathQuery/selectValues(_:)`` and filter sub-queries) or the value and a handle on its
/// location (``PathNode``, for ``JSONPathQuery/select(_:)``). The evaluator is generic over it,
/// so the value-only form never pays for paths.
protocol SelectionNode {
    /// Shared state for making children: nothing for plain values, the path arena for paths.
    associatedtype Context
    var selectedValue: JSONValue { get }
    static func child(of parent: Self, index: Int, value: JSONValue, in context: inout Context) -> Self
    static func child(of parent: Self, name: String, value: JSONValue, in context: inout Context) -> Self
}

/// The context of value-only selection: nothing.
struct NoPathContext {}

extension JSONValue: SelectionNode {
    typealias Context = NoPathContext

    @inline(__always) var selectedValue: JSONValue { self }

    @inline(__always)
    static func child(of parent: JSONValue, index: Int, value: JSONValue, in context: inout NoPathContext) -> JSONValue {
        value
    }

    @inline(__always)
    static func child(of parent: JSONValue, name: String, value: JSONValue, in context: inout NoPathContext)
        -> JSONValue
    { value }
}

/// Every location created during one selection, as a parent-pointer table: a node's path costs
/// one table entry instead of an array of its own. When the selection is done the table is frozen
/// into a ``SharedPathTable`` that the result paths share.
struct PathArena {
    private var parents: [Int] = []
    private var elements: [NormalizedPath.Element] = []

    /// The slot of the root, `$`.
    static let root = SharedPathTable.root

    init() {
        parents.reserveCapacity(16)
        elements.reserveCapacity(16)
    }

    @inline(__always)
    mutating func add(_ element: NormalizedPath.Element, parent: Int) -> Int {
        parents.append(parent)
        elements.append(element)
        return parents.count - 1
    }

    func freeze() -> SharedPathTable { SharedPathTable(parents: parents, elements: elements) }
}

/// A node with a handle on its location in a ``PathArena``.
struct PathNode: SelectionNode {
    typealias Context = PathArena

    let value: JSONValue
    let slot: Int

    @inline(__always) var selectedValue: JSONValue { value }

    @inline(__always)
    static func child(of parent: PathNode, index: Int, value: JSONValue, in context: inout PathArena) -> PathNode {
        PathNode(value: value, slot: context.add(.index(index), parent: parent.slot))
    }

    @inline(__always)
    static func child(of parent: PathNode, name: String, value: JSONValue, in context: inout PathArena) -> PathNode {
        PathNode(value: value, slot: context.add(.name(name), parent: parent.slot))
    }
}

/// Walks a compiled query over a JSON value (RFC 9535 §2.3–§2.5). No string parsing happens here.
struct JSONPathEvaluator {
    /// The argument of the query, `$`.
    let root: JSONValue

    // MARK: Segments and selectors

    /// The values that `path` selects from `start`.
    @inline(__always)
    func values(_ path: CompiledPath, from start: JSONValue) -> [JSONValue] {
        var context = NoPathContext()
        return run(path, from: start, in: &context)
    }

    /// The nodelist that `path` selects from `start`.
    func run<Node: SelectionNode>(_ path: CompiledPath, from start: Node, in context: inout Node.Context) -> [Node] {
        let segments = path.segments
        // Leading name/index steps select at most one node each: walk them without nodelists.
        var node = start
        var position = 0
        while position < path.singularPrefixCount {
            guard let next = child(segments[position].singularStep.unsafelyUnwrapped, of: node, in: &context) else {
                return []
            }
            node = next
            position += 1
        }
        if position == segments.count { return [node] }

        var current: [Node] = []
        apply(segments[position], to: node, into: &current, in: &context)
        position += 1
        while position < segments.count && !current.isEmpty {
            let segment = segments[position]
            if let step = segment.singularStep {
                // Each node yields at most one: filter the list in place.
                var kept = 0
                for index in current.indices {
                    if let next = child(step, of: current[index], in: &context) {
                        current[kept] = next
                        kept += 1
                    }
                }
                current.removeSubrange(kept...)
            } else {
                var next: [Node] = []
                next.reserveCapacity(current.count)
                for node in current { apply(segment, to: node, into: &next, in: &context) }
                current = next
            }
            position += 1
        }
        return current
    }

    @inline(__always)
    private func child<Node: SelectionNode>(_ step: SingularStep, of node: Node, in context: inout Node.Context)
        -> Node?
    {
        switch step {
        case .name(let name):
            guard case .object(let object) = node.selectedValue else { return nil }
            let members = object.members
            for index in members.indices where sameScalars(members[index].key, name) {
                return Node.child(of: node, name: members[index].key, value: members[index].value, in: &context)
            }
            return nil
        case .index(let index):
            guard case .array(let array) = node.selectedValue else { return nil }
            let resolved = index < 0 ? array.count + index : index
            guard resolved >= 0 && resolved < array.count else { return nil }
            return Node.child(of: node, index: resolved, value: array[resolved], in: &context)
        }
    }

    private func apply<Node: SelectionNode>(_ segment: PathSegment, to node: Node, into output: inout [Node],
                                            in context: inout Node.Context)
    {
        if segment.isDescendant {
            descend(node, segment.selectors, into: &output, in: &context)
        } else {
            for selector in segment.selectors { apply(selector, to: node, into: &output, in: &context) }
        }
    }

    /// Applies the selectors of a descendant segment to `node` and to each of its descendants,
    /// visiting nodes before their descendants and array elements in order.
    private func descend<Node: SelectionNode>(_ node: Node, _ selectors: [PathSelector], into output: inout [Node],
                                              in context: inout Node.Context)
    {
        for selector in selectors { apply(selector, to: node, into: &output, in: &context) }
        // Every selector needs an array or object to select from, so scalars are not visited.
        switch node.selectedValue {
        case .array(let array):
            for index in array.indices where isContainer(array[index]) {
                let element = Node.child(of: node, index: index, value: array[index], in: &context)
                descend(element, selectors, into: &output, in: &context)
            }
        case .object(let object):
            let members = object.members
            for index in members.indices where isContainer(members[index].value) {
                let member = Node.child(of: node, name: members[index].key, value: members[index].value, in: &context)
                descend(member, selectors, into: &output, in: &context)
            }
        default:
            break
        }
    }

    private func apply<Node: SelectionNode>(_ selector: PathSelector, to node: Node, into output: inout [Node],
                                            in context: inout Node.Context)
    {
        switch selector {
        case .name(let name):
            if let found = child(.name(name), of: node, in: &context) { output.append(found) }
        case .index(let index):
            if let found = child(.index(index), of: node, in: &context) { output.append(found) }
        case .wildcard:
            switch node.selectedValue {
            case .array(let array):
                output.reserveCapacity(output.count + array.count)
                for index in array.indices {
                    output.append(Node.child(of: node, index: index, value: array[index], in: &context))
                }
            case .object(let object):
                let members = object.members
                output.reserveCapacity(output.count + members.count)
                for index in members.indices {
                    output.append(Node.child(of: node, name: members[index].key, value: members[index].value,
                                             in: &context))
                }
            default:
                break
            }
        case .slice(let start, let end, let step):
            guard case .array(let array) = node.selectedValue else { return }
            forEachSliceIndex(count: array.count, start: start, end: end, step: step) { index in
                output.append(Node.child(of: node, index: index, value: array[index], in: &context))
            }
        case .filter(let expression):
            switch node.selectedValue {
            case .array(let array):
                output.reserveCapacity(output.count + array.count)
                for index in array.indices where test(expression, current: array[index]) {
                    output.append(Node.child(of: node, index: index, value: array[index], in: &context))
                }
            case .object(let object):
                let members = object.members
                for index in members.indices where test(expression, current: members[index].value) {
                    output.append(Node.child(of: node, name: members[index].key, value: members[index].value,
                                             in: &context))
                }
            default:
                break
            }
        }
    }

    /// The value a singular query selects, or `nil` (Nothing).
    @inline(__always)
    func walk(_ steps: [SingularStep], from start: JSONValue) -> JSONValue? {
        var current = start
        for step in steps {
            switch step {
            case .name(let name):
                guard case .object(let object) = current, let value = memberValue(object, name) else { return nil }
                current = value
            case .index(let index):
                guard case .array(let array) = current else { return nil }
                let resolved = index < 0 ? array.count + index : index
                guard resolved >= 0 && resolved < array.count else { return nil }
                current = array[resolved]
            }
        }
        return current
    }

    // MARK: Filter expressions

    /// Evaluates a logical expression with `current` as `@`.
    func test(_ expression: FilterExpression, current: JSONValue) -> Bool {
        switch expression {
        case .or(let terms):
            for term in terms where test(term, current: current) { return true }
            return false
        case .and(let terms):
            for term in terms where !test(term, current: current) { return false }
            return true
        case .not(let inner):
            return !test(inner, current: current)
        case .exists(let query):
            let start = query.isAbsolute ? root : current
            if let steps = query.path.singularSteps { return isSomething(walk(steps, from: start)) }
            return !values(query.path, from: start).isEmpty
        case .comparison(let left, let op, let right):
            return compare(value(left, current: current), op, value(right, current: current))
        case .logicalFunction(let call):
            return logicalResult(of: call, current: current)
        case .nodesFunction(let call):
            return !nodesResult(of: call, current: current).isEmpty
        }
    }

    /// Evaluates a ValueType expression; `nil` is Nothing.
    func value(_ expression: ValueExpression, current: JSONValue) -> JSONValue? {
        switch expression {
        case .literal(let value): value
        case .singularQuery(let isAbsolute, let steps): walk(steps, from: isAbsolute ? root : current)
        case .function(let call): valueResult(of: call, current: current)
        }
    }

    /// Evaluates a NodesType expression to the values of its nodes.
    func nodes(_ expression: NodesExpression, current: JSONValue) -> [JSONValue] {
        switch expression {
        case .query(let query): values(query.path, from: query.isAbsolute ? root : current)
        case .function(let call): nodesResult(of: call, current: current)
        }
    }
}

// MARK: - Comparison (RFC 9535 §2.3.5.2.2)

/// Compares two comparables, where `nil` is Nothing.
func compare(_ left: JSONValue?, _ op: ComparisonOperator, _ right: JSONValue?) -> Bool {
    switch op {
    case .equal: return comparablesEqual(left, right)
    case .notEqual: return !comparablesEqual(left, right)
    case .less: return comparableLess(left, right)
    case .lessOrEqual: return comparableLess(left, right) || comparablesEqual(left, right)
    case .greater: return comparableLess(right, left)
    case .greaterOrEqual: return comparableLess(right, left) || comparablesEqual(left, right)
    }
}

private func comparablesEqual(_ left: JSONValue?, _ right: JSONValue?) -> Bool {
    // Spelled with `.none`/`.some`: `JSONValue` is `ExpressibleByNilLiteral`, so a bare `nil`
    // pattern here could mean `JSONValue.null` rather than Nothing.
    switch (left, right) {
    case (.none, .none): true
    case (.some(let left), .some(let right)): jsonEqual(left, right)
    default: false
    }
}

private func comparableLess(_ left: JSONValue?, _ right: JSONValue?) -> Bool {
    switch (left, right) {
    case (.number(let a)?, .number(let b)?): a < b
    case (.string(let a)?, .string(let b)?): a.utf8.lexicographicallyPrecedes(b.utf8)
    default: false
    }
}

@inline(__always)
private func isContainer(_ value: JSONValue) -> Bool {
    switch value {
    case .array, .object: true
    default: false
    }
}

/// Whether a ValueType result is a value rather than Nothing.
@inline(__always)
func isSomething(_ value: JSONValue?) -> Bool {
    if case .some = value { return true }
    return false
}

/// JSON equality as RFC 9535 defines it: numbers by value, strings by their Unicode scalars
/// (no normalization), arrays element by element, objects by member names and values in any order.
func jsonEqual(_ left: JSONValue, _ right: JSONValue) -> Bool {
    switch (left, right) {
    case (.null, .null): return true
    case (.bool(let a), .bool(let b)): return a == b
    case (.number(let a), .number(let b)): return a == b
    case (.string(let a), .string(let b)): return sameScalars(a, b)
    case (.array(let a), .array(let b)):
        guard a.count == b.count else { return false }
        for index in a.indices where !jsonEqual(a[index], b[index]) { return false }
        return true
    case (.object(let a), .object(let b)):
        guard a.count == b.count else { return false }
        for member in a.members {
            guard let other = memberValue(b, member.key), jsonEqual(member.value, other) else { return false }
        }
        return true
    default:
        return false
    }
}

/// The value of the member whose name is exactly `name` (same Unicode scalars).
@inline(__always)
func memberValue(_ object: JSONObject, _ name: String) -> JSONValue? {
    let members = object.members
    for index in members.indices where sameScalars(members[index].key, name) { return members[index].value }
    return nil
}

/// Whether two strings are the same sequence of Unicode scalars. Swift's `==` uses canonical
/// equivalence, which JSONPath does not: `"\u{E9}"` and `"e\u{301}"` are different names.
@inline(__always)
func sameScalars(_ a: String, _ b: String) -> Bool {
    let count = a.utf8.count
    guard count == b.utf8.count else { return false }
    let result = a.utf8.withContiguousStorageIfAvailable { left in
        b.utf8.withContiguousStorageIfAvailable { right in
            for index in 0..<count where left[index] != right[index] { return false }
            return true
        }
    }
    if let result, let result { return result }
    return a.utf8.elementsEqual(b.utf8)
}

/// Calls `body` with each index a slice selects, in selection order (RFC 9535 §2.3.4.2.2).
@inline(__always)
func forEachSliceIndex(count: Int, start: Int?, end: Int?, step: Int?, _ body: (Int) -> Void) {
    let step = step ?? 1
    if step == 0 { return }
    func normalize(_ index: Int) -> Int { index >= 0 ? index : count + index }
    if step > 0 {
        let lower = min(max(normalize(start ?? 0), 0), count)
        let upper = min(max(normalize(end ?? count), 0), count)
        var index = lower
        while index < upper {
            body(index)
            index += step
        }
    } else {
        let upper = min(max(normalize(start ?? count - 1), -1), count - 1)
        let lower = min(max(normalize(end ?? -count - 1), -1), count - 1)
        var index = upper
        while lower < index {
            body(index)
            index += step
        }
    }
}
