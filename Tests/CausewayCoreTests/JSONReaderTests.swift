import CausewayCore
import Testing

@Suite("Strict I-JSON reader")
struct JSONReaderTests {
    func code(_ text: String, limits: JSONReader.Limits = .default) -> JSONReadError.Code? {
        do {
            _ = try JSONReader(limits: limits).read(text)
            return nil
        } catch {
            return error.code
        }
    }

    func code(bytes: [UInt8]) -> JSONReadError.Code? {
        do {
            _ = try JSONReader().read(bytes)
            return nil
        } catch {
            return error.code
        }
    }

    @Test("reads well-formed JSON and keeps member order")
    func wellFormed() throws {
        let value = try JSONReader().read(#" {"b": [1, -2.5e3, true, false, null], "a": "x\u00e9\ud83d\ude00"} "#)
        #expect(value.objectValue?.keys == ["b", "a"])
        #expect(value["b"]?[1] == .number(-2500))
        #expect(value["a"]?.stringValue == "xé😀")
    }

    @Test("duplicate member names are rejected, even when written with escapes")
    func duplicates() {
        #expect(code(#"{"a":1,"a":2}"#) == .duplicateMember)
        #expect(code(#"{"a":1,"\u0061":2}"#) == .duplicateMember)
        let many = "{" + (0..<40).map { "\"k\($0)\":\($0)" }.joined(separator: ",") + ",\"k7\":0}"
        #expect(code(many) == .duplicateMember)
        // Canonically equivalent but different code points are different names.
        #expect(code("{\"\u{e9}\":1,\"e\u{301}\":2}") == nil)
    }

    @Test("invalid UTF-8 is rejected")
    func invalidUTF8() {
        #expect(code(bytes: Array(#"{"a":""#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8)) == .invalidUTF8)
        #expect(code(bytes: Array(#"""#.utf8) + [0xC0, 0xAF] + Array(#"""#.utf8)) == .invalidUTF8)  // overlong
        #expect(code(bytes: Array(#"""#.utf8) + [0xED, 0xA0, 0x80] + Array(#"""#.utf8)) == .invalidUTF8)  // surrogate
        #expect(code(bytes: Array(#"""#.utf8) + [0xF4, 0x90, 0x80, 0x80] + Array(#"""#.utf8)) == .invalidUTF8)  // > U+10FFFF
        #expect(code(bytes: Array(#"""#.utf8) + [0xE2, 0x82] + Array(#"""#.utf8)) == .invalidUTF8)  // truncated
        #expect(code(bytes: [0xFF]) == .syntax)
    }

    @Test("lone surrogates in escapes are rejected")
    func loneSurrogates() {
        #expect(code(#""\ud800""#) == .loneSurrogate)
        #expect(code(#""\udc00""#) == .loneSurrogate)
        #expect(code(#""\ud800\u0041""#) == .loneSurrogate)
        #expect(code(#""\ud800x""#) == .loneSurrogate)
    }

    @Test("numbers outside the IEEE double range are rejected")
    func numberRange() {
        #expect(code("1e309") == .numberOutOfRange)
        #expect(code("-1.8e308") == .numberOutOfRange)
        #expect(code("1.7976931348623157e308") == nil)
    }

    @Test("size and depth are bounded")
    func limits() {
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(code(deep) == .tooDeep)
        #expect(code(String(repeating: "[", count: 64) + String(repeating: "]", count: 64)) == nil)
        #expect(code("[1,2,3]", limits: .init(maxBytes: 5)) == .tooLarge)
        #expect(code("[[1]]", limits: .init(maxDepth: 1)) == .tooDeep)
        // A pathological depth is refused long before the stack could be at risk.
        #expect(code(String(repeating: "[", count: 100_000)) == .tooDeep)
    }

    @Test("syntax errors", arguments: [
        "", "   ", "{", "[1,]", "{\"a\":1,}", "01", "1.", ".5", "+1", "-", "1e", "tru", "nul", "'a'", "{a:1}",
        "[1 2]", "\"a\tb\"", "\"\\x\"", "\"\\u12g4\"", "//c\n1", "NaN", "Infinity",
    ])
    func syntax(text: String) {
        let found = code(text)
        #expect(found == .syntax || found == .empty, "\(text.debugDescription) gave \(String(describing: found))")
    }

    @Test("trailing data and byte-order marks are rejected")
    func trailing() {
        #expect(code("{} {}") == .trailingData)
        #expect(code("1 x") == .trailingData)
        #expect(code(bytes: [0xEF, 0xBB, 0xBF] + Array("{}".utf8)) == .syntax)
    }

    @Test("errors give line and column without echoing the payload")
    func position() {
        do {
            _ = try JSONReader().read("{\n  \"secret-value\": 1,\n  \"a\" 2\n}")
            Issue.record("expected an error")
        } catch {
            #expect(error.line == 3)
            #expect(error.column == 7)
            #expect(!error.description.contains("secret-value"))
        }
    }
}
