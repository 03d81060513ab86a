import CausewayCore
public import CausewayStore
public import CausewayTrust
import Foundation
public import Logging

/// Signs the ledger's checkpoints: while the tree grows, at most once per interval, a C2SP
/// checkpoint (origin, size, root) signed as a note by the gateway's key, recorded in the store
/// and in a checkpoint file beside it.
///
/// A checkpoint is signed only for a tree that extends the previous checkpoint: the new root and
/// the consistency proof from the previous size are checked before signing, and the store refuses
/// a smaller size or a second root for one size. The file outside the store is what
/// `causeway ledger verify` compares the store with, so that deleting the last entries (and their
/// checkpoints) from the store is noticed.
public final class Checkpointer: Sendable {
    public struct Configuration: Sendable {
        /// The log's origin (the checkpoint's first line and the signature's key name).
        public var origin: String
        /// The shortest time between two checkpoints. Default 2 s.
        public var interval: Duration
        /// Where the latest checkpoint is also written (atomically, mode 0600); nil: only the store.
        public var file: String?

        public init(origin: String, interval: Duration = .seconds(2), file: String?) {
            self.origin = origin
            self.interval = interval
            self.file = file
        }
    }

    let store: any AgreementStore
    let identity: SigningIdentity
    let configuration: Configuration
    let logger: Logger
    let now: @Sendable () -> Int64

    public init(store: any AgreementStore, identity: SigningIdentity, configuration: Configuration, logger: Logger,
                now: @escaping @Sendable () -> Int64 = WallClock.milliseconds) {
        self.store = store
        self.identity = identity
        self.configuration = configuration
        self.logger = logger
        self.now = now
    }

    /// Checkpoints until cancelled: one per interval at most, and only when the tree has grown;
    /// a last one on the way out.
    public func run() async {
        while !Task.isCancelled {
            do {
                try await checkpoint()
            } catch {
                logger.error("checkpoint not signed; will retry", metadata: ["error": .string("\(error)")])
            }
            try? await Task.sleep(for: configuration.interval)
        }
        // A last checkpoint as the gateway stops (best effort, in a task of its own: this one is
        // cancelled), so the file covers every receipt issued before the stop.
        await Task { _ = try? await self.checkpoint() }.value
    }

    /// Signs and records a checkpoint of the current tree if it is larger than the last one (or
    /// there is none yet: the first covers the tree as it is, even empty). Returns the new
    /// checkpoint, or nil when the tree has not grown. The checkpoint file is (re)written either
    /// way when it lacks the latest checkpoint.
    @discardableResult
    public func checkpoint() async throws -> StoredCheckpoint? {
        let size = try await store.treeSize()
        let latest = try await store.latestCheckpoint()
        if let latest, latest.size >= size {
            try writeFileIfStale(latest)
            return nil
        }
        let root = try await MerkleTree.root(size: size, from: store)
        if let latest {
            let proof = try await MerkleTree.consistencyProof(from: latest.size, to: size, from: store)
            do {
                try MerkleTree.verifyConsistency(oldSize: latest.size, newSize: size, oldRoot: latest.root, newRoot: root, proof: proof)
            } catch {
                throw CheckpointerError("the tree of \(size) entries does not extend the checkpoint of \(latest.size) entries (\(error)); "
                    + "no checkpoint is signed. Run `causeway ledger verify`.")
            }
        }
        let body = try Checkpoint(origin: configuration.origin, size: size, rootHash: root)
        let note = try SignedCheckpoint.sign(body, with: identity).formatted
        let stored = StoredCheckpoint(size: size, root: root, note: note, createdAt: now())
        do {
            try await store.appendCheckpoint(stored)
        } catch {
            // Another instance (PostgreSQL) checkpointed a larger tree meanwhile: nothing to do.
            if let now = try? await store.latestCheckpoint(), now.size >= size {
                try writeFileIfStale(now)
                return nil
            }
            throw error
        }
        try writeFileIfStale(stored)
        logger.debug("checkpoint signed", metadata: ["ledger.size": .stringConvertible(size)])
        return stored
    }

    /// Writes the checkpoint file unless it already holds this checkpoint.
    func writeFileIfStale(_ checkpoint: StoredCheckpoint) throws {
        guard let path = configuration.file else { return }
        if let current = try? PrivateFile.read(path, maxBytes: SignedNote.maxBytes), current == Array(checkpoint.note.utf8) { return }
        do {
            try PrivateFile.write(Array(checkpoint.note.utf8), to: path)
        } catch {
            throw CheckpointerError("checkpoint file: \(error.message) (ledger.checkpoint_file)")
        }
    }

    /// The checkpoint file's default place for a store: beside an SQLite file
    /// (`causeway.sqlite` → `causeway.sqlite.checkpoint`); `causeway-checkpoint` in the working
    /// directory for PostgreSQL.
    public static func defaultFile(for store: GatewayConfiguration.StoreLocation) -> String {
        switch store {
        case .sqlite(let path): path + ".checkpoint"
        case .postgres: "causeway-checkpoint"
        }
    }
}

/// A checkpoint that cannot be signed or kept; the message says why and what to do.
public struct CheckpointerError: Error, Sendable, CustomStringConvertible {
    public let message: String
    init(_ message: String) { self.message = message }
    public var description: String { message }
}
