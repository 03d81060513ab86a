import CausewayCore
import Hummingbird
import NIOCore

/// The C2SP `tlog-witness` endpoints of a gateway that witnesses other logs (``LedgerWitness``;
/// the submission and monitoring prefix are both `/witness`).
///
/// - `POST /witness/add-checkpoint`: `old N`, the consistency proof, a blank line, the signed
///   checkpoint. 200 with the cosignature line; 400 malformed or old size above the checkpoint's;
///   403 not signed by the log's configured key; 404 a log this gateway does not witness; 409 with
///   the size last cosigned (`text/x.tlog.size`); 413 a body over 64 KiB; 422 a consistency proof
///   that does not verify.
/// - `GET /witness/{sha256(origin) hex}/checkpoint`: the checkpoint last cosigned for that log,
///   with the log's signature and this witness's cosignature; 404 when none.
///
/// No token: as the spec says, the log's signature on the checkpoint is the only authentication,
/// and only configured logs are served. The body is bounded, the work per request is one or two
/// Ed25519 checks and at most 63 hashes.
struct WitnessAPI: Sendable {
    let witness: LedgerWitness

    func register(on router: Router<GatewayRequestContext>) {
        router.post("/witness/add-checkpoint") { request, _ in try await self.addCheckpoint(request) }
        router.get("/witness/:origin/checkpoint") { _, context in
            guard let hash = context.parameters.get("origin"), let note = try await self.witness.latest(originHash: hash) else {
                throw Problem(404, "witness.no_checkpoint", "No cosigned checkpoint for this log",
                              "the path names a log by the lowercase hex SHA-256 of its origin; this witness has cosigned none of it")
            }
            return Self.text(note)
        }
    }

    func addCheckpoint(_ request: Request) async throws -> Response {
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: LedgerWitness.maxRequestBytes)
        } catch {
            throw Problem(413, "witness.too_large", "Request too large", "an add-checkpoint request is at most \(LedgerWitness.maxRequestBytes) bytes")
        }
        switch try await witness.addCheckpoint(Array(buffer: body)) {
        case .cosigned(let lines):
            return Self.text(lines)
        case .conflict(let size):
            return Response(status: .conflict, headers: [.contentType: "text/x.tlog.size"], body: .init(byteBuffer: ByteBuffer(string: "\(size)\n")))
        case .badRequest(let message):
            throw Problem(400, "witness.bad_request", "Not a valid add-checkpoint request", message)
        case .forbidden(let message):
            throw Problem(403, "witness.signature_invalid", "The checkpoint is not signed by the log's key", message)
        case .unknownLog(let message):
            throw Problem(404, "witness.unknown_log", "This gateway does not witness that log", message)
        case .unprocessable(let message):
            throw Problem(422, "witness.inconsistent", "The checkpoint is not consistent with the one cosigned before", message)
        }
    }

    static func text(_ text: String) -> Response {
        Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8", .cacheControl: "no-store"],
                 body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
