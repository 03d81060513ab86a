import CausewayCore
import CausewayMapping
import CausewayTesting
import Foundation
import Testing

/// Runs every case of the JSONPath Compliance Test Suite (`shared/vectors/jsonpath-cts/cts.json`).
///
/// The vectors folder is `../shared/vectors` next to the package root, or the folder named by the
/// `CAUSEWAY_VECTORS` environment variable (see `TestPaths`). A missing file is a failure, never a skip.
@Suite("JSONPath Compliance Test Suite")
struct JSONPathComplianceTests {
    /// The number of cases in the suite snapshot we were given.
    static let expectedCaseCount = 703

    @Test("all CTS cases pass")
    func allCases() throws {
        let cases = try ComplianceSuite.load()
        #expect(cases.count == Self.expectedCaseCount, "expected \(Self.expectedCaseCount) CTS cases, found \(cases.count)")

        var failures: [String] = []
        var invalidCount = 0
        for testCase in cases {
            if testCase.invalidSelector { invalidCount += 1 }
            if let failure = testCase.run() {
                failures.append("• \(testCase.name) — selector \(testCase.selector.debugDescription): \(failure)")
                Issue.record("CTS case failed: \(testCase.name)\n  selector: \(testCase.selector.debugDescription)\n  \(failure)")
            }
        }
        let passed = cases.count - failures.count
        #expect(failures.isEmpty, "\(failures.count) of \(cases.count) CTS cases failed:\n\(failures.joined(separator: "\n"))")
        #expect(passed == Self.expectedCaseCount, "\(passed) CTS cases passed (\(invalidCount) invalid-selector cases)")
    }
}

/// One case of `cts.json`.
struct ComplianceCase: Sendable {
    let name: String
    let selector: String
    let invalidSelector: Bool
    let document: JSONValue?
    /// Each alternative: the expected values and normalized paths. `result` gives one alternative.
    let alternatives: [(values: [JSONValue], paths: [String]?)]

    /// `nil` when the case passes, otherwise what went wrong.
    func run() -> String? {
        let query: JSONPathQuery
        do {
            query = try JSONPathQuery(selector)
        } catch {
            return invalidSelector ? nil : "expected a valid selector, got \(error)"
        }
        if invalidSelector { return "expected a syntax error, but the selector parsed" }
        guard let document else { return "the case has no document" }

        let nodes = query.select(document)
        let values = nodes.map(\.value)
        let paths = nodes.map(\.path.description)
        let fastValues = query.selectValues(document)
        guard fastValues == values else {
            return "selectValues gave \(render(fastValues)) but select gave \(render(values))"
        }
        for alternative in alternatives where alternative.values == values {
            if let expectedPaths = alternative.paths, expectedPaths != paths { continue }
            return nil
        }
        let expected = alternatives.map { alternative in
            render(alternative.values) + (alternative.paths.map { " at \($0)" } ?? "")
        }
        return "got \(render(values)) at \(paths); expected \(expected.joined(separator: " or "))"
    }

    private func render(_ values: [JSONValue]) -> String {
        JSONWriter.string(.array(values), style: .compact)
    }
}

enum ComplianceSuite {
    struct LoadError: Error, CustomStringConvertible {
        let description: String
    }

    /// The CTS cases. `TestPaths` finds the vectors folder (`../shared/vectors` beside the package
    /// root, or `CAUSEWAY_VECTORS`) and throws a readable error naming the path when the file is missing.
    static func load() throws -> [ComplianceCase] {
        let data = try TestPaths.vector("jsonpath-cts/cts.json")
        let root = try JSONReader(limits: .init(maxBytes: 16 << 20, maxDepth: 128)).read(Array(data))
        guard let tests = root["tests"]?.arrayValue else { throw LoadError(description: "cts.json has no \"tests\" array") }
        return try tests.enumerated().map { index, test in try parse(test, index: index) }
    }

    private static func parse(_ test: JSONValue, index: Int) throws -> ComplianceCase {
        guard let name = test["name"]?.stringValue, let selector = test["selector"]?.stringValue else {
            throw LoadError(description: "CTS case #\(index) has no name or selector")
        }
        let invalid = test["invalid_selector"]?.boolValue ?? false
        var alternatives: [(values: [JSONValue], paths: [String]?)] = []
        if let result = test["result"]?.arrayValue {
            alternatives.append((result, try strings(test["result_paths"], name: name)))
        }
        if let results = test["results"]?.arrayValue {
            let allPaths = test["results_paths"]?.arrayValue
            for (offset, result) in results.enumerated() {
                guard let values = result.arrayValue else { throw LoadError(description: "\(name): bad results") }
                alternatives.append((values, try strings(allPaths?[offset], name: name)))
            }
        }
        if !invalid && alternatives.isEmpty { throw LoadError(description: "\(name): no expected result") }
        return ComplianceCase(name: name, selector: selector, invalidSelector: invalid, document: test["document"],
                              alternatives: alternatives)
    }

    private static func strings(_ value: JSONValue?, name: String) throws -> [String]? {
        guard let value else { return nil }
        guard let array = value.arrayValue else { throw LoadError(description: "\(name): paths are not an array") }
        return try array.map { element in
            guard let string = element.stringValue else { throw LoadError(description: "\(name): path is not a string") }
            return string
        }
    }
}
