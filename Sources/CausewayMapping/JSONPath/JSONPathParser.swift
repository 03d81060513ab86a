import CausewayCore

/// A recursive-descent parser for the RFC 9535 grammar (§2.1.1 and the rules of §2.3–§2.5),
/// which also checks well-typedness of function expressions (§2.4.3) as it goes.
///
/// Offsets are Unicode-scalar positions in the query text.
struct JSONPathParser {
    /// The largest and smallest integers an index or slice bound may have: ±(2^53 − 1).
    static let maxSafeInteger = 9_007_199_254_740_991
    /// How deeply filter expressions, parentheses and function calls may nest.
    static let maxNesting = 64

    private let scalars: [Unicode.Scalar]
    private var position = 0
    private var nesting = 0

    init(_ text: String) {
        scalars = Array(text.unicodeScalars)
    }

    // MARK: Queries and segments

    /// jsonpath-query = root-identifier segments
    mutating func parseQuery() throws(JSONPathSyntaxError) -> [PathSegment] {
        guard let first = peek() else { throw error("empty query; a JSONPath query starts with '$'") }
        if first == "@" { throw error("'@' is only allowed inside a filter; a query starts with '$'") }
        if first != "$" { throw error("a JSONPath query must start with '$'") }
        position += 1
        let segments = try parseSegments()
        if let extra = peek() {
            if isBlank(extra) { throw error("whitespace is not allowed at the end of a query") }
            throw error("unexpected \(describe(extra)); expected '.', '..' or '['")
        }
        return segments
    }

    /// segments = *(S segment). Leaves the position before any trailing whitespace.
    private mutating func parseSegments() throws(JSONPathSyntaxError) -> [PathSegment] {
        var segments: [PathSegment] = []
        while true {
            let save = position
            skipBlanks()
            guard let next = peek(), next == "[" || next == "." else {
                position = save
                return segments
            }
            segments.append(try parseSegment())
        }
    }

    private mutating func parseSegment() throws(JSONPathSyntaxError) -> PathSegment {
        if peek() == "[" {
            let (selectors, isCompact) = try parseBracketedSelection()
            return PathSegment(selectors: selectors, isDescendant: false, isCompact: isCompact)
        }
        position += 1  // "."
        if peek() == "." {
            position += 1
            guard let next = peek() else { throw error("expected a member name, '*' or '[' after '..'") }
            if next == "[" { return PathSegment(selectors: try parseBracketedSelection().selectors, isDescendant: true) }
            if next == "*" {
                position += 1
                return PathSegment(selectors: [.wildcard], isDescendant: true)
            }
            if isNameFirst(next) { return PathSegment(selectors: [.name(parseShorthandName())], isDescendant: true) }
            throw error("expected a member name, '*' or '[' after '..', found \(describe(next))")
        }
        guard let next = peek() else { throw error("expected a member name or '*' after '.'") }
        if next == "*" {
            position += 1
            return PathSegment(selectors: [.wildcard], isDescendant: false)
        }
        if isNameFirst(next) { return PathSegment(selectors: [.name(parseShorthandName())], isDescendant: false) }
        if next == "." { throw error("expected a member name or '*' after '..'") }
        throw error("expected a member name or '*' after '.', found \(describe(next))")
    }

    /// member-name-shorthand = name-first *name-char
    private mutating func parseShorthandName() -> String {
        var name = String.UnicodeScalarView()
        while let scalar = peek(), isNameFirst(scalar) || isDigit(scalar) {
            name.append(scalar)
            position += 1
        }
        return String(name)
    }

    /// bracketed-selection = "[" S selector *(S "," S selector) S "]"
    private mutating func parseBracketedSelection() throws(JSONPathSyntaxError)
        -> (selectors: [PathSelector], isCompact: Bool)
    {
        position += 1  // "["
        var isCompact = !skipBlanks()
        var selectors = [try parseSelector()]
        while true {
            if skipBlanks() { isCompact = false }
            guard let next = peek() else { throw error("expected ',' or ']'") }
            if next == "]" {
                position += 1
                return (selectors, isCompact)
            }
            guard next == "," else { throw error("expected ',' or ']', found \(describe(next))") }
            position += 1
            skipBlanks()
            selectors.append(try parseSelector())
        }
    }

    private mutating func parseSelector() throws(JSONPathSyntaxError) -> PathSelector {
        guard let next = peek() else { throw error("expected a selector") }
        switch next {
        case "'", "\"":
            return .name(try parseStringLiteral())
        case "*":
            position += 1
            return .wildcard
        case "?":
            position += 1
            skipBlanks()
            return .filter(try parseFilterExpression())
        case ":", "-", "0"..."9":
            return try parseIndexOrSlice()
        case "]":
            throw error("expected a selector; '[]' is empty")
        case "@", "$":
            throw error("a query inside brackets needs a filter: write '[?\(next)…]'")
        default:
            throw error("expected a selector (a quoted name, '*', an index, a slice or '?'), found \(describe(next))")
        }
    }

    /// index-selector = int; slice-selector = [start S] ":" S [end S] [":" [S step]]
    private mutating func parseIndexOrSlice() throws(JSONPathSyntaxError) -> PathSelector {
        var start: Int?
        if peek() != ":" {
            let value = try parseInteger()
            let save = position
            skipBlanks()
            if peek() != ":" {
                position = save
                return .index(value)
            }
            start = value
        }
        position += 1  // ":"
        skipBlanks()
        var end: Int?
        if isIntegerStart(peek()) {
            end = try parseInteger()
            skipBlanks()
        }
        var step: Int?
        if peek() == ":" {
            position += 1
            skipBlanks()
            if isIntegerStart(peek()) { step = try parseInteger() }
        }
        return .slice(start: start, end: end, step: step)
    }

    /// int = "0" / (["-"] DIGIT1 *DIGIT), within ±(2^53 − 1).
    private mutating func parseInteger() throws(JSONPathSyntaxError) -> Int {
        let start = position
        var negative = false
        if peek() == "-" {
            negative = true
            position += 1
        }
        guard let first = peek(), isDigit(first) else {
            throw error("expected a digit after '-'")
        }
        if first == "0" {
            position += 1
            if negative { throw error("'-0' is not a valid integer here", at: start) }
            if let next = peek(), isDigit(next) { throw error("leading zeros are not allowed", at: start) }
            return 0
        }
        var value = 0
        while let digit = peek(), isDigit(digit) {
            value = value * 10 + Int(digit.value - 0x30)
            if value > Self.maxSafeInteger {
                throw error("integer is out of range; the limit is ±(2^53 − 1)", at: start)
            }
            position += 1
        }
        return negative ? -value : value
    }

    // MARK: String literals

    /// string-literal = %x22 *double-quoted %x22 / %x27 *single-quoted %x27
    private mutating func parseStringLiteral() throws(JSONPathSyntaxError) -> String {
        let start = position
        let quote = scalars[position]
        position += 1
        var text = String.UnicodeScalarView()
        while true {
            guard let scalar = peek() else { throw error("unterminated string literal", at: start) }
            if scalar == quote {
                position += 1
                return String(text)
            }
            if scalar == "\\" {
                text.append(try parseEscape(quote: quote))
                continue
            }
            if scalar.value < 0x20 {
                throw error("control character U+\(hex4(scalar.value)) must be escaped in a string literal")
            }
            text.append(scalar)
            position += 1
        }
    }

    /// escapable = "b" / "f" / "n" / "r" / "t" / "/" / "\" / the quote / ("u" hexchar)
    private mutating func parseEscape(quote: Unicode.Scalar) throws(JSONPathSyntaxError) -> Unicode.Scalar {
        let start = position
        position += 1  // "\"
        guard let kind = peek() else { throw error("incomplete escape sequence", at: start) }
        position += 1
        switch kind {
        case "b": return "\u{08}"
        case "f": return "\u{0C}"
        case "n": return "\n"
        case "r": return "\r"
        case "t": return "\t"
        case "/": return "/"
        case "\\": return "\\"
        case "'" where quote == "'": return "'"
        case "\"" where quote == "\"": return "\""
        case "u":
            let unit = try parseHex4(escapeStart: start)
            switch unit {
            case 0xD800...0xDBFF:
                guard peek() == "\\", peek(1) == "u" else {
                    throw error("high surrogate \\u\(hex4(unit)) must be followed by a low surrogate escape", at: start)
                }
                position += 2
                let low = try parseHex4(escapeStart: start)
                guard (0xDC00...0xDFFF).contains(low) else {
                    throw error("high surrogate \\u\(hex4(unit)) must be followed by a low surrogate escape", at: start)
                }
                let value = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                return Unicode.Scalar(value)!
            case 0xDC00...0xDFFF:
                throw error("lone low surrogate \\u\(hex4(unit))", at: start)
            default:
                return Unicode.Scalar(unit)!
            }
        default:
            throw error("invalid escape sequence '\\\(kind)'", at: start)
        }
    }

    private mutating func parseHex4(escapeStart: Int) throws(JSONPathSyntaxError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let scalar = peek(), let digit = hexValue(scalar) else {
                throw error("a \\u escape needs four hex digits", at: escapeStart)
            }
            value = value << 4 | digit
            position += 1
        }
        return value
    }

    // MARK: Filter expressions

    /// An expression in a filter or function argument, before it is given its declared type.
    private enum Operand {
        case literal(JSONValue, offset: Int)
        case query(FilterQuery, offset: Int)
        case function(FunctionCall, offset: Int)
        case logical(FilterExpression)
    }

    /// The logical-expr of a filter selector, checked to be a valid test.
    private mutating func parseFilterExpression() throws(JSONPathSyntaxError) -> FilterExpression {
        try asLogical(try parseOr())
    }

    /// logical-or-expr = logical-and-expr *(S "||" S logical-and-expr)
    private mutating func parseOr() throws(JSONPathSyntaxError) -> Operand {
        nesting += 1
        defer { nesting -= 1 }
        if nesting > Self.maxNesting { throw error("expression nests too deeply") }
        let first = try parseAnd()
        var terms: [FilterExpression] = []
        while true {
            let save = position
            skipBlanks()
            guard peek() == "|", peek(1) == "|" else {
                if peek() == "|" { throw error("expected '||'") }
                position = save
                break
            }
            if terms.isEmpty { terms.append(try asLogical(first)) }
            position += 2
            skipBlanks()
            terms.append(try asLogical(try parseAnd()))
        }
        return terms.isEmpty ? first : .logical(.or(terms))
    }

    /// logical-and-expr = basic-expr *(S "&&" S basic-expr)
    private mutating func parseAnd() throws(JSONPathSyntaxError) -> Operand {
        let first = try parseBasic()
        var terms: [FilterExpression] = []
        while true {
            let save = position
            skipBlanks()
            guard peek() == "&", peek(1) == "&" else {
                if peek() == "&" { throw error("expected '&&'") }
                position = save
                break
            }
            if terms.isEmpty { terms.append(try asLogical(first)) }
            position += 2
            skipBlanks()
            terms.append(try asLogical(try parseBasic()))
        }
        return terms.isEmpty ? first : .logical(.and(terms))
    }

    /// basic-expr = paren-expr / comparison-expr / test-expr
    private mutating func parseBasic() throws(JSONPathSyntaxError) -> Operand {
        guard let next = peek() else { throw error("expected an expression") }
        if next == "!" {
            position += 1
            skipBlanks()
            if peek() == "(" { return .logical(.not(try parseParenthesized())) }
            let operand = try parsePrimary()
            if case .literal(_, let offset) = operand {
                throw error("'!' cannot be applied to a literal", at: offset)
            }
            let save = position
            skipBlanks()
            if comparisonOperatorAhead() != nil {
                throw error("a negated test cannot be compared; use parentheses: '!(… == …)'")
            }
            position = save
            return .logical(.not(try asLogical(operand)))
        }
        if next == "(" { return .logical(try parseParenthesized()) }
        let left = try parsePrimary()
        let save = position
        skipBlanks()
        if let (op, length) = comparisonOperatorAhead() {
            position += length
            skipBlanks()
            let right = try parsePrimary()
            return .logical(.comparison(try asComparable(left), op, try asComparable(right)))
        }
        position = save
        return left
    }

    /// paren-expr = "(" S logical-expr S ")"
    private mutating func parseParenthesized() throws(JSONPathSyntaxError) -> FilterExpression {
        position += 1  // "("
        skipBlanks()
        let inner = try asLogical(try parseOr())
        skipBlanks()
        guard peek() == ")" else { throw error(peek().map { "expected ')', found \(describe($0))" } ?? "expected ')'") }
        position += 1
        return inner
    }

    /// A literal, a filter query or a function expression.
    private mutating func parsePrimary() throws(JSONPathSyntaxError) -> Operand {
        let start = position
        guard let next = peek() else { throw error("expected a query, a literal or a function call") }
        switch next {
        case "@", "$":
            position += 1
            let segments = try parseSegments()
            return .query(FilterQuery(isAbsolute: next == "$", path: CompiledPath(segments)), offset: start)
        case "'", "\"":
            return .literal(.string(try parseStringLiteral()), offset: start)
        case "-", "0"..."9":
            return .literal(.number(try parseNumber()), offset: start)
        case "a"..."z":
            var name = ""
            while let scalar = peek(), isFunctionNameChar(scalar) {
                name.unicodeScalars.append(scalar)
                position += 1
            }
            if peek() == "(" { return try parseFunctionCall(name: name, start: start) }
            switch name {
            case "true": return .literal(.bool(true), offset: start)
            case "false": return .literal(.bool(false), offset: start)
            case "null": return .literal(.null, offset: start)
            default:
                if let after = peek(), isBlank(after), JSONPathFunction(name: name) != nil {
                    throw error("no whitespace is allowed between a function name and '('")
                }
                throw error("unknown name '\(name)'; expected true, false, null or a function call", at: start)
            }
        default:
            throw error("expected a query, a literal or a function call, found \(describe(next))")
        }
    }

    /// number = (int / "-0") [ frac ] [ exp ]
    private mutating func parseNumber() throws(JSONPathSyntaxError) -> Double {
        let start = position
        if peek() == "-" { position += 1 }
        guard let first = peek(), isDigit(first) else { throw error("expected a digit") }
        position += 1
        if first == "0" {
            if let next = peek(), isDigit(next) { throw error("leading zeros are not allowed", at: start) }
        } else {
            while let digit = peek(), isDigit(digit) { position += 1 }
        }
        if peek() == "." {
            position += 1
            guard let digit = peek(), isDigit(digit) else { throw error("expected a digit after '.'") }
            while let digit = peek(), isDigit(digit) { position += 1 }
        }
        if peek() == "e" || peek() == "E" {
            position += 1
            if peek() == "+" || peek() == "-" { position += 1 }
            guard let digit = peek(), isDigit(digit) else { throw error("expected a digit in the exponent") }
            while let digit = peek(), isDigit(digit) { position += 1 }
        }
        var text = ""
        text.unicodeScalars.append(contentsOf: scalars[start..<position])
        guard let value = Double(text), value.isFinite else { throw error("number is out of range", at: start) }
        return value
    }

    /// function-expr = function-name "(" S [function-argument *(S "," S function-argument)] S ")"
    private mutating func parseFunctionCall(name: String, start: Int) throws(JSONPathSyntaxError) -> Operand {
        guard let function = JSONPathFunction(name: name) else {
            throw error("unknown function '\(name)'", at: start)
        }
        position += 1  // "("
        skipBlanks()
        var arguments: [(operand: Operand, offset: Int)] = []
        if peek() != ")" {
            while true {
                let offset = position
                arguments.append((try parseOr(), offset))
                skipBlanks()
                guard peek() == "," else { break }
                position += 1
                skipBlanks()
            }
        }
        guard peek() == ")" else {
            throw error(peek().map { "expected ',' or ')', found \(describe($0))" } ?? "expected ')'")
        }
        position += 1

        let parameters = function.parameterTypes
        guard arguments.count == parameters.count else {
            let expected = parameters.count == 1 ? "1 argument" : "\(parameters.count) arguments"
            throw error("\(name)() takes \(expected), got \(arguments.count)", at: start)
        }
        var typed: [FunctionArgument] = []
        for (index, (parameter, argument)) in zip(parameters, arguments).enumerated() {
            typed.append(try convert(argument.operand, to: parameter, function: name, argument: index + 1,
                                     offset: argument.offset))
        }
        var plan = RegexPlan.dynamic
        if function == .match || function == .search, case .value(.literal(.string(let pattern))) = typed[1] {
            plan = IRegexp(pattern).map(RegexPlan.compiled) ?? .invalid
        }
        return .function(FunctionCall(function: function, arguments: typed, pattern: plan), offset: start)
    }

    // MARK: Type checking (RFC 9535 §2.4.3)

    /// Converts a function argument to the parameter's declared type, or reports it as ill-typed.
    private func convert(_ operand: Operand, to type: JSONPathType, function: String, argument: Int,
                         offset: Int) throws(JSONPathSyntaxError) -> FunctionArgument
    {
        let which = "argument \(argument) of \(function)()"
        switch type {
        case .value:
            switch operand {
            case .literal(let value, _):
                return .value(.literal(value))
            case .query(let query, _):
                guard let steps = query.path.singularSteps else {
                    throw error("\(which) must be a single value, but the query is not singular", at: offset)
                }
                guard query.path.isGrammaticallySingular else {
                    throw error("\(which): a singular query allows no whitespace inside its brackets", at: offset)
                }
                return .value(.singularQuery(isAbsolute: query.isAbsolute, steps: steps))
            case .function(let call, _):
                guard call.function.resultType == .value else {
                    throw error("\(which) must be a value, but \(call.function.name)() returns \(call.function.resultType.name)",
                                at: offset)
                }
                return .value(.function(call))
            case .logical:
                throw error("\(which) must be a value, not a logical expression", at: offset)
            }
        case .nodes:
            switch operand {
            case .query(let query, _):
                return .nodes(.query(query))
            case .function(let call, _) where call.function.resultType == .nodes:
                return .nodes(.function(call))
            default:
                throw error("\(which) must be a query", at: offset)
            }
        case .logical:
            switch operand {
            case .literal:
                throw error("\(which) must be a logical expression, not a literal", at: offset)
            case .function(let call, _) where call.function.resultType == .value:
                throw error("\(which) must be a logical expression, but \(call.function.name)() returns ValueType",
                            at: offset)
            default:
                return .logical(try asLogical(operand))
            }
        }
    }

    /// Uses an operand where a logical expression is required (a test-expr or a logical operand).
    private func asLogical(_ operand: Operand) throws(JSONPathSyntaxError) -> FilterExpression {
        switch operand {
        case .logical(let expression):
            return expression
        case .query(let query, _):
            return .exists(query)
        case .literal(_, let offset):
            throw error("a literal cannot be used as a test; compare it with '==', '<', …", at: offset)
        case .function(let call, let offset):
            switch call.function.resultType {
            case .logical: return .logicalFunction(call)
            case .nodes: return .nodesFunction(call)
            case .value:
                throw error("\(call.function.name)() returns a value, which must be compared", at: offset)
            }
        }
    }

    /// Uses an operand as one side of a comparison: a literal, a singular query or a
    /// ValueType function.
    private func asComparable(_ operand: Operand) throws(JSONPathSyntaxError) -> ValueExpression {
        switch operand {
        case .literal(let value, _):
            return .literal(value)
        case .query(let query, let offset):
            guard let steps = query.path.singularSteps else {
                throw error("only singular queries can be compared; this query can select several nodes", at: offset)
            }
            guard query.path.isGrammaticallySingular else {
                throw error("a compared singular query allows no whitespace inside its brackets", at: offset)
            }
            return .singularQuery(isAbsolute: query.isAbsolute, steps: steps)
        case .function(let call, let offset):
            guard call.function.resultType == .value else {
                throw error("\(call.function.name)() returns \(call.function.resultType.name), which cannot be compared",
                            at: offset)
            }
            return .function(call)
        case .logical:
            throw error("a logical expression cannot be compared")
        }
    }

    private func comparisonOperatorAhead() -> (ComparisonOperator, Int)? {
        switch (peek(), peek(1)) {
        case ("=", "="): (.equal, 2)
        case ("!", "="): (.notEqual, 2)
        case ("<", "="): (.lessOrEqual, 2)
        case (">", "="): (.greaterOrEqual, 2)
        case ("<", _): (.less, 1)
        case (">", _): (.greater, 1)
        default: nil
        }
    }

    // MARK: Characters

    private func peek(_ ahead: Int = 0) -> Unicode.Scalar? {
        let index = position + ahead
        return index < scalars.count ? scalars[index] : nil
    }

    /// Skips whitespace; tells whether there was any.
    @discardableResult
    private mutating func skipBlanks() -> Bool {
        let start = position
        while let scalar = peek(), isBlank(scalar) { position += 1 }
        return position != start
    }

    private func error(_ message: String, at offset: Int? = nil) -> JSONPathSyntaxError {
        JSONPathSyntaxError(message: message, offset: offset ?? position)
    }

    private func describe(_ scalar: Unicode.Scalar) -> String {
        switch scalar {
        case " ": return "a space"
        case "\t": return "a tab"
        case "\n": return "a line feed"
        case "\r": return "a carriage return"
        default:
            if scalar.value < 0x20 || scalar.value == 0x7F { return "U+\(hex4(scalar.value))" }
            return "'\(Character(scalar))'"
        }
    }

    private func isIntegerStart(_ scalar: Unicode.Scalar?) -> Bool {
        guard let scalar else { return false }
        return scalar == "-" || isDigit(scalar)
    }
}

/// B = %x20 / %x09 / %x0A / %x0D
@inline(__always)
private func isBlank(_ scalar: Unicode.Scalar) -> Bool {
    scalar == " " || scalar == "\t" || scalar == "\n" || scalar == "\r"
}

@inline(__always)
private func isDigit(_ scalar: Unicode.Scalar) -> Bool {
    scalar.value >= 0x30 && scalar.value <= 0x39
}

/// name-first = ALPHA / "_" / %x80-D7FF / %xE000-10FFFF (a `Unicode.Scalar` is never a surrogate)
@inline(__always)
private func isNameFirst(_ scalar: Unicode.Scalar) -> Bool {
    let value = scalar.value
    return (value >= 0x41 && value <= 0x5A) || (value >= 0x61 && value <= 0x7A) || value == 0x5F || value >= 0x80
}

/// function-name-char = LCALPHA / "_" / DIGIT
@inline(__always)
private func isFunctionNameChar(_ scalar: Unicode.Scalar) -> Bool {
    let value = scalar.value
    return (value >= 0x61 && value <= 0x7A) || value == 0x5F || (value >= 0x30 && value <= 0x39)
}

private func hexValue(_ scalar: Unicode.Scalar) -> UInt32? {
    switch scalar.value {
    case 0x30...0x39: scalar.value - 0x30
    case 0x41...0x46: scalar.value - 0x41 + 10
    case 0x61...0x66: scalar.value - 0x61 + 10
    default: nil
    }
}

private func hex4(_ value: UInt32) -> String {
    let digits = String(value, radix: 16, uppercase: true)
    return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
}
