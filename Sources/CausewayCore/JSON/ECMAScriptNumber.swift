/// Formats doubles exactly as ECMAScript's `Number.prototype.toString()` does, which RFC 8785
/// (JCS) §3.2.2.3 requires for numbers.
///
/// Swift's `description` already yields the shortest digit string that round-trips, choosing the
/// closest such string — the same digits ECMAScript chooses (ECMA-262 §6.1.6.1.20). Only the
/// layout differs: this type takes Swift's digits and exponent and lays them out the
/// ECMAScript way.
public enum ECMAScriptNumber {
    /// The ECMAScript text of a finite double. `-0` prints as `0`.
    ///
    /// - Precondition: `value.isFinite`; the reader never produces infinities or NaN.
    public static func format(_ value: Double) -> String {
        precondition(value.isFinite, "JCS has no representation for NaN or infinity")
        if value == 0 { return "0" }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(24)
        append(value, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends the ECMAScript text of a finite double to a byte buffer.
    public static func append(_ value: Double, to output: inout [UInt8]) {
        if value == 0 {
            output.append(UInt8(ascii: "0"))
            return
        }
        // Fast path: integers that Swift prints exactly, without exponent.
        if value.magnitude < 1e15, value == value.rounded(.towardZero) {
            let integer = Int64(value)
            output.append(contentsOf: String(integer).utf8)
            return
        }
        // Swift prints one of "123.456", "1.5e-07", "1e+16", "-0.001".
        var digits: [UInt8] = []
        digits.reserveCapacity(17)
        var negative = false
        var pointPosition: Int? = nil  // digits before the decimal point, within the mantissa text
        var exponent = 0
        var exponentNegative = false
        var inExponent = false
        var sawExponentDigit = false
        for byte in value.description.utf8 {
            switch byte {
            case UInt8(ascii: "-") where !inExponent: negative = true
            case UInt8(ascii: "-"): exponentNegative = true
            case UInt8(ascii: "+"): break
            case UInt8(ascii: "."): pointPosition = digits.count
            case UInt8(ascii: "e"), UInt8(ascii: "E"): inExponent = true
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                if inExponent {
                    exponent = exponent * 10 + Int(byte - UInt8(ascii: "0"))
                    sawExponentDigit = true
                } else {
                    digits.append(byte)
                }
            default: break
            }
        }
        _ = sawExponentDigit
        if exponentNegative { exponent = -exponent }
        // value = 0.d1d2…dk × 10^n  where n = (digits before point) + exponent.
        var n = (pointPosition ?? digits.count) + exponent
        // Strip leading zeros (e.g. "0.001" → digits "0001").
        var leading = 0
        while leading < digits.count - 1, digits[leading] == UInt8(ascii: "0") {
            leading += 1
            n -= 1
        }
        if leading > 0 { digits.removeFirst(leading) }
        // Strip trailing zeros ("123.0" → "123").
        while digits.count > 1, digits.last == UInt8(ascii: "0") { digits.removeLast() }
        let k = digits.count

        if negative { output.append(UInt8(ascii: "-")) }
        if k <= n && n <= 21 {
            output.append(contentsOf: digits)
            for _ in 0..<(n - k) { output.append(UInt8(ascii: "0")) }
        } else if 0 < n && n <= 21 {
            output.append(contentsOf: digits[0..<n])
            output.append(UInt8(ascii: "."))
            output.append(contentsOf: digits[n...])
        } else if -6 < n && n <= 0 {
            output.append(UInt8(ascii: "0"))
            output.append(UInt8(ascii: "."))
            for _ in 0..<(-n) { output.append(UInt8(ascii: "0")) }
            output.append(contentsOf: digits)
        } else {
            output.append(digits[0])
            if k > 1 {
                output.append(UInt8(ascii: "."))
                output.append(contentsOf: digits[1...])
            }
            output.append(UInt8(ascii: "e"))
            let e = n - 1
            output.append(e < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
            output.append(contentsOf: String(e.magnitude).utf8)
        }
    }
}
