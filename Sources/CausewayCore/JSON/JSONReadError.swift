/// Why a byte sequence is not acceptable I-JSON, and where.
///
/// The message names the problem and the position but never echoes the input: agreements carry
/// commercial data, and errors end up in logs.
public struct JSONReadError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable, machine-readable reason (`json.duplicate_member`, `json.too_deep`, …).
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private let raw: String
        private init(_ raw: String) { self.raw = raw }
        public var description: String { raw }

        /// The input is larger than ``JSONReader/Limits/maxBytes``.
        public static let tooLarge = Code("json.too_large")
        /// Arrays and objects are nested deeper than ``JSONReader/Limits/maxDepth``.
        public static let tooDeep = Code("json.too_deep")
        /// The input is not JSON at this position.
        public static let syntax = Code("json.syntax")
        /// An object repeats a member name (RFC 7493 §2.3).
        public static let duplicateMember = Code("json.duplicate_member")
        /// The bytes are not valid UTF-8 (RFC 7493 §2.1).
        public static let invalidUTF8 = Code("json.invalid_utf8")
        /// A `\u` escape names half of a surrogate pair without the other half (RFC 7493 §2.1).
        public static let loneSurrogate = Code("json.lone_surrogate")
        /// A number is too large for an IEEE 754 double (RFC 7493 §2.2).
        public static let numberOutOfRange = Code("json.number_out_of_range")
        /// There is more than whitespace after the value.
        public static let trailingData = Code("json.trailing_data")
        /// The input is empty or only whitespace.
        public static let empty = Code("json.empty")
    }

    public let code: Code
    /// What is wrong, in words.
    public let message: String
    /// Zero-based byte offset of the problem.
    public let offset: Int
    /// One-based line of the problem.
    public let line: Int
    /// One-based column (in bytes) of the problem.
    public let column: Int

    public init(code: Code, message: String, offset: Int, line: Int, column: Int) {
        self.code = code
        self.message = message
        self.offset = offset
        self.line = line
        self.column = column
    }

    public var description: String { "\(message) (line \(line), column \(column); \(code))" }
}
