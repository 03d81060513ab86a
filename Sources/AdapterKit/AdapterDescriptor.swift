public import CausewayCore

/// What an adapter kind is: its name, the action kinds it performs, and its configuration schema.
public struct AdapterDescriptor: Sendable {
    /// The `adapter:` value in a target's configuration (`postgresql`, `http`, `tryton` …).
    public let kind: String
    /// One line for `causeway` help and the docs.
    public let summary: String
    /// The action kinds it can perform.
    public let actionKinds: Set<LegacyAction.Kind>
    public let schema: ConfigurationSchema

    public init(kind: String, summary: String, actionKinds: Set<LegacyAction.Kind>, schema: ConfigurationSchema) {
        self.kind = kind
        self.summary = summary
        self.actionKinds = actionKinds
        self.schema = schema
    }
}

/// The settings an adapter kind accepts; it drives validation, error messages and the docs.
public struct ConfigurationSchema: Sendable {
    public struct Field: Sendable {
        public enum ValueType: String, Sendable {
            case string, integer, boolean, url
            /// Seconds, as a decimal string or number ("2.5").
            case duration
            /// A reference `env:NAME` or `file:PATH`, never a literal secret.
            case secret
        }

        public let name: String
        public let type: ValueType
        public let required: Bool
        /// The default as written in the docs, when optional.
        public let defaultValue: String?
        public let help: String

        public init(_ name: String, _ type: ValueType, required: Bool = false, default defaultValue: String? = nil, help: String) {
            self.name = name
            self.type = type
            self.required = required
            self.defaultValue = defaultValue
            self.help = help
        }
    }

    public let fields: [Field]

    public init(_ fields: [Field]) { self.fields = fields }

    /// Checks raw settings (strings, from YAML or the environment) and returns them typed, or
    /// every problem, each naming the key: `targets.erp-staging.url: required`.
    public func validate(_ raw: [String: String], prefix: String) -> Result<AdapterSettings, AdapterConfigurationError> {
        var problems: [String] = []
        let known = Set(fields.map(\.name))
        for key in raw.keys.sorted() where !known.contains(key) {
            problems.append("\(prefix).\(key): unknown setting; this adapter takes \(fields.map(\.name).joined(separator: ", "))")
        }
        var values: [String: String] = [:]
        for field in fields {
            guard let value = raw[field.name] ?? field.defaultValue else {
                if field.required { problems.append("\(prefix).\(field.name): required (\(field.help))") }
                continue
            }
            switch field.type {
            case .integer where Int(value) == nil:
                problems.append("\(prefix).\(field.name): must be a whole number")
            case .boolean where value != "true" && value != "false":
                problems.append("\(prefix).\(field.name): must be true or false")
            case .duration where DecimalText.parse(value) == nil:
                problems.append("\(prefix).\(field.name): must be a number of seconds such as \"2.5\"")
            case .url where !(value.hasPrefix("http://") || value.hasPrefix("https://") || value.hasPrefix("postgresql://")
                || value.hasPrefix("postgres://") || value.hasPrefix("file:") || value.hasPrefix("/")):
                problems.append("\(prefix).\(field.name): must be a URL")
            case .secret where !(value.hasPrefix("env:") || value.hasPrefix("file:")):
                problems.append("\(prefix).\(field.name): secrets are never written in files; use env:NAME or file:PATH")
            default:
                values[field.name] = value
            }
        }
        return problems.isEmpty ? .success(AdapterSettings(values)) : .failure(AdapterConfigurationError(problems: problems))
    }
}

/// Validated settings of one target.
public struct AdapterSettings: Sendable {
    public let values: [String: String]
    public init(_ values: [String: String]) { self.values = values }
    public subscript(key: String) -> String? { values[key] }
}

/// A target's settings do not fit its adapter's schema; each problem names the key.
public struct AdapterConfigurationError: Error, Sendable, CustomStringConvertible {
    public let problems: [String]
    public init(problems: [String]) { self.problems = problems }
    public var description: String { problems.joined(separator: "\n") }
}
