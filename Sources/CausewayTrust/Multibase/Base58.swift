/// Base58 with the Bitcoin alphabet, and multibase's `z` prefix for it (base58btc).
public enum Base58 {
    static let alphabet = Array("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz".utf8)
    static let table: [Int8] = {
        var table = [Int8](repeating: -1, count: 256)
        for (index, byte) in alphabet.enumerated() { table[Int(byte)] = Int8(index) }
        return table
    }()

    /// Base58btc text of the bytes (leading zero bytes become `1`s).
    public static func encode(_ bytes: [UInt8]) -> String {
        let zeros = bytes.prefix { $0 == 0 }.count
        // Base-256 to base-58 conversion on a digit buffer, most significant digit last.
        var digits: [UInt8] = []
        digits.reserveCapacity(bytes.count * 138 / 100 + 1)
        for byte in bytes[zeros...] {
            var carry = Int(byte)
            for index in digits.indices {
                carry += Int(digits[index]) << 8
                digits[index] = UInt8(carry % 58)
                carry /= 58
            }
            while carry > 0 {
                digits.append(UInt8(carry % 58))
                carry /= 58
            }
        }
        var output = [UInt8](repeating: alphabet[0], count: zeros)
        output.reserveCapacity(zeros + digits.count)
        for digit in digits.reversed() { output.append(alphabet[Int(digit)]) }
        return String(decoding: output, as: UTF8.self)
    }

    /// The bytes of base58btc text, or `nil` for a character outside the alphabet.
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        let ones = utf8.prefix { $0 == alphabet[0] }.count
        // Big number in 32-bit limbs, least significant first; five base-58 digits are folded in
        // per step (58^5 < 2^32), which keeps signature and key decoding cheap.
        var limbs: [UInt32] = []
        limbs.reserveCapacity(utf8.count / 5 + 2)
        var index = ones
        while index < utf8.count {
            var chunk: UInt64 = 0
            var multiplier: UInt64 = 1
            var taken = 0
            while taken < 5, index < utf8.count {
                let value = table[Int(utf8[index])]
                guard value >= 0 else { return nil }
                chunk = chunk * 58 + UInt64(value)
                multiplier *= 58
                taken += 1
                index += 1
            }
            var carry = chunk
            for i in limbs.indices {
                let product = UInt64(limbs[i]) * multiplier + carry
                limbs[i] = UInt32(truncatingIfNeeded: product)
                carry = product >> 32
            }
            while carry > 0 {
                limbs.append(UInt32(truncatingIfNeeded: carry))
                carry >>= 32
            }
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(ones + limbs.count * 4)
        for _ in 0..<ones { bytes.append(0) }
        var started = false
        for limb in limbs.reversed() {
            for shift in stride(from: 24, through: 0, by: -8) {
                let byte = UInt8(truncatingIfNeeded: limb >> UInt32(shift))
                if byte != 0 { started = true }
                if started { bytes.append(byte) }
            }
        }
        return bytes
    }
}

/// Multibase, restricted to the one base Causeway uses: base58btc, prefix `z`.
public enum Multibase {
    /// `z` + base58btc.
    public static func encode(_ bytes: [UInt8]) -> String { "z" + Base58.encode(bytes) }

    /// Decodes `z…`; `nil` when the prefix is not `z` or the text is not base58btc.
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        guard text.first == "z" else { return nil }
        return Base58.decode(text.dropFirst())
    }
}
