/// A place in a mapping file (1-based line and column, columns in Unicode scalars as libyaml counts).
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    public let file: String
    public let line: Int
    public let column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    /// `file:line:column`.
    public var description: String { "\(file):\(line):\(column)" }

    /// The same line, `offset` scalars further right (to point inside a scalar, e.g. a JSONPath).
    func advanced(by offset: Int) -> SourceLocation { SourceLocation(file: file, line: line, column: column + offset) }
}

/// A problem found while loading or checking a mapping, reported as `file:line:column: message`.
public struct MappingDiagnostic: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable code (`mapping.unknown_key`, `mapping.invalid_jsonpath`, …).
    public let code: String
    public let message: String
    public let location: SourceLocation?

    public init(_ code: String, _ message: String, at location: SourceLocation?) {
        self.code = code
        self.message = message
        self.location = location
    }

    public var description: String {
        if let location { return "\(location): \(message) [\(code)]" }
        return "\(message) [\(code)]"
    }
}

/// Every diagnostic of a failed load, in file order.
public struct MappingLoadError: Error, Sendable, CustomStringConvertible {
    public let diagnostics: [MappingDiagnostic]
    public init(_ diagnostics: [MappingDiagnostic]) { self.diagnostics = diagnostics }
    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}

/// Collects diagnostics while a load goes on, so that one run reports every problem.
struct Diagnostics {
    private(set) var all: [MappingDiagnostic] = []

    mutating func error(_ code: String, _ message: String, at location: SourceLocation?) {
        all.append(MappingDiagnostic(code, message, at: location))
    }

    mutating func append(contentsOf other: [MappingDiagnostic]) { all += other }

    var isEmpty: Bool { all.isEmpty }

    func sorted() -> [MappingDiagnostic] {
        all.sorted {
            ($0.location?.file ?? "", $0.location?.line ?? 0, $0.location?.column ?? 0)
                < ($1.location?.file ?? "", $1.location?.line ?? 0, $1.location?.column ?? 0)
        }
    }
}
