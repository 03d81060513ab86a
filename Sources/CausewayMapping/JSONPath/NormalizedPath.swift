/// The location of one node in a JSON value, as RFC 9535 §2.7 "Normalized Paths" defines it.
///
/// A normalized path is a list of member names and non-negative array indices, starting at the
/// root. Its ``description`` is the canonical text form, for example `$['lines'][1]['sku']`, with
/// names in single quotes and the RFC's escaping rules applied.
///
/// The mapping engine also uses it to say where in an input document something went wrong:
///
/// ```swift
/// var path = NormalizedPath()
/// path.append(name: "lines")
/// path.append(index: 1)
/// path.appending(name: "sku").description  // "$['lines'][1]['sku']"
/// ```
public struct NormalizedPath: Sendable, Hashable, CustomStringConvertible {
    /// One step of a normalized path: a member name or an array index.
    public enum Element: Sendable, Hashable, CustomStringConvertible {
        /// An object member, by its exact name.
        case name(String)
        /// An array element, by its zero-based index. Normalized paths only hold non-negative indices.
        case index(Int)

        /// The element as a bracketed selector, for example `['sku']` or `[1]`.
        public var description: String {
            var text = ""
            NormalizedPath.write(self, to: &text)
            return text
        }
    }

    /// The steps from the root, outermost first. Empty for the root itself.
    public private(set) var elements: [Element]

    /// The path of the root node, `$`.
    public init() { elements = [] }

    /// A path made of these steps, outermost first.
    public init(_ elements: [Element]) { self.elements = elements }

    /// The path of the root node, `$`.
    public static var root: NormalizedPath { NormalizedPath() }

    /// Whether this is the root path `$`.
    public var isRoot: Bool { elements.isEmpty }

    /// The number of steps below the root.
    public var count: Int { elements.count }

    /// The last step, or `nil` for the root.
    public var last: Element? { elements.last }

    /// The path one step up, or `nil` for the root.
    public var parent: NormalizedPath? {
        elements.isEmpty ? nil : NormalizedPath(Array(elements.dropLast()))
    }

    /// Adds a step at the end.
    public mutating func append(_ element: Element) { elements.append(element) }

    /// Adds a member-name step at the end.
    public mutating func append(name: String) { elements.append(.name(name)) }

    /// Adds an array-index step at the end.
    public mutating func append(index: Int) { elements.append(.index(index)) }

    /// Adds all steps of `other` at the end (`other` is read relative to this path).
    public mutating func append(contentsOf other: NormalizedPath) { elements.append(contentsOf: other.elements) }

    /// A copy with one more step at the end.
    public func appending(_ element: Element) -> NormalizedPath {
        var copy = self
        copy.elements.append(element)
        return copy
    }

    /// A copy with a member-name step at the end.
    public func appending(name: String) -> NormalizedPath { appending(.name(name)) }

    /// A copy with an array-index step at the end.
    public func appending(index: Int) -> NormalizedPath { appending(.index(index)) }

    /// The RFC 9535 normalized path text, for example `$['a'][0]['b\'c']`.
    ///
    /// Names are written in single quotes. Backspace, form feed, line feed, carriage return, tab,
    /// apostrophe and backslash use the short escapes `\b \f \n \r \t \' \\`; other characters below
    /// U+0020 use `\u00xx` with lowercase hex digits; everything else is written as is.
    public var description: String {
        var text = "$"
        for element in elements { NormalizedPath.write(element, to: &text) }
        return text
    }

    /// The path as a JSON Pointer (RFC 6901), for example `/lines/1/sku`. Empty for the root.
    public var jsonPointer: String {
        var text = ""
        for element in elements {
            text.append("/")
            switch element {
            case .index(let index):
                text.append(String(index))
            case .name(let name):
                for scalar in name.unicodeScalars {
                    switch scalar {
                    case "~": text.append("~0")
                    case "/": text.append("~1")
                    default: text.unicodeScalars.append(scalar)
                    }
                }
            }
        }
        return text
    }

    static func write(_ element: Element, to text: inout String) {
        switch element {
        case .index(let index):
            text.append("[")
            text.append(String(index))
            text.append("]")
        case .name(let name):
            text.append("['")
            for scalar in name.unicodeScalars {
                switch scalar.value {
                case 0x08: text.append("\\b")
                case 0x09: text.append("\\t")
                case 0x0A: text.append("\\n")
                case 0x0C: text.append("\\f")
                case 0x0D: text.append("\\r")
                case 0x27: text.append("\\'")
                case 0x5C: text.append("\\\\")
                case 0x00..<0x20:
                    let hex = Array("0123456789abcdef".unicodeScalars)
                    text.append("\\u00")
                    text.unicodeScalars.append(hex[Int(scalar.value >> 4)])
                    text.unicodeScalars.append(hex[Int(scalar.value & 0xF)])
                default:
                    text.unicodeScalars.append(scalar)
                }
            }
            text.append("']")
        }
    }
}
