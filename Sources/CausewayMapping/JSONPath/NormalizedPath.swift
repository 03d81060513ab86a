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

    // A path is a prefix shared with the other paths of one selection (a slot in an immutable
    // parent-pointer table, so `select` needs no array per result) followed by steps of its own.
    private var shared: SharedPathTable?
    private var sharedSlot: Int
    private var ownSteps: [Element]

    /// The path of the root node, `$`.
    public init() {
        shared = nil
        sharedSlot = SharedPathTable.root
        ownSteps = []
    }

    /// A path made of these steps, outermost first.
    public init(_ elements: [Element]) {
        shared = nil
        sharedSlot = SharedPathTable.root
        ownSteps = elements
    }

    /// The path ending at `slot` of a selection's path table.
    init(table: SharedPathTable, slot: Int) {
        shared = slot == SharedPathTable.root ? nil : table
        sharedSlot = slot
        ownSteps = []
    }

    /// The path of the root node, `$`.
    public static var root: NormalizedPath { NormalizedPath() }

    /// The steps from the root, outermost first. Empty for the root itself.
    public var elements: [Element] {
        guard let shared else { return ownSteps }
        var steps = shared.steps(to: sharedSlot, reservingExtra: ownSteps.count)
        steps.append(contentsOf: ownSteps)
        return steps
    }

    /// Whether this is the root path `$`.
    public var isRoot: Bool { shared == nil && ownSteps.isEmpty }

    /// The number of steps below the root.
    public var count: Int { (shared?.depth(of: sharedSlot) ?? 0) + ownSteps.count }

    /// The last step, or `nil` for the root.
    public var last: Element? {
        if let step = ownSteps.last { return step }
        guard let shared else { return nil }
        return shared.element(at: sharedSlot)
    }

    /// The path one step up, or `nil` for the root.
    public var parent: NormalizedPath? {
        if !ownSteps.isEmpty {
            var copy = self
            copy.ownSteps.removeLast()
            return copy
        }
        guard let shared else { return nil }
        return NormalizedPath(table: shared, slot: shared.parent(of: sharedSlot))
    }

    /// Adds a step at the end.
    public mutating func append(_ element: Element) { ownSteps.append(element) }

    /// Adds a member-name step at the end.
    public mutating func append(name: String) { ownSteps.append(.name(name)) }

    /// Adds an array-index step at the end.
    public mutating func append(index: Int) { ownSteps.append(.index(index)) }

    /// Adds all steps of `other` at the end (`other` is read relative to this path).
    public mutating func append(contentsOf other: NormalizedPath) {
        if isRoot {
            self = other  // shares a selection's path table instead of copying it
        } else {
            ownSteps.append(contentsOf: other.elements)
        }
    }

    /// A copy with one more step at the end.
    public func appending(_ element: Element) -> NormalizedPath {
        var copy = self
        copy.ownSteps.append(element)
        return copy
    }

    /// A copy with a member-name step at the end.
    public func appending(name: String) -> NormalizedPath { appending(.name(name)) }

    /// A copy with an array-index step at the end.
    public func appending(index: Int) -> NormalizedPath { appending(.index(index)) }

    /// Paths are equal when they have the same steps.
    public static func == (lhs: NormalizedPath, rhs: NormalizedPath) -> Bool {
        if lhs.shared === rhs.shared && lhs.sharedSlot == rhs.sharedSlot { return lhs.ownSteps == rhs.ownSteps }
        return lhs.count == rhs.count && lhs.elements == rhs.elements
    }

    /// Hashes the steps, consistently with ``==``.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(elements)
    }

    /// The RFC 9535 normalized path text, for example `$['a'][0]['b\'c']`.
    ///
    /// Names are written in single quotes. Backspace, form feed, line feed, carriage return, tab,
    /// apostrophe and backslash use the short escapes `\b \f \n \r \t \' \\`; other characters below
    /// U+0020 use `\u00xx` with lowercase hex digits; everything else is written as is.
    public var description: String {
        var text = "$"
        shared?.write(to: sharedSlot, into: &text)
        for element in ownSteps { NormalizedPath.write(element, to: &text) }
        return text
    }

    /// The path as a JSON Pointer (RFC 6901), for example `/lines/1/sku`. Empty for the root.
    public var jsonPointer: String {
        var text = ""
        for element in self.elements {
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

/// The locations made during one selection, as a parent-pointer table that the result paths
/// share. Immutable once built.
final class SharedPathTable: Sendable {
    /// The slot of the root, `$`.
    static let root = -1

    private let parents: [Int]
    private let elements: [NormalizedPath.Element]

    init(parents: [Int], elements: [NormalizedPath.Element]) {
        self.parents = parents
        self.elements = elements
    }

    func parent(of slot: Int) -> Int { parents[slot] }

    func element(at slot: Int) -> NormalizedPath.Element { elements[slot] }

    func depth(of slot: Int) -> Int {
        var depth = 0
        var cursor = slot
        while cursor != Self.root {
            depth += 1
            cursor = parents[cursor]
        }
        return depth
    }

    /// The steps from the root to `slot`, outermost first.
    func steps(to slot: Int, reservingExtra extra: Int) -> [NormalizedPath.Element] {
        let depth = depth(of: slot)
        var steps = [NormalizedPath.Element](repeating: .index(0), count: depth)
        steps.reserveCapacity(depth + extra)
        var cursor = slot
        var position = depth
        while cursor != Self.root {
            position -= 1
            steps[position] = elements[cursor]
            cursor = parents[cursor]
        }
        return steps
    }

    /// Appends the bracketed steps from the root to `slot` to `text`.
    func write(to slot: Int, into text: inout String) {
        guard slot != Self.root else { return }
        write(to: parents[slot], into: &text)
        NormalizedPath.write(elements[slot], to: &text)
    }
}
