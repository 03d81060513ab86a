public import Crypto
import CausewayCore
import Foundation

/// An Ed25519 private key with its `did:key`, as `causeway keys new` writes it.
///
/// The key file is JSON (see Docs/agreement-format.md, "Key files"):
///
/// ```json
/// {"type": "CausewayKey", "v": 1, "did": "did:key:z6Mk…",
///  "privateKeyMultibase": "z3u2…"}
/// ```
///
/// `privateKeyMultibase` is multibase base58btc of the multicodec `ed25519-priv` header
/// (`0x80 0x26`) followed by the 32-byte seed, the same encoding as the W3C test vectors' key pairs.
/// The file is created with mode 0600 and never logged.
public struct SigningIdentity: Sendable {
    /// The private key.
    public let privateKey: Curve25519.Signing.PrivateKey
    /// The public identity.
    public let didKey: DIDKey

    static let privatePrefix: [UInt8] = [0x80, 0x26]

    /// A new random key.
    public init() {
        self.init(privateKey: Curve25519.Signing.PrivateKey())
    }

    public init(privateKey: Curve25519.Signing.PrivateKey) {
        self.privateKey = privateKey
        didKey = DIDKey(privateKey.publicKey)
    }

    /// The key for a 32-byte seed.
    public init(seed: [UInt8]) throws(KeyFileError) {
        guard seed.count == 32, let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: seed) else {
            throw KeyFileError("an Ed25519 seed has 32 bytes, not \(seed.count)")
        }
        self.init(privateKey: key)
    }

    /// The key from `privateKeyMultibase` (`z` + base58btc of `0x8026` + seed).
    public init(privateKeyMultibase: String) throws(KeyFileError) {
        guard let bytes = Multibase.decode(privateKeyMultibase), bytes.count == 34,
            Array(bytes.prefix(2)) == SigningIdentity.privatePrefix
        else {
            throw KeyFileError("'privateKeyMultibase' must be z-base58btc of the ed25519-priv header 0x8026 and a 32-byte seed")
        }
        try self.init(seed: Array(bytes[2...]))
    }

    /// `privateKeyMultibase` of this key.
    public var privateKeyMultibase: String {
        Multibase.encode(SigningIdentity.privatePrefix + Array(privateKey.rawRepresentation))
    }

    /// The key file's JSON text.
    public func keyFileContents() -> String {
        let object: JSONValue = [
            "type": "CausewayKey", "v": 1, "did": .string(didKey.did), "privateKeyMultibase": .string(privateKeyMultibase),
        ]
        return JSONWriter.string(object, style: .pretty) + "\n"
    }

    /// Reads a key file's text, checking that its `did` matches its private key.
    public init(keyFileContents text: String) throws(KeyFileError) {
        let value: JSONValue
        do {
            value = try JSONReader(limits: .init(maxBytes: 16 * 1024, maxDepth: 4)).read(text)
        } catch {
            throw KeyFileError("the key file is not valid JSON: \(error)")
        }
        guard value["type"]?.stringValue == "CausewayKey" else {
            throw KeyFileError("the key file must have \"type\": \"CausewayKey\"")
        }
        guard let multibase = value["privateKeyMultibase"]?.stringValue else {
            throw KeyFileError("the key file has no 'privateKeyMultibase'")
        }
        try self.init(privateKeyMultibase: multibase)
        if let did = value["did"]?.stringValue, did != didKey.did {
            throw KeyFileError("the key file's 'did' does not belong to its private key")
        }
    }

    /// Reads a key file from disk.
    public init(contentsOfKeyFile path: String) throws(KeyFileError) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw KeyFileError("cannot read the key file \(path)")
        }
        try self.init(keyFileContents: String(decoding: data, as: UTF8.self))
    }

    /// Writes the key file with mode 0600; refuses to overwrite an existing file.
    public func writeKeyFile(to path: String) throws(KeyFileError) {
        let contents = Array(keyFileContents().utf8)
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else {
            throw KeyFileError(errno == EEXIST ? "\(path) already exists; a key file is never overwritten" : "cannot create \(path)")
        }
        defer { close(fd) }
        let written = contents.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == contents.count, fsync(fd) == 0 else { throw KeyFileError("cannot write \(path)") }
    }

    /// Signs bytes (Ed25519).
    public func sign(_ message: [UInt8]) throws -> [UInt8] {
        Array(try privateKey.signature(for: message))
    }
}

/// A key file or key value that cannot be used.
public struct KeyFileError: Error, Sendable, CustomStringConvertible {
    public let message: String
    init(_ message: String) { self.message = message }
    public var description: String { message }
}
