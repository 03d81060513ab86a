/// CESR v1 text primitives: the subset of Matter, Indexer and Counter codes that single-controller,
/// witness-less KERI needs (see Docs/keri.md). Input is ASCII bytes; nothing here allocates more
/// than the primitive it reads.
enum CESRBase64 {
    static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
    /// Value of each byte as a base64url digit, or 0xFF.
    static let values: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, char) in alphabet.enumerated() { table[Int(char)] = UInt8(index) }
        return table
    }()

    static func value(_ byte: UInt8) -> UInt8? {
        let v = values[Int(byte)]
        return v == 0xFF ? nil : v
    }

    /// Base64url without padding, of a length that is a multiple of 4.
    static func encode(_ bytes: [UInt8]) -> String {
        var out = [UInt8]()
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index + 3 <= bytes.count {
            let n = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
            out.append(alphabet[Int(n >> 18 & 63)])
            out.append(alphabet[Int(n >> 12 & 63)])
            out.append(alphabet[Int(n >> 6 & 63)])
            out.append(alphabet[Int(n & 63)])
            index += 3
        }
        precondition(index == bytes.count, "CESR encodes whole 3-byte groups only")
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes base64url text whose length is a multiple of 4 (no padding); nil on any other input.
    static func decode(_ text: ArraySlice<UInt8>) -> [UInt8]? {
        guard text.count % 4 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(text.count / 4 * 3)
        var index = text.startIndex
        while index < text.endIndex {
            guard let a = value(text[index]), let b = value(text[index + 1]), let c = value(text[index + 2]),
                let d = value(text[index + 3])
            else { return nil }
            let n = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6 | UInt32(d)
            out.append(UInt8(truncatingIfNeeded: n >> 16))
            out.append(UInt8(truncatingIfNeeded: n >> 8))
            out.append(UInt8(truncatingIfNeeded: n))
            index += 4
        }
        return out
    }

    /// The big-endian number in base64 digits; nil on a non-digit.
    static func integer(_ text: ArraySlice<UInt8>) -> Int? {
        var n = 0
        for byte in text {
            guard let v = value(byte) else { return nil }
            n = n << 6 | Int(v)
        }
        return n
    }

    /// `count` base64 digits of `value` (which must fit).
    static func digits(_ value: Int, count: Int) -> String {
        var chars = [UInt8](repeating: alphabet[0], count: count)
        var v = value
        for index in stride(from: count - 1, through: 0, by: -1) {
            chars[index] = alphabet[v & 63]
            v >>= 6
        }
        return String(decoding: chars, as: UTF8.self)
    }
}

/// A fixed-size CESR Matter primitive of the supported subset, decoded.
public struct CESRMatter: Sendable, Hashable {
    /// The supported Matter codes.
    public enum Code: String, Sendable, Hashable {
        /// Ed25519 verification key, transferable (44 chars).
        case ed25519 = "D"
        /// Ed25519 verification key, non-transferable (44 chars).
        case ed25519NonTransferable = "B"
        /// Blake3-256 digest (44 chars).
        case blake3_256 = "E"
        /// 128-bit number; a sequence number in `-F` groups and first-seen couples (24 chars).
        case salt128 = "0A"
        /// Ed25519 signature, not indexed (88 chars).
        case ed25519Signature = "0B"
        /// ISO-8601 date-time of first-seen couples (36 chars; skipped).
        case dateTime = "1AAG"

        /// (code chars, total chars, raw bytes)
        var sizes: (code: Int, full: Int, raw: Int) {
            switch self {
            case .ed25519, .ed25519NonTransferable, .blake3_256: (1, 44, 32)
            case .salt128: (2, 24, 16)
            case .ed25519Signature: (2, 88, 64)
            case .dateTime: (4, 36, 24)
            }
        }
    }

    public let code: Code
    /// The raw bytes (32 for keys and digests, 16 for a number, 64 for a signature).
    public let raw: [UInt8]
    /// The qb64 text.
    public let qb64: String

    /// Encodes raw bytes under a code. `raw` must have the code's size (32 bytes for `D`/`B`/`E`,
    /// 16 for `0A`, 64 for `0B`, 24 for `1AAG`); other sizes are a programming error.
    public init(code: Code, raw: [UInt8]) {
        let sizes = code.sizes
        precondition(raw.count == sizes.raw, "raw size of \(code.rawValue) is \(sizes.raw)")
        let pad = (3 - sizes.raw % 3) % 3
        let text = CESRBase64.encode([UInt8](repeating: 0, count: pad) + raw)
        self.code = code
        self.raw = raw
        qb64 = code.rawValue + String(text.dropFirst(sizes.code))
    }

    /// Parses a complete qb64 primitive (no trailing text).
    public init(qb64 text: String) throws(KERIError) {
        let bytes = Array(text.utf8)
        var position = 0
        self = try CESRMatter.read(bytes[...], at: &position)
        guard position == bytes.count else {
            throw KERIError(.malformedStream, "'\(code.rawValue)' primitive followed by \(bytes.count - position) more characters")
        }
    }

    /// Reads one primitive at `position`, advancing it.
    static func read(_ bytes: ArraySlice<UInt8>, at position: inout Int, allowed: Set<Code>? = nil) throws(KERIError) -> CESRMatter {
        guard position < bytes.endIndex else { throw KERIError(.truncated, "a primitive was expected at the end of the text") }
        let first = bytes[position]
        let codeLength: Int
        switch first {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"): codeLength = 1
        case UInt8(ascii: "0"), UInt8(ascii: "4"), UInt8(ascii: "5"), UInt8(ascii: "6"): codeLength = 2
        case UInt8(ascii: "1"), UInt8(ascii: "2"), UInt8(ascii: "3"), UInt8(ascii: "7"), UInt8(ascii: "8"), UInt8(ascii: "9"): codeLength = 4
        default:
            throw KERIError(.malformedStream, "a primitive cannot start with byte 0x\(String(first, radix: 16))")
        }
        guard position + codeLength <= bytes.endIndex else { throw KERIError(.truncated, "the text ends inside a primitive's code") }
        let codeText = String(decoding: bytes[position..<position + codeLength], as: UTF8.self)
        guard let code = Code(rawValue: codeText) else { throw unsupported(codeText) }
        if let allowed, !allowed.contains(code) {
            let names = allowed.map(\.rawValue).sorted().joined(separator: ", ")
            throw KERIError(.unsupportedCode, "primitive code '\(codeText)' where \(names) is expected")
        }
        let sizes = code.sizes
        guard position + sizes.full <= bytes.endIndex else {
            throw KERIError(.truncated, "the text ends inside a '\(codeText)' primitive (\(sizes.full) characters)")
        }
        let raw = try decodeRaw(bytes[position..<position + sizes.full], codeChars: sizes.code, rawSize: sizes.raw, what: codeText)
        let qb64 = String(decoding: bytes[position..<position + sizes.full], as: UTF8.self)
        position += sizes.full
        return CESRMatter(code: code, raw: raw, qb64: qb64)
    }

    private init(code: Code, raw: [UInt8], qb64: String) {
        self.code = code
        self.raw = raw
        self.qb64 = qb64
    }

    /// The raw bytes of a fixed-size primitive whose code (and index) chars fill the pad of its text.
    static func decodeRaw(_ text: ArraySlice<UInt8>, codeChars: Int, rawSize: Int, what: String) throws(KERIError) -> [UInt8] {
        let pad = (3 - rawSize % 3) % 3
        guard pad == codeChars % 4 else { throw KERIError(.malformedStream, "'\(what)': code size and pad size disagree") }
        let body = [UInt8](repeating: UInt8(ascii: "A"), count: pad) + text.dropFirst(codeChars)
        guard let full = CESRBase64.decode(body[...]) else {
            throw KERIError(.malformedStream, "'\(what)' primitive is not base64url")
        }
        guard full.prefix(pad).allSatisfy({ $0 == 0 }) else {
            throw KERIError(.malformedStream, "'\(what)' primitive has non-zero pad bits")
        }
        let raw = Array(full.dropFirst(pad))
        guard raw.count == rawSize else { throw KERIError(.malformedStream, "'\(what)' primitive has \(raw.count) raw bytes, not \(rawSize)") }
        return raw
    }

    /// The error for a code outside the subset, named by what the code is.
    static func unsupported(_ code: String) -> KERIError {
        switch code {
        case "F", "G", "H", "I", "0D", "0E", "0F", "0G":
            return KERIError(.unsupportedDigest, "digest code '\(code)' is not supported; only Blake3-256 ('E')")
        case "C", "1AAA", "1AAB", "1AAC", "1AAD", "1AAH", "1AAI", "1AAJ", "1AAK", "1AAL", "1AAM":
            return KERIError(.unsupportedKeyType, "key code '\(code)' is not supported; only Ed25519 ('D')")
        default:
            return KERIError(.unsupportedCode, "primitive code '\(code)' is not supported")
        }
    }
}

/// An indexed Ed25519 signature (CESR v1 Indexer codes `A`, `B`, `2A`, `2B`).
public struct KERIIndexedSignature: Sendable, Hashable {
    /// The supported indexed signature codes.
    public enum Code: String, Sendable, Hashable {
        /// Index 0…63; the same index in the prior next-key list (ondex = index).
        case ed25519 = "A"
        /// Index 0…63; current list only (no ondex).
        case ed25519CurrentOnly = "B"
        /// Index and ondex 0…4095 each.
        case ed25519Big = "2A"
        /// Index 0…4095; current list only.
        case ed25519BigCurrentOnly = "2B"
    }

    public let code: Code
    /// The index of the signing key in the establishment event's `k`.
    public let index: Int
    /// The index of that key's digest in the prior establishment event's `n`, or nil (current only).
    public let ondex: Int?
    /// The 64-byte Ed25519 signature.
    public let raw: [UInt8]
    /// The qb64 text.
    public let qb64: String

    /// Encodes a signature by the key at `index`; `ondex` nil means current only. The code is the
    /// smallest that carries both (`A` when ondex == index < 64). `raw` must have 64 bytes and
    /// `index`/`ondex` be in 0…4095; anything else is a programming error.
    public init(raw: [UInt8], index: Int, ondex: Int?) {
        precondition(raw.count == 64 && index >= 0 && index < 4096 && (ondex ?? 0) >= 0 && (ondex ?? 0) < 4096)
        let text = CESRBase64.encode([0, 0] + raw)  // 88 chars; the first 2 are the pad
        let body = text.dropFirst(2)
        let code: Code
        let prefix: String
        if index < 64, ondex == nil {
            code = .ed25519CurrentOnly
            prefix = "B" + CESRBase64.digits(index, count: 1)
        } else if index < 64, ondex == index {
            code = .ed25519
            prefix = "A" + CESRBase64.digits(index, count: 1)
        } else if let ondex {
            code = .ed25519Big
            prefix = "2A" + CESRBase64.digits(index, count: 2) + CESRBase64.digits(ondex, count: 2)
        } else {
            code = .ed25519BigCurrentOnly
            prefix = "2B" + CESRBase64.digits(index, count: 2) + "AA"
        }
        self.code = code
        self.index = index
        self.ondex = ondex
        self.raw = raw
        qb64 = prefix + body
    }

    /// Parses one complete qb64 indexed signature.
    public init(qb64 text: String) throws(KERIError) {
        let bytes = Array(text.utf8)
        var position = 0
        self = try KERIIndexedSignature.read(bytes[...], at: &position)
        guard position == bytes.count else { throw KERIError(.malformedStream, "indexed signature followed by more characters") }
    }

    private init(code: Code, index: Int, ondex: Int?, raw: [UInt8], qb64: String) {
        self.code = code
        self.index = index
        self.ondex = ondex
        self.raw = raw
        self.qb64 = qb64
    }

    /// Reads one indexed signature at `position`, advancing it.
    static func read(_ bytes: ArraySlice<UInt8>, at position: inout Int) throws(KERIError) -> KERIIndexedSignature {
        guard position < bytes.endIndex else { throw KERIError(.truncated, "an indexed signature was expected at the end of the text") }
        let first = bytes[position]
        let code: Code
        let hard: Int, indexChars: Int, ondexChars: Int, full: Int
        switch first {
        case UInt8(ascii: "A"): (code, hard, indexChars, ondexChars, full) = (.ed25519, 1, 1, 0, 88)
        case UInt8(ascii: "B"): (code, hard, indexChars, ondexChars, full) = (.ed25519CurrentOnly, 1, 1, 0, 88)
        case UInt8(ascii: "2"):
            guard position + 1 < bytes.endIndex else { throw KERIError(.truncated, "the text ends inside an indexed signature's code") }
            switch bytes[position + 1] {
            case UInt8(ascii: "A"): (code, hard, indexChars, ondexChars, full) = (.ed25519Big, 2, 2, 2, 92)
            case UInt8(ascii: "B"): (code, hard, indexChars, ondexChars, full) = (.ed25519BigCurrentOnly, 2, 2, 2, 92)
            default:
                throw KERIError(.unsupportedKeyType, "indexed signature code '2\(Character(Unicode.Scalar(bytes[position + 1])))' is not an Ed25519 code")
            }
        case UInt8(ascii: "C"), UInt8(ascii: "D"), UInt8(ascii: "E"), UInt8(ascii: "F"), UInt8(ascii: "0"), UInt8(ascii: "3"):
            throw KERIError(.unsupportedKeyType,
                            "indexed signature code starting '\(Character(Unicode.Scalar(first)))' is not Ed25519 (Ed448 and ECDSA are not supported)")
        default:
            throw KERIError(.unsupportedCode, "byte 0x\(String(first, radix: 16)) does not start a supported indexed signature")
        }
        guard position + full <= bytes.endIndex else { throw KERIError(.truncated, "the text ends inside an indexed signature (\(full) characters)") }
        let text = bytes[position..<position + full]
        let indexStart = position + hard
        guard let index = CESRBase64.integer(bytes[indexStart..<indexStart + indexChars]),
            let ondexValue = CESRBase64.integer(bytes[indexStart + indexChars..<indexStart + indexChars + ondexChars])
        else { throw KERIError(.malformedStream, "indexed signature index is not base64") }
        let ondex: Int?
        switch code {
        case .ed25519: ondex = index
        case .ed25519Big: ondex = ondexValue
        case .ed25519CurrentOnly: ondex = nil
        case .ed25519BigCurrentOnly:
            guard ondexValue == 0 else { throw KERIError(.malformedStream, "a current-only '2B' signature must have ondex chars 'AA'") }
            ondex = nil
        }
        let raw = try CESRMatter.decodeRaw(text, codeChars: hard + indexChars + ondexChars, rawSize: 64, what: code.rawValue)
        position += full
        return KERIIndexedSignature(code: code, index: index, ondex: ondex, raw: raw, qb64: String(decoding: text, as: UTF8.self))
    }
}

/// CESR v1 count codes of the supported subset.
enum CESRCounter {
    /// A count code read from text.
    struct Read {
        /// `-A`, `-E`, `-F`, `-V`, `-0V` or `--AAA`.
        let code: String
        let count: Int
    }

    /// Reads a counter at `position` (which holds `-`), advancing it.
    static func read(_ bytes: ArraySlice<UInt8>, at position: inout Int) throws(KERIError) -> Read {
        guard position + 1 < bytes.endIndex, bytes[position] == UInt8(ascii: "-") else {
            throw KERIError(.truncated, "a count code was expected")
        }
        let second = bytes[position + 1]
        if second == UInt8(ascii: "_") {
            throw KERIError(.unsupportedVersion, "count code '-_' is the CESR 2 genus/version code; only CESR v1 is supported")
        }
        let codeLength: Int, countLength: Int
        switch second {
        case UInt8(ascii: "-"): (codeLength, countLength) = (5, 3)  // --AAA + 3-char genus version
        case UInt8(ascii: "0"): (codeLength, countLength) = (3, 5)  // big counters -0X#####
        default: (codeLength, countLength) = (2, 2)
        }
        guard position + codeLength + countLength <= bytes.endIndex else { throw KERIError(.truncated, "the text ends inside a count code") }
        let code = String(decoding: bytes[position..<position + codeLength], as: UTF8.self)
        let countText = bytes[position + codeLength..<position + codeLength + countLength]
        guard let count = CESRBase64.integer(countText) else { throw KERIError(.malformedStream, "count code '\(code)' has a non-base64 count") }
        if codeLength == 5 {
            guard code == "--AAA" else { throw KERIError(.unsupportedCode, "count code '\(code)' is not supported") }
            // The genus version is major (1 char) + minor (2 chars); KERI v1 is 'BAA'.
            guard countText.first == UInt8(ascii: "B") else {
                throw KERIError(.unsupportedVersion, "genus version '\(String(decoding: countText, as: UTF8.self))' is not CESR v1 ('--AAABAA'); CESR 2 is not supported")
            }
        }
        position += codeLength + countLength
        return Read(code: code, count: count)
    }

    /// The error for a count code outside the subset, named by what it carries.
    static func unsupported(_ code: String) -> KERIError {
        switch code {
        case "-B", "-C", "-D":
            KERIError(.witnessesUnsupported, "count code '\(code)' carries witness signatures or receipts; witnesses are not supported")
        case "-G", "-I":
            KERIError(.delegationUnsupported, "count code '\(code)' carries delegation seals; delegation is not supported")
        default:
            KERIError(.unsupportedCode, "count code '\(code)' is not supported here (CESR v1 -A, -V, -0V, -E and --AAA are)")
        }
    }

    /// `-X##` for a small count.
    static func text(_ code: String, count: Int) -> String {
        precondition(count < 4096)
        return code + CESRBase64.digits(count, count: 2)
    }
}

extension KERI {
    /// The qb64 (`D…`) of a transferable Ed25519 public key (`raw` must have 32 bytes).
    public static func qb64(publicKey raw: [UInt8]) -> String { CESRMatter(code: .ed25519, raw: raw).qb64 }

    /// `E` + Blake3-256 of `bytes`, as qb64 (44 characters).
    public static func digest(_ bytes: some Collection<UInt8>) -> String {
        CESRMatter(code: .blake3_256, raw: BLAKE3.hash(bytes)).qb64
    }

    /// The pre-rotation commitment to a key: the Blake3-256 digest of its qb64 **text** (`D…`),
    /// as keripy computes it (`Diger(ser=verfer.qb64b)`).
    public static func nextKeyDigest(ofKey qb64: String) -> String { digest(Array(qb64.utf8)) }

    /// Whether `text` is a self-addressing AID as this subset supports it: a 44-character
    /// Blake3-256 qb64 (`E…`).
    public static func isAID(_ text: String) -> Bool {
        (try? CESRMatter(qb64: text))?.code == .blake3_256
    }

    /// The 32 raw bytes of a transferable Ed25519 key (`D…`), or nil.
    public static func publicKeyBytes(ofKey qb64: String) -> [UInt8]? {
        guard let matter = try? CESRMatter(qb64: qb64), matter.code == .ed25519 else { return nil }
        return matter.raw
    }
}

/// Namespace of KERI helpers.
public enum KERI {}
