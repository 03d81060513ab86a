public import CausewayCore

/// A C2SP checkpoint signed as a note by the log's key, optionally with witness cosignatures.
///
/// The log key's name is the checkpoint origin and its key is the gateway identity's Ed25519
/// key (the one its `did:key` names), so a partner who knows the gateway DID and the origin can
/// check a checkpoint with nothing else:
///
/// ```swift
/// let note = try SignedCheckpoint.sign(checkpoint, with: gatewayIdentity).formatted
/// let opened = try SignedCheckpoint(verifying: note, logKey: gatewayDID)
/// opened.checkpoint.size
/// ```
public struct SignedCheckpoint: Sendable, Hashable {
    public let checkpoint: Checkpoint
    public let note: SignedNote
    /// The signatures that verified: the log's, then any configured witnesses'.
    public let verified: [SignedNote.VerifiedSignature]

    /// Signs a checkpoint with the gateway's key under the checkpoint's origin.
    public static func sign(_ checkpoint: Checkpoint, with identity: SigningIdentity) throws -> SignedNote {
        try NoteSigner(name: checkpoint.origin, identity: identity).sign(text: checkpoint.body)
    }

    /// The log's note key for an origin and a gateway DID.
    public static func logKey(origin: String, gateway: DIDKey) throws(NoteError) -> NoteKey {
        try NoteKey(name: origin, didKey: gateway)
    }

    /// Parses and verifies a signed checkpoint note: the log's signature (by `logKey` under the
    /// checkpoint's origin) is required; cosignatures by `witnesses` are checked when present and
    /// returned in ``verified``; other signatures are ignored.
    ///
    /// - Parameter expectedOrigin: when given, the checkpoint's origin must equal it.
    public init(verifying text: String, logKey gateway: DIDKey, expectedOrigin: String? = nil, witnesses: [NoteKey] = []) throws(NoteError) {
        let note = try SignedNote(parsing: text)
        let checkpoint: Checkpoint
        do {
            checkpoint = try Checkpoint(parsing: note.text)
        } catch {
            throw NoteError(.malformed, "the note is not a checkpoint: \(error.message)")
        }
        if let expectedOrigin, checkpoint.origin != expectedOrigin {
            throw NoteError(.malformed, "the checkpoint is for the log '\(checkpoint.origin)', not '\(expectedOrigin)'")
        }
        let log = try NoteKey(name: checkpoint.origin, didKey: gateway)
        verified = try note.verify(with: [log] + witnesses, requiring: [log])
        self.checkpoint = checkpoint
        self.note = note
    }
}

/// The body of a C2SP `tlog-witness` `add-checkpoint` request: `old <size>`, up to 63
/// consistency proof lines (base64 hashes), a blank line, then the signed checkpoint note.
///
/// ```text
/// old 20852014
/// PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=
///
/// example.com/behind-the-sofa
/// 20852163
/// CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=
///
/// — example.com/behind-the-sofa Az3g…
/// ```
public struct AddCheckpointRequest: Sendable, Hashable {
    /// The size of the checkpoint the witness last cosigned (0 if none).
    public let oldSize: Int
    /// The consistency proof from `oldSize` to the checkpoint's size.
    public let consistencyProof: [[UInt8]]
    /// The signed checkpoint note, as text.
    public let checkpointNote: String

    /// The most proof lines a request may carry.
    public static let maxProofLines = 63

    public init(oldSize: Int, consistencyProof: [[UInt8]], checkpointNote: String) {
        self.oldSize = oldSize
        self.consistencyProof = consistencyProof
        self.checkpointNote = checkpointNote
    }

    /// Parses a request body strictly (at most ``SignedNote/maxBytes`` plus the proof).
    public init(parsing body: String) throws(NoteError) {
        let bytes = Array(body.utf8)
        guard bytes.count <= SignedNote.maxBytes + 8 * 1024 else {
            throw NoteError(.tooLarge, "the add-checkpoint request has \(bytes.count) bytes; too large")
        }
        // Header lines run up to the first blank line.
        var lines: [String] = []
        var at = 0
        while true {
            guard let end = bytes[at...].firstIndex(of: 0x0A) else {
                throw NoteError(.malformed, "the add-checkpoint request has no blank line before its checkpoint")
            }
            if end == at { at += 1; break }
            lines.append(String(decoding: bytes[at..<end], as: UTF8.self))
            at = end + 1
            guard lines.count <= AddCheckpointRequest.maxProofLines + 1 else {
                throw NoteError(.malformed, "the add-checkpoint request has more than \(AddCheckpointRequest.maxProofLines) consistency proof lines")
            }
        }
        guard let first = lines.first, first.hasPrefix("old ") else {
            throw NoteError(.malformed, "the add-checkpoint request must begin with 'old <size>'")
        }
        do {
            oldSize = try Checkpoint.parseSize(first.dropFirst(4), field: "old size")
        } catch {
            throw NoteError(.malformed, error.message)
        }
        var proof: [[UInt8]] = []
        for (number, line) in lines.dropFirst().enumerated() {
            guard let hash = Base64.decodeCanonical(line), hash.count == 32 else {
                throw NoteError(.malformed, "consistency proof line \(number + 1) is not the base64 of a 32-byte hash")
            }
            proof.append(hash)
        }
        consistencyProof = proof
        checkpointNote = String(decoding: bytes[at...], as: UTF8.self)
    }

    /// The request body text.
    public var formatted: String {
        "old \(oldSize)\n" + consistencyProof.map { Base64.encode($0) + "\n" }.joined() + "\n" + checkpointNote
    }
}
