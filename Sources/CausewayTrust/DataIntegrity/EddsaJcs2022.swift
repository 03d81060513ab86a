public import CausewayCore
import Crypto

/// The `eddsa-jcs-2022` cryptosuite of W3C Data Integrity (vc-di-eddsa §3.3): create and verify.
///
/// Hash data = SHA-256(JCS(proof options without `proofValue`)) ‖ SHA-256(JCS(document)); the
/// Ed25519 signature over those 64 bytes, multibase base58btc, is the `proofValue`. The document
/// is the secured document without `proof` — or, for a proof with `previousProof`, with `proof`
/// set to the array of the proofs it names (vc-data-integrity "Add Proof Set/Chain").
public enum EddsaJcs2022 {
    /// The cryptosuite name.
    public static let cryptosuite = "eddsa-jcs-2022"
    /// The proof type.
    public static let proofType = "DataIntegrityProof"

    /// Options of a new proof.
    public struct ProofOptions: Sendable {
        /// `created`, RFC 3339. Required by Causeway's formats, optional in Data Integrity.
        public var created: String?
        /// An `id` for the proof, so later proofs can chain to it.
        public var id: String?
        /// Ids of earlier proofs this one endorses (a proof chain).
        public var previousProof: [String]
        /// `proofPurpose`; agreements use `assertionMethod`.
        public var proofPurpose: String
        /// Extra members placed in the proof and covered by its signature (e.g. `delegation`).
        public var extraMembers: [(String, JSONValue)]

        public init(created: String? = nil, id: String? = nil, previousProof: [String] = [],
                    proofPurpose: String = "assertionMethod", extraMembers: [(String, JSONValue)] = []) {
            self.created = created
            self.id = id
            self.previousProof = previousProof
            self.proofPurpose = proofPurpose
            self.extraMembers = extraMembers
        }
    }

    /// Creates a proof for `document` (any existing `proof` member is ignored for a proof-set
    /// member, or used for the chain when `previousProof` is set).
    public static func createProof(for document: JSONObject, signer: SigningIdentity, options: ProofOptions) throws(ProofCreationError)
        -> JSONObject
    {
        var config = JSONObject()
        config["type"] = .string(proofType)
        config["cryptosuite"] = .string(cryptosuite)
        if let id = options.id { config["id"] = .string(id) }
        if let created = options.created { config["created"] = .string(created) }
        config["verificationMethod"] = .string(signer.didKey.verificationMethod)
        config["proofPurpose"] = .string(options.proofPurpose)
        if !options.previousProof.isEmpty {
            config["previousProof"] = options.previousProof.count == 1
                ? .string(options.previousProof[0]) : .array(options.previousProof.map(JSONValue.string))
        }
        for (key, value) in options.extraMembers { config[key] = value }
        if let context = document["@context"] { config["@context"] = context }

        let existing = proofList(document["proof"])
        let documentBytes: [UInt8]
        if options.previousProof.isEmpty {
            documentBytes = JCS.canonicalize(.object(document.removing("proof")))
        } else {
            var referenced: [JSONValue] = []
            for id in options.previousProof {
                guard let match = existing.first(where: { $0["id"]?.stringValue == id }) else {
                    throw ProofCreationError(message: "previousProof names '\(id)', but the document has no proof with that id")
                }
                referenced.append(match)
            }
            var chained = document
            chained["proof"] = .array(referenced)
            documentBytes = JCS.canonicalize(.object(chained))
        }
        let hashData = self.hashData(proofConfig: config, documentHash: Array(SHA256.hash(data: documentBytes)))
        let signature: [UInt8]
        do {
            signature = try signer.sign(hashData)
        } catch {
            throw ProofCreationError(message: "signing failed")
        }
        config["proofValue"] = .string(Multibase.encode(signature))
        return config
    }

    /// Adds a new proof to a document, forming a proof set when one is already present.
    public static func addProof(to document: JSONObject, signer: SigningIdentity, options: ProofOptions) throws(ProofCreationError)
        -> JSONObject
    {
        let proof = try createProof(for: document, signer: signer, options: options)
        var signed = document
        switch document["proof"] {
        case nil: signed["proof"] = .object(proof)
        case .array(let array)?: signed["proof"] = .array(array + [.object(proof)])
        case let single?: signed["proof"] = .array([single, .object(proof)])
        }
        return signed
    }

    static func hashData(proofConfig: JSONObject, documentHash: [UInt8]) -> [UInt8] {
        Array(SHA256.hash(data: JCS.canonicalize(.object(proofConfig)))) + documentHash
    }

    static func proofList(_ value: JSONValue?) -> [JSONValue] {
        switch value {
        case nil: []
        case .array(let array)?: array
        case let single?: [single]
        }
    }

    /// Verifies every proof of a secured document and reports each one.
    ///
    /// - Parameters:
    ///   - document: the secured document.
    ///   - canonicalBody: JCS of the document without `proof`, if the caller already has it.
    public static func verifyProofs(in document: JSONObject, canonicalBody: [UInt8]? = nil) -> [ProofCheck] {
        let proofs = proofList(document["proof"])
        guard !proofs.isEmpty else { return [] }
        let body = canonicalBody ?? JCS.canonicalize(.object(document.removing("proof")))
        let bodyHash = Array(SHA256.hash(data: body))
        var checks: [ProofCheck] = []
        checks.reserveCapacity(proofs.count)
        var seenIDs: Set<String> = []
        for (index, proof) in proofs.enumerated() {
            var check = verifyOne(proof, index: index, document: document, allProofs: proofs, bodyHash: bodyHash,
                                  proofCount: proofs.count)
            if let id = check.id, !seenIDs.insert(id).inserted {
                check.findings.append(Finding(.proofDuplicateID, "two proofs carry the id '\(id)'", path: check.path))
                check.status = .malformed
            }
            checks.append(check)
        }
        return checks
    }

    static func verifyOne(_ value: JSONValue, index: Int, document: JSONObject, allProofs: [JSONValue], bodyHash: [UInt8],
                          proofCount: Int) -> ProofCheck
    {
        let path = proofCount == 1 && document["proof"]?.objectValue != nil ? "$['proof']" : "$['proof'][\(index)]"
        var check = ProofCheck(index: index, path: path)
        guard case .object(let proof) = value else {
            check.status = .malformed
            check.findings.append(Finding(.proofMalformed, "a proof must be a JSON object", path: path))
            return check
        }
        check.id = proof["id"]?.stringValue
        check.verificationMethod = proof["verificationMethod"]?.stringValue
        check.created = proof["created"]?.stringValue
        let type = proof["type"]?.stringValue
        let suite = proof["cryptosuite"]?.stringValue
        guard type == proofType, suite == cryptosuite else {
            check.status = .unsupported
            let name = suite ?? type ?? "(none)"
            check.cryptosuite = name
            check.findings.append(Finding(.proofUnsupportedCryptosuite,
                                          "proof uses '\(name)'; this gateway verifies only DataIntegrityProof with eddsa-jcs-2022, so the proof is unchecked (not forged)",
                                          path: path))
            return check
        }
        check.cryptosuite = cryptosuite
        guard case .string(let proofValue)? = proof["proofValue"], let signature = Multibase.decode(proofValue),
            signature.count == 64
        else {
            check.status = .malformed
            check.findings.append(Finding(.proofMalformed, "'proofValue' must be a z-base58btc Ed25519 signature of 64 bytes",
                                          path: path + "['proofValue']"))
            return check
        }
        guard let method = check.verificationMethod else {
            check.status = .malformed
            check.findings.append(Finding(.proofMalformed, "'verificationMethod' is required", path: path + "['verificationMethod']"))
            return check
        }
        let didKey: DIDKey
        let publicKey: Curve25519.Signing.PublicKey
        do {
            didKey = try DIDKey.cached(parsing: method)
            publicKey = try didKey.publicKey()
        } catch {
            check.status = .malformed
            check.findings.append(Finding(.proofVerificationMethodInvalid, "'verificationMethod' is not a usable Ed25519 did:key URL: \(error.message)",
                                          path: path + "['verificationMethod']"))
            return check
        }
        check.did = didKey
        if let created = proof["created"], created.stringValue.flatMap(Timestamp.init(rfc3339:)) == nil {
            check.findings.append(Finding(.proofMalformed, "'created' must be an RFC 3339 date-time", path: path + "['created']"))
        }
        if proof["proofPurpose"]?.stringValue != "assertionMethod" {
            check.findings.append(Finding(.proofPurposeInvalid, "'proofPurpose' must be 'assertionMethod'", path: path + "['proofPurpose']"))
        }

        // Which document bytes this proof signed.
        var documentHash = bodyHash
        var unsecured: JSONObject? = nil
        if let context = proof["@context"] {
            let proofContexts = context.arrayValue ?? [context]
            let documentContexts = document["@context"].map { $0.arrayValue ?? [$0] } ?? []
            guard documentContexts.count >= proofContexts.count,
                Array(documentContexts.prefix(proofContexts.count)) == proofContexts
            else {
                check.status = .invalid
                check.findings.append(Finding(.proofContextMismatch, "the proof's '@context' is not a prefix of the document's '@context'",
                                              path: path + "['@context']"))
                return check
            }
            if document["@context"] != context {
                var replaced = document.removing("proof")
                replaced["@context"] = context
                unsecured = replaced
            }
        }
        if let previous = proof["previousProof"] {
            let ids: [String]
            switch previous {
            case .string(let id): ids = [id]
            case .array(let array) where array.allSatisfy({ $0.stringValue != nil }): ids = array.compactMap(\.stringValue)
            default:
                check.status = .malformed
                check.findings.append(Finding(.proofMalformed, "'previousProof' must be a string or an array of strings",
                                              path: path + "['previousProof']"))
                return check
            }
            var referenced: [JSONValue] = []
            for id in ids {
                guard let match = allProofs.first(where: { $0["id"]?.stringValue == id }) else {
                    check.status = .invalid
                    check.findings.append(Finding(.proofPreviousMissing, "'previousProof' names '\(id)', which is not among the document's proofs",
                                                  path: path + "['previousProof']"))
                    return check
                }
                referenced.append(match)
            }
            var chained = unsecured ?? document.removing("proof")
            chained["proof"] = .array(referenced)
            unsecured = chained
        }
        if let unsecured { documentHash = Array(SHA256.hash(data: JCS.canonicalize(.object(unsecured)))) }

        let (proofBytes, configBytes) = JCS.canonicalize(proof, withAndWithout: "proofValue")
        let hashData = Array(SHA256.hash(data: configBytes)) + documentHash
        if publicKey.isValidSignature(signature, for: hashData) {
            check.status = check.findings.isEmpty ? .verified : .invalid
        } else {
            check.status = .invalid
            check.findings.append(Finding(.proofSignatureInvalid,
                                          "the signature by \(didKey.did) does not match the document and proof options — the content or the proof was changed after signing",
                                          path: path + "['proofValue']"))
        }
        check.proofDigest = ContentDigest(of: proofBytes)
        return check
    }
}

/// The outcome of checking one proof.
public struct ProofCheck: Sendable {
    public enum Status: String, Sendable {
        /// The signature verifies and the proof is well-formed.
        case verified
        /// The proof is checked and fails.
        case invalid
        /// The proof cannot be read.
        case malformed
        /// Another cryptosuite; not checked, not forged.
        case unsupported
    }

    /// Position in the proof set.
    public let index: Int
    /// Normalized path of the proof in the document.
    public let path: String
    public var status: Status = .malformed
    public var id: String?
    public var verificationMethod: String?
    public var cryptosuite: String?
    public var created: String?
    /// The signer's key, when the verification method parsed.
    public var did: DIDKey?
    /// `sha256:` of JCS(proof), for receipts and provenance.
    public var proofDigest: ContentDigest?
    public var findings: [Finding] = []

    public var isVerified: Bool { status == .verified }
}

/// A proof could not be created.
public struct ProofCreationError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
