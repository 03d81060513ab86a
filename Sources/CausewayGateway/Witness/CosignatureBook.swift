import CausewayCore
public import CausewayTrust
import Foundation
import Synchronization

/// The witness cosignatures this gateway collected for its own checkpoints (``WitnessCollector``):
/// per witness, the latest checkpoint it cosigned, kept as our signed checkpoint note with the
/// witness's cosignature line appended, in `<state>/collected/<sha256(vkey) hex>.checkpoint`.
///
/// Read by the receipt pusher (a partner whose `ledger.cosignatures_required` is N gets a receipt
/// once a checkpoint covering it has N cosignatures from its witnesses), by the dashboard, and by
/// the checkpoint endpoint, which appends the cosignatures of the checkpoint it serves
/// (``published(_:)``).
public final class CosignatureBook: Sendable {
    /// One witness's latest cosignature.
    public struct Cosigned: Sendable, Hashable {
        public let witness: NoteKey
        /// The size and root of the checkpoint it cosigned.
        public let size: Int
        public let root: [UInt8]
        /// The cosignature line.
        public let signature: SignedNote.Signature
        /// The cosignature's time, POSIX seconds.
        public let timestamp: UInt64
    }

    let folder: String
    private let entries: Mutex<[NoteKey: Cosigned]>

    /// Loads the cosignatures kept in `<folder>/collected` for these witnesses; a file that does not
    /// verify under its witness's key is ignored (and replaced at the next cosignature).
    public init(folder: String, witnesses: [NoteKey]) {
        self.folder = folder
        var loaded: [NoteKey: Cosigned] = [:]
        for key in witnesses {
            guard let bytes = try? PrivateFile.read(Self.file(folder: folder, witness: key), maxBytes: SignedNote.maxBytes),
                let note = try? SignedNote(parsing: bytes), let entry = Self.cosigned(note, by: key)
            else { continue }
            loaded[key] = entry
        }
        entries = Mutex(loaded)
    }

    static func file(folder: String, witness: NoteKey) -> String {
        let hash = ContentDigest(of: Array(witness.vkey.utf8)).hex
        return "\(folder)/collected/\(hash).checkpoint"
    }

    /// The witness's cosignature on a checkpoint note, verified; nil when absent or invalid.
    static func cosigned(_ note: SignedNote, by witness: NoteKey) -> Cosigned? {
        guard let checkpoint = try? Checkpoint(parsing: note.text),
            let verified = try? note.verify(with: [witness], requiring: [witness]), let timestamp = verified.first?.timestamp,
            let signature = note.signatures.first(where: { $0.name == witness.name && $0.keyID == witness.keyID })
        else { return nil }
        return Cosigned(witness: witness, size: checkpoint.size, root: checkpoint.rootHash, signature: signature, timestamp: timestamp)
    }

    /// Records the witness's answer to our checkpoint `note` (its cosignature lines). Lines by other
    /// keys are ignored; without a valid cosignature by `witness` nothing is recorded and nil is returned.
    @discardableResult
    public func record(witness: NoteKey, checkpointNote note: SignedNote, answer: String) throws -> Cosigned? {
        var lines: [SignedNote.Signature] = []
        for line in answer.split(separator: "\n").prefix(SignedNote.maxSignatures) {
            if let signature = try? SignedNote.parseSignatureLine(String(line)), signature.name == witness.name, signature.keyID == witness.keyID {
                lines.append(signature)
            }
        }
        guard lines.count == 1 else { return nil }
        let cosignedNote = try SignedNote(text: note.text, signatures: note.signatures.filter { $0.name != witness.name || $0.keyID != witness.keyID } + lines)
        guard let entry = Self.cosigned(cosignedNote, by: witness) else { return nil }
        // Never move backwards: an older answer arriving late keeps the newer cosignature.
        if let current = self.latest(witness), current.size > entry.size { return current }
        try PrivateFile.write(Array(cosignedNote.formatted.utf8), to: Self.file(folder: folder, witness: witness))
        entries.withLock { $0[witness] = entry }
        return entry
    }

    /// The witness's latest cosignature, if any.
    public func latest(_ witness: NoteKey) -> Cosigned? { entries.withLock { $0[witness] } }

    /// Every witness's latest cosignature, by vkey.
    public var all: [Cosigned] { entries.withLock { Array($0.values) }.sorted { $0.witness.vkey < $1.witness.vkey } }

    /// The largest tree size that `required` distinct witnesses of `witnesses` have each cosigned
    /// (a witness that cosigned size S vouches for every smaller size, the log being append-only):
    /// receipts with a ledger position below it may be pushed. `Int.max` when `required` is 0.
    public func coveredSize(witnesses: [NoteKey], required: Int) -> Int {
        guard required > 0 else { return Int.max }
        let sizes = entries.withLock { entries in witnesses.map { entries[$0]?.size ?? 0 } }.sorted(by: >)
        return required <= sizes.count ? sizes[required - 1] : 0
    }

    /// The cosignatures collected for exactly this checkpoint (its size and root).
    public func signatures(size: Int, root: [UInt8]) -> [SignedNote.Signature] {
        all.filter { $0.size == size && $0.root == root }.map(\.signature)
    }

    /// A signed checkpoint note with the cosignatures collected for it appended (C2SP: clients
    /// ignore signatures by keys they do not know). A note that cannot be parsed is returned as is.
    public func published(_ note: String) -> String {
        guard let parsed = try? SignedNote(parsing: note), let checkpoint = try? Checkpoint(parsing: parsed.text) else { return note }
        let known = Set(parsed.signatures.map { "\($0.name) \($0.keyID)" })
        let more = signatures(size: checkpoint.size, root: checkpoint.rootHash).filter { !known.contains("\($0.name) \($0.keyID)") }
        return more.isEmpty ? note : parsed.adding(more).formatted
    }
}
