/// A strict I-JSON (RFC 7493) reader with bounded size and depth.
///
/// It accepts exactly RFC 8259 JSON text that is also I-JSON: valid UTF-8, no duplicate member
/// names, no lone surrogates in escapes, and numbers that fit an IEEE 754 double. Anything else
/// throws a ``JSONReadError`` that names the problem and its position. The reader never guesses:
/// no comments, no trailing commas, no byte-order mark, no leading `+` or `.5`.
///
/// ```swift
/// let reader = JSONReader(limits: .init(maxBytes: 64 * 1024, maxDepth: 16))
/// let value = try reader.read(Array(body))
/// ```
public struct JSONReader: Sendable {
    /// Bounds on what one read may consume.
    public struct Limits: Sendable, Hashable {
        /// Largest accepted input in bytes. Default 1 MiB, the gateway's default body limit.
        public var maxBytes: Int
        /// Deepest accepted nesting of arrays and objects. Default 64; agreements need about 5.
        public var maxDepth: Int

        public init(maxBytes: Int = 1 << 20, maxDepth: Int = 64) {
            self.maxBytes = maxBytes
            self.maxDepth = maxDepth
        }

        /// The defaults: 1 MiB and depth 64.
        public static let `default` = Limits()
    }

    public var limits: Limits

    public init(limits: Limits = .default) { self.limits = limits }

    /// Reads one JSON value that must fill the whole input (surrounding whitespace allowed).
    public func read(_ bytes: [UInt8]) throws(JSONReadError) -> JSONValue {
        guard bytes.count <= limits.maxBytes else {
            throw JSONReadError(
                code: .tooLarge,
                message: "input is \(bytes.count) bytes, over the limit of \(limits.maxBytes) bytes",
                offset: limits.maxBytes, line: 1, column: 1)
        }
        let result: Result<JSONValue, JSONReadError> = bytes.withUnsafeBufferPointer { buffer in
            var parser = Parser(bytes: buffer, maxDepth: limits.maxDepth)
            do throws(JSONReadError) {
                return .success(try parser.parseDocument())
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// Reads one JSON value from text.
    public func read(_ text: String) throws(JSONReadError) -> JSONValue {
        try read(Array(text.utf8))
    }
}

/// The recursive-descent parser over a byte buffer. Internal: ``JSONReader`` is the API.
private struct Parser {
    let bytes: UnsafeBufferPointer<UInt8>
    let maxDepth: Int
    var index = 0
    var depth = 0
    /// Scratch space for strings with escapes, reused across strings.
    var scratch: [UInt8] = []

    init(bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    mutating func parseDocument() throws(JSONReadError) -> JSONValue {
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF {
            throw error(.syntax, "a byte-order mark is not allowed in I-JSON", at: 0)
        }
        skipWhitespace()
        guard index < bytes.count else {
            throw error(.empty, "the input holds no JSON value", at: index)
        }
        let value = try parseValue()
        skipWhitespace()
        if index < bytes.count {
            throw error(.trailingData, "unexpected data after the JSON value", at: index)
        }
        return value
    }

    // MARK: Values

    mutating func parseValue() throws(JSONReadError) -> JSONValue {
        guard index < bytes.count else { throw error(.syntax, "unexpected end of input, expected a value", at: index) }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"):
            try expectLiteral("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try expectLiteral("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try expectLiteral("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return .number(try parseNumber())
        default:
            throw error(.syntax, "unexpected character, expected a value", at: index)
        }
    }

    mutating func expectLiteral(_ literal: StaticString) throws(JSONReadError) {
        let count = literal.utf8CodeUnitCount
        let start = literal.utf8Start
        guard index + count <= bytes.count else {
            throw error(.syntax, "unexpected end of input inside a literal", at: index)
        }
        for offset in 0..<count where bytes[index + offset] != start[offset] {
            throw error(.syntax, "invalid literal, expected '\(literal)'", at: index + offset)
        }
        index += count
    }

    mutating func enter() throws(JSONReadError) {
        depth += 1
        if depth > maxDepth {
            throw error(.tooDeep, "nesting is deeper than the limit of \(maxDepth)", at: index)
        }
    }

    mutating func parseObject() throws(JSONReadError) -> JSONValue {
        try enter()
        index += 1  // {
        var members: [JSONObject.Member] = []
        members.reserveCapacity(8)
        var seen: Set<MemberName>? = nil
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            depth -= 1
            return .object(JSONObject(uncheckedMembers: members))
        }
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                throw error(.syntax, "expected a member name in double quotes", at: index)
            }
            let nameOffset = index
            let name = try parseString()
            // Duplicate detection by code points, not by Unicode canonical equivalence:
            // "é" and "e\u{301}" are different member names in JSON.
            if members.count < 12 {
                for member in members where member.key.utf8.elementsEqual(name.utf8) {
                    throw duplicate(name, at: nameOffset)
                }
                if members.count == 11 { seen = Set(members.map { MemberName($0.key) } + [MemberName(name)]) }
            } else if seen!.insert(MemberName(name)).inserted == false {
                throw duplicate(name, at: nameOffset)
            }
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else {
                throw error(.syntax, "expected ':' after a member name", at: index)
            }
            index += 1
            skipWhitespace()
            let value = try parseValue()
            members.append((name, value))
            skipWhitespace()
            guard index < bytes.count else { throw error(.syntax, "unexpected end of input inside an object", at: index) }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            if bytes[index] == UInt8(ascii: "}") {
                index += 1
                depth -= 1
                return .object(JSONObject(uncheckedMembers: members))
            }
            throw error(.syntax, "expected ',' or '}' in an object", at: index)
        }
    }

    func duplicate(_ name: String, at offset: Int) -> JSONReadError {
        // The name is the structure of the document, not its payload, and it is what the user must fix.
        let shown = name.count <= 64 ? name : String(name.prefix(64)) + "…"
        return error(.duplicateMember, "duplicate member name \"\(shown)\"", at: offset)
    }

    mutating func parseArray() throws(JSONReadError) -> JSONValue {
        try enter()
        index += 1  // [
        var elements: [JSONValue] = []
        elements.reserveCapacity(4)
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            depth -= 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            elements.append(try parseValue())
            skipWhitespace()
            guard index < bytes.count else { throw error(.syntax, "unexpected end of input inside an array", at: index) }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            if bytes[index] == UInt8(ascii: "]") {
                index += 1
                depth -= 1
                return .array(elements)
            }
            throw error(.syntax, "expected ',' or ']' in an array", at: index)
        }
    }

    // MARK: Strings

    mutating func parseString() throws(JSONReadError) -> String {
        index += 1  // opening quote
        let start = index
        // Fast path: plain ASCII up to the closing quote.
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let string = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
                index += 1
                return string
            }
            if byte == UInt8(ascii: "\\") || byte < 0x20 || byte >= 0x80 { break }
            index += 1
        }
        return try parseStringSlow(from: start)
    }

    mutating func parseStringSlow(from start: Int) throws(JSONReadError) -> String {
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<index]))
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                return String(decoding: scratch, as: UTF8.self)
            case UInt8(ascii: "\\"):
                try parseEscape()
            case 0..<0x20:
                throw error(.syntax, "unescaped control character U+\(hex4(UInt16(byte))) in a string", at: index)
            case 0x80...:
                try copyUTF8Sequence()
            default:
                scratch.append(byte)
                index += 1
            }
        }
        throw error(.syntax, "unterminated string", at: start - 1)
    }

    /// Validates and copies one multi-byte UTF-8 sequence (RFC 3629 §4, no overlongs, no surrogates).
    mutating func copyUTF8Sequence() throws(JSONReadError) {
        let lead = bytes[index]
        let length: Int
        var lowerSecond: UInt8 = 0x80
        var upperSecond: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; lowerSecond = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; upperSecond = 0x9F  // U+D800…U+DFFF are not scalar values
        case 0xF0: length = 4; lowerSecond = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; upperSecond = 0x8F  // nothing above U+10FFFF
        default:
            throw error(.invalidUTF8, "invalid UTF-8 byte 0x\(hex2(lead))", at: index)
        }
        guard index + length <= bytes.count else {
            throw error(.invalidUTF8, "truncated UTF-8 sequence", at: index)
        }
        let second = bytes[index + 1]
        guard second >= lowerSecond, second <= upperSecond else {
            throw error(.invalidUTF8, "invalid UTF-8 sequence", at: index)
        }
        for offset in 2..<length where bytes[index + offset] & 0xC0 != 0x80 {
            throw error(.invalidUTF8, "invalid UTF-8 sequence", at: index)
        }
        scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[index..<(index + length)]))
        index += length
    }

    mutating func parseEscape() throws(JSONReadError) {
        let escapeStart = index
        index += 1
        guard index < bytes.count else { throw error(.syntax, "unterminated escape sequence", at: escapeStart) }
        let byte = bytes[index]
        index += 1
        switch byte {
        case UInt8(ascii: "\""): scratch.append(UInt8(ascii: "\""))
        case UInt8(ascii: "\\"): scratch.append(UInt8(ascii: "\\"))
        case UInt8(ascii: "/"): scratch.append(UInt8(ascii: "/"))
        case UInt8(ascii: "b"): scratch.append(0x08)
        case UInt8(ascii: "f"): scratch.append(0x0C)
        case UInt8(ascii: "n"): scratch.append(0x0A)
        case UInt8(ascii: "r"): scratch.append(0x0D)
        case UInt8(ascii: "t"): scratch.append(0x09)
        case UInt8(ascii: "u"):
            let unit = try parseHex4(escapeStart: escapeStart)
            var scalarValue = UInt32(unit)
            if (0xD800...0xDBFF).contains(unit) {
                guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                    throw error(.loneSurrogate, "high surrogate \\u\(hex4(unit)) is not followed by a low surrogate", at: escapeStart)
                }
                let secondStart = index
                index += 2
                let low = try parseHex4(escapeStart: secondStart)
                guard (0xDC00...0xDFFF).contains(low) else {
                    throw error(.loneSurrogate, "high surrogate \\u\(hex4(unit)) is not followed by a low surrogate", at: escapeStart)
                }
                scalarValue = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
            } else if (0xDC00...0xDFFF).contains(unit) {
                throw error(.loneSurrogate, "low surrogate \\u\(hex4(unit)) without a high surrogate", at: escapeStart)
            }
            let scalar = Unicode.Scalar(scalarValue)!
            scratch.append(contentsOf: UTF8.encode(scalar)!)
        default:
            throw error(.syntax, "invalid escape sequence", at: escapeStart)
        }
    }

    mutating func parseHex4(escapeStart: Int) throws(JSONReadError) -> UInt16 {
        guard index + 4 <= bytes.count else { throw error(.syntax, "truncated \\u escape", at: escapeStart) }
        var value: UInt16 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw error(.syntax, "invalid hex digit in \\u escape", at: index)
            }
            value = value << 4 | UInt16(digit)
            index += 1
        }
        return value
    }

    // MARK: Numbers

    mutating func parseNumber() throws(JSONReadError) -> Double {
        let start = index
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < bytes.count else { throw error(.syntax, "a number needs digits", at: start) }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
            if index < bytes.count, isDigit(bytes[index]) {
                throw error(.syntax, "a number may not have a leading zero", at: start)
            }
        } else if isDigit(bytes[index]) {
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        } else {
            throw error(.syntax, "a number needs digits", at: index)
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard index < bytes.count, isDigit(bytes[index]) else {
                throw error(.syntax, "a decimal point must be followed by digits", at: index)
            }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard index < bytes.count, isDigit(bytes[index]) else {
                throw error(.syntax, "an exponent needs digits", at: index)
            }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        guard let value = Double(text), value.isFinite else {
            throw error(.numberOutOfRange, "number is outside the range of an IEEE 754 double", at: start)
        }
        return value
    }

    @inline(__always) func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    // MARK: Helpers

    @inline(__always) mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    func error(_ code: JSONReadError.Code, _ message: String, at offset: Int) -> JSONReadError {
        var line = 1
        var lineStart = 0
        let end = min(offset, bytes.count)
        for position in 0..<end where bytes[position] == 0x0A {
            line += 1
            lineStart = position + 1
        }
        return JSONReadError(code: code, message: message, offset: offset, line: line, column: offset - lineStart + 1)
    }
}

/// A member name compared by its UTF-8 bytes, so canonically equivalent but different names stay distinct.
private struct MemberName: Hashable {
    let name: String
    init(_ name: String) { self.name = name }
    static func == (lhs: MemberName, rhs: MemberName) -> Bool { lhs.name.utf8.elementsEqual(rhs.name.utf8) }
    func hash(into hasher: inout Hasher) {
        for byte in name.utf8 { hasher.combine(byte) }
    }
}

func hex2(_ byte: UInt8) -> String {
    let digits = Array("0123456789ABCDEF".utf8)
    return String(decoding: [digits[Int(byte >> 4)], digits[Int(byte & 0xF)]], as: UTF8.self)
}

func hex4(_ unit: UInt16) -> String { hex2(UInt8(unit >> 8)) + hex2(UInt8(unit & 0xFF)) }
