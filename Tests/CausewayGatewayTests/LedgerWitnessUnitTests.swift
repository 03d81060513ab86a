import CausewayCore
@testable import CausewayGateway
import CausewayTesting
import CausewayTrust
import Foundation
import Logging
import Testing

/// The witness's rules without a server: each status of C2SP tlog-witness, persistence, and no
/// roll-back under concurrent requests; the cosignature book's coverage rule.
@Suite("Ledger witness (C2SP tlog-witness) rules")
struct LedgerWitnessUnitTests {
    static let origin = "log.test/causeway"
    static let logIdentity = try! SigningIdentity(seed: Array(repeating: 5, count: 32))
    static let witnessIdentity = try! SigningIdentity(seed: Array(repeating: 6, count: 32))

    static func witness(folder: String) throws -> LedgerWitness {
        try LedgerWitness(logs: [origin: try NoteKey(name: origin, didKey: logIdentity.didKey)], name: "witness.test/w",
                          identity: witnessIdentity, folder: folder, logger: Logger(label: "test"), now: { 1_795_000_000 })
    }

    /// A log of `size` leaves and its signed checkpoint note.
    static func log(_ size: Int, salt: UInt8 = 0) async throws -> (tree: InMemoryMerkleTree, note: String) {
        let tree = InMemoryMerkleTree(leafData: (0..<size).map { [UInt8(truncatingIfNeeded: $0), salt] })
        let root = try await MerkleTree.root(size: size, from: tree)
        return (tree, try SignedCheckpoint.sign(try Checkpoint(origin: origin, size: size, rootHash: root), with: logIdentity).formatted)
    }

    static func body(old: Int, proof: [[UInt8]], note: String) -> [UInt8] {
        Array(AddCheckpointRequest(oldSize: old, consistencyProof: proof, checkpointNote: note).formatted.utf8)
    }

    @Test("the spec's statuses: 400, 409 with the size, 422 for a bad proof or root, 200 with a verifying cosignature; state persisted")
    func statuses() async throws {
        let folder = try CommandRunner.temporaryDirectory("witness-unit").path
        let witness = try Self.witness(folder: folder)
        let smallNote = try await Self.log(5).note
        let (big, bigNote) = try await Self.log(9)

        // Old size above the checkpoint's: 400. A non-empty proof from 0: 422. A size-0 checkpoint with another root: 422.
        #expect(try await witness.addCheckpoint(Self.body(old: 6, proof: [], note: smallNote)) == .badRequest("the old size 6 is larger than the checkpoint's size 5"))
        guard case .unprocessable = try await witness.addCheckpoint(Self.body(old: 0, proof: [MerkleHash.empty], note: smallNote)) else {
            Issue.record("a proof from size 0 was accepted")
            return
        }
        let zero = try SignedCheckpoint.sign(try Checkpoint(origin: Self.origin, size: 0, rootHash: Array(repeating: 1, count: 32)), with: Self.logIdentity).formatted
        guard case .unprocessable = try await witness.addCheckpoint(Self.body(old: 0, proof: [], note: zero)) else {
            Issue.record("a size-0 checkpoint with a non-empty root was accepted")
            return
        }
        // First cosignature from 0, then 409 for a stale old size, then a real consistency proof.
        guard case .cosigned(let line) = try await witness.addCheckpoint(Self.body(old: 0, proof: [], note: smallNote)) else {
            Issue.record("not cosigned")
            return
        }
        let cosignatureKey = try NoteKey(name: "witness.test/w", didKey: Self.witnessIdentity.didKey, kind: .cosignatureV1)
        let cosigned = try SignedNote(parsing: smallNote).adding([try SignedNote.parseSignatureLine(String(line.dropLast()))])
        let verified = try cosigned.verify(with: [cosignatureKey], requiring: [cosignatureKey])
        #expect(verified.first?.timestamp == 1_795_000_000)
        #expect(try await witness.addCheckpoint(Self.body(old: 0, proof: [], note: bigNote)) == .conflict(5))
        let proof = try await MerkleTree.consistencyProof(from: 5, to: 9, from: big)
        guard case .cosigned = try await witness.addCheckpoint(Self.body(old: 5, proof: proof, note: bigNote)) else {
            Issue.record("a consistent extension was not cosigned")
            return
        }
        // A forked tree of 12 (other leaves) from 9: 422, and the state stays at 9, also for a new instance.
        let (forked, forkedNote) = try await Self.log(12, salt: 1)
        let forkProof = try await MerkleTree.consistencyProof(from: 9, to: 12, from: forked)
        guard case .unprocessable = try await witness.addCheckpoint(Self.body(old: 9, proof: forkProof, note: forkedNote)) else {
            Issue.record("a forked checkpoint was cosigned")
            return
        }
        let reopened = try Self.witness(folder: folder)
        #expect(try await reopened.addCheckpoint(Self.body(old: 0, proof: [], note: bigNote)) == .conflict(9))
        let mode = try FileManager.default.attributesOfItem(atPath: LedgerWitness.stateFile(folder: folder, origin: Self.origin))[.posixPermissions] as? NSNumber
        #expect(mode?.intValue == 0o600)
        #expect(try await reopened.latest(originHash: LedgerWitness.originHash(Self.origin))?.contains("— witness.test/w ") == true)

        // Another key, and an unknown origin.
        let forged = try SignedCheckpoint.sign(try Checkpoint(origin: Self.origin, size: 9, rootHash: try await MerkleTree.root(size: 9, from: big)), with: SigningIdentity()).formatted
        guard case .forbidden = try await reopened.addCheckpoint(Self.body(old: 9, proof: [], note: forged)) else {
            Issue.record("a checkpoint signed by another key was cosigned")
            return
        }
        let other = try SignedCheckpoint.sign(try Checkpoint(origin: "other.test/log", size: 1, rootHash: try await MerkleTree.root(size: 9, from: big)), with: Self.logIdentity).formatted
        guard case .unknownLog = try await reopened.addCheckpoint(Self.body(old: 0, proof: [], note: other)) else {
            Issue.record("an unknown log was cosigned")
            return
        }
    }

    @Test("concurrent requests from the same old size: exactly one is cosigned, the others get 409 with the new size")
    func noRollBack() async throws {
        let folder = try CommandRunner.temporaryDirectory("witness-race").path
        let witness = try Self.witness(folder: folder)
        var bodies: [[UInt8]] = []
        for size in 1...8 { bodies.append(Self.body(old: 0, proof: [], note: try await Self.log(size).note)) }
        let outcomes = try await withThrowingTaskGroup(of: LedgerWitness.Outcome.self) { group in
            for body in bodies { group.addTask { try await witness.addCheckpoint(body) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let cosigned = outcomes.filter { if case .cosigned = $0 { true } else { false } }
        #expect(cosigned.count == 1, "\(outcomes)")
        #expect(outcomes.filter { if case .conflict = $0 { true } else { false } }.count == 7)
    }

    @Test("coverage: the N-th largest size cosigned by the partner's witnesses; 0 until N have cosigned; any size with N = 0")
    func coverage() async throws {
        let folder = try CommandRunner.temporaryDirectory("book").path
        let keys = try (1...3).map { n in
            try NoteKey(name: "w\(n).test/w", didKey: try SigningIdentity(seed: Array(repeating: UInt8(10 + n), count: 32)).didKey, kind: .cosignatureV1)
        }
        let identities = try (1...3).map { n in try SigningIdentity(seed: Array(repeating: UInt8(10 + n), count: 32)) }
        let book = CosignatureBook(folder: folder, witnesses: keys)
        #expect(book.coveredSize(witnesses: keys, required: 0) == Int.max)
        #expect(book.coveredSize(witnesses: keys, required: 1) == 0)
        for (index, size) in [(0, 7), (1, 4)] {
            let note = try SignedNote(parsing: try await Self.log(size).note)
            let signer = try NoteSigner(name: keys[index].name, identity: identities[index], kind: .cosignatureV1)
            let line = try signer.cosignature(for: note.text, timestamp: 1_795_000_000).line
            #expect(try book.record(witness: keys[index], checkpointNote: note, answer: line)?.size == size)
            // A line by another key is not a cosignature of this witness.
            #expect(try book.record(witness: keys[2], checkpointNote: note, answer: line) == nil)
        }
        #expect(book.coveredSize(witnesses: keys, required: 1) == 7)
        #expect(book.coveredSize(witnesses: keys, required: 2) == 4)
        #expect(book.coveredSize(witnesses: keys, required: 3) == 0)
        // Kept across restarts, and appended to the checkpoint it belongs to.
        let reopened = CosignatureBook(folder: folder, witnesses: keys)
        #expect(reopened.coveredSize(witnesses: keys, required: 2) == 4)
        let published = reopened.published(try await Self.log(7).note)
        #expect(published.contains("— w1.test/w ") && !published.contains("— w2.test/w "))
    }
}
