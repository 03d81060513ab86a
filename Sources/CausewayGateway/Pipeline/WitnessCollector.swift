import AsyncHTTPClient
import CausewayCore
public import CausewayStore
public import CausewayTrust
import Foundation
public import Logging
import NIOCore
import NIOHTTP1

/// Submits each new signed checkpoint of this gateway to the witnesses partners configured
/// (`ledger.witnesses` in partner.yaml), through the C2SP `tlog-witness` protocol, and keeps their
/// cosignatures in the ``CosignatureBook``.
///
/// One loop per witness: it reads the latest checkpoint, sends `old M` (the size the witness last
/// cosigned), the consistency proof from M and the checkpoint, and records the cosignature. A 409
/// tells the witness's size, and the request is sent again from there (the first request after a
/// lost state file learns it this way). A witness that has cosigned a *larger* tree than this log
/// holds means this log was rolled back or forked: it is logged as an error on every try.
public final class WitnessCollector: Sendable {
    public struct Witness: Sendable, Hashable {
        /// The submission prefix; requests go to `<url>/add-checkpoint`.
        public let url: String
        public let key: NoteKey
    }

    let witnesses: [Witness]
    let store: any AgreementStore
    let book: CosignatureBook
    let logger: Logger
    /// How often a loop looks for a new checkpoint, and the longest wait after failures.
    static let idle: Duration = .milliseconds(250)
    static let maxBackoffSeconds = 30.0

    public init(witnesses: [Witness], store: any AgreementStore, book: CosignatureBook, logger: Logger) {
        (self.witnesses, self.store, self.book, self.logger) = (witnesses, store, book, logger)
    }

    /// Collects until cancelled, one loop per witness so that a dead witness delays no other.
    public func run() async {
        await withDiscardingTaskGroup { group in
            for witness in witnesses { group.addTask { await self.collect(witness) } }
        }
    }

    struct Refused: Error, CustomStringConvertible {
        let description: String
    }

    func collect(_ witness: Witness) async {
        // The size the witness last cosigned, as far as we know (nil: take the book's).
        var known: Int?
        var backoff = 0.5
        while !Task.isCancelled {
            do {
                guard let latest = try await store.latestCheckpoint(), latest.size > 0 else {
                    try? await Task.sleep(for: Self.idle)
                    continue
                }
                let cosigned = book.latest(witness.key)
                let old = known ?? cosigned?.size ?? 0
                if let cosigned, cosigned.size == latest.size, cosigned.root == latest.root {
                    known = cosigned.size
                    try? await Task.sleep(for: Self.idle)
                    continue
                }
                guard old <= latest.size else {
                    throw Refused(description: "the witness has cosigned \(old) entries but this log's latest checkpoint has \(latest.size): "
                        + "the log was rolled back or forked since (restore the store, or ask the witness's operator)")
                }
                switch try await submit(latest, old: old, to: witness) {
                case .cosigned(let entry):
                    known = entry.size
                    backoff = 0.5
                    logger.debug("witness cosigned", metadata: ["witness": .string(witness.key.name), "size": .stringConvertible(entry.size)])
                case .conflict(let size):
                    // Try again at once from the witness's size, unless it keeps answering the same.
                    if size == old { throw Refused(description: "the witness answered 409 with the size sent (\(size))") }
                    known = size
                }
            } catch {
                logger.warning("witness cosignature not collected; will retry", metadata: [
                    "witness": .string(witness.key.name), "url": .string(ReceiptPusher.redacted(witness.url)),
                    "error": .string("\(error)"), "retry_in_s": .stringConvertible((backoff * 10).rounded() / 10),
                ])
                known = nil
                try? await Task.sleep(for: .milliseconds(Int64(backoff * Double.random(in: 500...1000))))
                backoff = min(backoff * 2, Self.maxBackoffSeconds)
            }
        }
    }

    enum Answer {
        case cosigned(CosignatureBook.Cosigned)
        case conflict(Int)
    }

    /// One add-checkpoint request.
    func submit(_ checkpoint: StoredCheckpoint, old: Int, to witness: Witness) async throws -> Answer {
        let note = try SignedNote(parsing: checkpoint.note)
        let proof = try await MerkleTree.consistencyProof(from: old, to: checkpoint.size, from: store)
        let body = AddCheckpointRequest(oldSize: old, consistencyProof: proof, checkpointNote: note.formatted).formatted
        var url = witness.url
        while url.hasSuffix("/") { url.removeLast() }
        var request = HTTPClientRequest(url: url + "/add-checkpoint")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
        request.headers.add(name: "User-Agent", value: "causeway")
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let answer = String(buffer: try await response.body.collect(upTo: 64 << 10))
        switch response.status.code {
        case 200:
            guard let entry = try book.record(witness: witness.key, checkpointNote: note, answer: answer) else {
                throw Refused(description: "the witness answered 200 without a valid cosignature by its configured key \(witness.key.vkey)")
            }
            return .cosigned(entry)
        case 409:
            let text = answer.trimmingCharacters(in: .newlines)
            guard let size = try? Checkpoint.parseSize(text, field: "size") else {
                throw Refused(description: "the witness answered 409 without a tree size")
            }
            return .conflict(size)
        default:
            throw Refused(description: "the witness answered \(response.status.code): \(answer.prefix(300))")
        }
    }
}
