import Crypto

/// A SHA-256 digest written the one way Causeway writes digests: `sha256:` and 64 lowercase hex digits.
///
/// The algorithm is always named, so a later change of hash function is visible in the data.
public struct ContentDigest: Sendable, Hashable, Comparable, CustomStringConvertible, Codable {
    /// The 32 digest bytes.
    public let bytes: [UInt8]

    /// The digest of these bytes.
    public init(of data: some Sequence<UInt8>) {
        var hasher = SHA256()
        hasher.update(data: Array(data))
        bytes = Array(hasher.finalize())
    }

    /// Wraps 32 raw digest bytes.
    public init?(raw: [UInt8]) {
        guard raw.count == 32 else { return nil }
        bytes = raw
    }

    /// Parses `sha256:<64 lowercase hex>`; anything else is `nil`.
    public init?(_ text: String) {
        let prefix = "sha256:"
        guard text.hasPrefix(prefix) else { return nil }
        let hex = text.utf8.dropFirst(prefix.utf8.count)
        guard hex.count == 64, let raw = HexEncoding.decode(Array(hex), lowercaseOnly: true) else { return nil }
        bytes = raw
    }

    /// `sha256:` followed by lowercase hex.
    public var description: String { "sha256:" + hex }

    /// The lowercase hex of the digest bytes, without the algorithm prefix.
    public var hex: String { HexEncoding.encode(bytes) }

    public static func < (lhs: ContentDigest, rhs: ContentDigest) -> Bool { lhs.bytes.lexicographicallyPrecedes(rhs.bytes) }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let digest = ContentDigest(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a sha256: digest"))
        }
        self = digest
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// Lowercase hexadecimal encoding.
public enum HexEncoding {
    private static let digits = Array("0123456789abcdef".utf8)

    /// Lowercase hex of the bytes.
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var output: [UInt8] = []
        for byte in bytes {
            output.append(digits[Int(byte >> 4)])
            output.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Decodes hex text; `nil` for odd length or a non-hex character.
    public static func decode(_ text: String) -> [UInt8]? { decode(Array(text.utf8), lowercaseOnly: false) }

    static func decode(_ utf8: [UInt8], lowercaseOnly: Bool) -> [UInt8]? {
        guard utf8.count % 2 == 0 else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(utf8.count / 2)
        var high: UInt8 = 0
        for (position, byte) in utf8.enumerated() {
            let value: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): value = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F") where !lowercaseOnly: value = byte - UInt8(ascii: "A") + 10
            default: return nil
            }
            if position % 2 == 0 { high = value } else { output.append(high << 4 | value) }
        }
        return output
    }
}
