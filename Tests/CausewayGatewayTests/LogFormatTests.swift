import CausewayCore
import CausewayGateway
import Foundation
import Logging
import Synchronization
import Testing

/// The gateway's log lines: JSON and logfmt, their fixed keys, escaping, nesting and redaction.
@Suite("Structured logs: JSON lines and logfmt")
struct LogFormatTests {
    /// Lines written by a handler, collected.
    final class Lines: Sendable {
        let lines = Mutex<[String]>([])
        func append(_ line: String) { lines.withLock { $0.append(line) } }
        var all: [String] { lines.withLock { $0 } }
    }

    static func logger(_ format: LoggingSettings.Format, level: Logger.Level = .info, secrets: [String] = [], into lines: Lines,
                       label: String = "causeway.test") -> Logger {
        Logger(label: label) { label in
            StructuredLogHandler(label: label, format: format, level: level, redaction: LogRedaction(secrets: secrets), write: lines.append)
        }
    }

    static let tricky = "say \"hi\"\nnext line\ttab\\back\u{01}bell\u{7F}del é ✓ \u{2028}sep"

    @Test("JSON: ts (RFC 3339 UTC, ms), level, msg, label first, then metadata in key order; every line parses back to what was logged")
    func jsonLine() throws {
        let lines = Lines()
        let logger = Self.logger(.json, into: lines)
        logger.info("hello \(Self.tricky)", metadata: ["zeta": "last", "alpha": .string(Self.tricky), "count": .stringConvertible(42)])
        let line = try #require(lines.all.first)
        #expect(line.hasSuffix("}\n") && line.filter { $0 == "\n" }.count == 1, "one line, ending in a newline: \(line)")
        #expect(line.hasPrefix("{\"ts\":\""), "\(line)")
        let keys = ["\"ts\":", "\"level\":", "\"msg\":", "\"label\":", "\"alpha\":", "\"count\":", "\"zeta\":"].map { line.range(of: $0)?.lowerBound }
        #expect(!keys.contains(nil) && keys.map { $0! } == keys.map { $0! }.sorted(), "key order: \(line)")
        let object = try JSONReader().read(Array(line.utf8))
        #expect(object["level"]?.stringValue == "info")
        #expect(object["label"]?.stringValue == "causeway.test")
        #expect(object["msg"]?.stringValue == "hello " + Self.tricky)
        #expect(object["alpha"]?.stringValue == Self.tricky)
        #expect(object["count"]?.stringValue == "42")
        let ts = try #require(object["ts"]?.stringValue)
        #expect(ts.wholeMatch(of: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/) != nil, "\(ts)")
        let parsed = try #require(Timestamp(rfc3339: ts))
        #expect(abs(Double(parsed.epochSeconds) - Date().timeIntervalSince1970) < 3600, "ts is now, in UTC: \(ts)")
        // Control characters never appear raw; the escapes are JSON's.
        #expect(!line.dropLast().contains { $0.isNewline } && !line.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" })
        #expect(line.contains(#"say \"hi\"\nnext line\ttab\\back\u0001bell\u007fdel é ✓ \u2028sep"#), "\(line)")
    }

    @Test("JSON: nested metadata stays nested (dictionaries and arrays), reserved keys become meta.<key>")
    func jsonNesting() throws {
        let lines = Lines()
        Self.logger(.json, into: lines).warning("nested", metadata: [
            "target": ["name": "erp", "retry": ["at": "2026-12-04T05:00:00.000Z", "lookup": "true"]],
            "list": ["a", ["b": "c"], "d\"e"],
            "msg": "not the message", "level": "not the level",
        ])
        let object = try JSONReader().read(Array(try #require(lines.all.first).utf8))
        #expect(object["target"]?["name"]?.stringValue == "erp")
        #expect(object["target"]?["retry"]?["at"]?.stringValue == "2026-12-04T05:00:00.000Z")
        #expect(object["list"]?.arrayValue?.count == 3)
        #expect(object["list"]?.arrayValue?[1]["b"]?.stringValue == "c")
        #expect(object["list"]?.arrayValue?[2].stringValue == "d\"e")
        #expect(object["msg"]?.stringValue == "nested" && object["meta.msg"]?.stringValue == "not the message")
        #expect(object["level"]?.stringValue == "warning" && object["meta.level"]?.stringValue == "not the level")
    }

    @Test("logfmt: fixed keys first, plain values bare, others quoted with \\\" \\\\ \\n \\t \\u00XX escapes, nesting flattened with dots")
    func logfmtLine() throws {
        let lines = Lines()
        Self.logger(.logfmt, into: lines).error("broke off", metadata: [
            "plain": "value-1", "tricky": .string(Self.tricky), "empty": "", "nested": ["inner": ["deep": "x y"]], "list": ["a", "b c"],
            "bad key=\"x\"": "v",
        ])
        let line = try #require(lines.all.first)
        #expect(line.hasSuffix("\n") && line.filter { $0 == "\n" }.count == 1, "\(line)")
        #expect(line.hasPrefix("ts=") && line.contains(" level=error msg=\"broke off\" label=causeway.test "), "\(line)")
        #expect(line.contains(" plain=value-1"), "\(line)")
        #expect(line.contains(#" tricky="say \"hi\"\nnext line\ttab\\back\u0001bell\u007fdel é ✓ \u2028sep""#), "\(line)")
        #expect(line.contains(#" empty="""#), "\(line)")
        #expect(line.contains(#" nested.inner.deep="x y""#), "\(line)")
        #expect(line.contains(#" list="[a,b c]""#), "\(line)")
        #expect(line.contains(" bad_key__x_=v"), "a key cannot break the pair: \(line)")
        #expect(!line.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" })
    }

    @Test("secrets: sensitive keys are masked at any depth, registered secret values are replaced in the message and every value")
    func redaction() throws {
        let token = "test-operator-token-0123456789abcdef0123"
        for format in LoggingSettings.Format.allCases {
            let lines = Lines()
            Self.logger(format, secrets: [token, "short"], into: lines).notice("presented \(token) in a header", metadata: [
                "authorization": "Bearer something-else", "http": ["headers": ["Authorization": "Bearer x", "cookie": "causeway_session=abc"]],
                "detail": .string("the URL was https://x.example/?t=\(token)"), "store.password": "hunter2-hunter2", "body": "{\"secret\":1}",
                "note": "short is fine",
            ])
            let line = try #require(lines.all.first)
            #expect(!line.contains(token), "\(format): \(line)")
            #expect(!line.contains("something-else") && !line.contains("Bearer x") && !line.contains("abc") && !line.contains("hunter2"), "\(line)")
            #expect(!line.contains("{\\\"secret\\\":1}") && !line.contains("\"secret\\\":1"), "\(line)")
            #expect(line.contains("[redacted]"))
            #expect(line.contains("short is fine"), "secrets under 8 bytes are not scrubbed from ordinary text: \(line)")
        }
    }

    @Test("redaction edges: a secret at either end of a value, twice, inside non-ASCII text, a non-ASCII secret, keys with empty dotted parts")
    func redactionEdges() throws {
        let ascii = "ascii-secret-0123456789"
        let accented = "pässwörd-geheim-✓"
        let lines = Lines()
        Self.logger(.json, secrets: [ascii, accented], into: lines).notice("start", metadata: [
            "first": .string(ascii + " then text"), "last": .string("text then " + ascii), "twice": .string(ascii + ascii),
            "accented.text": .string("é \(ascii) ü"), "accented.value": .string("x \(accented) y"),
            "decomposed": .string("e\u{301} plain"), "token.": "trailing-dot-value", "a..Password": "double-dot-value",
            "...": "only-dots-value", "tokens": "not-a-sensitive-key",
        ])
        let line = try #require(lines.all.first)
        #expect(!line.contains(ascii) && !line.contains(accented), "\(line)")
        let object = try JSONReader().read(Array(line.utf8))
        #expect(object["first"]?.stringValue == "[redacted] then text")
        #expect(object["last"]?.stringValue == "text then [redacted]")
        #expect(object["twice"]?.stringValue == "[redacted][redacted]")
        #expect(object["accented.text"]?.stringValue == "é [redacted] ü")
        #expect(object["accented.value"]?.stringValue == "x [redacted] y")
        #expect(object["decomposed"]?.stringValue == "e\u{301} plain")
        #expect(object["token."]?.stringValue == "[redacted]" && object["a..Password"]?.stringValue == "[redacted]", "\(line)")
        #expect(object["..."]?.stringValue == "only-dots-value" && object["tokens"]?.stringValue == "not-a-sensitive-key", "\(line)")
    }

    @Test("secrets learnt later (a reload's new token) are scrubbed by handlers made before")
    func learntSecrets() throws {
        let lines = Lines()
        let book = SecretBook()
        let logger = Logger(label: "causeway.test") { label in
            StructuredLogHandler(label: label, format: .json, level: .info, redaction: LogRedaction(secrets: [], learnt: book), write: lines.append)
        }
        let rotated = "rotated-token-after-reload-0123456789abcdef"
        logger.info("before \(rotated)")
        book.add([rotated, "tiny"])
        logger.info("after \(rotated)", metadata: ["nested": ["value": .string("x\(rotated)y")]])
        #expect(lines.all.first?.contains(rotated) == true, "not a secret yet")
        let after = try #require(lines.all.last)
        #expect(!after.contains(rotated) && after.contains("after [redacted]") && after.contains("x[redacted]y"), "\(after)")
    }

    @Test("the configured level decides: a logger cannot lower it; long values are cut")
    func levelAndBounds() throws {
        let lines = Lines()
        var logger = Self.logger(.json, level: .notice, into: lines)
        logger.logLevel = .trace
        logger.info("dropped")
        logger.debug("dropped too")
        logger.notice("kept", metadata: ["long": .string(String(repeating: "x", count: 100_000))])
        #expect(lines.all.count == 1)
        let object = try JSONReader(limits: .init(maxBytes: 1 << 20)).read(Array(try #require(lines.all.first).utf8))
        #expect(object["msg"]?.stringValue == "kept")
        let long = try #require(object["long"]?.stringValue)
        #expect(long.utf8.count < 5000 && long.hasSuffix("…(cut)"), "\(long.utf8.count) bytes")
    }

    @Test("circuit changes are logged: open after the threshold, half-open once its time is over, closed on success")
    func circuitChanges() throws {
        let lines = Lines()
        let breakers = CircuitBreakers(configuration: .init(failureThreshold: 2, openMilliseconds: 1000),
                                       logger: Self.logger(.json, into: lines, label: "causeway.circuit"))
        breakers.recordFailure("erp", now: 0)
        #expect(lines.all.isEmpty)
        breakers.recordFailure("erp", now: 10)
        breakers.recordFailure("erp", now: 20)  // a delivery already under way fails while open: no second "open"
        #expect(breakers.openTargets(now: 500) == ["erp"])
        #expect(breakers.openTargets(now: 1500).isEmpty)
        #expect(breakers.openTargets(now: 1600).isEmpty)  // half-open is logged once
        breakers.recordSuccess("erp")
        breakers.recordSuccess("erp")  // already closed: nothing
        let objects = try lines.all.map { try JSONReader().read(Array($0.utf8)) }
        #expect(objects.map { $0["circuit.state"]?.stringValue ?? "?" } == ["open", "half_open", "closed"], "\(lines.all)")
        #expect(objects.allSatisfy { $0["target"]?.stringValue == "erp" })
        #expect(objects.first?["level"]?.stringValue == "warning")
        #expect(objects.first?["circuit.open_until"]?.stringValue == "1970-01-01T00:00:01.010Z", "\(lines.all)")
    }
}
