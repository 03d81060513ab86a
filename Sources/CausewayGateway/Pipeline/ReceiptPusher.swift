public import AsyncHTTPClient
import CausewayCore
import CausewayTrust
public import CausewayStore
public import Logging
import Foundation
import NIOCore
import NIOHTTP1

/// Pushes each partner's signed receipts to the callback URL its partner folder names
/// (`receipts: {callback: …}`), in ledger order, at least once, each as a receipt bundle
/// (`CausewayReceiptBundle`: the receipt, its inclusion proof and the signed checkpoint that
/// covers it), so a receipt is pushed once the next checkpoint covers it.
///
/// Progress is a durable cursor per partner in the store (`receipts:<partner>`), moved after each
/// receipt the callback accepted (2xx). A failure keeps the cursor and retries with exponential
/// backoff and jitter, so nothing is lost across restarts or outages — and the receipt stays
/// fetchable at `GET /v1/receipts/{id}` meanwhile. A receipt can arrive twice (a crash between the
/// callback's answer and the cursor's move, or several gateway instances pushing): every push
/// carries the receipt id as `Idempotency-Key`, and receivers deduplicate by it.
public final class ReceiptPusher: Sendable {
    public struct Callback: Sendable, Hashable {
        public let partner: String
        public let url: String

        public init(partner: String, url: String) {
            self.partner = partner
            self.url = url
        }
    }

    let store: any AgreementStore
    let callbacks: [Callback]
    let client: HTTPClient
    let logger: Logger
    let idle: Duration
    let maxBackoff: Double
    /// Per partner, the ledger position below which receipts may be pushed (those a checkpoint
    /// with enough witness cosignatures covers; ``CosignatureBook``); nil: push at once.
    let pushableBelow: @Sendable (_ partner: String) -> Int?
    /// The checkpoint note as published: with the witness cosignatures collected for it
    /// (``CosignatureBook/published(_:)``), so a partner can check them offline.
    let published: @Sendable (_ note: String) -> String

    public init(store: any AgreementStore, callbacks: [Callback], client: HTTPClient = .shared, logger: Logger,
                idle: Duration = .milliseconds(250), maxBackoffSeconds: Double = 60,
                pushableBelow: @escaping @Sendable (_ partner: String) -> Int? = { _ in nil },
                published: @escaping @Sendable (_ note: String) -> String = { $0 }) {
        self.pushableBelow = pushableBelow
        self.published = published
        self.store = store
        self.callbacks = callbacks
        self.client = client
        self.logger = logger
        self.idle = idle
        self.maxBackoff = maxBackoffSeconds
    }

    /// Pushes until cancelled, one loop per callback so that one partner's dead endpoint never
    /// delays another's receipts.
    public func run() async {
        await withDiscardingTaskGroup { group in
            for callback in callbacks { group.addTask { await self.push(callback) } }
        }
    }

    struct PushFailed: Error, CustomStringConvertible {
        let description: String
    }

    func push(_ callback: Callback) async {
        let name = "receipts:\(callback.partner)"
        var backoff = 0.5
        while !Task.isCancelled {
            do {
                let from = try await store.cursor(name)
                let entries = try await store.ledger(from: from, limit: 100)
                if entries.isEmpty {
                    try? await Task.sleep(for: idle)
                    continue
                }
                var next = from
                // Each receipt goes out as a bundle, once a signed checkpoint covers it. For a partner
                // that requires cosignatures, the bundle is proved against the cosigned checkpoint (not a
                // newer one its witnesses have not seen yet), so its note carries the cosignatures.
                var checkpoint = try await store.latestCheckpoint()
                if let limit = pushableBelow(callback.partner), limit > 0, limit < (checkpoint?.size ?? 0) {
                    checkpoint = try await store.checkpoint(atLeast: limit)
                }
                for receipt in entries {
                    guard let sequence = receipt["ledger"]?["seq"]?.exactInt else { continue }
                    // Held until a checkpoint covering it has the cosignatures the partner requires.
                    if let limit = pushableBelow(callback.partner), sequence >= limit { break }
                    guard let checkpoint, sequence < checkpoint.size else { break }
                    if receipt["partner"]?.stringValue == callback.partner {
                        let proof = try await MerkleTree.inclusionProof(leaf: sequence, size: checkpoint.size, from: store)
                        let bundle = ReceiptBundle(receipt: receipt, index: sequence, inclusionProof: proof, checkpoint: published(checkpoint.note))
                        try await send(bundle.json, id: receipt["id"]?.stringValue ?? "", to: callback)
                        try await store.setCursor(name, to: sequence + 1)
                    }
                    next = sequence + 1
                }
                try await store.setCursor(name, to: next)
                if next == from { try? await Task.sleep(for: idle) }
                backoff = 0.5
            } catch {
                logger.warning("receipt push failed; will retry", metadata: [
                    "partner": .string(callback.partner), "callback": .string(Self.redacted(callback.url)),
                    "error": .string("\(error)"), "retry_in_s": .stringConvertible((backoff * 10).rounded() / 10),
                ])
                try? await Task.sleep(for: .milliseconds(Int64(backoff * Double.random(in: 500...1000))))
                backoff = min(backoff * 2, maxBackoff)
            }
        }
    }

    /// POSTs one receipt bundle; `id` (the receipt id) is the `Idempotency-Key`.
    func send(_ bundle: JSONValue, id: String, to callback: Callback) async throws {
        var request = HTTPClientRequest(url: callback.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Idempotency-Key", value: id)
        request.headers.add(name: "User-Agent", value: "causeway")
        request.body = .bytes(ByteBuffer(string: JSONWriter.string(bundle)))
        let response = try await client.execute(request, timeout: .seconds(10))
        _ = try? await response.body.collect(upTo: 64 << 10)
        guard (200..<300).contains(response.status.code) else {
            throw PushFailed(description: "the callback answered \(response.status.code)")
        }
    }

    /// The URL without user information (it may hold credentials).
    static func redacted(_ url: String) -> String {
        guard var components = URLComponents(string: url) else { return "(not a URL)" }
        components.user = nil
        components.password = nil
        components.query = nil
        return components.string ?? "(not a URL)"
    }
}
