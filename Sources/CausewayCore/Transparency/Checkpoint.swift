import Foundation

/// The body of a C2SP `tlog-checkpoint`: the log's origin, its tree size and root hash, and
/// optional extension lines, each ending in a newline.
///
/// ```text
/// erp.acme.example/causeway
/// 48257
/// 1c2ok7Y5eT8yM0l0d8d3S1mQm3u8aWQ2ZtE2l3m4n5o=
/// ```
///
/// Parsing is strict: exactly these lines, each ending in U+000A, a decimal size with no
/// leading zeros, a canonical base64 SHA-256 hash, non-empty extension lines, no control
/// characters. The signatures around the body are a signed note (CausewayTrust `SignedNote`).
public struct Checkpoint: Sendable, Hashable, CustomStringConvertible {
    /// The log's identity, e.g. `erp.acme.example/causeway`.
    public let origin: String
    /// The number of leaves.
    public let size: Int
    /// The RFC 9162 root hash of the first `size` leaves (32 bytes).
    public let rootHash: [UInt8]
    /// Opaque extra lines; Causeway writes none.
    public let extensions: [String]

    /// The largest body accepted when parsing (the origin and extension lines are short in practice).
    public static let maxBodyBytes = 64 * 1024

    public init(origin: String, size: Int, rootHash: [UInt8], extensions: [String] = []) throws(CheckpointError) {
        try Checkpoint.checkLine(origin, "origin")
        guard !origin.contains(where: { $0.isWhitespace || $0 == "+" }) else {
            throw CheckpointError("the checkpoint origin must contain no spaces and no '+' (it is also the signing key's name)")
        }
        guard size >= 0, size <= MerkleTree.maxSize else { throw CheckpointError("the tree size \(size) is outside 0…2^62") }
        guard rootHash.count == 32 else { throw CheckpointError("the root hash has \(rootHash.count) bytes; a SHA-256 hash has 32") }
        for line in extensions { try Checkpoint.checkLine(line, "extension line") }
        self.origin = origin
        self.size = size
        self.rootHash = rootHash
        self.extensions = extensions
    }

    /// Parses a checkpoint body (the note text, final newline included, signatures excluded).
    public init(parsing body: String) throws(CheckpointError) {
        guard body.utf8.count <= Checkpoint.maxBodyBytes else {
            throw CheckpointError("the checkpoint body has \(body.utf8.count) bytes; at most \(Checkpoint.maxBodyBytes) are accepted")
        }
        guard body.utf8.last == 0x0A else { throw CheckpointError("the checkpoint body must end with a newline") }
        let lines = body.utf8.dropLast().split(separator: 0x0A, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        guard lines.count >= 3 else {
            throw CheckpointError("a checkpoint has at least three lines (origin, tree size, root hash), not \(lines.count)")
        }
        let size = try Checkpoint.parseSize(lines[1], field: "tree size")
        guard let root = Base64.decodeCanonical(lines[2]), root.count == 32 else {
            throw CheckpointError("the checkpoint's third line must be the canonical base64 of a 32-byte root hash")
        }
        try self.init(origin: lines[0], size: size, rootHash: root, extensions: Array(lines[3...]))
    }

    /// The body text: origin, size, base64 root and extension lines, each newline-terminated.
    public var body: String {
        ([origin, String(size), Base64.encode(rootHash)] + extensions).map { $0 + "\n" }.joined()
    }

    public var description: String { "\(origin) size \(size) root \(Base64.encode(rootHash))" }

    /// Parses a decimal tree size: ASCII digits, no sign, no leading zeros (except `0`), at most 2^62.
    public static func parseSize(_ text: some StringProtocol, field: String) throws(CheckpointError) -> Int {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty, bytes.count <= 19, bytes.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
            throw CheckpointError("the \(field) must be a decimal number of at most 19 digits, not '\(text.prefix(24))'")
        }
        guard bytes.count == 1 || bytes[0] != 0x30 else {
            throw CheckpointError("the \(field) must not have leading zeros")
        }
        guard let value = Int(String(text)), value <= MerkleTree.maxSize else {
            throw CheckpointError("the \(field) \(text) is larger than 2^62")
        }
        return value
    }

    static func checkLine(_ line: String, _ name: String) throws(CheckpointError) {
        guard !line.isEmpty else { throw CheckpointError("the checkpoint's \(name) must not be empty") }
        guard !line.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) else {
            throw CheckpointError("the checkpoint's \(name) must not contain control characters or newlines")
        }
    }
}

/// Why text is not an acceptable checkpoint.
public struct CheckpointError: Error, Sendable, Hashable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Standard base64 (RFC 4648 §4) with padding, decoding only the canonical form.
public enum Base64 {
    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        Data(bytes).base64EncodedString()
    }

    /// The bytes, or nil unless `text` is exactly the padded standard encoding of them (no
    /// whitespace, no line breaks, no unused bits set): one value has one spelling.
    public static func decodeCanonical(_ text: some StringProtocol) -> [UInt8]? {
        guard text.utf8.count % 4 == 0, let data = Data(base64Encoded: String(text)) else { return nil }
        let bytes = [UInt8](data)
        return encode(bytes) == String(text) ? bytes : nil
    }
}
