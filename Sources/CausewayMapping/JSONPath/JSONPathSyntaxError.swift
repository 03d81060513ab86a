/// A JSONPath query that is not valid RFC 9535 syntax, or that is not well-typed (§2.4.3).
///
/// ```swift
/// do { _ = try JSONPathQuery("$[0") } catch {
///     error.offset       // 3
///     error.description  // "invalid JSONPath at column 4: expected ',' or ']'"
/// }
/// ```
public struct JSONPathSyntaxError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What is wrong, for example `expected ']'`.
    public let message: String

    /// Where in the query the problem was found: a 0-based offset counted in Unicode scalars.
    /// Equal to the query's length when the query ends too early.
    public let offset: Int

    /// Creates an error with a message and a 0-based Unicode-scalar offset into the query.
    public init(message: String, offset: Int) {
        self.message = message
        self.offset = offset
    }

    /// The 1-based column of ``offset``, as shown in ``description``.
    public var column: Int { offset + 1 }

    /// For example `invalid JSONPath at column 5: expected ']'`.
    public var description: String { "invalid JSONPath at column \(column): \(message)" }
}
