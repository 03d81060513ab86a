import CausewayCore
import Crypto
import Foundation

/// A C2SP `signed-note`: text ending in a newline, a blank line, then one or more signature
/// lines `— <key name> base64(key ID ‖ signature)`.
///
/// ```text
/// erp.acme.example/causeway
/// 12
/// K3Xp…=
///
/// — erp.acme.example/causeway Ab3d…==
/// ```
///
/// Parsing bounds the work: at most ``maxBytes`` of note and ``maxSignatures`` signature lines.
/// Verification (``verify(with:requiring:)``) ignores signatures by unknown keys, as the spec
/// requires, and fails on a known key's bad signature.
public struct SignedNote: Sendable, Hashable, CustomStringConvertible {
    /// One signature line.
    public struct Signature: Sendable, Hashable {
        /// The key name.
        public let name: String
        /// The 4-byte key id, big-endian.
        public let keyID: UInt32
        /// The bytes after the key id (for Ed25519: 64; for a cosignature: 8-byte time + 64).
        public let signature: [UInt8]

        public init(name: String, keyID: UInt32, signature: [UInt8]) {
            self.name = name
            self.keyID = keyID
            self.signature = signature
        }

        /// `— name base64(keyID ‖ signature)` with its newline.
        public var line: String {
            "\u{2014} \(name) \(Base64.encode(NoteKey.bytes(of: keyID) + signature))\n"
        }
    }

    /// The signed text, final newline included.
    public let text: String
    public let signatures: [Signature]

    /// The largest note accepted: 1 MiB.
    public static let maxBytes = 1 << 20
    /// The most signature lines accepted (the spec asks verifiers to accept at least 16).
    public static let maxSignatures = 100

    /// A note from its parts; the text must be a valid note text (see ``checkText(_:)``).
    public init(text: String, signatures: [Signature]) throws(NoteError) {
        try SignedNote.checkText(text)
        self.text = text
        self.signatures = signatures
    }

    /// Parses a signed note's bytes: strict UTF-8, no control characters but newline, the text
    /// separated from the signatures by the last blank line.
    public init(parsing bytes: some Collection<UInt8>) throws(NoteError) {
        guard bytes.count <= SignedNote.maxBytes else {
            throw NoteError(.tooLarge, "the signed note has \(bytes.count) bytes; at most \(SignedNote.maxBytes) are accepted")
        }
        guard let string = String(validating: Array(bytes), as: UTF8.self) else {
            throw NoteError(.malformed, "the signed note is not valid UTF-8")
        }
        try self.init(parsing: string)
    }

    /// Parses a signed note (see ``init(parsing:)-(some Collection<UInt8>)``).
    public init(parsing note: String) throws(NoteError) {
        guard note.utf8.count <= SignedNote.maxBytes else {
            throw NoteError(.tooLarge, "the signed note has \(note.utf8.count) bytes; at most \(SignedNote.maxBytes) are accepted")
        }
        let bytes = Array(note.utf8)
        if let bad = bytes.firstIndex(where: { ($0 < 0x20 && $0 != 0x0A) || $0 == 0x7F }) {
            throw NoteError(.malformed, "the signed note holds a control character (0x\(String(bytes[bad], radix: 16))) at byte \(bad); only newlines are allowed")
        }
        guard bytes.last == 0x0A else { throw NoteError(.malformed, "a signed note ends with a newline") }
        // The text ends at the last blank line: the last "\n\n".
        var split: Int? = nil
        var i = bytes.count - 2
        while i >= 0 {
            if bytes[i] == 0x0A, bytes[i + 1] == 0x0A { split = i; break }
            i -= 1
        }
        guard let split else {
            throw NoteError(.malformed, "the signed note has no blank line between its text and its signatures")
        }
        let text = String(decoding: bytes[...split], as: UTF8.self)
        let signatureBytes = bytes[(split + 2)...]
        guard !signatureBytes.isEmpty else { throw NoteError(.malformed, "the signed note has no signature lines") }
        let lines = signatureBytes.dropLast().split(separator: 0x0A, omittingEmptySubsequences: false)
        guard lines.count <= SignedNote.maxSignatures else {
            throw NoteError(.tooManySignatures, "the signed note has \(lines.count) signature lines; at most \(SignedNote.maxSignatures) are accepted")
        }
        var signatures: [Signature] = []
        for (number, line) in lines.enumerated() {
            signatures.append(try SignedNote.parseSignatureLine(String(decoding: line, as: UTF8.self), number: number + 1))
        }
        try self.init(text: text, signatures: signatures)
    }

    /// Parses `— name base64` (without its newline).
    public static func parseSignatureLine(_ line: String, number: Int = 1) throws(NoteError) -> Signature {
        let prefix = "\u{2014} "
        guard line.hasPrefix(prefix) else {
            throw NoteError(.malformed, "signature line \(number) must begin with an em dash (U+2014) and a space")
        }
        let rest = line.dropFirst(prefix.count)
        let fields = rest.split(separator: " ", omittingEmptySubsequences: false)
        guard fields.count == 2 else {
            throw NoteError(.malformed, "signature line \(number) must be '— <key name> <base64 signature>' with single spaces")
        }
        let name = String(fields[0])
        try NoteKey.checkName(name)
        guard let raw = Base64.decodeCanonical(fields[1]), raw.count > 4 else {
            throw NoteError(.malformed, "signature line \(number): the signature is not canonical base64 of a key id and a signature")
        }
        return Signature(name: name, keyID: NoteKey.keyID(from: raw), signature: Array(raw[4...]))
    }

    /// Checks a note text: non-empty, ends with a newline, valid and free of control characters
    /// other than newline, and within ``maxBytes``.
    public static func checkText(_ text: String) throws(NoteError) {
        let bytes = Array(text.utf8)
        guard bytes.count <= maxBytes else { throw NoteError(.tooLarge, "the note text has \(bytes.count) bytes; at most \(maxBytes) are accepted") }
        guard bytes.last == 0x0A else { throw NoteError(.malformed, "a note text ends with a newline") }
        guard !bytes.contains(where: { ($0 < 0x20 && $0 != 0x0A) || $0 == 0x7F }) else {
            throw NoteError(.malformed, "the note text holds a control character; only newlines are allowed")
        }
    }

    /// The note as text: the text, a blank line, the signature lines.
    public var formatted: String {
        text + "\n" + signatures.map(\.line).joined()
    }

    public var description: String { formatted }

    /// This note with more signatures appended.
    public func adding(_ more: [Signature]) -> SignedNote {
        SignedNote(checkedText: text, signatures: signatures + more)
    }

    /// A note whose text was already checked.
    private init(checkedText: String, signatures: [Signature]) {
        text = checkedText
        self.signatures = signatures
    }

    /// A signature that verified.
    public struct VerifiedSignature: Sendable, Hashable {
        public let key: NoteKey
        /// The cosignature's time (POSIX seconds), for ``NoteKey/Kind-swift.enum/cosignatureV1``.
        public let timestamp: UInt64?
    }

    /// Verifies the note against known keys.
    ///
    /// Signatures whose (name, key id) match no key are ignored (C2SP signed-note). A known key's
    /// signature that fails, or that appears twice, rejects the whole note. At least one known
    /// signature must verify, and every key in `required` must have signed.
    ///
    /// - Returns: the verified signatures, in note order.
    @discardableResult
    public func verify(with keys: [NoteKey], requiring required: [NoteKey] = []) throws(NoteError) -> [VerifiedSignature] {
        let textBytes = Array(text.utf8)
        var verified: [VerifiedSignature] = []
        var seen = Set<NoteKey>()
        for signature in signatures {
            guard let key = keys.first(where: { $0.name == signature.name && $0.keyID == signature.keyID }) else { continue }
            guard seen.insert(key).inserted else {
                throw NoteError(.duplicateSignature, "the key \(key.name) (id \(key.keyIDHex)) signed the note twice")
            }
            let timestamp = try key.check(signature.signature, over: textBytes)
            verified.append(VerifiedSignature(key: key, timestamp: timestamp))
        }
        guard !verified.isEmpty else {
            let names = keys.map(\.name).joined(separator: ", ")
            throw NoteError(.noKnownSignature, "no signature on the note is by a known key (expected: \(names.isEmpty ? "none configured" : names))")
        }
        for key in required where !seen.contains(key) {
            throw NoteError(.requiredSignatureMissing, "the note lacks the required signature of \(key.name) (id \(key.keyIDHex))")
        }
        return verified
    }
}

/// A C2SP signed-note verifier key: its name, its type, its Ed25519 public key and the key id
/// derived from them.
///
/// Two types: ``Kind-swift.enum/ed25519`` (signature type 0x01, the log's checkpoint signature)
/// and ``Kind-swift.enum/cosignatureV1`` (0x04, a witness's timestamped cosignature). Its
/// `vkey` text is `name+hex(key id)+base64(type ‖ public key)`.
public struct NoteKey: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: UInt8, Sendable, Hashable {
        /// Ed25519 over the note text (signature type 0x01).
        case ed25519 = 0x01
        /// C2SP tlog-cosignature/v1: Ed25519 over `cosignature/v1\ntime T\n` + text (type 0x04).
        case cosignatureV1 = 0x04
    }

    public let name: String
    public let kind: Kind
    /// The 32-byte Ed25519 public key.
    public let publicKey: [UInt8]
    /// SHA-256(name ‖ 0x0A ‖ type ‖ public key)[:4], big-endian.
    public let keyID: UInt32

    public init(name: String, publicKey: [UInt8], kind: Kind = .ed25519) throws(NoteError) {
        try NoteKey.checkName(name)
        do {
            _ = try DIDKey(publicKey: publicKey)  // 32 bytes, canonical, not of small order
        } catch {
            throw NoteError(.keyInvalid, "the note key \(name): \(error.message)")
        }
        self.name = name
        self.kind = kind
        self.publicKey = publicKey
        keyID = NoteKey.keyID(name: name, type: kind.rawValue, publicKey: publicKey)
    }

    /// The key a `did:key` names, under a note key name (for a checkpoint: the log's origin).
    public init(name: String, didKey: DIDKey, kind: Kind = .ed25519) throws(NoteError) {
        try self.init(name: name, publicKey: didKey.publicKeyBytes, kind: kind)
    }

    /// Parses a vkey `name+hexkeyid+base64(type ‖ key)`; the key id must be the one derived.
    public init(vkey: String) throws(NoteError) {
        // The name holds no '+'; the base64 key may (so split at the first two only).
        let parts = vkey.split(separator: "+", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw NoteError(.keyInvalid, "a verifier key is 'name+hexkeyid+base64key'") }
        let name = String(parts[0])
        guard parts[1].utf8.count == 8, let id = UInt32(parts[1], radix: 16), parts[1].allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else {
            throw NoteError(.keyInvalid, "the verifier key's id must be 8 lowercase hex digits")
        }
        guard let raw = Base64.decodeCanonical(parts[2]), raw.count == 33 else {
            throw NoteError(.keyInvalid, "the verifier key must hold base64 of a type byte and a 32-byte Ed25519 key")
        }
        guard let kind = Kind(rawValue: raw[0]) else {
            throw NoteError(.keyInvalid, "the verifier key has signature type 0x\(String(raw[0], radix: 16)); only 0x01 (Ed25519) and 0x04 (cosignature/v1) are supported")
        }
        try self.init(name: name, publicKey: Array(raw[1...]), kind: kind)
        guard keyID == id else {
            throw NoteError(.keyInvalid, "the verifier key's id \(parts[1]) is not the one its name and key give (\(keyIDHex))")
        }
    }

    /// `name+hexkeyid+base64(type ‖ key)`.
    public var vkey: String { "\(name)+\(keyIDHex)+\(Base64.encode([kind.rawValue] + publicKey))" }

    public var keyIDHex: String {
        let hex = String(keyID, radix: 16)
        return String(repeating: "0", count: 8 - hex.count) + hex
    }

    public var description: String { vkey }

    /// SHA-256(name ‖ 0x0A ‖ type ‖ public key)[:4] as a big-endian integer.
    public static func keyID(name: String, type: UInt8, publicKey: [UInt8]) -> UInt32 {
        let digest = Array(SHA256.hash(data: Array(name.utf8) + [0x0A, type] + publicKey))
        return keyID(from: digest)
    }

    static func keyID(from bytes: some Collection<UInt8>) -> UInt32 {
        bytes.prefix(4).reduce(0) { $0 << 8 | UInt32($1) }
    }

    static func bytes(of keyID: UInt32) -> [UInt8] {
        [UInt8(keyID >> 24), UInt8(keyID >> 16 & 0xFF), UInt8(keyID >> 8 & 0xFF), UInt8(keyID & 0xFF)]
    }

    /// Key names are non-empty and hold no Unicode spaces and no '+'.
    static func checkName(_ name: String) throws(NoteError) {
        guard !name.isEmpty else { throw NoteError(.malformed, "a note key name must not be empty") }
        guard !name.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0 == "+" || $0.value < 0x20 }) else {
            throw NoteError(.malformed, "a note key name must contain no spaces and no '+'")
        }
    }

    /// The message a cosignature/v1 signs: the header, the time line, the note text.
    public static func cosignedMessage(text: some Collection<UInt8>, timestamp: UInt64) -> [UInt8] {
        Array("cosignature/v1\ntime \(timestamp)\n".utf8) + text
    }

    /// The time (POSIX seconds) a cosignature/v1 signature line carries: its first 8 bytes after
    /// the key id, big-endian. Nil when the signature is not 72 bytes or the time exceeds 2^63 − 1.
    /// Reading the time does not verify the signature.
    public static func cosignatureTime(_ signature: SignedNote.Signature) -> UInt64? {
        guard signature.signature.count == 72 else { return nil }
        let timestamp = signature.signature.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return timestamp <= UInt64(Int64.max) ? timestamp : nil
    }

    /// Checks one signature's bytes; returns the cosignature time, if any.
    func check(_ signature: [UInt8], over text: [UInt8]) throws(NoteError) -> UInt64? {
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey) else {
            throw NoteError(.keyInvalid, "the note key \(name) is not a valid Ed25519 key")
        }
        switch kind {
        case .ed25519:
            guard signature.count == 64, key.isValidSignature(signature, for: text) else {
                throw NoteError(.signatureInvalid, "the signature of \(name) (id \(keyIDHex)) does not verify over the note text")
            }
            return nil
        case .cosignatureV1:
            guard signature.count == 72 else {
                throw NoteError(.signatureInvalid, "the cosignature of \(name) has \(signature.count) bytes after its key id; cosignature/v1 has 8 (time) + 64")
            }
            guard let timestamp = NoteKey.cosignatureTime(SignedNote.Signature(name: name, keyID: keyID, signature: signature)) else {
                throw NoteError(.signatureInvalid, "the cosignature of \(name) has a time beyond 2^63 - 1")
            }
            guard key.isValidSignature(Array(signature[8...]), for: NoteKey.cosignedMessage(text: text, timestamp: timestamp)) else {
                throw NoteError(.signatureInvalid, "the cosignature of \(name) (id \(keyIDHex)) does not verify over the checkpoint and its time")
            }
            return timestamp
        }
    }
}

/// Signs notes with a ``SigningIdentity`` under a key name.
public struct NoteSigner: Sendable {
    /// The public half, as verifiers configure it.
    public let key: NoteKey
    let identity: SigningIdentity

    /// - Parameters:
    ///   - name: the key name; for a log's checkpoints, its origin.
    ///   - identity: the Ed25519 key (the gateway's, whose did:key names it).
    ///   - kind: ``NoteKey/Kind-swift.enum/ed25519`` for checkpoints, ``NoteKey/Kind-swift.enum/cosignatureV1`` for witness cosignatures.
    public init(name: String, identity: SigningIdentity, kind: NoteKey.Kind = .ed25519) throws(NoteError) {
        key = try NoteKey(name: name, didKey: identity.didKey, kind: kind)
        self.identity = identity
    }

    /// The signature line for a note text (type 0x01 keys only).
    public func signature(for text: String) throws -> SignedNote.Signature {
        precondition(key.kind == .ed25519, "a cosignature key signs with cosignature(for:timestamp:)")
        try SignedNote.checkText(text)
        return SignedNote.Signature(name: key.name, keyID: key.keyID, signature: try identity.sign(Array(text.utf8)))
    }

    /// The cosignature/v1 line over a checkpoint note text at a time (POSIX seconds).
    public func cosignature(for text: String, timestamp: UInt64) throws -> SignedNote.Signature {
        precondition(key.kind == .cosignatureV1, "an Ed25519 note key signs with signature(for:)")
        try SignedNote.checkText(text)
        guard timestamp <= UInt64(Int64.max) else { throw NoteError(.signatureInvalid, "a cosignature time is at most 2^63 - 1") }
        let time = (0..<8).map { UInt8(timestamp >> (56 - 8 * UInt64($0)) & 0xFF) }
        let signature = try identity.sign(NoteKey.cosignedMessage(text: Array(text.utf8), timestamp: timestamp))
        return SignedNote.Signature(name: key.name, keyID: key.keyID, signature: time + signature)
    }

    /// A note of this text signed by this key.
    public func sign(text: String) throws -> SignedNote {
        try SignedNote(text: text, signatures: [signature(for: text)])
    }
}

/// Why a note, key or signature is not acceptable.
public struct NoteError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        public let rawValue: String
        init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// Not a well-formed note, signature line, checkpoint or request.
        public static let malformed = Code("note.malformed")
        /// Over the size limit.
        public static let tooLarge = Code("note.too_large")
        /// Over the signature-count limit.
        public static let tooManySignatures = Code("note.too_many_signatures")
        /// A known key's signature does not verify.
        public static let signatureInvalid = Code("note.signature_invalid")
        /// A known key signed twice.
        public static let duplicateSignature = Code("note.duplicate_signature")
        /// No signature is by a known key.
        public static let noKnownSignature = Code("note.no_known_signature")
        /// A required key did not sign.
        public static let requiredSignatureMissing = Code("note.required_signature_missing")
        /// A verifier key is unusable.
        public static let keyInvalid = Code("note.key_invalid")
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(message) (\(code))" }
}
