import CausewayCore

// The compiled form of a query. The parser builds it once; evaluation only walks it.

/// One selector of a segment (RFC 9535 §2.3).
enum PathSelector: Sendable {
    case name(String)
    case wildcard
    case index(Int)
    case slice(start: Int?, end: Int?, step: Int?)
    case filter(FilterExpression)
}

/// A child segment (`[…]`, `.name`, `.*`) or a descendant segment (`..[…]`, `..name`, `..*`).
struct PathSegment: Sendable {
    let selectors: [PathSelector]
    let isDescendant: Bool
    /// The single name or index this segment selects, if it is a singular-query step.
    let singularStep: SingularStep?
    /// Whether the segment was written without whitespace inside its brackets, as the grammar's
    /// `name-segment` and `index-segment` of a `singular-query` require (RFC 9535 §2.3.5.1).
    let isCompact: Bool

    init(selectors: [PathSelector], isDescendant: Bool, isCompact: Bool = true) {
        self.selectors = selectors
        self.isDescendant = isDescendant
        self.isCompact = isCompact
        if !isDescendant, selectors.count == 1 {
            switch selectors[0] {
            case .name(let name): singularStep = .name(name)
            case .index(let index): singularStep = .index(index)
            default: singularStep = nil
            }
        } else {
            singularStep = nil
        }
    }
}

/// A step of a singular query: a name or an index selector alone in a child segment.
enum SingularStep: Sendable {
    case name(String)
    case index(Int)
}

/// A sequence of segments, with the shortcut forms for singular queries precomputed.
struct CompiledPath: Sendable {
    let segments: [PathSegment]
    /// The steps when every segment is a singular step (RFC 9535 §2.3.5.1), else `nil`.
    let singularSteps: [SingularStep]?
    /// How many leading segments are singular steps; they are walked without building nodelists.
    let singularPrefixCount: Int
    /// Whether the path matches the grammar of `singular-query-segments`: singular, and no
    /// whitespace inside brackets. Only such queries may be compared or passed as ValueType.
    let isGrammaticallySingular: Bool

    init(_ segments: [PathSegment]) {
        self.segments = segments
        var steps: [SingularStep] = []
        steps.reserveCapacity(segments.count)
        for segment in segments {
            guard let step = segment.singularStep else { break }
            steps.append(step)
        }
        singularPrefixCount = steps.count
        singularSteps = steps.count == segments.count ? steps : nil
        isGrammaticallySingular = singularSteps != nil && segments.allSatisfy(\.isCompact)
    }
}

/// A query inside a filter: relative to `@` or absolute from `$`.
struct FilterQuery: Sendable {
    let isAbsolute: Bool
    let path: CompiledPath
}

/// A well-typed logical expression (LogicalType in RFC 9535 §2.4.1).
enum FilterExpression: Sendable {
    case or([FilterExpression])
    case and([FilterExpression])
    indirect case not(FilterExpression)
    /// An existence test: true when the query selects at least one node.
    case exists(FilterQuery)
    case comparison(ValueExpression, ComparisonOperator, ValueExpression)
    /// A function whose declared result type is LogicalType.
    case logicalFunction(FunctionCall)
    /// A function whose declared result type is NodesType, used as a test: true when non-empty.
    case nodesFunction(FunctionCall)
}

enum ComparisonOperator: Sendable {
    case equal, notEqual, less, lessOrEqual, greater, greaterOrEqual
}

/// A well-typed expression of ValueType: a comparable, or a ValueType function argument.
enum ValueExpression: Sendable {
    case literal(JSONValue)
    case singularQuery(isAbsolute: Bool, steps: [SingularStep])
    /// A function whose declared result type is ValueType.
    case function(FunctionCall)
}

/// A well-typed expression of NodesType.
enum NodesExpression: Sendable {
    case query(FilterQuery)
    /// A function whose declared result type is NodesType.
    case function(FunctionCall)
}

/// A function argument, already converted to the parameter's declared type.
enum FunctionArgument: Sendable {
    case value(ValueExpression)
    case logical(FilterExpression)
    case nodes(NodesExpression)
}

/// A call of a function extension with well-typed arguments.
struct FunctionCall: Sendable {
    let function: JSONPathFunction
    let arguments: [FunctionArgument]
    /// For `match` and `search` with a string literal pattern: the pattern compiled at parse time.
    let pattern: RegexPlan
}

/// How `match`/`search` get their regular expression.
enum RegexPlan: Sendable {
    /// The pattern is computed at evaluation time; compile it then.
    case dynamic
    /// A literal pattern that is a valid I-Regexp.
    case compiled(IRegexp)
    /// A literal pattern that is not a valid I-Regexp: the function is always false.
    case invalid
}
