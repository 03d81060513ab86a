import CausewayCore
import CausewayStore
import CausewayTrust
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The transparency log over HTTP (Docs/ledger.md, "API"): the latest signed checkpoint,
/// inclusion and consistency proofs, receipt bundles, and the read-only C2SP tlog-tiles layout
/// with `https://HOST/v1/ledger` as the log's prefix (`…/checkpoint`, `…/tile/L/N[.p/W]`,
/// `…/tile/entries/N[.p/W]`).
///
/// Everything is served as of the latest checkpoint: a size beyond it is refused, so a client is
/// never shown a tree the gateway has not signed. All routes need a viewer token (tokens are not
/// per partner; a partner's server reads with a viewer token issued to it).
struct LedgerAPI: Sendable {
    let store: any AgreementStore
    let tokens: TokenAuthenticator
    let throttle: AuthThrottle
    /// Seconds until the next checkpoint is due (a 409's Retry-After).
    let retryAfterSeconds: Int
    /// Witness cosignatures collected for our checkpoints, appended to every note served (C2SP:
    /// a client ignores signatures by keys it does not know); nil serves the gateway's signature only.
    var cosignatures: CosignatureBook? = nil

    func register(on router: Router<GatewayRequestContext>) {
        let viewers = router.group("/v1").add(middleware: BearerAuthentication(tokens: tokens, throttle: throttle, role: .viewer))
        viewers.get("ledger/checkpoint") { _, _ in
            let latest = try await self.latest()
            return Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8", .cacheControl: "no-cache"],
                            body: .init(byteBuffer: ByteBuffer(string: self.published(latest))))
        }
        viewers.get("ledger/proof/inclusion") { request, _ in try await self.inclusion(request) }
        viewers.get("ledger/proof/consistency") { request, _ in try await self.consistency(request) }
        viewers.get("ledger/tile/**") { _, context in try await self.tile(context.parameters.getCatchAll()) }
        viewers.get("receipts/:id/bundle") { _, context in try await self.bundle(context) }
    }

    // MARK: Checkpoints and proofs

    /// The checkpoint's note with the witness cosignatures collected for it.
    func published(_ checkpoint: StoredCheckpoint) -> String {
        cosignatures?.published(checkpoint.note) ?? checkpoint.note
    }

    func latest() async throws -> StoredCheckpoint {
        guard let latest = try await store.latestCheckpoint() else {
            throw Problem.retryLater(409, "ledger.no_checkpoint", "No checkpoint yet",
                                     "the gateway signs its first checkpoint within seconds of starting", seconds: retryAfterSeconds)
        }
        return latest
    }

    /// Refuses parameters the endpoint does not know (a typo must not silently mean the default).
    static func only(_ allowed: Set<String>, in request: Request) throws(Problem) {
        for parameter in request.uri.queryParameters where !allowed.contains(String(parameter.key)) {
            throw Problem(400, "query.unknown_parameter", "Unknown parameter '\(String(parameter.key).prefix(64))'",
                          "this endpoint takes \(allowed.sorted().joined(separator: ", "))")
        }
    }

    func inclusion(_ request: Request) async throws -> Response {
        try Self.only(["receipt", "size"], in: request)
        let query = QueryReader(request)
        guard let id = try query.text("receipt", maxLength: 512) else {
            throw Problem(400, "query.receipt_missing", "Missing 'receipt'", "give the receipt id: ?receipt=urn:uuid:…")
        }
        let (receipt, index) = try await receiptAndIndex(id)
        let latest = try await latest()
        let given = try query.integer("size", in: 1...Int64(MerkleTree.maxSize)).map(Int.init)
        let size = given ?? latest.size
        guard size <= latest.size else {
            throw Problem(400, "query.size_invalid", "Invalid 'size'", "'size' must be at most \(latest.size), the latest checkpoint's size")
        }
        guard index < size else {
            if given != nil {
                throw Problem(400, "query.size_invalid", "Invalid 'size'", "the receipt is leaf \(index); 'size' must be above \(index)")
            }
            throw Problem.retryLater(409, "receipt.not_checkpointed", "No checkpoint covers this receipt yet",
                                     "the receipt is leaf \(index); the latest checkpoint covers \(latest.size) leaves", seconds: retryAfterSeconds)
        }
        let proof = try await MerkleTree.inclusionProof(leaf: index, size: size, from: store)
        var object: JSONObject = [
            "receipt": .string(id), "index": .number(Double(index)), "size": .number(Double(size)),
            "leafHash": .string(Base64.encode(LedgerTree.leafHash(of: receipt))), "proof": .array(proof.map { .string(Base64.encode($0)) }),
            "root": .string(Base64.encode(try await MerkleTree.root(size: size, from: store))),
        ]
        if size == latest.size { object["checkpoint"] = .string(published(latest)) }
        return GatewayAPI.json(.object(object))
    }

    func consistency(_ request: Request) async throws -> Response {
        try Self.only(["from", "to"], in: request)
        let query = QueryReader(request)
        guard let from = try query.integer("from", in: 1...Int64(MerkleTree.maxSize)).map(Int.init),
            let to = try query.integer("to", in: 1...Int64(MerkleTree.maxSize)).map(Int.init)
        else {
            throw Problem(400, "query.size_missing", "Missing 'from' or 'to'",
                          "give both tree sizes, ?from=M&to=N with 1 ≤ M ≤ N (from size 0 every tree is consistent, with an empty proof)")
        }
        let latest = try await latest()
        guard to <= latest.size else {
            throw Problem(400, "query.to_invalid", "Invalid 'to'", "'to' must be at most \(latest.size), the latest checkpoint's size")
        }
        guard from <= to else {
            throw Problem(400, "query.from_invalid", "Invalid 'from'", "'from' must be at most 'to' (\(to)): a log never shrinks")
        }
        let proof = try await MerkleTree.consistencyProof(from: from, to: to, from: store)
        return GatewayAPI.json(["from": .number(Double(from)), "to": .number(Double(to)), "proof": .array(proof.map { .string(Base64.encode($0)) })])
    }

    func receiptAndIndex(_ id: String) async throws -> (JSONObject, Int) {
        guard let receipt = try await store.receipt(id: id) else { throw Problem(404, "receipt.not_found", "No such receipt", nil) }
        guard let index = receipt["ledger"]?["seq"]?.exactInt, index >= 0 else {
            throw Problem(500, "receipt.unreadable", "The stored receipt has no ledger position", "run causeway ledger verify")
        }
        return (receipt, index)
    }

    func bundle(_ context: GatewayRequestContext) async throws -> Response {
        guard let raw = context.parameters.get("id"), raw.utf8.count <= 512 else {
            throw Problem(400, "query.id_invalid", "Not a receipt id", "expected a urn:uuid receipt id")
        }
        let (receipt, index) = try await receiptAndIndex(raw.removingPercentEncoding ?? raw)
        let latest = try await latest()
        guard index < latest.size else {
            throw Problem.retryLater(409, "receipt.not_checkpointed", "No checkpoint covers this receipt yet",
                                     "the receipt is leaf \(index); the latest checkpoint covers \(latest.size) leaves", seconds: retryAfterSeconds)
        }
        let proof = try await MerkleTree.inclusionProof(leaf: index, size: latest.size, from: store)
        return GatewayAPI.json(ReceiptBundle(receipt: receipt, index: index, inclusionProof: proof, checkpoint: published(latest)).json)
    }

    // MARK: Tiles

    func tile(_ segments: [Substring]) async throws -> Response {
        let path = "tile/" + segments.joined(separator: "/")
        guard path.utf8.count <= 128 else { throw Problem(404, "tile.not_found", "No such tile", nil) }
        let tile: TlogTiles.Tile
        do {
            tile = try TlogTiles.parse(path: path)
        } catch {
            throw Problem(400, "tile.path_invalid", "Not a tile path", "\(error.message) (C2SP tlog-tiles)")
        }
        let size = try await store.latestCheckpoint()?.size ?? 0
        // A tile exists as of the latest checkpoint: full ones once complete, a partial one while
        // the tree holds at least its width.
        guard let available = TlogTiles.width(level: tile.level, index: tile.index, treeSize: size), tile.width <= available,
            tile.isPartial || available == TlogTiles.fullWidth
        else {
            throw Problem(404, "tile.not_found", "No such tile", "the latest checkpoint covers \(size) entries")
        }
        let bytes: [UInt8]
        if tile.isEntryBundle {
            let range = tile.leafRange
            let receipts = try await store.ledger(from: range.lowerBound, limit: tile.width)
            guard receipts.count == tile.width,
                receipts.enumerated().allSatisfy({ $0.element["ledger"]?["seq"]?.exactInt == range.lowerBound + $0.offset })
            else {
                throw StoreError("the ledger lacks entries \(range.lowerBound)…\(range.upperBound - 1) a checkpoint covers; run causeway ledger verify")
            }
            bytes = try TlogTiles.encodeEntryBundle(receipts.map { JCS.canonicalize(.object($0)) })
        } else {
            let ids = tile.nodeIDs
            let nodes = try await store.merkleNodes(ids)
            let hashes = ids.compactMap { nodes[$0] }
            guard hashes.count == ids.count else {
                throw StoreError("the Merkle tree lacks nodes of \(path) a checkpoint covers; run causeway ledger verify")
            }
            bytes = TlogTiles.tileData(hashes)
        }
        return Response(status: .ok,
                        headers: [.contentType: "application/octet-stream",
                                  .cacheControl: tile.isPartial ? "no-cache" : "private, max-age=31536000, immutable"],
                        body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
