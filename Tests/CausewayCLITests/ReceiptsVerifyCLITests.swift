import CausewayCore
import CausewayTesting
import CausewayTrust
import Foundation
import Testing

/// `causeway receipts verify`: bundles built here with the in-memory tree and a test gateway key,
/// checked by the real binary.
@Suite("causeway receipts verify")
struct ReceiptsVerifyCLITests {
    static let origin = "erp.acme.example/causeway"
    static let gateway = try! SigningIdentity(seed: [UInt8](repeating: 3, count: 32))

    /// A signed receipt at `seq`, shaped as the gateway issues them (ledger fields, chain leaf).
    static func receipt(seq: Int, signer: SigningIdentity = gateway, origin: String = origin) throws -> JSONObject {
        var body: JSONObject = [
            "type": "DeliveryReceipt", "v": 1, "id": .string("urn:uuid:00000000-0000-4000-8000-\(String(format: "%012d", seq))"),
            "issuer": .string(signer.didKey.did), "issued": "2026-11-23T10:15:02.481Z", "partner": "stahlteile", "outcome": "delivered",
            "ledger": ["origin": .string(origin), "seq": .number(Double(seq)), "prev": .string(LedgerChain.genesis.description)],
        ]
        var ledger = body["ledger"]!.objectValue!
        ledger["leaf"] = .string(LedgerChain.leafHash(of: body).description)
        body["ledger"] = .object(ledger)
        return try EddsaJcs2022.addProof(to: body, signer: signer, options: .init(created: "2026-11-23T10:15:02Z"))
    }

    /// A log of `count` receipts; the bundle for receipt `index`.
    static func bundle(index: Int, count: Int = 11, logKey: SigningIdentity = gateway) async throws -> ReceiptBundle {
        var tree = InMemoryMerkleTree()
        var receipts: [JSONObject] = []
        for seq in 0..<count {
            let receipt = try receipt(seq: seq)
            receipts.append(receipt)
            tree.append(leafHash: ReceiptBundle.leafHash(of: receipt))
        }
        let root = try await MerkleTree.root(size: count, from: tree)
        let checkpoint = try SignedCheckpoint.sign(try Checkpoint(origin: origin, size: count, rootHash: root), with: logKey)
        let proof = try await MerkleTree.inclusionProof(leaf: index, size: count, from: tree)
        return ReceiptBundle(receipt: receipts[index], index: index, inclusionProof: proof, checkpoint: checkpoint.formatted)
    }

    static func run(_ bundle: ReceiptBundle, _ extra: [String] = [gateway.didKey.did]) throws -> CommandRunner.Result {
        try run(text: bundle.text, extra)
    }

    static func run(text: String, _ extra: [String] = [gateway.didKey.did]) throws -> CommandRunner.Result {
        let directory = try CommandRunner.temporaryDirectory("receipts-verify")
        let file = directory.appendingPathComponent("bundle.json")
        try Data(text.utf8).write(to: file)
        let arguments = ["receipts", "verify", file.path] + (extra.isEmpty ? [] : ["--gateway-did"] + extra)
        return try CommandRunner.causeway(arguments)
    }

    @Test("a genuine bundle is valid (exit 0), for every leaf of the log")
    func valid() async throws {
        for index in [0, 5, 10] {
            let result = try Self.run(try await Self.bundle(index: index))
            #expect(result.status == 0, "\(result)")
            #expect(result.stdout.contains("valid"))
            #expect(result.stdout.contains("size 11"))
        }
    }

    @Test("without --gateway-did the receipt's issuer is used, with a warning")
    func unpinned() async throws {
        let result = try Self.run(try await Self.bundle(index: 2), [])
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout.contains("bundle.gateway_not_pinned"))
    }

    @Test("an edited receipt: its signature and its inclusion both fail (exit 1)")
    func editedReceipt() async throws {
        let genuine = try await Self.bundle(index: 4)
        var receipt = genuine.receipt
        receipt["outcome"] = "rejected"
        let result = try Self.run(ReceiptBundle(receipt: receipt, index: 4, inclusionProof: genuine.inclusionProof, checkpoint: genuine.checkpoint))
        #expect(result.status == 1, "\(result)")
        #expect(result.stdout.contains("proof.signature_invalid"))
        #expect(result.stdout.contains("bundle.inclusion_invalid"))
    }

    @Test("a proof for another position, a truncated proof, a flipped bit: inclusion fails (exit 1)")
    func badProofs() async throws {
        let genuine = try await Self.bundle(index: 4)
        var flipped = genuine.inclusionProof
        flipped[1][0] ^= 0x80
        for proof in [Array(genuine.inclusionProof.dropLast()), flipped, try await Self.bundle(index: 5).inclusionProof] {
            let result = try Self.run(ReceiptBundle(receipt: genuine.receipt, index: 4, inclusionProof: proof, checkpoint: genuine.checkpoint))
            #expect(result.status == 1, "\(result)")
            #expect(result.stdout.contains("bundle.inclusion_invalid"))
        }
        let wrongIndex = try Self.run(ReceiptBundle(receipt: genuine.receipt, index: 5, inclusionProof: genuine.inclusionProof, checkpoint: genuine.checkpoint))
        #expect(wrongIndex.status == 1)
        #expect(wrongIndex.stdout.contains("bundle.index_mismatch"))
    }

    @Test("a checkpoint signed by another key, or edited, is refused (exit 1)")
    func badCheckpoint() async throws {
        let forged = try await Self.bundle(index: 3, logKey: SigningIdentity())
        let result = try Self.run(forged)
        #expect(result.status == 1, "\(result)")
        #expect(result.stdout.contains("bundle.checkpoint_signature_invalid"))
        #expect(!result.stdout.contains("bundle.inclusion_invalid"))   // the tree is right; only the signature is not
        let genuine = try await Self.bundle(index: 3)
        let edited = genuine.checkpoint.replacingOccurrences(of: "\n11\n", with: "\n12\n")
        let editedResult = try Self.run(ReceiptBundle(receipt: genuine.receipt, index: 3, inclusionProof: genuine.inclusionProof, checkpoint: edited))
        #expect(editedResult.status == 1, "\(editedResult)")
        #expect(editedResult.stdout.contains("bundle.checkpoint_signature_invalid"))
    }

    @Test("a receipt by another gateway than --gateway-did is refused (exit 1)")
    func otherGateway() async throws {
        let result = try Self.run(try await Self.bundle(index: 1), [SigningIdentity().didKey.did])
        #expect(result.status == 1, "\(result)")
        #expect(result.stdout.contains("receipt.issuer_unexpected"))
        #expect(result.stdout.contains("bundle.checkpoint_signature_invalid"))
    }

    @Test("--json reports validity, the checkpoint and every finding")
    func json() async throws {
        let directory = try CommandRunner.temporaryDirectory("receipts-verify")
        let file = directory.appendingPathComponent("bundle.json")
        try Data(try await Self.bundle(index: 7).text.utf8).write(to: file)
        let result = try CommandRunner.causeway(["receipts", "verify", "--json", "--gateway-did", Self.gateway.didKey.did, file.path])
        #expect(result.status == 0, "\(result)")
        let report = try JSONReader().read(result.stdout)
        #expect(report["valid"]?.boolValue == true)
        #expect(report["checkpoint"]?["size"]?.exactInt == 11)
        #expect(report["findings"]?.arrayValue?.isEmpty == true)
    }

    @Test("unreadable input exits 2", arguments: ["not json", "{\"type\": \"CausewayReceiptBundle\", \"v\": 1}", "[]"])
    func unreadable(text: String) throws {
        let result = try Self.run(text: text)
        #expect(result.status == 2, "\(result)")
        #expect(result.stderr.contains("causeway:"))
    }

    @Test("an unusable --gateway-did is a usage error (exit 2)")
    func badGatewayDID() async throws {
        let result = try Self.run(try await Self.bundle(index: 0), ["did:web:example.com"])
        #expect(result.status == 2, "\(result)")
        #expect(result.stderr.contains("--gateway-did"))
    }

    @Test("--witness and --cosignatures: a checkpoint without the required cosignature is refused, with it valid")
    func witnesses() async throws {
        let witness = try NoteSigner(name: "witness.example/w1", identity: SigningIdentity(), kind: .cosignatureV1)
        let genuine = try await Self.bundle(index: 2)
        let note = try SignedNote(parsing: genuine.checkpoint)
        let cosigned = note.adding([try witness.cosignature(for: note.text, timestamp: 1_764_806_400)]).formatted
        let required = [Self.gateway.didKey.did, "--witness", witness.key.vkey, "--cosignatures", "1"]
        let missing = try Self.run(genuine, required)
        #expect(missing.status == 1, "\(missing)")
        #expect(missing.stdout.contains("bundle.cosignatures_missing"))
        let present = try Self.run(ReceiptBundle(receipt: genuine.receipt, index: 2, inclusionProof: genuine.inclusionProof, checkpoint: cosigned), required)
        #expect(present.status == 0, "\(present)")
        #expect(present.stdout.contains("witness  witness.example/w1 cosigned at 1764806400"))
        // A log key (type 0x01) is not a witness key; more cosignatures than witnesses is a usage error.
        let plainKey = try NoteKey(name: "w", didKey: SigningIdentity().didKey).vkey
        #expect(try Self.run(genuine, [Self.gateway.didKey.did, "--witness", plainKey]).status == 2)
        #expect(try Self.run(genuine, [Self.gateway.didKey.did, "--cosignatures", "1"]).status == 2)
    }

    @Test("a missing file exits 2")
    func missingFile() throws {
        let result = try CommandRunner.causeway(["receipts", "verify", "/nonexistent/bundle.json"])
        #expect(result.status == 2, "\(result)")
    }
}
