import CausewayCore
public import CausewayTrust
public import Foundation
public import Logging

/// The gateway as a C2SP `tlog-witness` for other logs (Docs/ledger.md, Witnesses): it cosigns a
/// configured log's checkpoint only after checking the log's signature and a consistency proof
/// from the last checkpoint it cosigned for that log, so that a log cannot show this witness two
/// different histories.
///
/// State: per log, the last cosigned checkpoint as a signed note (the log's signature and this
/// witness's cosignature) in `<state>/witnessed/<sha256(origin) hex>.checkpoint`, written
/// atomically before the cosignature is returned. An actor serializes each check-and-persist, and
/// a `flock` on the state folder's lock file covers other processes sharing the folder.
public actor LedgerWitness {
    /// What `add-checkpoint` answers; each case maps to the status the spec names.
    public enum Outcome: Sendable, Equatable {
        /// 200: the cosignature line(s).
        case cosigned(String)
        /// 400: the body is not a well-formed request, or the old size exceeds the checkpoint's.
        case badRequest(String)
        /// 403: no valid signature by the log's configured key.
        case forbidden(String)
        /// 404: this witness is not configured for the origin.
        case unknownLog(String)
        /// 409: the old size is not the size last cosigned; the body is that size.
        case conflict(Int)
        /// 422: the consistency proof does not verify (or a size-0 root is not the empty root).
        case unprocessable(String)
    }

    /// The logs witnessed, by origin.
    let logs: [String: NoteKey]
    let signer: NoteSigner
    let folder: String
    let logger: Logger
    let now: @Sendable () -> UInt64
    /// The last cosigned checkpoint per origin, read from disk once.
    private var cache: [String: (size: Int, root: [UInt8])] = [:]

    /// The largest request body read (a checkpoint with many signatures and 63 proof lines fits).
    public static let maxRequestBytes = 64 * 1024

    /// - Parameters:
    ///   - logs: origin → the log's checkpoint key (type 0x01).
    ///   - name: the key name of this witness's cosignatures.
    ///   - identity: the gateway's key; it cosigns as a cosignature/v1 key (type 0x04, a different key id).
    ///   - folder: the witness state folder (``GatewayConfiguration/witnessStateDirectory``).
    public init(logs: [String: NoteKey], name: String, identity: SigningIdentity, folder: String, logger: Logger,
                now: @escaping @Sendable () -> UInt64 = { UInt64(max(Date().timeIntervalSince1970, 1)) }) throws(NoteError) {
        self.logs = logs
        signer = try NoteSigner(name: name, identity: identity, kind: .cosignatureV1)
        self.folder = folder
        self.logger = logger
        self.now = now
    }

    /// This witness's verifier key, as a log configures it (`ledger.witnesses[].key` in partner.yaml).
    public nonisolated var vkey: String { signer.key.vkey }

    /// The state file of one log.
    static func stateFile(folder: String, origin: String) -> String {
        "\(folder)/witnessed/\(originHash(origin)).checkpoint"
    }

    /// The lowercase hex SHA-256 of an origin: how the spec's monitoring path names a log.
    public static func originHash(_ origin: String) -> String {
        ContentDigest(of: Array(origin.utf8)).hex
    }

    /// The checkpoint this witness last cosigned for `origin` (log signature and cosignature), or nil.
    public func latest(originHash hash: String) throws -> String? {
        guard hash.utf8.count == 64, hash.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else { return nil }
        guard logs.keys.contains(where: { Self.originHash($0) == hash }) else { return nil }
        return try PrivateFile.read("\(folder)/witnessed/\(hash).checkpoint", maxBytes: SignedNote.maxBytes).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The size and root last cosigned for `origin`; (0, empty root) when none.
    func state(of origin: String) throws -> (size: Int, root: [UInt8]) {
        if let known = cache[origin] { return known }
        guard let bytes = try PrivateFile.read(Self.stateFile(folder: folder, origin: origin), maxBytes: SignedNote.maxBytes) else {
            return (0, MerkleHash.empty)
        }
        let note = try SignedNote(parsing: bytes)
        let checkpoint = try Checkpoint(parsing: note.text)
        cache[origin] = (checkpoint.size, checkpoint.rootHash)
        return (checkpoint.size, checkpoint.rootHash)
    }

    /// Handles one `add-checkpoint` request body, as C2SP tlog-witness specifies.
    public func addCheckpoint(_ body: [UInt8]) throws -> Outcome {
        guard let text = String(validating: body, as: UTF8.self) else { return .badRequest("the request body is not UTF-8") }
        let request: AddCheckpointRequest
        let note: SignedNote
        let checkpoint: Checkpoint
        do {
            request = try AddCheckpointRequest(parsing: text)
            note = try SignedNote(parsing: request.checkpointNote)
            checkpoint = try Checkpoint(parsing: note.text)
        } catch let error as NoteError {
            return .badRequest(error.message)
        } catch let error as CheckpointError {
            return .badRequest("the note is not a checkpoint: \(error.message)")
        }
        guard let key = logs[checkpoint.origin] else {
            return .unknownLog("this witness is not configured for the log '\(checkpoint.origin)'")
        }
        do {
            try note.verify(with: [key], requiring: [key])
        } catch {
            return .forbidden("the checkpoint is not signed by the configured key of \(checkpoint.origin): \(error.message)")
        }
        guard request.oldSize <= checkpoint.size else {
            return .badRequest("the old size \(request.oldSize) is larger than the checkpoint's size \(checkpoint.size)")
        }
        if checkpoint.size == 0, checkpoint.rootHash != MerkleHash.empty {
            return .unprocessable("a checkpoint of size 0 must have the empty tree's root")
        }
        return try withStateLock {
            let last = try state(of: checkpoint.origin)
            guard request.oldSize == last.size else { return .conflict(last.size) }
            if request.oldSize == 0, !request.consistencyProof.isEmpty {
                return .unprocessable("the old size is 0, so the consistency proof must be empty")
            }
            do {
                try MerkleTree.verifyConsistency(oldSize: last.size, newSize: checkpoint.size, oldRoot: last.root, newRoot: checkpoint.rootHash,
                                                 proof: request.consistencyProof)
            } catch let error as MerkleProofError {
                // Signed by the log and inconsistent with what it showed before: evidence of misbehaviour.
                logger.error("witness: a signed checkpoint is not consistent with the one cosigned before; not cosigned", metadata: [
                    "log.origin": .string(checkpoint.origin), "cosigned.size": .stringConvertible(last.size),
                    "cosigned.root": .string(Base64.encode(last.root)), "offered.size": .stringConvertible(checkpoint.size),
                    "offered.root": .string(Base64.encode(checkpoint.rootHash)), "reason": .string(error.message),
                ])
                try? PrivateFile.write(Array(note.formatted.utf8), to: Self.stateFile(folder: folder, origin: checkpoint.origin) + ".inconsistent")
                return .unprocessable("the consistency proof from size \(last.size) to \(checkpoint.size) does not verify: \(error.message)")
            }
            let cosignature = try signer.cosignature(for: note.text, timestamp: now())
            // Persist before answering: the log's signature and this cosignature, nothing else.
            let kept = try SignedNote(text: note.text, signatures: note.signatures.filter { $0.name == key.name && $0.keyID == key.keyID } + [cosignature])
            try PrivateFile.write(Array(kept.formatted.utf8), to: Self.stateFile(folder: folder, origin: checkpoint.origin))
            cache[checkpoint.origin] = (checkpoint.size, checkpoint.rootHash)
            return .cosigned(cosignature.line)
        }
    }

    /// Runs `body` holding an exclusive `flock` on `<folder>/witnessed/.lock`.
    private func withStateLock<T>(_ body: () throws -> T) throws -> T {
        let lockPath = "\(folder)/witnessed/.lock"
        try FileManager.default.createDirectory(atPath: "\(folder)/witnessed", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let fd = open(lockPath, O_RDWR | O_CREAT, 0o600)
        guard fd >= 0 else { throw PrivateFileError("cannot open the witness lock \(lockPath): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard flock(fd, LOCK_EX) == 0 else { throw PrivateFileError("cannot lock \(lockPath): \(String(cString: strerror(errno)))") }
        defer { flock(fd, LOCK_UN) }
        // Another process may have moved the state on: read it afresh under the lock.
        cache = [:]
        return try body()
    }
}

extension GatewayConfiguration {
    /// The configured logs' keys, and a problem for each key that is unusable.
    public func witnessedLogKeys() -> (keys: [String: NoteKey], problems: [String]) {
        var keys: [String: NoteKey] = [:]
        var problems: [String] = []
        for log in witness.logs {
            switch log.noteKey() {
            case .success(let key): keys[log.origin] = key
            case .failure(let problem): problems.append("witness.logs[\(log.origin)].key: \(problem.message)")
            }
        }
        return (keys, problems)
    }
}

extension GatewayConfiguration.WitnessedLog {
    /// The log's checkpoint key: a vkey of type 0x01, or a did:key under the origin as key name.
    public func noteKey() -> Result<NoteKey, NoteError> {
        do throws(NoteError) {
            if key.hasPrefix("did:key:") {
                let did: DIDKey
                do { did = try DIDKey(parsing: key) } catch { throw NoteError(.keyInvalid, error.message) }
                return .success(try NoteKey(name: origin, didKey: did))
            }
            let parsed = try NoteKey(vkey: key)
            guard parsed.kind == .ed25519 else {
                throw NoteError(.keyInvalid, "this vkey is a witness (cosignature, type 0x04) key; a log signs its checkpoints with a type 0x01 key "
                    + "(causeway ledger witness-key --log prints a gateway's)")
            }
            return .success(parsed)
        } catch {
            return .failure(error)
        }
    }
}
