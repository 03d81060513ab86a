/// An I-Regexp (RFC 9485), the regular-expression flavor of JSONPath's `match()` and `search()`.
///
/// The pattern is parsed strictly by the RFC 9485 grammar, then compiled into a small
/// instruction program that a Pike VM runs over the subject's Unicode scalars. That gives:
///
/// * exact I-Regexp semantics on every platform (no translation to another engine's dialect);
///   `.` matches any scalar except `\n` and `\r`, and `\p{…}` / `\P{…}` use the Swift standard
///   library's Unicode general categories;
/// * time linear in the subject's length for any pattern, so a hostile pattern taken from a
///   document cannot cause catastrophic backtracking.
///
/// Like the regex engines JSONPath implementations usually translate to (and as the JSONPath
/// Compliance Test Suite expects), an unescaped `^` outside a character class matches only at the
/// start of the subject and an unescaped `$` only at its end. Patterns whose compiled program would
/// exceed ``maxProgramSize`` instructions (very large `{n,m}` counts) are treated as invalid.
struct IRegexp: Sendable {
    /// The most instructions a compiled pattern may have.
    static let maxProgramSize = 20_000
    /// How deeply groups may nest.
    static let maxNesting = 64

    private let program: [RegexInstruction]
    /// The code point ranges of all character classes, which refer to slices of it.
    private let ranges: [ClosedRange<UInt32>]

    /// Compiles a pattern, or returns `nil` if it is not a valid I-Regexp (or too large).
    init?(_ pattern: String) {
        var parser = IRegexpParser(pattern)
        guard let tree = try? parser.parse() else { return nil }
        var compiler = RegexCompiler()
        guard (try? compiler.emit(tree)) != nil, (try? compiler.append(.match)) != nil else { return nil }
        program = compiler.program
        ranges = compiler.ranges
    }

    /// Whether the whole of `subject` matches (the semantics of `match()`).
    func matchesWhole(_ subject: String) -> Bool { run(subject, anchored: true) }

    /// Whether some substring of `subject` matches (the semantics of `search()`).
    func matchesSubstring(of subject: String) -> Bool { run(subject, anchored: false) }

    // MARK: Pike VM

    private func run(_ subject: String, anchored: Bool) -> Bool {
        let size = program.count
        // marks | current list | next list | work stack (a closure pushes at most 2 per instruction)
        return withUnsafeTemporaryAllocation(of: Int.self, capacity: size * 5 + 2) { buffer in
            let base = buffer.baseAddress.unsafelyUnwrapped
            base.initialize(repeating: -1, count: size)
            var vm = PikeVM(program: program, ranges: ranges, marks: base, current: base + size,
                            next: base + 2 * size, stack: base + 3 * size)
            return vm.run(subject, anchored: anchored)
        }
    }
}

/// The state of one Pike VM run, in memory the caller provides. Each instruction is a thread
/// state; a generation number per instruction keeps each thread list free of duplicates.
private struct PikeVM {
    let program: [RegexInstruction]
    let ranges: [ClosedRange<UInt32>]
    let marks: UnsafeMutablePointer<Int>
    var current: UnsafeMutablePointer<Int>
    var currentCount = 0
    var next: UnsafeMutablePointer<Int>
    var nextCount = 0
    let stack: UnsafeMutablePointer<Int>

    init(program: [RegexInstruction], ranges: [ClosedRange<UInt32>], marks: UnsafeMutablePointer<Int>,
         current: UnsafeMutablePointer<Int>, next: UnsafeMutablePointer<Int>, stack: UnsafeMutablePointer<Int>)
    {
        self.program = program
        self.ranges = ranges
        self.marks = marks
        self.current = current
        self.next = next
        self.stack = stack
    }

    mutating func run(_ subject: String, anchored: Bool) -> Bool {
        let matchPC = program.count - 1
        var scalars = subject.unicodeScalars.makeIterator()
        var upcoming = scalars.next()
        var generation = 0
        var atEnd = upcoming == nil
        addThreads(from: 0, toNext: false, generation: generation, atStart: true, atEnd: atEnd)
        while true {
            if marks[matchPC] == generation && (atEnd || !anchored) { return true }
            guard let scalar = upcoming else { return false }
            upcoming = scalars.next()
            atEnd = upcoming == nil
            generation += 1
            nextCount = 0
            for position in 0..<currentCount {
                let pc = current[position]
                if accepts(pc, scalar) {
                    addThreads(from: pc + 1, toNext: true, generation: generation, atStart: false, atEnd: atEnd)
                }
            }
            if !anchored {
                addThreads(from: 0, toNext: true, generation: generation, atStart: false, atEnd: atEnd)
            }
            swap(&current, &next)
            currentCount = nextCount
            if currentCount == 0 && anchored { return false }
        }
    }

    @inline(__always)
    private func accepts(_ pc: Int, _ scalar: Unicode.Scalar) -> Bool {
        switch program[pc] {
        case .scalar(let expected): scalar == expected
        case .set(let set): set.contains(scalar, ranges: ranges)
        case .any: scalar != "\n" && scalar != "\r"
        default: false
        }
    }

    /// Adds the thread at `pc`, and every thread reachable from it without consuming input, to the
    /// current list (at the start) or the next list.
    private mutating func addThreads(from pc: Int, toNext: Bool, generation: Int, atStart: Bool, atEnd: Bool) {
        var depth = 0
        stack[0] = pc
        depth = 1
        while depth > 0 {
            depth -= 1
            let pc = stack[depth]
            if marks[pc] == generation { continue }
            marks[pc] = generation
            switch program[pc] {
            case .jump(let target):
                stack[depth] = target
                depth += 1
            case .split(let first, let second):
                stack[depth] = second
                stack[depth + 1] = first
                depth += 2
            case .assertStart:
                if atStart {
                    stack[depth] = pc + 1
                    depth += 1
                }
            case .assertEnd:
                if atEnd {
                    stack[depth] = pc + 1
                    depth += 1
                }
            case .scalar, .set, .any, .match:
                if toNext {
                    next[nextCount] = pc
                    nextCount += 1
                } else {
                    current[currentCount] = pc
                    currentCount += 1
                }
            }
        }
    }
}

// MARK: - Syntax tree and program

private indirect enum RegexNode {
    case empty
    case scalar(Unicode.Scalar)
    case set(RegexCharSet)
    case any
    case start
    case end
    case concatenation([RegexNode])
    case alternation([RegexNode])
    case repetition(RegexNode, min: Int, max: Int?)
}

private enum RegexInstruction: Sendable {
    case scalar(Unicode.Scalar)
    case set(CompiledCharSet)
    case any
    case split(Int, Int)
    case jump(Int)
    case assertStart
    case assertEnd
    case match
}

/// A character class as parsed: code point ranges and Unicode general categories, possibly negated.
private struct RegexCharSet: Sendable {
    struct Category: Sendable {
        var mask: UInt32
        var negated: Bool
    }

    var negated = false
    var ranges: [ClosedRange<UInt32>] = []
    var categories: [Category] = []
}

/// A character class as the VM tests it: a slice of the shared range table and category bit masks.
/// Plain data, so testing a scalar retains nothing.
private struct CompiledCharSet: Sendable {
    var rangeStart: Int32
    var rangeEnd: Int32
    /// The union of the `\p{…}` categories.
    var categoryMask: UInt32
    /// The intersection of the `\P{…}` categories: one of them matches when the scalar's category is outside it.
    var complementMask: UInt32
    var hasComplement: Bool
    var negated: Bool

    @inline(__always)
    func contains(_ scalar: Unicode.Scalar, ranges: [ClosedRange<UInt32>]) -> Bool {
        var found = false
        let value = scalar.value
        var index = Int(rangeStart)
        let end = Int(rangeEnd)
        while index < end {
            if ranges[index].contains(value) {
                found = true
                break
            }
            index += 1
        }
        if !found && (categoryMask != 0 || hasComplement) {
            let bit = generalCategoryBit(scalar)
            found = (categoryMask & bit) != 0 || (hasComplement && (complementMask & bit) == 0)
        }
        return found != negated
    }
}

private struct RegexTooLarge: Error {}

private struct RegexCompiler {
    var program: [RegexInstruction] = []
    var ranges: [ClosedRange<UInt32>] = []

    @discardableResult
    mutating func append(_ instruction: RegexInstruction) throws(RegexTooLarge) -> Int {
        guard program.count < IRegexp.maxProgramSize else { throw RegexTooLarge() }
        program.append(instruction)
        return program.count - 1
    }

    mutating func emit(_ node: RegexNode) throws(RegexTooLarge) {
        switch node {
        case .empty:
            break
        case .scalar(let scalar):
            try append(.scalar(scalar))
        case .set(let set):
            let start = ranges.count
            ranges.append(contentsOf: set.ranges)
            var compiled = CompiledCharSet(rangeStart: Int32(start), rangeEnd: Int32(ranges.count),
                                           categoryMask: 0, complementMask: UInt32.max, hasComplement: false,
                                           negated: set.negated)
            for category in set.categories {
                if category.negated {
                    // Some \P{X} matches exactly when the category is outside the intersection of the Xs.
                    compiled.complementMask &= category.mask
                    compiled.hasComplement = true
                } else {
                    compiled.categoryMask |= category.mask
                }
            }
            try append(.set(compiled))
        case .any:
            try append(.any)
        case .start:
            try append(.assertStart)
        case .end:
            try append(.assertEnd)
        case .concatenation(let nodes):
            for node in nodes { try emit(node) }
        case .alternation(let branches):
            var exits: [Int] = []
            for (offset, branch) in branches.enumerated() {
                if offset == branches.count - 1 {
                    try emit(branch)
                } else {
                    let split = try append(.split(0, 0))
                    try emit(branch)
                    exits.append(try append(.jump(0)))
                    program[split] = .split(split + 1, program.count)
                }
            }
            for exit in exits { program[exit] = .jump(program.count) }
        case .repetition(let node, let min, let max):
            for _ in 0..<min { try emit(node) }
            if let max {
                for _ in min..<max {
                    let split = try append(.split(0, 0))
                    try emit(node)
                    program[split] = .split(split + 1, program.count)
                }
            } else {
                let split = try append(.split(0, 0))
                try emit(node)
                try append(.jump(split))
                program[split] = .split(split + 1, program.count)
            }
        }
    }
}

// MARK: - Parser (RFC 9485 §3)

private struct IRegexpSyntaxError: Error {}

private struct IRegexpParser {
    private let scalars: [Unicode.Scalar]
    private var position = 0
    private var nesting = 0

    init(_ pattern: String) { scalars = Array(pattern.unicodeScalars) }

    /// i-regexp = branch *( "|" branch )
    mutating func parse() throws(IRegexpSyntaxError) -> RegexNode {
        let tree = try parseAlternation()
        guard position == scalars.count else { throw IRegexpSyntaxError() }
        return tree
    }

    private func peek(_ ahead: Int = 0) -> Unicode.Scalar? {
        position + ahead < scalars.count ? scalars[position + ahead] : nil
    }

    private mutating func parseAlternation() throws(IRegexpSyntaxError) -> RegexNode {
        var branches = [try parseBranch()]
        while peek() == "|" {
            position += 1
            branches.append(try parseBranch())
        }
        return branches.count == 1 ? branches[0] : .alternation(branches)
    }

    /// branch = *piece
    private mutating func parseBranch() throws(IRegexpSyntaxError) -> RegexNode {
        var pieces: [RegexNode] = []
        while let next = peek(), next != "|", next != ")" {
            pieces.append(try parsePiece())
        }
        switch pieces.count {
        case 0: return .empty
        case 1: return pieces[0]
        default: return .concatenation(pieces)
        }
    }

    /// piece = atom [ quantifier ]
    private mutating func parsePiece() throws(IRegexpSyntaxError) -> RegexNode {
        let atom = try parseAtom()
        switch peek() {
        case "*":
            position += 1
            return .repetition(atom, min: 0, max: nil)
        case "+":
            position += 1
            return .repetition(atom, min: 1, max: nil)
        case "?":
            position += 1
            return .repetition(atom, min: 0, max: 1)
        case "{":
            position += 1
            let min = try parseQuantity()
            var max: Int? = min
            if peek() == "," {
                position += 1
                max = peek().map(isDigit) == true ? try parseQuantity() : nil
            }
            guard peek() == "}" else { throw IRegexpSyntaxError() }
            position += 1
            if let max, max < min { throw IRegexpSyntaxError() }
            return .repetition(atom, min: min, max: max)
        default:
            return atom
        }
    }

    /// QuantExact = 1*%x30-39
    private mutating func parseQuantity() throws(IRegexpSyntaxError) -> Int {
        guard let first = peek(), isDigit(first) else { throw IRegexpSyntaxError() }
        var value = 0
        while let digit = peek(), isDigit(digit) {
            value = value * 10 + Int(digit.value - 0x30)
            // Anything this large could never compile within the program size limit.
            if value > IRegexp.maxProgramSize { throw IRegexpSyntaxError() }
            position += 1
        }
        return value
    }

    /// atom = NormalChar / charClass / ( "(" i-regexp ")" )
    private mutating func parseAtom() throws(IRegexpSyntaxError) -> RegexNode {
        guard let next = peek() else { throw IRegexpSyntaxError() }
        switch next {
        case "(":
            nesting += 1
            defer { nesting -= 1 }
            guard nesting <= IRegexp.maxNesting else { throw IRegexpSyntaxError() }
            position += 1
            let inner = try parseAlternation()
            guard peek() == ")" else { throw IRegexpSyntaxError() }
            position += 1
            return inner
        case ".":
            position += 1
            return .any
        case "[":
            return .set(try parseClassExpression())
        case "\\":
            if peek(1) == "p" || peek(1) == "P" {
                var set = RegexCharSet()
                set.categories.append(try parseCategoryEscape())
                return .set(set)
            }
            return .scalar(try parseSingleCharEscape())
        case "^":
            position += 1
            return .start
        case "$":
            position += 1
            return .end
        default:
            guard isNormalChar(next) else { throw IRegexpSyntaxError() }
            position += 1
            return .scalar(next)
        }
    }

    /// charClassExpr = "[" [ "^" ] ( "-" / CCE1 ) *CCE1 [ "-" ] "]"
    private mutating func parseClassExpression() throws(IRegexpSyntaxError) -> RegexCharSet {
        position += 1  // "["
        var set = RegexCharSet()
        if peek() == "^" {
            set.negated = true
            position += 1
        }
        if peek() == "-" {
            set.ranges.append(0x2D...0x2D)
            position += 1
        } else {
            try parseClassElement(into: &set)
        }
        while true {
            guard let next = peek() else { throw IRegexpSyntaxError() }
            if next == "]" {
                position += 1
                return set
            }
            if next == "-" {
                guard peek(1) == "]" else { throw IRegexpSyntaxError() }
                set.ranges.append(0x2D...0x2D)
                position += 2
                return set
            }
            try parseClassElement(into: &set)
        }
    }

    /// CCE1 = ( CCchar [ "-" CCchar ] ) / charClassEsc
    private mutating func parseClassElement(into set: inout RegexCharSet) throws(IRegexpSyntaxError) {
        if peek() == "\\" && (peek(1) == "p" || peek(1) == "P") {
            set.categories.append(try parseCategoryEscape())
            return
        }
        let low = try parseClassChar()
        if peek() == "-", let after = peek(1), after != "]" {
            position += 1
            let high = try parseClassChar()
            guard low.value <= high.value else { throw IRegexpSyntaxError() }
            set.ranges.append(low.value...high.value)
        } else {
            set.ranges.append(low.value...low.value)
        }
    }

    /// CCchar = ( %x00-2C / %x2E-5A / %x5E-D7FF / %xE000-10FFFF ) / SingleCharEsc
    private mutating func parseClassChar() throws(IRegexpSyntaxError) -> Unicode.Scalar {
        guard let next = peek() else { throw IRegexpSyntaxError() }
        if next == "\\" { return try parseSingleCharEscape() }
        if next == "-" || next == "[" || next == "]" { throw IRegexpSyntaxError() }
        position += 1
        return next
    }

    /// SingleCharEsc = "\" ( %x28-2B / "-" / "." / "?" / %x5B-5E / "n" / "r" / "t" / %x7B-7D )
    private mutating func parseSingleCharEscape() throws(IRegexpSyntaxError) -> Unicode.Scalar {
        guard let escaped = peek(1) else { throw IRegexpSyntaxError() }
        position += 2
        switch escaped {
        case "n": return "\n"
        case "r": return "\r"
        case "t": return "\t"
        case "(", ")", "*", "+", "-", ".", "?", "[", "\\", "]", "^", "{", "|", "}": return escaped
        default: throw IRegexpSyntaxError()
        }
    }

    /// catEsc = "\p{" charProp "}"; complEsc = "\P{" charProp "}"
    private mutating func parseCategoryEscape() throws(IRegexpSyntaxError) -> RegexCharSet.Category {
        let negated = peek(1) == "P"
        position += 2
        guard peek() == "{", let major = peek(1) else { throw IRegexpSyntaxError() }
        position += 2
        var minor: Unicode.Scalar?
        if let next = peek(), next != "}" {
            minor = next
            position += 1
        }
        guard peek() == "}", let mask = categoryMask(major: major, minor: minor) else { throw IRegexpSyntaxError() }
        position += 1
        return RegexCharSet.Category(mask: mask, negated: negated)
    }
}

@inline(__always)
private func isDigit(_ scalar: Unicode.Scalar) -> Bool { scalar.value >= 0x30 && scalar.value <= 0x39 }

/// NormalChar: anything but the metacharacters `( ) * + . ? [ \ ] { | }`.
private func isNormalChar(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.value {
    case 0x28...0x2B, 0x2E, 0x3F, 0x5B...0x5D, 0x7B...0x7D: false
    default: true
    }
}

// MARK: - Unicode general categories

private func bit(_ category: Unicode.GeneralCategory) -> UInt32 {
    switch category {
    case .uppercaseLetter: 1 << 0
    case .lowercaseLetter: 1 << 1
    case .titlecaseLetter: 1 << 2
    case .modifierLetter: 1 << 3
    case .otherLetter: 1 << 4
    case .nonspacingMark: 1 << 5
    case .spacingMark: 1 << 6
    case .enclosingMark: 1 << 7
    case .decimalNumber: 1 << 8
    case .letterNumber: 1 << 9
    case .otherNumber: 1 << 10
    case .connectorPunctuation: 1 << 11
    case .dashPunctuation: 1 << 12
    case .openPunctuation: 1 << 13
    case .closePunctuation: 1 << 14
    case .initialPunctuation: 1 << 15
    case .finalPunctuation: 1 << 16
    case .otherPunctuation: 1 << 17
    case .spaceSeparator: 1 << 18
    case .lineSeparator: 1 << 19
    case .paragraphSeparator: 1 << 20
    case .mathSymbol: 1 << 21
    case .currencySymbol: 1 << 22
    case .modifierSymbol: 1 << 23
    case .otherSymbol: 1 << 24
    case .control: 1 << 25
    case .format: 1 << 26
    case .surrogate: 1 << 27
    case .privateUse: 1 << 28
    case .unassigned: 1 << 29
    @unknown default: 1 << 29
    }
}

@inline(__always)
private func generalCategoryBit(_ scalar: Unicode.Scalar) -> UInt32 { bit(scalar.properties.generalCategory) }

/// The categories `\p{major minor}` names, or `nil` for a name I-Regexp does not have.
private func categoryMask(major: Unicode.Scalar, minor: Unicode.Scalar?) -> UInt32? {
    let families: [Unicode.Scalar: [(Unicode.Scalar, Unicode.GeneralCategory)]] = [
        "L": [("u", .uppercaseLetter), ("l", .lowercaseLetter), ("t", .titlecaseLetter), ("m", .modifierLetter),
              ("o", .otherLetter)],
        "M": [("n", .nonspacingMark), ("c", .spacingMark), ("e", .enclosingMark)],
        "N": [("d", .decimalNumber), ("l", .letterNumber), ("o", .otherNumber)],
        "P": [("c", .connectorPunctuation), ("d", .dashPunctuation), ("s", .openPunctuation), ("e", .closePunctuation),
              ("i", .initialPunctuation), ("f", .finalPunctuation), ("o", .otherPunctuation)],
        "Z": [("s", .spaceSeparator), ("l", .lineSeparator), ("p", .paragraphSeparator)],
        "S": [("m", .mathSymbol), ("c", .currencySymbol), ("k", .modifierSymbol), ("o", .otherSymbol)],
        "C": [("c", .control), ("f", .format), ("s", .surrogate), ("o", .privateUse), ("n", .unassigned)],
    ]
    guard let family = families[major] else { return nil }
    guard let minor else { return family.reduce(0) { $0 | bit($1.1) } }
    // RFC 9485 has no \p{Cs}: surrogates are not characters.
    if major == "C" && minor == "s" { return nil }
    for (letter, category) in family where letter == minor { return bit(category) }
    return nil
}
