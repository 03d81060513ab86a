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
        /// The `verificationMethod` to name instead of the signer's did:key URL: a KERI signer's
        /// `did:keri:AID#D…` (see ``KERISigning``). `nil` names the did:key.
        public var verificationMethod: String?

        public init(created: String? = nil, id: String? = nil, previousProof: [String] = [],
                    proofPurpose: String = "assertionMethod", extraMembers: [(String, JSONValue)] = [],
                    verificationMethod: String? = nil) {
            self.created = created
            self.id = id
            self.previousProof = previousProof
            self.proofPurpose = proofPurpose
            self.extraMembers = extraMembers
            self.verificationMethod = verificationMethod
        }
    }

    /// Creates a proof for `document` (any existing `proof` member is ignored for a proof-set
    /// member, or used for the chain when `previousProof` is set).
    /// - Parameter canonicalDocument: the JCS bytes of `document` without its `proof`, when the
    ///   caller has them already (used only for a proof without `previousProof`).
    public static func createProof(for document: JSONObject, signer: SigningIdentity, options: ProofOptions,
                                   canonicalDocument: [UInt8]? = nil) throws(ProofCreationError) -> JSONObject
    {
        var config = JSONObject()
        config["type"] = .string(proofType)
        config["cryptosuite"] = .string(cryptosuite)
        if let id = options.id { config["id"] = .string(id) }
        if let created = options.created { config["created"] = .string(created) }
        config["verificationMethod"] = .string(options.verificationMethod ?? signer.didKey.verificationMethod)
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
            documentBytes = canonicalDocument ?? JCS.canonicalize(.object(document.removing("proof")))
        } else {
            var referenced: [JSONValue] = []
            for id in options.previousProof {
                guard let match = existing.first(where: { ($0["id"]?.stringValue).isExactly(id) }) else {
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
    /// Work is bounded by `limits` (issue 11, finding 1): over ``VerificationLimits/maxProofs``
    /// proofs, no proof is checked and the one check returned carries `proof.too_many`;
    /// `previousProof` ids are bounded, must each name another proof once, and may not form a
    /// cycle; each distinct signed form of the document is hashed once.
    ///
    /// - Parameters:
    ///   - document: the secured document.
    ///   - canonicalBody: JCS of the document without `proof`, if the caller already has it.
    ///   - limits: the bounds on work, and the clock skew.
    ///   - now: the verifier's clock, against which `created` (not in the future) and `expires`
    ///     (not passed) are judged; `nil` skips those time checks.
    public static func verifyProofs(in document: JSONObject, canonicalBody: [UInt8]? = nil,
                                    limits: VerificationLimits = .default, now: Timestamp? = nil) -> [ProofCheck]
    {
        var work = VerificationWork()
        let clock = now.map { VerificationClock(now: $0, skewSeconds: limits.clockSkewSeconds) }
        return verifyProofs(in: document, canonicalBody: canonicalBody, limits: limits, clock: clock, work: &work)
    }

    /// How one proof's `previousProof` resolved.
    enum PreviousProofs {
        case none
        case chain([Int])
        case refused(ProofCheck.Status, Finding)
    }

    static func verifyProofs(in document: JSONObject, canonicalBody: [UInt8]?, limits: VerificationLimits,
                             clock: VerificationClock?, work: inout VerificationWork) -> [ProofCheck]
    {
        let proofs = proofList(document["proof"])
        guard !proofs.isEmpty else { return [] }
        let single = proofs.count == 1 && document["proof"]?.objectValue != nil
        func path(_ index: Int) -> String { single ? "$['proof']" : "$['proof'][\(index)]" }
        guard proofs.count <= limits.maxProofs else {
            var check = ProofCheck(index: 0, path: "$['proof']")
            check.status = .malformed
            check.findings.append(Finding(.proofTooMany,
                                          "the document has \(proofs.count) proofs; at most \(limits.maxProofs) are accepted (limit maxProofs), so none was checked",
                                          path: "$['proof']"))
            return [check]
        }

        // Proof ids, compared exactly; a repeated id names its first proof.
        var indexByID: [ExactKey: Int] = [:]
        for (index, proof) in proofs.enumerated() {
            if let id = proof["id"]?.stringValue, indexByID[ExactKey(id)] == nil { indexByID[ExactKey(id)] = index }
        }
        // Canonical bytes of each proof, once: with `proofValue` (its digest, and what a chain
        // signs) and without (the signed proof options).
        let canonical: [(with: [UInt8], without: [UInt8])?] = proofs.map { value in
            value.objectValue.map { JCS.canonicalize($0, withAndWithout: "proofValue") }
        }
        // previousProof: bounded, every id another existing proof, no repeats.
        var previous: [PreviousProofs] = proofs.indices.map { index in
            resolvePrevious(proofs[index], index: index, path: path(index), indexByID: indexByID, limits: limits)
        }
        // No cycles: a proof cannot sign a proof that (transitively) signs it. (Found on the
        // resolved graph first, then refused, so that refusing one does not hide the others.)
        var cyclic: [Int] = []
        for index in proofs.indices {
            guard case .chain = previous[index] else { continue }
            var seen: Set<Int> = []
            var stack: [Int] = []
            if case .chain(let refs) = previous[index] { stack = refs }
            while let next = stack.popLast() {
                if next == index {
                    cyclic.append(index)
                    break
                }
                guard seen.insert(next).inserted else { continue }
                if case .chain(let refs) = previous[next] { stack += refs }
            }
        }
        for index in cyclic {
            previous[index] = .refused(.invalid, Finding(.proofPreviousInvalid,
                                                         "'previousProof' forms a cycle: the proofs it names lead back to this proof",
                                                         path: path(index) + "['previousProof']"))
        }

        var hasher = SignedDocumentHasher(document: document, canonicalBody: canonicalBody)
        let proofBytes = canonical.map { $0?.with }
        var checks: [ProofCheck] = []
        checks.reserveCapacity(proofs.count)
        var seenIDs: Set<ExactKey> = []
        for (index, proof) in proofs.enumerated() {
            var check = verifyOne(proof, index: index, path: path(index), canonical: canonical[index], previous: previous[index],
                                  hasher: &hasher, proofBytes: proofBytes, limits: limits, clock: clock, work: &work)
            if let id = check.id, !seenIDs.insert(ExactKey(id)).inserted {
                check.findings.append(Finding(.proofDuplicateID, "two proofs carry the id '\(id)'", path: check.path))
                check.status = .malformed
            }
            checks.append(check)
        }
        return checks
    }

    static func resolvePrevious(_ value: JSONValue, index: Int, path: String, indexByID: [ExactKey: Int],
                                limits: VerificationLimits) -> PreviousProofs
    {
        guard let previous = value["previousProof"] else { return .none }
        let at = path + "['previousProof']"
        let ids: [String]
        switch previous {
        case .string(let id): ids = [id]
        case .array(let array) where array.count > limits.maxPreviousProofs:
            return .refused(.malformed, Finding(.proofPreviousTooMany,
                                                "'previousProof' names \(array.count) proofs; at most \(limits.maxPreviousProofs) are accepted (limit maxPreviousProofs)",
                                                path: at))
        case .array(let array) where array.allSatisfy({ $0.stringValue != nil }):
            ids = array.compactMap(\.stringValue)
        default:
            return .refused(.malformed, Finding(.proofMalformed, "'previousProof' must be a string or an array of strings", path: at))
        }
        var chain: [Int] = []
        for id in ids {
            guard let match = indexByID[ExactKey(id)] else {
                return .refused(.invalid, Finding(.proofPreviousMissing,
                                                  "'previousProof' names '\(id)', which is not among the document's proofs", path: at))
            }
            guard match != index else {
                return .refused(.invalid, Finding(.proofPreviousInvalid, "'previousProof' names the proof itself ('\(id)')", path: at))
            }
            guard !chain.contains(match) else {
                return .refused(.invalid, Finding(.proofPreviousInvalid, "'previousProof' names '\(id)' more than once", path: at))
            }
            chain.append(match)
        }
        return .chain(chain)
    }

    static func verifyOne(_ value: JSONValue, index: Int, path: String, canonical: (with: [UInt8], without: [UInt8])?,
                          previous: PreviousProofs, hasher: inout SignedDocumentHasher, proofBytes: [[UInt8]?],
                          limits: VerificationLimits, clock: VerificationClock?, work: inout VerificationWork) -> ProofCheck
    {
        var check = ProofCheck(index: index, path: path)
        guard case .object(let proof) = value, let canonical else {
            check.status = .malformed
            check.findings.append(Finding(.proofMalformed, "a proof must be a JSON object", path: path))
            return check
        }
        check.id = proof["id"]?.stringValue
        check.verificationMethod = proof["verificationMethod"]?.stringValue
        check.created = proof["created"]?.stringValue
        let type = proof["type"]?.stringValue
        let suite = proof["cryptosuite"]?.stringValue
        guard type.isExactly(proofType), suite.isExactly(cryptosuite) else {
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
        let signerName: String
        let publicKey: Curve25519.Signing.PublicKey
        if KERIDID.isKERIMethod(method) {
            // A KERI signer: `did:keri:AID#D…` (or did:webs) and the establishment event it signs under.
            switch KERISignerReference.read(method: method, proof: proof, path: path) {
            case .failure(let finding):
                check.status = finding.code == .didKeyWeak ? .invalid : .malformed
                check.findings.append(finding)
                return check
            case .success(let (reference, key)):
                check.keri = reference
                publicKey = key
                signerName = reference.did
            }
        } else {
            let didKey: DIDKey
            do {
                didKey = try DIDKey.cached(parsing: method)
                publicKey = try didKey.publicKey()
            } catch {
                if error.code == .weakPublicKey {
                    check.status = .invalid
                    check.findings.append(Finding(.didKeyWeak, "'verificationMethod' cannot sign: \(error.message)",
                                                  path: path + "['verificationMethod']"))
                } else {
                    check.status = .malformed
                    check.findings.append(Finding(.proofVerificationMethodInvalid, "'verificationMethod' is not a usable Ed25519 did:key URL: \(error.message)",
                                                  path: path + "['verificationMethod']"))
                }
                return check
            }
            check.did = didKey
            signerName = didKey.did
        }
        // `created` may not lie in the future, `expires` not in the past, by the verifier's clock.
        func checkTime(_ member: String, _ code: FindingCode, isOutside: (VerificationClock, Timestamp) -> Bool,
                       _ message: (Timestamp, VerificationClock) -> String)
        {
            guard let value = proof[member] else { return }
            guard let time = value.stringValue.flatMap(Timestamp.init(rfc3339:)) else {
                check.findings.append(Finding(.proofMalformed, "'\(member)' must be an RFC 3339 date-time", path: path + "['\(member)']"))
                return
            }
            if let clock, isOutside(clock, time) {
                check.findings.append(Finding(code, message(time, clock), path: path + "['\(member)']"))
            }
        }
        checkTime("created", .proofCreatedInFuture, isOutside: { $0.isFuture($1) }) { time, clock in
            "'created' (\(time)) is after this gateway's clock (\(clock.now), \(clock.skewText)); a proof cannot be made in the future"
        }
        checkTime("expires", .proofExpired, isOutside: { $0.isPast($1) }) { time, clock in
            "the proof expired at \(time), before this gateway's clock (\(clock.now), \(clock.skewText)); the signer must sign again"
        }
        if !(proof["proofPurpose"]?.stringValue).isExactly("assertionMethod") {
            check.findings.append(Finding(.proofPurposeInvalid, "'proofPurpose' must be 'assertionMethod'", path: path + "['proofPurpose']"))
        }

        // Which form of the document this proof signed.
        var form = SignedDocumentHasher.Form()
        if let context = proof["@context"] {
            let proofContexts = context.arrayValue ?? [context]
            let (documentContext, documentTooLarge) = hasher.documentContext(limits: limits)
            let contextBytes = proofContexts.count <= limits.maxContextEntries ? JCS.canonicalize(context) : nil
            guard !documentTooLarge, let contextBytes, contextBytes.count <= limits.maxContextBytes else {
                check.status = .malformed
                check.findings.append(Finding(.proofContextTooLarge,
                                              "an '@context' may have at most \(limits.maxContextEntries) entries and \(limits.maxContextBytes) bytes (limits maxContextEntries, maxContextBytes)",
                                              path: documentTooLarge ? "$['@context']" : path + "['@context']"))
                return check
            }
            let documentEntries = documentContext?.entries ?? []
            guard documentEntries.count >= proofContexts.count,
                zip(documentEntries, proofContexts).allSatisfy({ $0 == JCS.canonicalize($1) })
            else {
                check.status = .invalid
                check.findings.append(Finding(.proofContextMismatch, "the proof's '@context' is not a prefix of the document's '@context'",
                                              path: path + "['@context']"))
                return check
            }
            if documentContext?.bytes != contextBytes { form.context = contextBytes }
        }
        switch previous {
        case .none: break
        case .chain(let chain): form.chain = chain
        case .refused(let status, let finding):
            check.status = status
            check.findings.append(finding)
            return check
        }
        let documentHash = hasher.hash(form, proofBytes: proofBytes, work: &work)

        check.proofDigest = ContentDigest(of: canonical.with)
        // Refuse what BoringSSL's Ed25519 would accept but RFC 8032 (and non-repudiation) forbid.
        if let problem = Ed25519Encoding.problem(withPoint: signature[0..<32]) {
            check.status = .invalid
            check.findings.append(Finding(.proofSignatureNoncanonical,
                                          problem == .smallOrder
                                              ? "the signature's R is a point of small order; such signatures can be forged"
                                              : "the signature's R is not canonically encoded",
                                          path: path + "['proofValue']"))
            return check
        }
        guard Ed25519Encoding.isReducedScalar(signature[32..<64]) else {
            check.status = .invalid
            check.findings.append(Finding(.proofSignatureNoncanonical, "the signature's S is not below the group order L (RFC 8032 §5.1.7)",
                                          path: path + "['proofValue']"))
            return check
        }
        let hashData = Array(SHA256.hash(data: canonical.without)) + documentHash
        work.signatureChecks += 1
        if publicKey.isValidSignature(signature, for: hashData) {
            check.status = check.findings.isEmpty ? .verified : .invalid
        } else {
            check.status = .invalid
            check.findings.append(Finding(.proofSignatureInvalid,
                                          "the signature by \(signerName) does not match the document and proof options — the content or the proof was changed after signing",
                                          path: path + "['proofValue']"))
        }
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
    /// The KERI signer (AID, key and claimed establishment event), when the verification method is
    /// a `did:keri` or `did:webs` URL; then ``did`` is nil. The key state is checked by
    /// ``AgreementVerifier`` against the AID's key event log, not here.
    public var keri: KERISignerReference?
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
