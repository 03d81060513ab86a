import CausewayCore
import CausewayTrust
import Foundation
import Testing

/// Receipt bundles checked through the API (the CLI tests run the same through the binary).
@Suite("Receipt bundles: offline verification")
struct NoteReceiptBundleTests {
    static let origin = "erp.acme.example/causeway"
    static let gateway = try! SigningIdentity(seed: [UInt8](repeating: 5, count: 32))

    static func receipt(seq: Int) throws -> JSONObject {
        var body: JSONObject = [
            "type": "DeliveryReceipt", "v": 1, "id": .string("urn:uuid:r\(seq)"), "issuer": .string(gateway.didKey.did),
            "ledger": ["origin": .string(origin), "seq": .number(Double(seq)), "prev": .string(LedgerChain.genesis.description)],
        ]
        var ledger = body["ledger"]!.objectValue!
        ledger["leaf"] = .string(LedgerChain.leafHash(of: body).description)
        body["ledger"] = .object(ledger)
        return try EddsaJcs2022.addProof(to: body, signer: gateway, options: .init(created: "2026-12-04T00:00:00Z"))
    }

    static func log(_ count: Int) async throws -> (receipts: [JSONObject], tree: InMemoryMerkleTree, checkpoint: String) {
        var tree = InMemoryMerkleTree()
        let receipts = try (0..<count).map { try receipt(seq: $0) }
        for receipt in receipts { tree.append(leafHash: ReceiptBundle.leafHash(of: receipt)) }
        let root = try await MerkleTree.root(size: count, from: tree)
        let note = try SignedCheckpoint.sign(try Checkpoint(origin: origin, size: count, rootHash: root), with: gateway)
        return (receipts, tree, note.formatted)
    }

    @Test("the leaf is SHA-256(0x00 ‖ JCS(signed receipt)), not the chain leaf")
    func leafDefinition() throws {
        let receipt = try Self.receipt(seq: 0)
        #expect(ReceiptBundle.leafHash(of: receipt) == MerkleHash.leaf(JCS.canonicalize(.object(receipt))))
        #expect(ContentDigest(raw: ReceiptBundle.leafHash(of: receipt))?.description != receipt["ledger"]?["leaf"]?.stringValue)
    }

    @Test("every receipt of a log verifies; the JSON form round-trips")
    func valid() async throws {
        let (receipts, tree, checkpoint) = try await Self.log(9)
        for index in receipts.indices {
            let proof = try await MerkleTree.inclusionProof(leaf: index, size: 9, from: tree)
            let bundle = ReceiptBundle(receipt: receipts[index], index: index, inclusionProof: proof, checkpoint: checkpoint)
            let reread = try ReceiptBundle(bytes: Array(bundle.text.utf8))
            #expect(reread == bundle)
            let result = reread.verify(gatewayDID: Self.gateway.didKey.did)
            #expect(result.isValid, "\(result.findings)")
            #expect(result.findings.isEmpty)
            #expect(result.checkpoint?.size == 9)
        }
    }

    @Test("each kind of damage is named")
    func findings() async throws {
        let (receipts, tree, checkpoint) = try await Self.log(6)
        let proof = try await MerkleTree.inclusionProof(leaf: 2, size: 6, from: tree)
        func codes(_ bundle: ReceiptBundle, did: String? = NoteReceiptBundleTests.gateway.didKey.did) -> Set<String> {
            Set(bundle.verify(gatewayDID: did).findings.map(\.code.rawValue))
        }
        var edited = receipts[2]
        edited["id"] = "urn:uuid:other"
        #expect(codes(ReceiptBundle(receipt: edited, index: 2, inclusionProof: proof, checkpoint: checkpoint)).isSuperset(of: ["proof.signature_invalid", "bundle.inclusion_invalid"]))
        #expect(codes(ReceiptBundle(receipt: receipts[3], index: 3, inclusionProof: proof, checkpoint: checkpoint)) == ["bundle.inclusion_invalid"])
        #expect(codes(ReceiptBundle(receipt: receipts[2], index: 3, inclusionProof: proof, checkpoint: checkpoint)).contains("bundle.index_mismatch"))
        let otherLog = try SignedCheckpoint.sign(try Checkpoint(parsing: try SignedNote(parsing: checkpoint).text), with: SigningIdentity()).formatted
        #expect(codes(ReceiptBundle(receipt: receipts[2], index: 2, inclusionProof: proof, checkpoint: otherLog)) == ["bundle.checkpoint_signature_invalid"])
        #expect(codes(ReceiptBundle(receipt: receipts[2], index: 2, inclusionProof: proof, checkpoint: "garbage\n")) == ["bundle.checkpoint_malformed"])
        #expect(codes(ReceiptBundle(receipt: receipts[2], index: 2, inclusionProof: proof, checkpoint: checkpoint), did: SigningIdentity().didKey.did)
                == ["receipt.issuer_unexpected", "bundle.checkpoint_signature_invalid"])
        let unpinned = ReceiptBundle(receipt: receipts[2], index: 2, inclusionProof: proof, checkpoint: checkpoint).verify(gatewayDID: nil)
        #expect(unpinned.isValid)
        #expect(unpinned.findings.map(\.code) == [.bundleGatewayNotPinned])
    }

    @Test("a required witness cosignature is counted")
    func cosignatures() async throws {
        let (receipts, tree, checkpoint) = try await Self.log(4)
        let proof = try await MerkleTree.inclusionProof(leaf: 1, size: 4, from: tree)
        let witness = try NoteSigner(name: "witness.example/w1", identity: SigningIdentity(), kind: .cosignatureV1)
        let note = try SignedNote(parsing: checkpoint)
        let cosigned = note.adding([try witness.cosignature(for: note.text, timestamp: 1_764_806_400)]).formatted
        let without = ReceiptBundle(receipt: receipts[1], index: 1, inclusionProof: proof, checkpoint: checkpoint)
        #expect(without.verify(gatewayDID: Self.gateway.didKey.did, witnesses: [witness.key], requiredCosignatures: 1).findings.map(\.code) == [.bundleCosignaturesMissing])
        let with = ReceiptBundle(receipt: receipts[1], index: 1, inclusionProof: proof, checkpoint: cosigned)
        let result = with.verify(gatewayDID: Self.gateway.didKey.did, witnesses: [witness.key], requiredCosignatures: 1)
        #expect(result.isValid, "\(result.findings)")
        #expect(result.signatures.count == 2)
    }

    @Test("files that are not bundles are refused with the member named", arguments: [
        ("[]", "JSON object"), ("{\"type\": \"Other\", \"v\": 1}", "'type'"),
        ("{\"type\": \"CausewayReceiptBundle\", \"v\": 1, \"receipt\": {}, \"index\": -1}", "'index'"),
        ("{\"type\": \"CausewayReceiptBundle\", \"v\": 1, \"receipt\": {}, \"index\": 0, \"inclusionProof\": [\"AAAA\"], \"checkpoint\": \"\"}", "inclusionProof[0]"),
        ("{\"type\": \"CausewayReceiptBundle\", \"v\": 1, \"receipt\": {}, \"index\": 0, \"inclusionProof\": []}", "'checkpoint'"),
    ])
    func malformed(text: String, named: String) {
        let error = #expect(throws: ReceiptBundleError.self) { try ReceiptBundle(bytes: Array(text.utf8)) }
        #expect(error?.message.contains(named) == true, "\(String(describing: error))")
    }
}
