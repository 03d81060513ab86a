/// RFC 8785 JSON Canonicalization Scheme.
///
/// Members are sorted by the UTF-16 code units of their names, strings are written with the
/// minimal escaping of ECMAScript's `JSON.stringify`, numbers as ECMAScript prints them, and no
/// whitespace is emitted. The output is the exact byte sequence that signatures and digests cover.
///
/// ```swift
/// JCS.canonicalize(["b": 1, "a": "ü"])   // bytes of {"a":"ü","b":1}
/// ```
public enum JCS {
    /// The canonical UTF-8 bytes of a value.
    public static func canonicalize(_ value: JSONValue) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(1024)
        JSONWriter.write(value, to: &output, style: .canonical)
        return output
    }

    /// The canonical bytes of an object with and without one member, sorting and writing the
    /// members once. Data Integrity needs both for a proof: with `proofValue` (its digest) and
    /// without (the signed proof options).
    public static func canonicalize(_ object: JSONObject, withAndWithout key: String) -> (with: [UInt8], without: [UInt8]) {
        var with: [UInt8] = [UInt8(ascii: "{")]
        var without: [UInt8] = [UInt8(ascii: "{")]
        with.reserveCapacity(512)
        without.reserveCapacity(512)
        for (key: name, value: value) in JSONWriter.sortedMembers(object) {
            let member = Self.member(name, value)
            if with.count > 1 { with.append(UInt8(ascii: ",")) }
            with.append(contentsOf: member)
            if name != key {
                if without.count > 1 { without.append(UInt8(ascii: ",")) }
                without.append(contentsOf: member)
            }
        }
        with.append(UInt8(ascii: "}"))
        without.append(UInt8(ascii: "}"))
        return (with, without)
    }

    /// An object's members in canonical order, each as its canonical bytes (`"name":value`), so
    /// that a caller can add a member later without writing the others again (``object(_:)``).
    public static func members(_ object: JSONObject) -> [(key: String, bytes: [UInt8])] {
        JSONWriter.sortedMembers(object).map { ($0.key, member($0.key, $0.value)) }
    }

    /// The members (as ``members(_:)`` gives them) with one more, at its canonical place; a
    /// member of the same name is replaced.
    public static func inserting(_ key: String, _ value: JSONValue, into members: [(key: String, bytes: [UInt8])])
        -> [(key: String, bytes: [UInt8])]
    {
        var result = members.filter { $0.key != key }
        let position = result.firstIndex { !precedes($0.key, key) } ?? result.endIndex
        result.insert((key, member(key, value)), at: position)
        return result
    }

    /// One member's canonical bytes: `"name":value`.
    static func member(_ name: String, _ value: JSONValue) -> [UInt8] {
        var bytes: [UInt8] = []
        JSONWriter.writeString(name, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
        JSONWriter.write(value, to: &bytes, style: .canonical)
        return bytes
    }

    /// The canonical bytes of the object made of `members` (in canonical order, as given).
    public static func object(_ members: [(key: String, bytes: [UInt8])]) -> [UInt8] {
        var output: [UInt8] = [UInt8(ascii: "{")]
        output.reserveCapacity(members.reduce(2) { $0 + $1.bytes.count + 1 })
        for (index, member) in members.enumerated() {
            if index > 0 { output.append(UInt8(ascii: ",")) }
            output.append(contentsOf: member.bytes)
        }
        output.append(UInt8(ascii: "}"))
        return output
    }

    /// The canonical text of a value.
    public static func canonicalString(_ value: JSONValue) -> String {
        String(decoding: canonicalize(value), as: UTF8.self)
    }

    /// Whether `a` sorts before `b` by UTF-16 code units (RFC 8785 §3.2.3).
    public static func precedes(_ a: String, _ b: String) -> Bool {
        // Fast path: most member names already differ in their first byte.
        if let x = a.utf8.first, let y = b.utf8.first, x != y, x < 0xEE, y < 0xEE { return x < y }
        // UTF-8 byte order equals code-point order, which equals UTF-16 order unless a
        // supplementary-plane character (4-byte UTF-8, lead byte ≥ 0xF0) is compared with one in
        // U+E000…U+FFFF (lead byte 0xEE/0xEF). Only then compare UTF-16 code units.
        var a = a
        var b = b
        let result: Bool? = a.withUTF8 { x in
            b.withUTF8 { y in
                let n = min(x.count, y.count)
                var i = 0
                while i < n, x[i] == y[i] { i += 1 }
                if i == n { return x.count < y.count }
                if x[i] >= 0xEE || y[i] >= 0xEE { return nil }
                return x[i] < y[i]
            }
        }
        if let result { return result }
        return a.utf16.lexicographicallyPrecedes(b.utf16)
    }
}

/// Serialises ``JSONValue`` as canonical (JCS), compact or indented JSON.
public enum JSONWriter {
    /// How to lay out the output.
    public enum Style: Sendable {
        /// RFC 8785: sorted members, no whitespace.
        case canonical
        /// Members in their order, no whitespace.
        case compact
        /// Members in their order, two-space indentation, a space after each colon.
        case pretty
        /// Members sorted as in JCS, two-space indentation.
        case prettySorted
    }

    /// The text of a value in the given style.
    public static func string(_ value: JSONValue, style: Style = .compact) -> String {
        var output: [UInt8] = []
        write(value, to: &output, style: style)
        return String(decoding: output, as: UTF8.self)
    }

    /// Appends a value in the given style to a byte buffer.
    public static func write(_ value: JSONValue, to output: inout [UInt8], style: Style) {
        switch style {
        case .canonical: writeCompact(value, to: &output, sorted: true)
        case .compact: writeCompact(value, to: &output, sorted: false)
        case .pretty: writePretty(value, to: &output, sorted: false, indent: 0)
        case .prettySorted: writePretty(value, to: &output, sorted: true, indent: 0)
        }
    }

    static func sortedMembers(_ object: JSONObject) -> [JSONObject.Member] {
        let members = object.members
        // Already in order (canonical input, or one member): nothing to do.
        var ordered = true
        for i in members.indices.dropFirst() where !JCS.precedes(members[i - 1].key, members[i].key) {
            ordered = false
            break
        }
        if ordered { return members }
        // Sort positions rather than the members themselves: no copies of keys and values while sorting.
        let order = members.indices.sorted { JCS.precedes(members[$0].key, members[$1].key) }
        return order.map { members[$0] }
    }

    static func writeCompact(_ value: JSONValue, to output: inout [UInt8], sorted: Bool) {
        switch value {
        case .null: output.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C])
        case .bool(true): output.append(contentsOf: [0x74, 0x72, 0x75, 0x65])
        case .bool(false): output.append(contentsOf: [0x66, 0x61, 0x6C, 0x73, 0x65])
        case .number(let number): ECMAScriptNumber.append(number, to: &output)
        case .string(let string): writeString(string, to: &output)
        case .array(let array):
            output.append(UInt8(ascii: "["))
            for (position, element) in array.enumerated() {
                if position > 0 { output.append(UInt8(ascii: ",")) }
                writeCompact(element, to: &output, sorted: sorted)
            }
            output.append(UInt8(ascii: "]"))
        case .object(let object):
            output.append(UInt8(ascii: "{"))
            let members = sorted ? sortedMembers(object) : object.members
            for (position, member) in members.enumerated() {
                if position > 0 { output.append(UInt8(ascii: ",")) }
                writeString(member.key, to: &output)
                output.append(UInt8(ascii: ":"))
                writeCompact(member.value, to: &output, sorted: sorted)
            }
            output.append(UInt8(ascii: "}"))
        }
    }

    static func writePretty(_ value: JSONValue, to output: inout [UInt8], sorted: Bool, indent: Int) {
        func newline(_ level: Int) {
            output.append(0x0A)
            for _ in 0..<(level * 2) { output.append(0x20) }
        }
        switch value {
        case .array(let array) where !array.isEmpty:
            output.append(UInt8(ascii: "["))
            for (position, element) in array.enumerated() {
                if position > 0 { output.append(UInt8(ascii: ",")) }
                newline(indent + 1)
                writePretty(element, to: &output, sorted: sorted, indent: indent + 1)
            }
            newline(indent)
            output.append(UInt8(ascii: "]"))
        case .object(let object) where !object.isEmpty:
            output.append(UInt8(ascii: "{"))
            let members = sorted ? sortedMembers(object) : object.members
            for (position, member) in members.enumerated() {
                if position > 0 { output.append(UInt8(ascii: ",")) }
                newline(indent + 1)
                writeString(member.key, to: &output)
                output.append(contentsOf: [UInt8(ascii: ":"), 0x20])
                writePretty(member.value, to: &output, sorted: sorted, indent: indent + 1)
            }
            newline(indent)
            output.append(UInt8(ascii: "}"))
        default:
            writeCompact(value, to: &output, sorted: sorted)
        }
    }

    /// Writes a string with JSON.stringify's escaping: `"` `\` and C0 controls only.
    static func writeString(_ string: String, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        var string = string
        string.withUTF8 { bytes in
            // Copy runs that need no escaping in one go; most strings are a single run.
            var runStart = 0
            for index in 0..<bytes.count {
                let byte = bytes[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                if runStart < index { output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<index])) }
                appendEscaped(byte, to: &output)
                runStart = index + 1
            }
            if runStart < bytes.count { output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart...])) }
        }
        output.append(UInt8(ascii: "\""))
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    private static func appendEscaped(_ byte: UInt8, to output: inout [UInt8]) {
        switch byte {
        case UInt8(ascii: "\""): output.append(contentsOf: [0x5C, 0x22])
        case UInt8(ascii: "\\"): output.append(contentsOf: [0x5C, 0x5C])
        case 0x08: output.append(contentsOf: [0x5C, UInt8(ascii: "b")])
        case 0x09: output.append(contentsOf: [0x5C, UInt8(ascii: "t")])
        case 0x0A: output.append(contentsOf: [0x5C, UInt8(ascii: "n")])
        case 0x0C: output.append(contentsOf: [0x5C, UInt8(ascii: "f")])
        case 0x0D: output.append(contentsOf: [0x5C, UInt8(ascii: "r")])
        default:
            output.append(contentsOf: [0x5C, UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                       hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0xF)]])
        }
    }
}
