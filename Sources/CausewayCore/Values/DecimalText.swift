public import Foundation

/// Decimal numbers as Causeway's formats write them: strings such as `"7.85"`, never JSON numbers.
///
/// Parsing is strict (`-?(0|[1-9][0-9]*)(\.[0-9]+)?`): no exponent, no `+`, no leading zeros, no
/// spaces, at most 38 significant digits. Arithmetic is Foundation `Decimal`; nothing here uses
/// binary floating point.
public enum DecimalText {
    /// The value of a strict decimal string, or `nil`.
    public static func parse(_ text: String) -> Decimal? {
        let b = text.utf8
        guard !b.isEmpty, b.count <= 64 else { return nil }
        var i = b.startIndex
        if b[i] == UInt8(ascii: "-") { i = b.index(after: i) }
        guard i < b.endIndex else { return nil }
        let first = b[i]
        guard first >= 48, first <= 57 else { return nil }
        var significant = 0
        if first == 48 {
            i = b.index(after: i)
            if i < b.endIndex, b[i] != UInt8(ascii: ".") { return nil }
        } else {
            while i < b.endIndex, b[i] >= 48, b[i] <= 57 {
                significant += 1
                i = b.index(after: i)
            }
        }
        if i < b.endIndex {
            guard b[i] == UInt8(ascii: ".") else { return nil }
            i = b.index(after: i)
            var fraction = 0
            while i < b.endIndex, b[i] >= 48, b[i] <= 57 {
                fraction += 1
                significant += 1
                i = b.index(after: i)
            }
            guard fraction > 0, i == b.endIndex else { return nil }
        }
        guard significant <= 38 else { return nil }
        // Up to 19 significant digits (all money and quantities in practice): build the value
        // from its digits directly, which is far cheaper than Foundation's string parsing.
        if significant <= 19 {
            var mantissa: UInt64 = 0
            var fractionDigits = 0
            var afterPoint = false
            var negative = false
            for byte in b {
                switch byte {
                case UInt8(ascii: "-"): negative = true
                case UInt8(ascii: "."): afterPoint = true
                default:
                    mantissa = mantissa &* 10 &+ UInt64(byte - 48)
                    if afterPoint { fractionDigits += 1 }
                }
            }
            return Decimal(sign: negative && mantissa != 0 ? .minus : .plus, exponent: -fractionDigits, significand: Decimal(mantissa))
        }
        return Decimal(string: text, locale: posix)
    }

    private static let posix = Locale(identifier: "en_US_POSIX")

    /// How to round to a scale.
    public enum Rounding: String, Sendable, Hashable, CaseIterable {
        /// Round half to even ("banker's rounding"), the default for money.
        case halfEven = "half-even"
        /// Round half away from zero.
        case halfUp = "half-up"
        /// Toward zero.
        case down
        /// Away from zero.
        case up
        /// Any digit that would be lost is an error.
        case exact

        var foundation: NSDecimalNumber.RoundingMode {
            switch self {
            case .halfEven, .exact: .bankers
            case .halfUp: .plain
            case .down: .down
            case .up: .up
            }
        }
    }

    /// `value` rounded to `scale` fraction digits; `nil` only for `.exact` when digits would be lost.
    public static func round(_ value: Decimal, scale: Int, _ rounding: Rounding) -> Decimal? {
        var input = value
        var output = Decimal()
        // Foundation's .down/.up are floor/ceiling; map to toward/away from zero by sign.
        var mode = rounding.foundation
        if value < 0 {
            if rounding == .down { mode = .up } else if rounding == .up { mode = .down }
        }
        NSDecimalRound(&output, &input, scale, mode)
        if rounding == .exact, output != value { return nil }
        return output
    }

    /// Plain notation with exactly `scale` fraction digits (rounding half-even if needed): `"1570.00"`.
    public static func format(_ value: Decimal, scale: Int) -> String {
        let rounded = round(value, scale: scale, .halfEven) ?? value
        // Fast path: scale to an integer and print its digits. Foundation's description is far
        // slower, and this runs for every computed money cell. Limited to 2^53 so that the integer
        // conversion is exact on every platform.
        if scale >= 0, scale <= 18 {
            let scaled = rounded * Decimal(sign: .plus, exponent: scale, significand: 1)
            if scaled.magnitude < 9_007_199_254_740_992 {
                let integer = NSDecimalNumber(decimal: scaled).int64Value
                return insertPoint(integer, scale: scale)
            }
        }
        return plain(rounded, minimumScale: scale)
    }

    static func insertPoint(_ integer: Int64, scale: Int) -> String {
        var digits = String(integer.magnitude)
        if scale > 0 {
            if digits.count <= scale { digits = String(repeating: "0", count: scale - digits.count + 1) + digits }
            digits.insert(".", at: digits.index(digits.endIndex, offsetBy: -scale))
        }
        return integer < 0 ? "-" + digits : digits
    }

    /// Rewrites a strict decimal string with exactly `scale` fraction digits without arithmetic,
    /// when that needs no rounding (only padding, or dropping trailing zeros) and the integer part
    /// has at most `precision - scale` digits. Returns nil when the caller must use `Decimal`.
    public static func rescaled(_ text: String, scale: Int, precision: Int) -> String? {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty, bytes.count <= 64 else { return nil }
        var i = 0
        let negative = bytes[0] == UInt8(ascii: "-")
        if negative { i = 1 }
        let integerStart = i
        while i < bytes.count, bytes[i] >= 48, bytes[i] <= 57 { i += 1 }
        let integerDigits = i - integerStart
        guard integerDigits > 0, integerDigits == 1 || bytes[integerStart] != 48 else { return nil }
        var fraction: ArraySlice<UInt8> = []
        if i < bytes.count {
            guard bytes[i] == UInt8(ascii: ".") else { return nil }
            fraction = bytes[(i + 1)...]
            guard !fraction.isEmpty, fraction.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        }
        let significantInteger = bytes[integerStart] == 48 ? 0 : integerDigits
        guard significantInteger <= precision - scale else { return nil }
        if fraction.count > scale {
            // Only zeros may be dropped without rounding.
            guard fraction.dropFirst(scale).allSatisfy({ $0 == 48 }) else { return nil }
            fraction = fraction.prefix(scale)
        }
        if negative, bytes[integerStart] == 48, fraction.allSatisfy({ $0 == 48 }) { return nil }  // "-0.00": let Decimal normalise
        var out = Array(bytes[0..<(integerStart + integerDigits)])
        if scale > 0 {
            out.append(UInt8(ascii: "."))
            out.append(contentsOf: fraction)
            for _ in fraction.count..<scale { out.append(48) }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Plain notation, no exponent, as few fraction digits as the value needs (at least `minimumScale`).
    public static func plain(_ value: Decimal, minimumScale: Int = 0) -> String {
        if value.isNaN { return "NaN" }
        var text = value.description  // Foundation prints plain notation: "1570", "0.001", "-2.5"
        if text == "-0" { text = "0" }
        guard minimumScale > 0 else { return text }
        if let dot = text.firstIndex(of: ".") {
            let have = text.distance(from: text.index(after: dot), to: text.endIndex)
            if have < minimumScale { text += String(repeating: "0", count: minimumScale - have) }
        } else {
            text += "." + String(repeating: "0", count: minimumScale)
        }
        return text
    }

    /// The number of fraction digits a strict decimal string is written with (`"7.850"` → 3).
    public static func scale(of text: String) -> Int {
        guard let dot = text.utf8.firstIndex(of: UInt8(ascii: ".")) else { return 0 }
        return text.utf8.distance(from: dot, to: text.utf8.endIndex) - 1
    }
}
