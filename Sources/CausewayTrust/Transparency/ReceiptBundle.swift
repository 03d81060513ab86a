public import CausewayCore
import Crypto

/// A receipt with everything a party needs to check, offline, that it is in the gateway's log:
/// the signed receipt, its leaf index, its RFC 9162 inclusion proof and the signed C2SP
/// checkpoint the proof leads to (see Docs/ledger.md, "Receipt bundle").
///
/// ```json
/// {"type": "CausewayReceiptBundle", "v": 1,
///  "receipt": {"type": "DeliveryReceipt", …, "proof": {…}},
///  "index": 48213,
///  "inclusionProof": ["base64 hash", …],
///  "checkpoint": "erp.acme.example/causeway\n48257\n…=\n\n— erp.acme.example/causeway …\n"}
/// ```
///
/// The leaf is SHA-256(0x00 ‖ JCS(the signed receipt, its proof included)). This differs from
/// the receipt's own `ledger.leaf`, the hash chain's leaf, which leaves the proof out.
public struct ReceiptBundle: Sendable, Hashable {
    /// The signed receipt.
    public let receipt: JSONObject
    /// Its leaf index in the log (its `ledger.seq`).
    public let index: Int
    /// The inclusion proof, sibling first.
    public let inclusionProof: [[UInt8]]
    /// The signed checkpoint note text the proof is checked against.
    public let checkpoint: String

    public static let type = "CausewayReceiptBundle"
    /// The largest bundle file a reader accepts.
    public static let maxBytes = 2 << 20

    public init(receipt: JSONObject, index: Int, inclusionProof: [[UInt8]], checkpoint: String) {
        self.receipt = receipt
        self.index = index
        self.inclusionProof = inclusionProof
        self.checkpoint = checkpoint
    }

    /// Reads a bundle's JSON object; names the member that is missing or of the wrong type.
    public init(json: JSONValue) throws(ReceiptBundleError) {
        guard let object = json.objectValue else { throw ReceiptBundleError("a receipt bundle is a JSON object") }
        guard object["type"]?.stringValue == ReceiptBundle.type else {
            throw ReceiptBundleError("the bundle's 'type' must be \"\(ReceiptBundle.type)\"")
        }
        guard object["v"]?.exactInt == 1 else { throw ReceiptBundleError("the bundle's 'v' must be 1") }
        guard let receipt = object["receipt"]?.objectValue else { throw ReceiptBundleError("the bundle's 'receipt' must be the signed receipt object") }
        guard let index = object["index"]?.exactInt, index >= 0 else {
            throw ReceiptBundleError("the bundle's 'index' must be a whole number ≥ 0")
        }
        guard let proofValues = object["inclusionProof"]?.arrayValue, proofValues.count <= MerkleTree.maxProofLength else {
            throw ReceiptBundleError("the bundle's 'inclusionProof' must be an array of at most \(MerkleTree.maxProofLength) base64 hashes")
        }
        var proof: [[UInt8]] = []
        for (position, value) in proofValues.enumerated() {
            guard let hash = value.stringValue.flatMap(Base64.decodeCanonical), hash.count == 32 else {
                throw ReceiptBundleError("inclusionProof[\(position)] must be the canonical base64 of a 32-byte hash")
            }
            proof.append(hash)
        }
        guard let checkpoint = object["checkpoint"]?.stringValue else {
            throw ReceiptBundleError("the bundle's 'checkpoint' must be the signed checkpoint note as a string")
        }
        self.init(receipt: receipt, index: index, inclusionProof: proof, checkpoint: checkpoint)
    }

    /// Reads a bundle file's bytes (at most ``maxBytes``).
    public init(bytes: [UInt8]) throws(ReceiptBundleError) {
        guard bytes.count <= ReceiptBundle.maxBytes else {
            throw ReceiptBundleError("the bundle has \(bytes.count) bytes; at most \(ReceiptBundle.maxBytes) are accepted")
        }
        let value: JSONValue
        do {
            value = try JSONReader(limits: .init(maxBytes: ReceiptBundle.maxBytes, maxDepth: 32)).read(bytes)
        } catch {
            throw ReceiptBundleError("the bundle is not valid JSON: \(error)")
        }
        try self.init(json: value)
    }

    /// The bundle as JSON.
    public var json: JSONValue {
        [
            "type": .string(ReceiptBundle.type), "v": 1, "receipt": .object(receipt), "index": .number(Double(index)),
            "inclusionProof": .array(inclusionProof.map { .string(Base64.encode($0)) }), "checkpoint": .string(checkpoint),
        ]
    }

    /// The bundle as pretty JSON text with a final newline.
    public var text: String { JSONWriter.string(json, style: .pretty) + "\n" }

    /// The log entry of a receipt: JCS(the signed receipt), the bytes a tlog-tiles entry bundle holds.
    public static func entry(of signedReceipt: JSONObject) -> [UInt8] {
        JCS.canonicalize(.object(signedReceipt))
    }

    /// The receipt's leaf hash in the transparency log: SHA-256(0x00 ‖ JCS(signed receipt)).
    public static func leafHash(of signedReceipt: JSONObject) -> [UInt8] {
        MerkleHash.leaf(entry(of: signedReceipt))
    }

    /// What a check found.
    public struct Verification: Sendable {
        /// Every problem; empty when the bundle is valid.
        public let findings: [Finding]
        /// The checkpoint, when it could be read (signed or not).
        public let checkpoint: Checkpoint?
        /// The receipt's leaf hash.
        public let leafHash: [UInt8]
        /// The checkpoint signatures that verified (the log's first, then witnesses').
        public let signatures: [SignedNote.VerifiedSignature]
        /// The DID whose key the receipt and checkpoint were checked against.
        public let gatewayDID: String?

        public var isValid: Bool { !findings.contains { $0.severity == .error } }
    }

    /// Checks the bundle offline, reporting every finding:
    /// (1) the receipt's eddsa-jcs-2022 signature by its issuer (and that the issuer is
    /// `gatewayDID`, when given); (2) the leaf hash; (3) that `index` is the receipt's `ledger.seq`
    /// and the checkpoint's origin its `ledger.origin`; (4) the inclusion proof against the
    /// checkpoint's root; (5) the checkpoint's signature by the gateway's key under its origin.
    ///
    /// - Parameters:
    ///   - gatewayDID: the gateway the party trusts. Without it the receipt's own issuer is used,
    ///     which proves consistency but not whose log it is (a warning says so).
    ///   - witnesses: witness cosigner keys; `requiredCosignatures` of them must have cosigned.
    ///   - gatewayKEL: for a KERI gateway (`did:keri`/`did:webs`), its validated KEL: the receipt is
    ///     checked at the event it names, the checkpoint against the AID's current key.
    public func verify(gatewayDID: String?, witnesses: [NoteKey] = [], requiredCosignatures: Int = 0,
                       gatewayKEL: KERIKeyEventLog? = nil) -> Verification {
        var findings: [Finding] = []
        let leaf = ReceiptBundle.leafHash(of: receipt)
        // The key everything is checked against.
        var gateway: DIDKey? = nil
        if let keri = (gatewayDID ?? receipt["issuer"]?.stringValue).flatMap(KERIDID.init) {
            if let gatewayKEL, gatewayKEL.prefix == keri.aid, gatewayKEL.latestState.keyBytes.count == 1,
                let key = try? Curve25519.Signing.PublicKey(rawRepresentation: gatewayKEL.latestState.keyBytes[0]) {
                gateway = DIDKey(key)
            } else {
                findings.append(Finding(.bundleGatewayInvalid,
                                        "the gateway \(keri.did) is a KERI AID: give its KEL (one signing key) to check the receipt and the checkpoint"))
            }
            if gatewayDID == nil {
                findings.append(Finding(.bundleGatewayNotPinned, "no gateway DID given: checked against the receipt's own issuer \(keri.did); pass --gateway-did to prove whose log this is", severity: .warning))
            }
        } else if let gatewayDID {
            do {
                gateway = try DIDKey(parsing: gatewayDID)
            } catch {
                findings.append(Finding(.bundleGatewayInvalid, "--gateway-did is not a usable Ed25519 did:key: \(error.message)"))
            }
        } else if let issuer = receipt["issuer"]?.stringValue {
            gateway = try? DIDKey(parsing: issuer)
            findings.append(Finding(.bundleGatewayNotPinned, "no gateway DID given: checked against the receipt's own issuer \(issuer); pass --gateway-did to prove whose log this is", severity: .warning))
        }
        // (1) the receipt's signature and issuer.
        findings += ReceiptSigner.verify(receipt, expectedIssuer: gatewayDID, keyStates: gatewayKEL.map { KERIKeyStates([$0]) })
        // (3) position.
        let ledger = receipt["ledger"]?.objectValue
        if let seq = ledger?["seq"]?.exactInt, seq != index {
            findings.append(Finding(.bundleIndexMismatch, "the bundle's index \(index) is not the receipt's ledger.seq \(seq)", path: "$['index']"))
        }
        // The checkpoint: read it even if its signature fails, to report the proof too.
        var checkpoint: Checkpoint? = nil
        var signatures: [SignedNote.VerifiedSignature] = []
        do {
            let note = try SignedNote(parsing: self.checkpoint)
            checkpoint = try Checkpoint(parsing: note.text)
        } catch let error as NoteError {
            findings.append(Finding(.bundleCheckpointMalformed, "the checkpoint is not a signed note: \(error.message)", path: "$['checkpoint']"))
        } catch let error as CheckpointError {
            findings.append(Finding(.bundleCheckpointMalformed, "the checkpoint note's text is not a C2SP checkpoint: \(error.message)", path: "$['checkpoint']"))
        } catch {
            findings.append(Finding(.bundleCheckpointMalformed, "the checkpoint cannot be read", path: "$['checkpoint']"))
        }
        if let checkpoint {
            if let origin = ledger?["origin"]?.stringValue, origin != checkpoint.origin {
                findings.append(Finding(.bundleOriginMismatch, "the checkpoint is for the log '\(checkpoint.origin)', but the receipt names the log '\(origin)'", path: "$['checkpoint']"))
            }
            // (4) inclusion.
            do {
                try MerkleTree.verifyInclusion(leafHash: leaf, index: index, size: checkpoint.size, proof: inclusionProof, root: checkpoint.rootHash)
            } catch {
                findings.append(Finding(.bundleInclusionInvalid, "the receipt is not proved to be leaf \(index) of the checkpoint's tree of \(checkpoint.size): \(error.message)", path: "$['inclusionProof']"))
            }
            // (5) the checkpoint's signature.
            if let gateway {
                do {
                    let opened = try SignedCheckpoint(verifying: self.checkpoint, logKey: gateway, witnesses: witnesses)
                    signatures = opened.verified
                } catch {
                    findings.append(Finding(.bundleCheckpointSignatureInvalid, "the checkpoint is not signed by the gateway \(gateway.did) under the name '\(checkpoint.origin)': \(error.message)", path: "$['checkpoint']"))
                }
            } else {
                findings.append(Finding(.bundleCheckpointSignatureInvalid, "no gateway key to check the checkpoint's signature with", path: "$['checkpoint']"))
            }
            let cosigned = signatures.filter { $0.key.kind == .cosignatureV1 }.count
            if requiredCosignatures > 0, cosigned < requiredCosignatures {
                findings.append(Finding(.bundleCosignaturesMissing, "the checkpoint carries \(cosigned) valid witness cosignature(s); \(requiredCosignatures) are required", path: "$['checkpoint']"))
            }
        }
        return Verification(findings: findings, checkpoint: checkpoint, leafHash: leaf, signatures: signatures, gatewayDID: gateway?.did)
    }
}

/// A file that is not a receipt bundle.
public struct ReceiptBundleError: Error, Sendable, Hashable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension FindingCode {
    // MARK: Receipt bundles
    /// The bundle's index is not the receipt's `ledger.seq`.
    public static let bundleIndexMismatch: FindingCode = "bundle.index_mismatch"
    /// The checkpoint names another log than the receipt's `ledger.origin`.
    public static let bundleOriginMismatch: FindingCode = "bundle.origin_mismatch"
    /// The checkpoint is not a readable signed C2SP checkpoint.
    public static let bundleCheckpointMalformed: FindingCode = "bundle.checkpoint_malformed"
    /// The checkpoint is not signed by the gateway's key under its origin.
    public static let bundleCheckpointSignatureInvalid: FindingCode = "bundle.checkpoint_signature_invalid"
    /// The inclusion proof does not lead from the receipt's leaf to the checkpoint's root.
    public static let bundleInclusionInvalid: FindingCode = "bundle.inclusion_invalid"
    /// Fewer witness cosignatures than required.
    public static let bundleCosignaturesMissing: FindingCode = "bundle.cosignatures_missing"
    /// The gateway DID given to check against is unusable.
    public static let bundleGatewayInvalid: FindingCode = "bundle.gateway_invalid"
    /// No gateway DID was given; the receipt's issuer was trusted (warning).
    public static let bundleGatewayNotPinned: FindingCode = "bundle.gateway_not_pinned"
}
