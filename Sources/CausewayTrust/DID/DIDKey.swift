public import Crypto

/// A `did:key` identifier for an Ed25519 public key (multicodec `0xed01`, multibase base58btc).
///
/// ```swift
/// let did = try DIDKey(parsing: "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK")
/// did.verificationMethod  // "did:key:z6Mkha…#z6Mkha…"
/// ```
public struct DIDKey: Sendable, Hashable, CustomStringConvertible {
    /// The 32-byte Ed25519 public key.
    public let publicKeyBytes: [UInt8]
    /// The multibase value (`z6Mk…`), as used in `publicKeyMultibase`; computed once.
    public let publicKeyMultibase: String
    /// `did:key:z6Mk…`.
    public let did: String
    /// The verification method id, `did:key:z6Mk…#z6Mk…`.
    public let verificationMethod: String

    /// The multicodec prefix of an Ed25519 public key (`ed25519-pub`, varint of 0xed).
    static let ed25519Prefix: [UInt8] = [0xED, 0x01]

    /// The DID for a raw 32-byte Ed25519 public key; weak keys are refused (see ``checkStrength(_:)``).
    public init(publicKey: [UInt8]) throws(DIDKeyError) {
        guard publicKey.count == 32 else { throw DIDKeyError(.invalidPublicKeyLength, "an Ed25519 public key has 32 bytes, not \(publicKey.count)") }
        try DIDKey.checkStrength(publicKey)
        publicKeyBytes = publicKey
        publicKeyMultibase = Multibase.encode(DIDKey.ed25519Prefix + publicKey)
        did = "did:key:" + publicKeyMultibase
        verificationMethod = did + "#" + publicKeyMultibase
    }

    /// The DID of a swift-crypto public key.
    public init(_ key: Curve25519.Signing.PublicKey) {
        publicKeyBytes = Array(key.rawRepresentation)
        publicKeyMultibase = Multibase.encode(DIDKey.ed25519Prefix + publicKeyBytes)
        did = "did:key:" + publicKeyMultibase
        verificationMethod = did + "#" + publicKeyMultibase
    }

    /// Parses `did:key:z6Mk…`, or a DID URL `did:key:z6Mk…#z6Mk…` whose fragment names the same key.
    ///
    /// The text must be ASCII and is compared byte for byte (never with Unicode equivalence), and
    /// the key must be a canonical encoding of a point that is not of small order
    /// (``DIDKeyError/Code-swift.struct/weakPublicKey``).
    public init(parsing text: String) throws(DIDKeyError) {
        guard text.utf8.allSatisfy({ $0 < 0x80 }) else {
            throw DIDKeyError(.invalidDid, "a did:key identifier is ASCII; this one holds other characters")
        }
        var did = Substring(text)
        if let hash = text.firstIndex(of: "#") {
            did = text[..<hash]
            let fragment = text[text.index(after: hash)...]
            guard fragment.utf8.elementsEqual(did.utf8.dropFirst("did:key:".utf8.count)) else {
                throw DIDKeyError(.invalidVerificationMethod,
                                  "the fragment of a did:key verification method must repeat the key (did:key:X#X)")
            }
        }
        guard did.utf8.starts(with: "did:key:".utf8) else {
            throw DIDKeyError(.invalidDid, "not a did:key identifier (expected 'did:key:z…')")
        }
        let multibase = did.dropFirst("did:key:".count)
        guard multibase.first == "z" else {
            throw DIDKeyError(.invalidDid, "the did:key value must be multibase base58btc and begin with 'z'")
        }
        guard let decoded = Multibase.decode(multibase) else {
            throw DIDKeyError(.invalidDid, "the did:key value is not valid base58btc")
        }
        guard decoded.count >= 2 else { throw DIDKeyError(.invalidDid, "the did:key value is too short to hold a key") }
        guard decoded[0] == 0xED, decoded[1] == 0x01 else {
            let header = decoded.prefix(2).map { String($0, radix: 16) }.joined()
            throw DIDKeyError(.unsupportedKeyType,
                              "the did:key holds a key of multicodec 0x\(header), but only Ed25519 (0xed01) signs agreements")
        }
        guard decoded.count == 34 else {
            throw DIDKeyError(.invalidPublicKeyLength, "an Ed25519 did:key holds 32 key bytes, not \(decoded.count - 2)")
        }
        publicKeyBytes = Array(decoded[2...])
        try DIDKey.checkStrength(publicKeyBytes)
        publicKeyMultibase = String(multibase)
        self.did = String(did)
        verificationMethod = self.did + "#" + publicKeyMultibase
    }


    public var description: String { did }

    /// Refuses a public key that a forger could use: a non-canonical encoding (y ≥ p) or one of
    /// the eight points of small order, for which signatures such as R = identity, S = 0 verify
    /// over any message.
    public static func checkStrength(_ publicKey: [UInt8]) throws(DIDKeyError) {
        switch Ed25519Encoding.problem(withPoint: publicKey) {
        case nil: return
        case .nonCanonical?:
            throw DIDKeyError(.weakPublicKey, "the Ed25519 public key is not canonically encoded (its y coordinate is not below 2^255 - 19)")
        case .smallOrder?:
            throw DIDKeyError(.weakPublicKey, "the Ed25519 public key is a point of small order, for which signatures can be forged")
        }
    }

    /// The key for signature checks.
    public func publicKey() throws(DIDKeyError) -> Curve25519.Signing.PublicKey {
        do {
            return try Curve25519.Signing.PublicKey(rawRepresentation: publicKeyBytes)
        } catch {
            throw DIDKeyError(.invalidPublicKey, "the did:key does not hold a valid Ed25519 public key")
        }
    }
}

/// Why a string is not an acceptable Ed25519 `did:key`.
public struct DIDKeyError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The reason, named as the did:key test suite names them.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        public let rawValue: String
        init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// Not syntactically a base58btc `did:key`.
        public static let invalidDid = Code("invalidDid")
        /// The multicodec header names another key type (secp256k1, X25519, …).
        public static let unsupportedKeyType = Code("unsupportedPublicKeyType")
        /// The key bytes have the wrong length.
        public static let invalidPublicKeyLength = Code("invalidPublicKeyLength")
        /// The bytes are not a valid Ed25519 public key.
        public static let invalidPublicKey = Code("invalidPublicKey")
        /// The key is a small-order point or not canonically encoded: signatures by it prove nothing.
        public static let weakPublicKey = Code("weakPublicKey")
        /// The DID URL's fragment does not name the DID's own key.
        public static let invalidVerificationMethod = Code("invalidVerificationMethod")
    }

    public let code: Code
    public let message: String

    init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(message) (\(code))" }
}

import Synchronization

extension DIDKey {
    /// Parsed verification methods, so that a partner's keys are decoded once, not per agreement.
    /// Bounded: when full it is cleared, which costs one decode per key afterwards.
    /// Keyed by the exact text (``ExactKey``): a Unicode-equivalent spelling is a different key.
    private static let cache = Mutex<[ExactKey: DIDKey]>([:])
    private static let cacheLimit = 4096

    /// Parses like ``init(parsing:)``, remembering successful results.
    public static func cached(parsing text: String) throws(DIDKeyError) -> DIDKey {
        let key = ExactKey(text)
        if let hit = cache.withLock({ $0[key] }) { return hit }
        let parsed = try DIDKey(parsing: text)
        cache.withLock { entries in
            if entries.count >= cacheLimit { entries.removeAll(keepingCapacity: true) }
            entries[key] = parsed
        }
        return parsed
    }
}
