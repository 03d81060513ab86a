import CausewayCore
import CausewayMapping
import CausewayTesting
import Foundation
import Testing

/// The YAML loaders (partner.yaml, mapping files, fixture files) against mutated copies of the real
/// files under Mappings/: each either loads or throws diagnostics that say file:line:column.
///
/// Seeded: `CAUSEWAY_FUZZ_SEED` replays a run, `CAUSEWAY_FUZZ_COUNT` sets the number of inputs.
/// Inputs that could overflow the stack run in a `causeway mappings check` child process, so that a
/// crash is reported with its input instead of ending the test run.
@Suite("YAML loader fuzz", .serialized)
struct YAMLFuzzTests {
    /// A file to mutate: which loader reads it, its folder in the scratch copy, its path in there.
    struct Target {
        enum Loader { case partner, mapping, fixture }
        let loader: Loader
        let folder: URL
        let file: String
        let original: [UInt8]
    }

    /// A copy of every partner folder under Mappings/, and the YAML files in them.
    static func targets() throws -> (URL, [Target]) {
        let scratch = try CommandRunner.temporaryDirectory("yaml-fuzz")
        var targets: [Target] = []
        for source in PartnerConfiguration.folders(in: TestPaths.repository.appendingPathComponent("Mappings")) {
            let folder = scratch.appendingPathComponent(source.lastPathComponent)
            try FileManager.default.copyItem(at: source, to: folder)
            let partner = try PartnerConfiguration.load(folder: folder)
            func add(_ loader: Target.Loader, _ file: String) throws {
                targets.append(Target(loader: loader, folder: folder, file: file,
                                      original: Array(try Data(contentsOf: folder.appendingPathComponent(file)))))
            }
            try add(.partner, "partner.yaml")
            for file in partner.mappingFiles { try add(.mapping, file) }
            let fixtures = try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("fixtures").path)
            for name in fixtures.sorted() where name.hasSuffix(".test.yaml") { try add(.fixture, "fixtures/" + name) }
        }
        return (scratch, targets)
    }

    /// Loads `target` as its loader does: the diagnostics, or [] when it loaded.
    static func load(_ target: Target) -> [MappingDiagnostic] {
        do {
            switch target.loader {
            case .partner: _ = try PartnerConfiguration.load(folder: target.folder)
            case .mapping: _ = try Mapping.load(file: target.file, partnerFolder: target.folder)
            case .fixture: _ = try Fixture.load(target.folder.appendingPathComponent(target.file))
            }
            return []
        } catch {
            return error.diagnostics
        }
    }

    @Test("mutated partner, mapping and fixture files load or give file:line:column diagnostics")
    func mutatedFiles() throws {
        let seed = ProcessInfo.processInfo.environment["CAUSEWAY_FUZZ_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 1...UInt64.max)
        let count = ProcessInfo.processInfo.environment["CAUSEWAY_FUZZ_COUNT"].flatMap(Int.init) ?? 3000
        let (scratch, targets) = try Self.targets()
        #expect(targets.count >= 10, "expected both reference partners with their mappings and fixtures")
        // Should the process die, the input that killed it is here.
        let last = scratch.appendingPathComponent("last-input.yaml")
        print("YAML loader fuzz: seed \(seed), \(count) inputs; the current input is kept in \(last.path)")
        var random = SeededGenerator(seed: seed)
        var loaded = 0
        var refused = 0
        var failures = 0
        for index in 0..<count {
            let target = targets[index % targets.count]
            let (input, mutations) = YAMLMutator.mutate(target.original, using: &random)
            let url = target.folder.appendingPathComponent(target.file)
            try Data(input).write(to: url)
            try Data(input).write(to: last)
            let diagnostics = Self.load(target)
            try Data(target.original).write(to: url)
            if diagnostics.isEmpty {
                loaded += 1
                continue
            }
            refused += 1
            let unlocated = diagnostics.filter { diagnostic in
                guard let location = diagnostic.location else { return true }
                return location.line < 1 || location.column < 1 || !location.file.hasPrefix(scratch.path)
                    || !diagnostic.description.hasPrefix("\(location.file):\(location.line):\(location.column): ")
            }
            if !unlocated.isEmpty {
                failures += 1
                let saved = scratch.appendingPathComponent("unlocated-\(index).yaml")
                try Data(input).write(to: saved)
                Issue.record("""
                    seed \(seed), input \(index) (\(target.folder.lastPathComponent)/\(target.file) after \(mutations.joined(separator: ", "))): \
                    diagnostics without a file:line:column location: \(unlocated.map(\.description).joined(separator: " | ")); \
                    the input is saved in \(saved.path)
                    """)
                if failures >= 10 { break }
            }
        }
        print("YAML loader fuzz: seed \(seed): \(loaded) loaded, \(refused) refused with diagnostics")
        // Both outcomes occur, or the mutations are not reaching the loaders.
        #expect(loaded > 0 && refused > 0, "seed \(seed): \(loaded) loaded, \(refused) refused")
    }

    @Test("a billion-laughs alias bomb is refused as an alias, never expanded", arguments: [Target.Loader.partner, .mapping, .fixture])
    func aliasBomb(loader: Target.Loader) throws {
        let (_, targets) = try Self.targets()
        let target = try #require(targets.first { $0.loader == loader })
        var bomb = "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
        for level in 1...9 {
            bomb += "a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ") + "]\n"
        }
        // Valid keys first, so that the loader reaches the bomb; then the bomb under a key it reads.
        let text = String(decoding: target.original, as: UTF8.self) + "\n" + bomb
        try Data(text.utf8).write(to: target.folder.appendingPathComponent(target.file))
        let diagnostics = Self.load(target)
        #expect(diagnostics.contains { $0.code == "mapping.yaml_alias" }, "\(diagnostics)")
        // Refused per anchor or alias written, never per expanded node (10⁹ of them).
        let written = text.filter { $0 == "&" || $0 == "*" }.count
        #expect(diagnostics.count <= written + 20, "\(diagnostics.count) diagnostics for \(written) anchors and aliases")
    }

    /// Depths far beyond any real file; a loader must refuse them with a diagnostic, not overflow the stack.
    @Test("deeply nested YAML is refused without a crash (checked in a child process)", arguments: [
        ("flow sequences", 5_000), ("flow mappings", 5_000), ("block sequences", 2_000), ("flow sequences", 100_000),
    ])
    func deepNesting(shape: String, depth: Int) throws {
        let (scratch, targets) = try Self.targets()
        let target = try #require(targets.first { $0.loader == .partner })
        let nested: String
        switch shape {
        case "flow sequences": nested = String(repeating: "[", count: depth) + "x" + String(repeating: "]", count: depth)
        case "flow mappings": nested = String(repeating: "{a: ", count: depth) + "x" + String(repeating: "}", count: depth)
        default: nested = "\n" + (0..<depth).map { String(repeating: " ", count: $0 + 2) + "-" }.joined(separator: "\n") + " x"
        }
        let text = String(decoding: target.original, as: UTF8.self) + "\nidentities: " + nested + "\n"
        try Data(text.utf8).write(to: target.folder.appendingPathComponent(target.file))
        let result = try CommandRunner.causeway(["mappings", "check", target.folder.path])
        let saved = scratch.appendingPathComponent("deep-\(shape.replacingOccurrences(of: " ", with: "-"))-\(depth).yaml")
        try Data(text.utf8).write(to: saved)
        #expect(result.status == 1,
                """
                partner.yaml with \(shape) nested \(depth) deep: `causeway mappings check` should exit 1 with a diagnostic, \
                got status \(result.status) (not 0 or 1: the process crashed, the status is its signal); reproduce with \
                `causeway mappings check \(target.folder.path)` (the file is also saved as \(saved.path)); stderr ends: \
                \(result.stderr.suffix(400))
                """)
        if result.status == 1 {
            #expect(result.stderr.contains("partner.yaml:"), "the diagnostic names the file: \(result.stderr.suffix(400))")
        }
    }
}

/// Mutations of a YAML file: byte-level damage, line edits, anchors, aliases and tags, nesting,
/// huge scalars, YAML 1.1 traps, directives and encodings.
enum YAMLMutator {
    static let traps = ["yes", "no", "on", "off", "y", "N", "~", "null", "0777", "1.10", "2026-12-03", "0x1F", "1_000", "+.inf", ".nan",
                        "12:30:00", "-", "=", "!!binary aGVsbG8=", "\"\\u0000\"", "'", "\"", "|", ">-", "? x", "[", "{", "@", "`x`", "%"]
    static let tags = ["!!str", "!!int", "!!float", "!!bool", "!!null", "!!map", "!!seq", "!!binary", "!custom", "!!python/object:os.system",
                       "!<tag:yaml.org,2002:str>", "!!set", "!!omap", "!"]
    static let directives = ["---", "...", "%YAML 1.1", "%YAML 1.2\n---", "%TAG ! tag:example.com,2000:\n---", "--- |", "# comment", "\u{FEFF}"]

    static func mutate(_ original: [UInt8], using random: inout SeededGenerator) -> ([UInt8], [String]) {
        var bytes = original
        var applied: [String] = []
        for _ in 0..<Int.random(in: 1...3, using: &random) {
            applied.append(mutateOnce(&bytes, using: &random))
        }
        return (bytes, applied)
    }

    static func lines(_ bytes: [UInt8]) -> [[UInt8]] { bytes.split(separator: 10, omittingEmptySubsequences: false).map(Array.init) }
    static func joined(_ lines: [[UInt8]]) -> [UInt8] { Array(lines.joined(separator: [10])) }

    /// A line's value part (after the first `: `), or nil.
    static func valueStart(_ line: [UInt8]) -> Int? {
        guard line.count > 2 else { return nil }
        for index in 0..<(line.count - 1) where line[index] == UInt8(ascii: ":") && line[index + 1] == UInt8(ascii: " ") { return index + 2 }
        return nil
    }

    /// Replaces the value of a random `key: value` line (or appends a new key) with `value`.
    static func replaceValue(_ bytes: inout [UInt8], with value: String, using random: inout SeededGenerator) {
        var all = lines(bytes)
        let candidates = all.indices.filter { valueStart(all[$0]) != nil }
        if let line = candidates.randomElement(using: &random), let start = valueStart(all[line]) {
            all[line] = Array(all[line][..<start]) + Array(value.utf8)
        } else {
            all.append(Array("extra: \(value)".utf8))
        }
        bytes = joined(all)
    }

    static func mutateOnce(_ bytes: inout [UInt8], using random: inout SeededGenerator) -> String {
        let position = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &random)
        switch Int.random(in: 0..<17, using: &random) {
        case 0:
            for _ in 0..<Int.random(in: 1...4, using: &random) where !bytes.isEmpty {
                bytes[Int.random(in: 0..<bytes.count, using: &random)] ^= UInt8(1) << UInt8.random(in: 0...7, using: &random)
            }
            return "bit flips"
        case 1:
            let end = min(bytes.count, position + Int.random(in: 1...50, using: &random))
            bytes.removeSubrange(position..<end)
            return "deleted bytes \(position)..<\(end)"
        case 2, 3:
            var all = lines(bytes)
            let line = Int.random(in: 0..<all.count, using: &random)
            if Bool.random(using: &random) {
                all.insert(all[line], at: line)
                bytes = joined(all)
                return "duplicated line \(line + 1)"
            }
            all.remove(at: line)
            bytes = joined(all)
            return "deleted line \(line + 1)"
        case 4:
            var all = lines(bytes)
            let a = Int.random(in: 0..<all.count, using: &random), b = Int.random(in: 0..<all.count, using: &random)
            all.swapAt(a, b)
            bytes = joined(all)
            return "swapped lines \(a + 1) and \(b + 1)"
        case 5:
            // An anchor on one value, an alias to it elsewhere (or to an anchor nobody set).
            var all = lines(bytes)
            let candidates = all.indices.filter { valueStart(all[$0]) != nil }
            guard let line = candidates.randomElement(using: &random), let start = valueStart(all[line]) else { return "no anchor place" }
            all[line].insert(contentsOf: Array("&x ".utf8), at: start)
            if let other = candidates.randomElement(using: &random), other != line, let otherStart = valueStart(all[other]) {
                all[other] = Array(all[other][..<otherStart]) + Array("*x".utf8)
            } else {
                all.append(Array("alias: *\(Bool.random(using: &random) ? "x" : "nowhere")".utf8))
            }
            bytes = joined(all)
            return "anchor and alias"
        case 6:
            var all = lines(bytes)
            let candidates = all.indices.filter { valueStart(all[$0]) != nil }
            guard let line = candidates.randomElement(using: &random), let start = valueStart(all[line]) else { return "no tag place" }
            let tag = tags.randomElement(using: &random) ?? "!!str"
            all[line].insert(contentsOf: Array((tag + " ").utf8), at: start)
            bytes = joined(all)
            return "tag \(tag)"
        case 7:
            let depth = Int.random(in: 1...200, using: &random)
            let nested = Bool.random(using: &random)
                ? String(repeating: "[", count: depth) + "x" + String(repeating: "]", count: depth)
                : String(repeating: "{k: ", count: depth) + "x" + String(repeating: "}", count: depth)
            replaceValue(&bytes, with: nested, using: &random)
            return "nesting \(depth) deep"
        case 8:
            let size = [1_000, 100_000, 1_000_000].randomElement(using: &random) ?? 1_000
            let scalar = Bool.random(using: &random) ? String(repeating: "x", count: size) : "\"" + String(repeating: "é", count: size / 2) + "\""
            replaceValue(&bytes, with: scalar, using: &random)
            return "scalar of \(size) characters"
        case 9, 10:
            let trap = traps.randomElement(using: &random) ?? "yes"
            replaceValue(&bytes, with: trap, using: &random)
            return "value \(trap)"
        case 11:
            let junk: [UInt8] = [[0xFF], [0xC3, 0x28], [0xED, 0xA0, 0x80], [0x00], [0xEF, 0xBB, 0xBF], [0x09], [0x0D]].randomElement(using: &random) ?? [0]
            bytes.insert(contentsOf: junk, at: position)
            return "bytes \(junk) at \(position)"
        case 12:
            var all = lines(bytes)
            let line = Int.random(in: 0..<all.count, using: &random)
            if Bool.random(using: &random) { all[line].insert(contentsOf: Array(repeating: UInt8(ascii: Bool.random(using: &random) ? " " : "\t"), count: Int.random(in: 1...3, using: &random)), at: 0) }
            else if all[line].first == UInt8(ascii: " ") { all[line].removeFirst() }
            bytes = joined(all)
            return "indentation of line \(line + 1)"
        case 13:
            let directive = directives.randomElement(using: &random) ?? "---"
            var all = lines(bytes)
            all.insert(Array(directive.utf8), at: Int.random(in: 0...all.count, using: &random))
            bytes = joined(all)
            return "directive \(directive.debugDescription)"
        case 14:
            var all = lines(bytes)
            all.insert(Array((Bool.random(using: &random) ? "<<: {name: x}" : "<<: *x").utf8), at: Int.random(in: 0...all.count, using: &random))
            bytes = joined(all)
            return "merge key"
        case 15:
            bytes = Array(bytes.prefix(position))
            return "truncated at \(position)"
        default:
            let keys = ["name", "roles", "mapping", "mappings", "limits", "actions", "crosswalks", "expect", "agreement", "?", "", "causeway-mapping"]
            let key = keys.randomElement(using: &random) ?? "name"
            var all = lines(bytes)
            all.insert(Array("\(key): \(traps.randomElement(using: &random) ?? "x")".utf8), at: Int.random(in: 0...all.count, using: &random))
            bytes = joined(all)
            return "key \(key) added"
        }
    }
}
