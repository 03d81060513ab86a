import CausewayCore
import Yams

/// A YAML node with its location, read the strict way: every scalar is a string until the
/// mapping schema gives it a type (YAML 1.2 failsafe), duplicate keys are errors, aliases are refused.
final class YNode {
    enum Content {
        case scalar(String, plain: Bool)
        case mapping([(key: String, keyLocation: SourceLocation, value: YNode)])
        case sequence([YNode])
    }

    let content: Content
    let location: SourceLocation

    init(content: Content, location: SourceLocation) {
        self.content = content
        self.location = location
    }

    /// Parses a whole YAML text; YAML syntax errors become diagnostics with their position.
    static func parse(_ text: String, file: String, diagnostics: inout Diagnostics) -> YNode? {
        let node: Node?
        // The parser holds the anchors weakly referenced from the nodes; keep it alive while converting.
        let parser: Parser
        do {
            parser = try Parser(yaml: text)
            node = try parser.singleRoot()
        } catch let error as YamlError {
            switch error {
            case .duplicatedKeysInMapping(let duplicates, let context):
                let names = duplicates.map { "'\($0)'" }.joined(separator: ", ")
                diagnostics.error("mapping.duplicate_key", "the key \(names) appears more than once in one mapping",
                                  at: SourceLocation(file: file, line: context.mark.line, column: context.mark.column))
            case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
                diagnostics.error("mapping.yaml_syntax", "YAML syntax: \(problem)", at: SourceLocation(file: file, line: mark.line, column: mark.column))
            default:
                diagnostics.error("mapping.yaml_syntax", "YAML syntax: \(error)", at: SourceLocation(file: file, line: 1, column: 1))
            }
            return nil
        } catch {
            diagnostics.error("mapping.yaml_syntax", "YAML syntax: \(error)", at: SourceLocation(file: file, line: 1, column: 1))
            return nil
        }
        guard let node else {
            diagnostics.error("mapping.empty", "the file is empty", at: SourceLocation(file: file, line: 1, column: 1))
            return nil
        }
        return withExtendedLifetime(parser) { convert(node, file: file, diagnostics: &diagnostics) }
    }

    static func location(_ mark: Mark?, _ file: String) -> SourceLocation {
        SourceLocation(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1)
    }

    static func convert(_ node: Node, file: String, diagnostics: inout Diagnostics) -> YNode? {
        // Yams resolves aliases itself; an anchored node is how they show.
        let anchored: Bool
        switch node {
        case .scalar(let s): anchored = s.anchor != nil
        case .mapping(let m): anchored = m.anchor != nil
        case .sequence(let q): anchored = q.anchor != nil
        case .alias: anchored = false
        }
        if anchored {
            diagnostics.error("mapping.yaml_alias", "YAML anchors and aliases are not allowed in mappings; write the value out",
                              at: location(node.mark, file))
            return nil
        }
        switch node {
        case .scalar(let scalar):
            return YNode(content: .scalar(scalar.string, plain: scalar.style == .plain), location: location(scalar.mark, file))
        case .sequence(let sequence):
            let items = sequence.compactMap { convert($0, file: file, diagnostics: &diagnostics) }
            return YNode(content: .sequence(items), location: location(sequence.mark, file))
        case .mapping(let mapping):
            var pairs: [(key: String, keyLocation: SourceLocation, value: YNode)] = []
            var seen: Set<String> = []
            for (key, value) in mapping {
                let keyLocation = location(key.mark, file)
                guard case .scalar(let keyScalar) = key else {
                    diagnostics.error("mapping.yaml_key", "keys must be plain strings", at: keyLocation)
                    continue
                }
                guard seen.insert(keyScalar.string).inserted else {
                    diagnostics.error("mapping.duplicate_key", "the key '\(keyScalar.string)' appears twice", at: keyLocation)
                    continue
                }
                guard let converted = convert(value, file: file, diagnostics: &diagnostics) else { continue }
                pairs.append((keyScalar.string, keyLocation, converted))
            }
            return YNode(content: .mapping(pairs), location: location(mapping.mark, file))
        case .alias(let alias):
            diagnostics.error("mapping.yaml_alias", "YAML anchors and aliases are not allowed in mappings; write the value out",
                              at: location(alias.mark, file))
            return nil
        }
    }

    var scalar: String? {
        if case .scalar(let s, _) = content { return s }
        return nil
    }

    var pairs: [(key: String, keyLocation: SourceLocation, value: YNode)]? {
        if case .mapping(let p) = content { return p }
        return nil
    }

    var items: [YNode]? {
        if case .sequence(let s) = content { return s }
        return nil
    }

    subscript(key: String) -> YNode? { pairs?.first { $0.key == key }?.value }

    func keyLocation(_ key: String) -> SourceLocation? { pairs?.first { $0.key == key }?.keyLocation }

    var kindName: String {
        switch content {
        case .scalar: "a scalar"
        case .mapping: "a mapping"
        case .sequence: "a list"
        }
    }

    /// The node as JSON with every scalar a string (for the mapping digest).
    var json: JSONValue {
        switch content {
        case .scalar(let s, _): .string(s)
        case .sequence(let items): .array(items.map(\.json))
        // Key order is kept (as [key, value] pairs): it decides the order of JSON members and XML
        // attributes in the output, so it belongs to the mapping's meaning and its digest.
        case .mapping(let pairs): .array(pairs.map { .array([.string($0.key), $0.value.json]) })
        }
    }
}

/// Strict accessors that record a diagnostic and return nil on a shape error.
extension YNode {
    /// Requires a mapping whose keys are all in `allowed`; reports unknown keys (with a hint).
    func mapping(_ what: String, allowed: Set<String>, _ d: inout Diagnostics) -> YNode? {
        guard let pairs else {
            d.error("mapping.type_error", "\(what) must be a mapping, not \(kindName)", at: location)
            return nil
        }
        for pair in pairs where !allowed.contains(pair.key) {
            let hint = YNode.closest(pair.key, in: allowed).map { " (did you mean '\($0)'?)" } ?? ""
            d.error("mapping.unknown_key", "unknown key '\(pair.key)' in \(what)\(hint); allowed: \(allowed.sorted().joined(separator: ", "))",
                    at: pair.keyLocation)
        }
        return self
    }

    func string(_ what: String, _ d: inout Diagnostics) -> String? {
        guard let scalar else {
            d.error("mapping.type_error", "\(what) must be a string, not \(kindName)", at: location)
            return nil
        }
        return scalar
    }

    func strings(_ what: String, _ d: inout Diagnostics, values: Bool = false) -> [String]? {
        if let scalar {
            if values { lintAmbiguous(&d) }
            return [scalar]
        }
        guard let items else {
            d.error("mapping.type_error", "\(what) must be a list of strings", at: location)
            return nil
        }
        var result: [String] = []
        for item in items {
            guard let s = item.scalar else {
                d.error("mapping.type_error", "\(what) must be a list of strings", at: item.location)
                return nil
            }
            if values { item.lintAmbiguous(&d) }
            result.append(s)
        }
        return result
    }

    func integer(_ what: String, _ d: inout Diagnostics) -> Int? {
        guard let scalar, let value = Int(scalar) else {
            d.error("mapping.type_error", "\(what) must be a whole number", at: location)
            return nil
        }
        return value
    }

    func bool(_ what: String, _ d: inout Diagnostics) -> Bool? {
        switch scalar {
        case "true": return true
        case "false": return false
        default:
            d.error("mapping.type_error", "\(what) must be true or false", at: location)
            return nil
        }
    }

    /// Whether a plain (unquoted) scalar would change type under YAML 1.1 rules: booleans
    /// (`yes`, `no`, `on`, `off`, …), numbers with leading zeros, decimals such as `1.10`, dates.
    var isAmbiguousPlainScalar: Bool {
        guard case .scalar(let s, plain: true) = content else { return false }
        let lower = s.lowercased()
        if ["y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"].contains(lower) { return true }
        let digits = s.unicodeScalars.allSatisfy { ("0"..."9").contains($0) || $0 == "." || $0 == "-" || $0 == "+" || $0 == "_" || $0 == ":" }
        return digits && s.contains(where: \.isNumber)
    }

    /// Reports a plain scalar that YAML 1.1 readers would retype, where a literal value is meant.
    func lintAmbiguous(_ d: inout Diagnostics) {
        guard isAmbiguousPlainScalar, let text = scalar else { return }
        d.error("mapping.ambiguous_scalar", "quote '\(text)' (write \"\(text)\"): YAML 1.1 readers turn it into another type", at: location)
    }

    static func closest(_ word: String, in candidates: Set<String>) -> String? {
        func distance(_ a: String, _ b: String) -> Int {
            let a = Array(a), b = Array(b)
            var row = Array(0...b.count)
            for i in 1...max(a.count, 1) where !a.isEmpty {
                var previous = row[0]
                row[0] = i
                for j in 1...max(b.count, 1) where !b.isEmpty {
                    let current = row[j]
                    row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
                    previous = current
                }
            }
            return row[b.count]
        }
        let best = candidates.map { ($0, distance(word, $0)) }.min { $0.1 < $1.1 }
        guard let best, best.1 <= max(2, word.count / 3) else { return nil }
        return best.0
    }
}
