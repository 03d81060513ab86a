import CausewayCore
import CausewayTesting
import Foundation
import Testing

@Suite("RFC 8785 JCS against the official vectors")
struct JCSVectorTests {
    static let names = ["arrays", "french", "structures", "unicode", "values", "weird"]

    @Test("canonical bytes match output/*.json exactly", arguments: names)
    func canonicalOutput(name: String) throws {
        let input = try TestPaths.vector("jcs-rfc8785/input/\(name).json")
        let expected = try TestPaths.vector("jcs-rfc8785/output/\(name).json")
        let value = try JSONReader().read(Array(input))
        #expect(JCS.canonicalize(value) == Array(expected))
    }

    @Test("canonical bytes match outhex/*.txt", arguments: names)
    func canonicalHex(name: String) throws {
        let input = try TestPaths.vector("jcs-rfc8785/input/\(name).json")
        let hexText = String(decoding: try TestPaths.vector("jcs-rfc8785/outhex/\(name).txt"), as: UTF8.self)
        let expected = hexText.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\r" }).map { UInt8($0, radix: 16)! }
        #expect(JCS.canonicalize(try JSONReader().read(Array(input))) == expected)
    }

    @Test("members written once, joined, and with one member inserted equal the canonical bytes of the whole object", arguments: names)
    func membersAndInsertion(name: String) throws {
        let value = try JSONReader().read(Array(try TestPaths.vector("jcs-rfc8785/input/\(name).json")))
        guard let object = value.objectValue else {
            #expect(name == "arrays", "only the arrays vector is not an object")
            return
        }
        let members = JCS.members(object)
        #expect(JCS.object(members) == JCS.canonicalize(value))
        // Keys that sort first, last, between, like an existing one, and past the BMP (UTF-16 order).
        for key in ["", "\u{0}", "proof", "zzzz", "\u{E000}", "\u{1F600}", object.members.first?.key ?? "a"] {
            var grown = object
            grown[key] = .array([.number(1.5), .string("é\n")])
            #expect(JCS.object(JCS.inserting(key, .array([.number(1.5), .string("é\n")]), into: members)) == JCS.canonicalize(.object(grown)),
                    "\(name) + \(key.unicodeScalars.map { String($0.value, radix: 16) })")
        }
    }

    @Test("README sample")
    func readmeSample() throws {
        let sample = try JSONReader().read(Array(try TestPaths.vector("jcs-rfc8785/readme-sample.json")))
        let input = try #require(sample["input"]?.stringValue)
        let expected = try #require(sample["expectedOutput"]?.stringValue)
        #expect(JCS.canonicalString(try JSONReader().read(input)) == expected)
    }

    @Test("ES6 number serialisation: the first 10,000 lines of es6testfile100m")
    func es6Numbers() throws {
        let text = String(decoding: try TestPaths.vector("jcs-rfc8785/es6-numbers/es6testfile-first-10000-lines.txt"), as: UTF8.self)
        var checked = 0
        var failures: [String] = []
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ",", maxSplits: 1)
            guard parts.count == 2, let bits = UInt64(parts[0], radix: 16) else { continue }
            let value = Double(bitPattern: bits)
            checked += 1
            let actual = ECMAScriptNumber.format(value)
            if actual != parts[1] { failures.append("\(parts[0]): expected \(parts[1]), got \(actual)") }
        }
        #expect(checked == 10_000)
        #expect(failures.isEmpty, "\(failures.prefix(10))")
    }

    @Test("ES6 number serialisation: the README's sample lines")
    func es6SampleLines() throws {
        let text = String(decoding: try TestPaths.vector("jcs-rfc8785/es6-numbers/sample-lines.txt"), as: UTF8.self)
        var checked = 0
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ",", maxSplits: 1)
            guard parts.count == 2, let bits = UInt64(parts[0], radix: 16) else { continue }
            let value = Double(bitPattern: bits)
            guard value.isFinite else { continue }
            #expect(ECMAScriptNumber.format(value) == String(parts[1]), "\(parts[0])")
            checked += 1
        }
        #expect(checked >= 6)
    }

    @Test("member order uses UTF-16 code units, not code points")
    func utf16Order() throws {
        // U+10000 (surrogates D800 DC00) sorts before U+FFFD in UTF-16, after it in code points.
        let value = try JSONReader().read(#"{"\ufffd":1,"\ud800\udc00":2,"a":3}"#)
        #expect(JCS.canonicalString(value) == "{\"a\":3,\"\u{10000}\":2,\"\u{FFFD}\":1}")
    }

    @Test("strings are escaped as JSON.stringify does")
    func stringEscaping() throws {
        let value = JSONValue.string("\u{0}\u{8}\t\n\u{c}\r\u{1f}\"\\/\u{7f}\u{2028}é")
        #expect(JCS.canonicalString(value) == #""\u0000\b\t\n\f\r\u001f\"\\/"# + "\u{7f}\u{2028}é\"")
    }
}
