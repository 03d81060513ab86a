/// Random (version 4) UUIDs from the standard library's system generator, which reads the
/// kernel's CSPRNG with one `getrandom` call per 64 bits. Foundation's `UUID()` on Linux opens,
/// reads and closes `/dev/urandom` for every UUID — three system calls and a path lookup, which
/// showed in profiles of the intake path, where every action gets a receipt id.
public enum RandomUUID {
    /// A new UUID in its lowercase text form (RFC 9562 §4: 8-4-4-4-12 hex digits).
    public static func string() -> String {
        var generator = SystemRandomNumberGenerator()
        return text(high: generator.next(), low: generator.next())
    }

    /// A new UUID as a URN, `urn:uuid:` followed by ``string()`` — the form of receipt, proof
    /// and credential ids.
    public static func urn() -> String { "urn:uuid:" + string() }

    /// The text of the UUID made from 128 random bits: the version nibble set to 4 and the
    /// variant's two bits to `10` (RFC 9562 §4.1, §5.4); the other 122 bits are the input's.
    static func text(high: UInt64, low: UInt64) -> String {
        let high = high & ~0x0000_0000_0000_F000 | 0x0000_0000_0000_4000
        let low = low & ~0xC000_0000_0000_0000 | 0x8000_0000_0000_0000
        return String(unsafeUninitializedCapacity: 36) { buffer in
            var position = 0
            for nibble in 0..<32 {
                if nibble == 8 || nibble == 12 || nibble == 16 || nibble == 20 {
                    buffer[position] = UInt8(ascii: "-")
                    position += 1
                }
                let word = nibble < 16 ? high : low
                let shift = UInt64(60 - 4 * (nibble % 16))
                buffer[position] = hexDigits[Int((word >> shift) & 0xF)]
                position += 1
            }
            return position
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)
}
