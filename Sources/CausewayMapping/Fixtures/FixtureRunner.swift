public import CausewayCore
public import Foundation

/// A golden fixture: `fixtures/<name>.test.yaml` in a partner folder.
///
/// ```yaml
/// description: three lines, one in kilograms
/// agreement: agreements/three-lines.json   # relative to the fixtures folder
/// mapping: purchase-order.yaml             # optional; default: the partner's first mapping
/// verify: true                             # default: verify signatures and policy first
/// expect: expected/three-lines.json        # the exact actions (golden file)
/// # or: expect_errors: [{code: mapping.lookup_missing, path: "$['lines'][1]['sku']"}]
/// # or: expect_findings: [policy.limit_exceeded]
/// ```
///
/// A change or cancellation (`PurchaseAgreementChange`, `PurchaseAgreementCancellation`) is mapped
/// through the actions' `on_change` / `on_cancel` sections and needs the versions it follows:
///
/// ```yaml
/// agreement: agreements/multi-line.v3.json
/// previous: agreements/multi-line.v2.json   # the version it supersedes
/// original: agreements/multi-line.json      # version 1 (default: previous, for a version 2)
/// legacy: legacy/multi-line.json           # optional: what `legacy:` reads (action name → {system, kind, id})
/// ```
public struct Fixture: Sendable {
    public enum Expectation: Sendable {
        /// The golden file (relative to the fixtures folder) with `{"actions": [...]}`.
        case actions(file: String)
        /// Mapping failures, each a code and optionally an input path.
        case errors([(code: String, path: String?)])
        /// Verification finding codes (the agreement must be refused before mapping).
        case findings([String])
    }

    public let name: String
    public let file: URL
    public let description: String?
    public let agreement: String
    public let mapping: String?
    public let verify: Bool
    public let expectation: Expectation
    /// For a change or cancellation: the version it supersedes, and the original.
    public var previous: String? = nil
    public var original: String? = nil
    /// For a change or cancellation: a JSON file of the legacy references `legacy:` reads.
    public var legacy: String? = nil

    static let keys: Set<String> = ["description", "agreement", "previous", "original", "legacy", "mapping", "verify", "expect", "expect_errors",
                                    "expect_findings"]

    public static func load(_ url: URL) throws(MappingLoadError) -> Fixture {
        var d = Diagnostics()
        guard let data = FileManager.default.contents(atPath: url.path), let text = String(data: data, encoding: .utf8),
            let root = YNode.parse(text, file: url.path, diagnostics: &d), let top = root.mapping("a fixture", allowed: keys, &d)
        else {
            if d.isEmpty { d.error("fixture.unreadable", "cannot read the fixture", at: SourceLocation(file: url.path, line: 1, column: 1)) }
            throw MappingLoadError(d.sorted())
        }
        let agreement = top["agreement"]?.string("'agreement'", &d)
        if top["agreement"] == nil { d.error("fixture.missing_key", "'agreement' is required", at: top.location) }
        let verify = top["verify"].flatMap { $0.bool("'verify'", &d) } ?? true
        var expectation: Expectation?
        let given = ["expect", "expect_errors", "expect_findings"].filter { top[$0] != nil }
        if given.count != 1 {
            d.error("fixture.expectation", "a fixture has exactly one of expect, expect_errors, expect_findings", at: top.location)
        } else if let file = top["expect"] {
            expectation = file.string("'expect'", &d).map { .actions(file: $0) }
        } else if let errors = top["expect_errors"] {
            var list: [(code: String, path: String?)] = []
            for item in errors.items ?? [] {
                if let code = item.scalar { list.append((code, nil)); continue }
                guard let e = item.mapping("an expected error", allowed: ["code", "path"], &d), let code = e["code"]?.string("'code'", &d) else { continue }
                list.append((code, e["path"]?.scalar))
            }
            if list.isEmpty { d.error("fixture.expectation", "'expect_errors' lists no error", at: errors.location) }
            expectation = .errors(list)
        } else if let findings = top["expect_findings"] {
            expectation = findings.strings("'expect_findings'", &d).map { .findings($0) }
        }
        guard d.isEmpty, let agreement, let expectation else { throw MappingLoadError(d.sorted()) }
        let name = url.lastPathComponent.replacingOccurrences(of: ".test.yaml", with: "")
        var fixture = Fixture(name: name, file: url, description: top["description"]?.scalar, agreement: agreement, mapping: top["mapping"]?.scalar,
                              verify: verify, expectation: expectation)
        fixture.previous = top["previous"]?.scalar
        fixture.original = top["original"]?.scalar
        fixture.legacy = top["legacy"]?.scalar
        return fixture
    }
}

/// The result of one fixture.
public struct FixtureOutcome: Sendable {
    public let fixture: String
    public let passed: Bool
    /// What went wrong, as readable lines (a diff for golden mismatches).
    public let details: [String]
}

/// Runs a partner folder's fixtures. Verification is supplied by the caller (it lives in CausewayTrust).
public struct FixtureRunner: Sendable {
    /// Verifies an agreement under the partner's policy: the finding codes with severity error.
    public typealias Verify = @Sendable (Agreement) -> [String]

    public let partner: PartnerConfiguration
    public let mappings: [Mapping]
    public let verify: Verify

    public init(partner: PartnerConfiguration, mappings: [Mapping], verify: @escaping Verify) {
        self.partner = partner
        self.mappings = mappings
        self.verify = verify
    }

    public var fixturesFolder: URL { partner.folder.appendingPathComponent("fixtures") }

    /// The fixture files, sorted.
    public func fixtureFiles() -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: fixturesFolder.path)) ?? []
        return names.filter { $0.hasSuffix(".test.yaml") }.sorted().map { fixturesFolder.appendingPathComponent($0) }
    }

    /// Runs every fixture. With `update`, golden files are rewritten from the actual output
    /// (for a human to review in version control).
    public func run(update: Bool = false) -> [FixtureOutcome] {
        fixtureFiles().map { run($0, update: update) }
    }

    public func run(_ url: URL, update: Bool = false) -> FixtureOutcome {
        let name = url.lastPathComponent.replacingOccurrences(of: ".test.yaml", with: "")
        let fixture: Fixture
        do {
            fixture = try Fixture.load(url)
        } catch {
            return FixtureOutcome(fixture: name, passed: false, details: error.diagnostics.map(\.description))
        }
        func fail(_ lines: [String]) -> FixtureOutcome { FixtureOutcome(fixture: fixture.name, passed: false, details: lines) }
        let agreementURL = fixturesFolder.appendingPathComponent(fixture.agreement)
        guard let data = FileManager.default.contents(atPath: agreementURL.path) else {
            return fail(["cannot read the agreement \(agreementURL.path)"])
        }
        let agreement: Agreement
        do {
            agreement = try Agreement(bytes: Array(data))
        } catch {
            return fail(["\(agreementURL.path): \(error)"])
        }
        // A change or cancellation: the versions it follows, as the gateway would have them stored.
        var context = MappingContext(digest: agreement.digest, partner: partner.name)
        let revisionKind = AgreementRevision.kind(ofType: agreement.type)
        if let revisionKind {
            guard let previousFile = fixture.previous else {
                return fail(["a \(agreement.type ?? "") needs 'previous': the agreement file of the version it supersedes"])
            }
            func read(_ file: String) -> Agreement? {
                FileManager.default.contents(atPath: fixturesFolder.appendingPathComponent(file).path).flatMap { try? Agreement(bytes: Array($0)) }
            }
            guard let previous = read(previousFile) else { return fail(["cannot read the previous version \(previousFile)"]) }
            guard let original = fixture.original.map(read) ?? previous else { return fail(["cannot read the original \(fixture.original ?? "")"]) }
            guard let revision = AgreementRevision.check(agreement.document, kind: revisionKind).revision else {
                return fail(["the \(agreement.type ?? "") breaks its content rules (run causeway verify on it)"])
            }
            guard revision.supersedes == previous.digest, revision.amends == original.digest else {
                return fail(["'supersedes' must be the digest of \(previousFile) and 'amends' the digest of \(fixture.original ?? previousFile)"])
            }
            var legacy: JSONValue = [:]
            if let file = fixture.legacy {
                guard let data = FileManager.default.contents(atPath: fixturesFolder.appendingPathComponent(file).path),
                    let value = try? JSONReader().read(Array(data)), value.objectValue != nil
                else { return fail(["cannot read the legacy references \(file): a JSON object of action name → {system, kind, id}"]) }
                legacy = value
            }
            context.revision = .init(kind: revisionKind, version: revision.version, amends: revision.amends, supersedes: revision.supersedes,
                                     previous: .object(previous.document.removing("proof")), original: .object(original.document.removing("proof")),
                                     legacy: legacy)
        }
        let mapping: Mapping
        if let file = fixture.mapping {
            guard let m = mappings.first(where: { $0.file == file }) else { return fail(["the partner has no mapping file \(file)"]) }
            mapping = m
        } else {
            guard let m = mappings.first else { return fail(["the partner has no mapping"]) }
            mapping = m
        }

        if fixture.verify {
            let codes = verify(agreement)
            if case .findings(let expected) = fixture.expectation {
                let missing = expected.filter { !codes.contains($0) }
                if missing.isEmpty, !codes.isEmpty { return FixtureOutcome(fixture: fixture.name, passed: true, details: []) }
                return fail(["expected verification findings \(expected.joined(separator: ", ")), got \(codes.isEmpty ? "none (verified)" : codes.joined(separator: ", "))"])
            }
            if !codes.isEmpty { return fail(["the agreement does not verify: \(codes.joined(separator: ", "))"]) }
        } else if case .findings = fixture.expectation {
            return fail(["expect_findings needs verify: true"])
        }

        let result = mapping.map(.object(agreement.document), context: context)
        switch fixture.expectation {
        case .findings: return fail(["unreachable"])
        case .errors(let expected):
            guard !result.succeeded else { return fail(["expected mapping errors \(expected.map(\.code).joined(separator: ", ")), but the mapping succeeded"]) }
            // Exact: every expected error occurs, and every error that occurs is expected.
            var problems: [String] = []
            for (code, path) in expected where !result.failures.contains(where: { $0.code == code && (path == nil || $0.inputPath == path) }) {
                problems.append("expected error \(code)\(path.map { " at \($0)" } ?? ""), got: " + result.failures.map(\.description).joined(separator: "; "))
            }
            for failure in result.failures where !expected.contains(where: { $0.code == failure.code && ($0.path == nil || $0.path == failure.inputPath) }) {
                problems.append("unexpected error: \(failure)")
            }
            return problems.isEmpty ? FixtureOutcome(fixture: fixture.name, passed: true, details: []) : fail(problems)
        case .actions(let file):
            guard result.succeeded else { return fail(result.failures.map(\.description)) }
            let actual = result.json
            let goldenURL = fixturesFolder.appendingPathComponent(file)
            if update {
                let text = JSONWriter.string(actual, style: .pretty) + "\n"
                do {
                    try FileManager.default.createDirectory(at: goldenURL.deletingLastPathComponent(), withIntermediateDirectories: true)
                    try Data(text.utf8).write(to: goldenURL, options: .atomic)
                } catch {
                    return fail(["cannot write \(goldenURL.path)"])
                }
                return FixtureOutcome(fixture: fixture.name, passed: true, details: ["updated \(file)"])
            }
            guard let goldenData = FileManager.default.contents(atPath: goldenURL.path) else {
                return fail(["no golden file \(goldenURL.path); run 'causeway mappings test --update' and review the result"])
            }
            let expected: JSONValue
            do {
                expected = try JSONReader().read(Array(goldenData))
            } catch {
                return fail(["\(goldenURL.path): \(error)"])
            }
            // Exact canonical comparison: no type coercion, "1570.00" is not "1570.0".
            if JCS.canonicalize(expected) == JCS.canonicalize(actual) { return FixtureOutcome(fixture: fixture.name, passed: true, details: []) }
            var lines: [String] = []
            JSONDiff.diff(expected, actual, path: "$", into: &lines)
            return fail(["output differs from \(file):"] + lines.prefix(25) + (lines.count > 25 ? ["… \(lines.count - 25) more differences"] : []))
        }
    }
}

/// A readable difference between two JSON values, one line per differing normalized path.
public enum JSONDiff {
    public static func diff(_ expected: JSONValue, _ actual: JSONValue, path: String, into lines: inout [String]) {
        switch (expected, actual) {
        case (.object(let e), .object(let a)):
            for (key, value) in e {
                let child = path + "['\(key)']"
                if let other = a[key] { diff(value, other, path: child, into: &lines) } else { lines.append("  \(child): missing (expected \(show(value)))") }
            }
            for (key, value) in a where e[key] == nil { lines.append("  \(path)['\(key)']: unexpected \(show(value))") }
        case (.array(let e), .array(let a)):
            for i in 0..<max(e.count, a.count) {
                let child = path + "[\(i)]"
                switch (i < e.count, i < a.count) {
                case (true, true): diff(e[i], a[i], path: child, into: &lines)
                case (true, false): lines.append("  \(child): missing (expected \(show(e[i])))")
                default: lines.append("  \(child): unexpected \(show(a[i]))")
                }
            }
        default:
            if JCS.canonicalize(expected) != JCS.canonicalize(actual) {
                lines.append("  \(path): expected \(show(expected)), got \(show(actual))")
            }
        }
    }

    static func show(_ value: JSONValue) -> String {
        let text = JSONWriter.string(value, style: .canonical)
        return text.count > 120 ? String(text.prefix(117)) + "…" : text
    }
}
