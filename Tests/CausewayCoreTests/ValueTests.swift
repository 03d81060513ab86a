import CausewayCore
import Foundation
import Testing

@Suite("Decimal strings, timestamps, currencies, digests")
struct ValueTests {
    @Test("strict decimal strings", arguments: [
        ("7.85", true), ("0", true), ("0.5", true), ("-12.00", true), ("1570", true),
        ("07.85", false), (".5", false), ("5.", false), ("1e3", false), ("+1", false), ("1,5", false), (" 1", false),
        ("7.85abc", false), ("", false), ("-", false), ("NaN", false),
    ])
    func decimals(text: String, valid: Bool) {
        #expect((DecimalText.parse(text) != nil) == valid, "\(text)")
    }

    @Test("rounding with explicit scale and mode")
    func rounding() throws {
        let value = try #require(DecimalText.parse("2.345"))
        #expect(DecimalText.round(value, scale: 2, .halfEven).map { DecimalText.plain($0) } == "2.34")
        #expect(DecimalText.round(value, scale: 2, .halfUp).map { DecimalText.plain($0) } == "2.35")
        #expect(DecimalText.round(value, scale: 2, .exact) == nil)
        #expect(DecimalText.round(value, scale: 3, .exact) == value)
        let negative = try #require(DecimalText.parse("-2.345"))
        #expect(DecimalText.round(negative, scale: 2, .down).map { DecimalText.plain($0) } == "-2.34")
        #expect(DecimalText.round(negative, scale: 2, .up).map { DecimalText.plain($0) } == "-2.35")
        #expect(DecimalText.format(try #require(DecimalText.parse("1570")), scale: 2) == "1570.00")
        #expect(DecimalText.format(try #require(DecimalText.parse("0.1")) * 3, scale: 2) == "0.30")
    }

    @Test("RFC 3339 timestamps")
    func timestamps() throws {
        let t = try #require(Timestamp(rfc3339: "2026-11-23T10:15:02.481Z"))
        #expect(t.epochSeconds == 1_795_428_902)
        #expect(t.nanoseconds == 481_000_000)
        let offset = try #require(Timestamp(rfc3339: "2026-11-23T12:15:02.481+02:00"))
        #expect(offset == t)
        #expect(offset.localDateText == "2026-11-23")
        for bad in ["2026-11-23", "2026-11-23T10:15:02", "2026-13-01T00:00:00Z", "2026-02-29T00:00:00Z", "2026-11-23 10:15:02Z",
                    "2026-11-23T24:00:00Z", "2026-11-23T10:15:02.Z", "2026-11-23T10:15:02+0200"]
        {
            #expect(Timestamp(rfc3339: bad) == nil, "\(bad)")
        }
        #expect(Timestamp(rfc3339: "2024-02-29T23:59:60Z") != nil)
        #expect(Timestamp(epochSeconds: 1_795_428_902).text == "2026-11-23T10:15:02Z")
        #expect(CalendarDate("2026-12-01")?.description == "2026-12-01")
        #expect(CalendarDate("2026-02-30") == nil)
    }

    @Test("ISO 4217 currencies")
    func currencies() {
        #expect(CurrencyCode("EUR") != nil)
        #expect(CurrencyCode("SEK") != nil)
        #expect(CurrencyCode("eur") == nil)
        #expect(CurrencyCode("EURO") == nil)
        #expect(CurrencyCode("XXY") == nil)
    }

    @Test("content digests")
    func digests() throws {
        let digest = ContentDigest(of: Array("abc".utf8))
        #expect(digest.description == "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(ContentDigest(digest.description) == digest)
        #expect(ContentDigest("sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD") == nil)
        #expect(ContentDigest("sha1:abc") == nil)
    }
}

@Suite("Decimal formatting fast paths agree with Foundation")
struct DecimalFormattingTests {
    @Test("format(_:scale:) equals Foundation's plain notation for many values")
    func formatMatches() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<5000 {
            let integer = Int64.random(in: -9_999_999_999...9_999_999_999, using: &generator)
            let exponent = Int.random(in: -6...2, using: &generator)
            let value = Decimal(sign: integer < 0 ? .minus : .plus, exponent: exponent, significand: Decimal(integer.magnitude))
            for scale in [0, 2, 3, 4] {
                let rounded = try #require(DecimalText.round(value, scale: scale, .halfEven))
                #expect(DecimalText.format(value, scale: scale) == DecimalText.plain(rounded, minimumScale: scale), "\(value) at \(scale)")
            }
        }
        #expect(DecimalText.format(Decimal(string: "0.005")!, scale: 2) == "0.00")
        #expect(DecimalText.format(Decimal(string: "-0.015")!, scale: 2) == "-0.02")
        #expect(DecimalText.format(Decimal(string: "123456789012345678901234")!, scale: 2) == "123456789012345678901234.00")
    }

    @Test("rescaled(_:scale:precision:) pads, drops only zeros, and defers everything else")
    func rescaled() {
        #expect(DecimalText.rescaled("7.85", scale: 4, precision: 14) == "7.8500")
        #expect(DecimalText.rescaled("200", scale: 3, precision: 14) == "200.000")
        #expect(DecimalText.rescaled("12.500", scale: 2, precision: 14) == "12.50")
        #expect(DecimalText.rescaled("0.5", scale: 0, precision: 14) == nil)  // needs rounding
        #expect(DecimalText.rescaled("12.345", scale: 2, precision: 14) == nil)
        #expect(DecimalText.rescaled("123", scale: 2, precision: 4) == nil)  // too many integer digits
        #expect(DecimalText.rescaled("0.25", scale: 2, precision: 2) == "0.25")
        #expect(DecimalText.rescaled("-3.1", scale: 2, precision: 5) == "-3.10")
        #expect(DecimalText.rescaled("-0.0", scale: 2, precision: 5) == nil)
        #expect(DecimalText.rescaled("007", scale: 2, precision: 5) == nil)
        #expect(DecimalText.rescaled("1e3", scale: 2, precision: 5) == nil)
        #expect(DecimalText.rescaled("1.", scale: 2, precision: 5) == nil)
    }
}
