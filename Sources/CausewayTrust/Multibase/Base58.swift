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
        var bytes: [UInt8] = []
        bytes.reserveCapacity(utf8.count * 733 / 1000 + 1)
        for character in utf8[ones...] {
            let value = table[Int(character)]
            guard value >= 0 else { return nil }
            var carry = Int(value)
            for index in bytes.indices {
                carry += Int(bytes[index]) * 58
                bytes[index] = UInt8(carry & 0xFF)
                carry >>= 8
            }
            while carry > 0 {
                bytes.append(UInt8(carry & 0xFF))
                carry >>= 8
            }
        }
        return [UInt8](repeating: 0, count: ones) + bytes.reversed()
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
