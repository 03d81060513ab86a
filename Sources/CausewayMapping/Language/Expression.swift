import CausewayCore
import Foundation

/// Where a selector starts: the agreement (`agreement:`) or a loop variable (`line:`).
enum SelectorRoot: Hashable, Sendable {
    case agreement
    case variable(String)

    var name: String {
        switch self {
        case .agreement: "agreement"
        case .variable(let v): v
        }
    }
}

/// How a selector that may match several nodes is reduced to one value.
enum Reduction: String, Sendable {
    case sum, count, join, first
}

/// An RFC 9535 query against a root.
struct Selector: Sendable {
    let root: SelectorRoot
    let query: JSONPathQuery
    let reduce: Reduction?
    let separator: String
    let location: SourceLocation
}

/// `for_each`: iterate the nodes a selector matches, naming each one.
struct Loop: Sendable {
    let selector: Selector
    let variable: String
    let minimum: Int
    let location: SourceLocation
}

/// Values known about the agreement and mapping, not taken from the document.
enum MetaField: String, Sendable, CaseIterable {
    case agreementDigest = "agreement.digest"
    case agreementID = "agreement.id"
    case partner
    case mappingID = "mapping.id"
    case mappingVersion = "mapping.version"
    /// The agreement's version: 1 for an original, 2 or more for a change or cancellation.
    case agreementVersion = "agreement.version"
    /// The original agreement's digest (for an original, its own): what a change finds the first write by.
    case agreementOriginalDigest = "agreement.original_digest"
    /// The digest of the version a change or cancellation follows (absent for an original).
    case agreementSupersedes = "agreement.supersedes"
}

/// The static type of an expression, checked when the mapping loads.
enum StaticType: String, Sendable {
    /// A value read from the agreement; its type is known only at run time.
    case any
    case string, decimal, integer, date, timestamp, boolean, json
}

/// An expression with the place it was written.
struct Expression: Sendable {
    indirect enum Kind: Sendable {
        case constant(String)
        case select(Selector)
        case meta(MetaField)
        case position(variable: String, start: Int)
        case parent(column: String)
        case lookup(crosswalk: String, key: Expression, missDefault: String?)
        case concat([Expression], separator: String)
        case upper(Expression)
        case lower(Expression)
        case trim(Expression)
        case length(Expression)
        case substring(Expression, start: Int, length: Int?)
        case pad(Expression, width: Int, fill: Character, left: Bool)
        case replace(Expression, find: String, with: String)
        case urlEncode(Expression)
        case date(Expression, format: DateFormat?, offsetMinutes: Int?)
        case timestamp(Expression)
        case add([Expression])
        case subtract(Expression, Expression)
        case multiply([Expression])
        case divide(Expression, Expression, scale: Int, rounding: DecimalText.Rounding)
        case round(Expression, scale: Int, rounding: DecimalText.Rounding)
        case sum(Expression, over: Loop?)
        case coalesce([Expression])
        case required(Expression, message: String)
        case conditional(Condition, then: Expression, else: Expression?)
    }

    let kind: Kind
    let location: SourceLocation
    let type: StaticType
}

/// A condition for `if`, `assertions` and `when`.
indirect enum Condition: Sendable {
    case exists(Expression)
    case equals(Expression, Expression)
    case greater(Expression, Expression)
    case less(Expression, Expression)
    case matches(Expression, NSRegularExpression, pattern: String)
    case isIn(Expression, [String])
    case not(Condition)
    case all([Condition])
    case any([Condition])
}


/// A date layout built from tokens `YYYY`, `MM`, `DD`, `hh`, `mm`, `ss` and literal characters.
struct DateFormat: Sendable {
    enum Token: Sendable {
        case year, month, day, hour, minute, second
        case literal(String)
    }

    let tokens: [Token]
    let text: String

    init?(_ text: String) {
        var tokens: [Token] = []
        var rest = Substring(text)
        var literal = ""
        let table: [(String, Token)] = [("YYYY", .year), ("MM", .month), ("DD", .day), ("hh", .hour), ("mm", .minute), ("ss", .second)]
        outer: while !rest.isEmpty {
            for (pattern, token) in table where rest.hasPrefix(pattern) {
                if !literal.isEmpty { tokens.append(.literal(literal)); literal = "" }
                tokens.append(token)
                rest = rest.dropFirst(pattern.count)
                continue outer
            }
            let c = rest.removeFirst()
            if c.isLetter { return nil }  // unknown letter tokens are mistakes, not literals
            literal.append(c)
        }
        if !literal.isEmpty { tokens.append(.literal(literal)) }
        self.tokens = tokens
        self.text = text
    }

    func format(year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0) -> String {
        func pad(_ v: Int, _ w: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, w - s.count)) + s
        }
        var out = ""
        for token in tokens {
            switch token {
            case .year: out += pad(year, 4)
            case .month: out += pad(month, 2)
            case .day: out += pad(day, 2)
            case .hour: out += pad(hour, 2)
            case .minute: out += pad(minute, 2)
            case .second: out += pad(second, 2)
            case .literal(let l): out += l
            }
        }
        return out
    }
}

/// A cell: an expression plus the policy for absent and null values and the output type.
struct Cell: Sendable {
    let expression: Expression
    let type: CellValue.ValueType?
    let rounding: DecimalText.Rounding
    let optional: Bool
    let defaultValue: String?
    let allowNull: Bool
    let maxLength: Int?
    let accepted: [String]?
    let location: SourceLocation
}
