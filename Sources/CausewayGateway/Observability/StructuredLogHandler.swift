import CausewayCore
import Foundation
public import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#else
import Darwin
#endif

/// The `logging:` section of `causeway.yaml`.
///
/// ```yaml
/// logging:
///   format: json     # json | logfmt; default: json when standard error is not a terminal, logfmt when it is
///   level: info      # trace | debug | info | notice | warning | error | critical; default info
/// ```
public struct LoggingSettings: Sendable, Hashable {
    /// How each line is written.
    public enum Format: String, Sendable, Hashable, CaseIterable {
        /// One JSON object per line (for a log collector).
        case json
        /// `key=value` pairs (for a person at a terminal).
        case logfmt
    }

    /// The format; nil chooses by where standard error goes (``resolvedFormat``).
    public var format: Format?
    /// The least severe level written, for every part of the gateway. Default `info`.
    public var level: Logger.Level = .info

    public init(format: Format? = nil, level: Logger.Level = .info) {
        self.format = format
        self.level = level
    }

    /// The format to use: the configured one, else logfmt on a terminal and JSON otherwise.
    public var resolvedFormat: Format { format ?? (isatty(2) == 1 ? .logfmt : .json) }
}

/// The gateway's own swift-log handler: one line per event, as JSON or logfmt, with stable keys.
///
/// Every line starts with `ts` (RFC 3339, UTC, milliseconds), `level`, `msg` and `label`, then the
/// metadata in key order (the logger's, its metadata provider's, then the event's; a later one wins).
/// A metadata key that is one of those four is written as `meta.<key>`. In JSON, nested metadata
/// stays nested; in logfmt it is flattened with dots (`target.name=erp`).
///
/// Secrets cannot get through: metadata under a sensitive key (``sensitiveKeys``, compared on the
/// key's last dotted part) is written as `[redacted]`, and every registered secret value (API tokens,
/// the store's password, targets' resolved secrets; ``StructuredLogging/bootstrap(_:secrets:)``) is
/// replaced by `[redacted]` wherever it appears, in the message or any value.
public struct StructuredLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    let label: String
    let format: LoggingSettings.Format
    let level: Logger.Level
    let redaction: LogRedaction
    let write: @Sendable (String) -> Void

    /// - Parameters:
    ///   - write: receives each finished line, newline included (standard error in the gateway).
    public init(label: String, format: LoggingSettings.Format, level: Logger.Level, redaction: LogRedaction = .init(secrets: []),
                metadataProvider: Logger.MetadataProvider? = nil, write: @escaping @Sendable (String) -> Void) {
        self.label = label
        self.format = format
        self.level = level
        self.redaction = redaction
        self.metadataProvider = metadataProvider
        self.write = write
    }

    /// The configured level. Setting it has no effect: `logging.level` in `causeway.yaml` decides
    /// for every logger of the process (a global override, as swift-log allows).
    public var logLevel: Logger.Level {
        get { level }
        set {}
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Keys whose values are never written (compared lowercased on the key's last dotted part).
    public static let sensitiveKeys: Set<String> = [
        "authorization", "proxy-authorization", "token", "bearer", "password", "passwd", "secret", "cookie", "set-cookie", "csrf",
        "body", "document", "session_id", "api_key", "apikey", "private_key",
    ]

    /// Longest text written for the message or one value; longer is cut and marked.
    public static let maxValueBytes = 4096

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let own = event.metadata { merged.merge(own) { _, new in new } }
        if let error = event.error, merged["error"] == nil { merged["error"] = .string("\(error)") }
        write(Self.line(ts: Self.timestamp(), level: event.level, message: event.message.description, label: label, metadata: merged,
                        format: format, redaction: redaction))
    }

    /// One finished line (with its newline), for `format`.
    public static func line(ts: String, level: Logger.Level, message: String, label: String, metadata: Logger.Metadata,
                            format: LoggingSettings.Format, redaction: LogRedaction) -> String {
        let secrets = redaction.all  // read once per line, not once per value
        var fields: [(String, Logger.Metadata.Value)] = [
            ("ts", .string(ts)), ("level", .string(level.rawValue)), ("msg", .string(redaction.scrub(message, among: secrets))),
            ("label", .string(label)),
        ]
        for key in metadata.keys.sorted() {
            guard let value = metadata[key] else { continue }
            let name = ["ts", "level", "msg", "label"].contains(key) ? "meta." + key : key
            fields.append((name, redaction.clean(value, key: key, among: secrets)))
        }
        switch format {
        case .json:
            var out = "{"
            for (index, (key, value)) in fields.enumerated() {
                if index > 0 { out += "," }
                out += JSONLine.string(key) + ":" + JSONLine.value(value)
            }
            return out + "}\n"
        case .logfmt:
            var pairs: [String] = []
            for (key, value) in fields { LogfmtLine.append(key: key, value: value, to: &pairs) }
            return pairs.joined(separator: " ") + "\n"
        }
    }

    /// Now as RFC 3339 UTC with milliseconds, e.g. `2026-12-04T05:01:02.345Z`.
    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Timestamp(epochSeconds: Int64(now.tv_sec), nanoseconds: Int32(now.tv_nsec), millisecondPrecision: true).text
    }
}

/// What a log line may not show: values of sensitive keys and the registered secret values.
public struct LogRedaction: Sendable {
    /// Secret values to replace wherever they appear (each at least 8 bytes: shorter ones would
    /// match ordinary text and say nothing worth hiding), longest first.
    let secrets: [String]
    /// Secrets learnt later (a live reload's new tokens), shared by every handler of the process.
    let learnt: SecretBook?

    public init(secrets: [String], learnt: SecretBook? = nil) {
        self.secrets = SecretBook.usable(secrets)
        self.learnt = learnt
    }

    public static let mask = "[redacted]"

    /// The registered secrets and those learnt since, longest first within each list.
    var all: [String] {
        guard let learnt else { return secrets }
        let more = learnt.secrets
        return more.isEmpty ? secrets : secrets + more
    }

    /// The text with every registered secret replaced, cut to ``StructuredLogHandler/maxValueBytes``.
    public func scrub(_ text: String) -> String { scrub(text, among: all) }

    func scrub(_ text: String, among secrets: [String]) -> String {
        var text = text
        if !secrets.isEmpty {
            let ascii = Self.isASCII(text)
            for secret in secrets where Self.contains(text, secret, textIsASCII: ascii) {
                text = text.replacingOccurrences(of: secret, with: Self.mask)
            }
        }
        guard text.utf8.count > StructuredLogHandler.maxValueBytes else { return text }
        var cut = Substring(text).utf8.prefix(StructuredLogHandler.maxValueBytes)
        // Back off to a character boundary.
        while String(cut) == nil { cut = cut.dropLast() }
        return String(cut)! + "…(cut)"
    }

    /// Whether `text` holds `secret`. Both ASCII: a byte search, where bytes equal means text
    /// equal; otherwise String's own search (canonically equivalent text counts as the secret).
    static func contains(_ text: String, _ secret: String, textIsASCII: Bool) -> Bool {
        guard textIsASCII, isASCII(secret) else { return text.contains(secret) }
        return text.utf8.firstRange(of: secret.utf8) != nil
    }

    static func isASCII(_ text: String) -> Bool { text.utf8.allSatisfy { $0 < 0x80 } }

    /// The key's last non-empty dotted part, lowercased (the whole key when it has none): what
    /// ``StructuredLogHandler/sensitiveKeys`` is compared with. `a.Token.` gives `token`.
    static func lastPart(of key: String) -> String {
        var end = key.endIndex
        while end > key.startIndex, key[key.index(before: end)] == "." { end = key.index(before: end) }
        let trimmed = key[..<end]
        guard !trimmed.isEmpty else { return key.lowercased() }
        return (trimmed.lastIndex(of: ".").map { trimmed[trimmed.index(after: $0)...] } ?? trimmed).lowercased()
    }

    /// A metadata value with sensitive keys masked and secrets scrubbed, at any depth.
    public func clean(_ value: Logger.Metadata.Value, key: String) -> Logger.Metadata.Value { clean(value, key: key, among: all) }

    func clean(_ value: Logger.Metadata.Value, key: String, among secrets: [String]) -> Logger.Metadata.Value {
        if StructuredLogHandler.sensitiveKeys.contains(Self.lastPart(of: key)) { return .string(Self.mask) }
        switch value {
        case .string(let text): return .string(scrub(text, among: secrets))
        case .stringConvertible(let convertible): return .string(scrub(convertible.description, among: secrets))
        case .array(let values): return .array(values.prefix(256).map { clean($0, key: key, among: secrets) })
        case .dictionary(let dictionary):
            var out: Logger.Metadata = [:]
            for (inner, value) in dictionary.prefix(256) { out[inner] = clean(value, key: inner, among: secrets) }
            return .dictionary(out)
        }
    }
}

/// Secret values added while the process runs (``StructuredLogging/register(secrets:)``): the
/// tokens and target secrets of a live reload. Only ever grows (a retired token is still a secret).
public final class SecretBook: Sendable {
    private let values = Mutex<[String]>([])

    public init() {}

    var secrets: [String] { values.withLock { $0 } }

    /// Adds secrets (at most 10,000 are kept: a reload cannot make each log line unboundedly slow).
    public func add(_ secrets: [String]) {
        values.withLock { values in
            values = Self.usable(values + secrets)
            if values.count > 10_000 { values = Array(values.prefix(10_000)) }
        }
    }

    /// Distinct secrets of at least 8 bytes, longest first (so a secret inside a longer one is not cut first).
    static func usable(_ secrets: [String]) -> [String] {
        Array(Set(secrets.filter { $0.utf8.count >= 8 })).sorted { $0.utf8.count > $1.utf8.count }
    }
}

/// JSON text for log lines (RFC 8259 escaping; every control character escaped).
enum JSONLine {
    static func string(_ text: String) -> String { "\"" + escaped(text) + "\"" }

    /// Whether a scalar is written as an escape: C0 controls, DEL, C1 controls, the line and paragraph separators.
    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar.value == 0x2028 || scalar.value == 0x2029
    }

    /// The text with `"` and `\` escaped and every control character as `\n`, `\r`, `\t`, `\b`, `\f` or `\uXXXX`
    /// (JSON's escapes, which logfmt readers also take).
    static func escaped(_ text: String) -> String {
        // Most values are printable ASCII without a quote or backslash: nothing to escape.
        if text.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }) { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if isControl(scalar) { out += "\\u" + hex4(scalar.value) } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out
    }

    static func hex4(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    static func value(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let text): return string(text)
        case .stringConvertible(let convertible): return string(convertible.description)
        case .array(let values): return "[" + values.map(Self.value).joined(separator: ",") + "]"
        case .dictionary(let dictionary):
            return "{" + dictionary.keys.sorted().map { key in string(key) + ":" + Self.value(dictionary[key]!) }.joined(separator: ",") + "}"
        }
    }
}

/// logfmt text: `key=value`, a value quoted when it holds a space, `=`, `"` or a control character
/// (or is empty), with `\"`, `\\`, `\n`, `\r`, `\t` and `\u00XX` escapes inside the quotes.
enum LogfmtLine {
    static func append(key: String, value: Logger.Metadata.Value, to pairs: inout [String]) {
        switch value {
        case .dictionary(let dictionary):
            if dictionary.isEmpty { pairs.append(self.key(key) + "=\"\"") }
            for inner in dictionary.keys.sorted() { append(key: key + "." + inner, value: dictionary[inner]!, to: &pairs) }
        case .array(let values):
            pairs.append(self.key(key) + "=" + quoted("[" + values.map(flat).joined(separator: ",") + "]"))
        case .string(let text):
            pairs.append(self.key(key) + "=" + quoted(text))
        case .stringConvertible(let convertible):
            pairs.append(self.key(key) + "=" + quoted(convertible.description))
        }
    }

    /// A nested value inside an array, as compact text.
    static func flat(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let text): text
        case .stringConvertible(let convertible): convertible.description
        case .array, .dictionary: JSONLine.value(value)
        }
    }

    /// A key with every character that would break the pair (space, `=`, `"`, controls) as `_`.
    static func key(_ text: String) -> String {
        let cleaned = String(text.unicodeScalars.map { scalar -> Character in
            scalar == " " || scalar == "=" || scalar == "\"" || scalar.value < 0x20 || scalar.value == 0x7F ? "_" : Character(scalar)
        })
        return cleaned.isEmpty ? "_" : cleaned
    }

    static func quoted(_ text: String) -> String {
        let needsQuotes = text.isEmpty || text.unicodeScalars.contains { scalar in
            scalar == " " || scalar == "=" || scalar == "\"" || scalar == "\\" || JSONLine.isControl(scalar)
        }
        return needsQuotes ? JSONLine.string(text) : text
    }
}

/// Sets up the process's logging for `causeway serve`.
public enum StructuredLogging {
    /// Standard error, one `write(2)` per line under a lock, so lines of concurrent tasks never interleave.
    static let standardError = Mutex(())

    static func writeStandardError(_ line: String) {
        standardError.withLock { _ in
            var bytes = Array(line.utf8)
            var offset = 0
            while offset < bytes.count {
                let written = bytes.withUnsafeMutableBytes { buffer in
                    systemWrite(2, buffer.baseAddress! + offset, buffer.count - offset)
                }
                if written > 0 { offset += written } else if written < 0, errno == EINTR { continue } else { break }
            }
            bytes.removeAll()
        }
    }

    /// Secrets registered after start-up (``register(secrets:)``), seen by every handler.
    static let learnt = SecretBook()

    /// Adds secret values the log must never show from now on: a live reload calls it with
    /// ``secrets(of:environment:)`` of the new configuration.
    public static func register(secrets: [String]) { learnt.add(secrets) }

    /// Makes ``StructuredLogHandler`` the handler of every logger of the process (swift-log allows
    /// this once per process). `secrets`: values never to be written (``secrets(of:environment:)``).
    public static func bootstrap(_ settings: LoggingSettings, secrets: [String]) {
        let format = settings.resolvedFormat
        let redaction = LogRedaction(secrets: secrets, learnt: learnt)
        LoggingSystem.bootstrap { label in
            StructuredLogHandler(label: label, format: format, level: settings.level, redaction: redaction, write: writeStandardError)
        }
    }

    /// The secret values a configuration refers to, resolved: API tokens, the store's password and
    /// every target setting written as `env:`/`file:` (up to 1 KiB each). One that cannot be resolved
    /// is left out (the gateway then refuses to start and says why, naming the reference only).
    public static func secrets(of configuration: GatewayConfiguration, environment: [String: String]) -> [String] {
        var references = configuration.tokens.map(\.secret)
        if case .postgres(let url, let password) = configuration.store {
            if let password { references.append(password) }
            if let components = URLComponents(string: url), let inline = components.password, !inline.isEmpty {
                return secretsResolved(references, configuration: configuration, environment: environment) + [inline]
            }
        }
        return secretsResolved(references, configuration: configuration, environment: environment)
    }

    private static func secretsResolved(_ references: [SecretReference], configuration: GatewayConfiguration,
                                        environment: [String: String]) -> [String] {
        var references = references
        for target in configuration.targets.values {
            for value in target.settings.values { if let reference = SecretReference(value) { references.append(reference) } }
        }
        return references.compactMap { reference in
            guard let value = try? reference.resolve(environment: environment), value.utf8.count <= 1024 else { return nil }
            return value
        }
    }
}

#if canImport(Glibc)
private func systemWrite(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int { Glibc.write(fd, buffer, count) }
#elseif canImport(Musl)
private func systemWrite(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int { Musl.write(fd, buffer, count) }
#else
private func systemWrite(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int { Darwin.write(fd, buffer, count) }
#endif
