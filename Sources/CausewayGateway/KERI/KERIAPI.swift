import CausewayCore
import CausewayStore
import CausewayTrust
import HTTPTypes
import Hummingbird
import NIOCore

/// KERI over HTTP (Docs/keri.md, "In the gateway"):
///
/// - `GET /v1/identity` — the gateway's DID, and for a KERI gateway its AID and key state.
/// - `GET [/PATH]/AID/keri.cesr` and `…/did.json` — the gateway's own KEL and DID document, where
///   did:webs puts them (`did:webs:HOST[:PATH]:AID`).
/// - `POST /v1/kel` — a party's server pushes its KEL (the whole stream, CESR). No token: a KEL is
///   self-certifying, so it is validated in full and stored only when it is the first of an AID a
///   partner names, or extends the stored one. Other AIDs are refused (404), regressions and forks
///   (409; a fork is recorded as duplicity), and bodies over `keri.max_kel_bytes` (413).
/// - `GET /v1/kel/AID` — the KEL the gateway holds for an AID it knows.
struct KERIAPI: Sendable {
    let keeper: KERIKeyStateKeeper
    /// The gateway's own AID, when it is a KERI controller.
    let own: GatewayKERIIdentity?
    /// The gateway's did:key (its DID when it is not a KERI controller).
    let didKey: String
    /// The AIDs partners name (in roles or identities): the only ones `POST /v1/kel` takes.
    let knownAIDs: Set<String>
    /// The path segments of `keri.webs` after the host.
    let websPath: [String]

    func register(on router: Router<GatewayRequestContext>) {
        router.get("/v1/identity") { _, _ in self.json(.ok, self.identity) }
        router.post("/v1/kel") { request, _ in try await self.push(request) }
        router.get("/v1/kel/:aid") { _, context in try self.kel(context.parameters.get("aid") ?? "") }
        if let own {
            let prefix = websPath.isEmpty ? "" : "/" + websPath.joined(separator: "/")
            router.get(RouterPath(prefix + "/" + own.aid + "/keri.cesr")) { _, _ in
                // As the keeper holds it (it may have been extended since start), else as loaded.
                let log = self.keeper.keyEventLog(of: own.aid) ?? own.log
                return Response(status: .ok, headers: [.contentType: "application/cesr", .cacheControl: "no-cache"],
                                body: .init(byteBuffer: ByteBuffer(bytes: log.cesr)))
            }
            router.get(RouterPath(prefix + "/" + own.aid + "/did.json")) { _, _ in self.json(.ok, own.didDocument) }
        }
    }

    var identity: JSONObject {
        guard let own else { return JSONObject([("did", .string(didKey)), ("didKey", .string(didKey))]) }
        var object = own.json
        object["didKey"] = .string(didKey)
        return object
    }

    func json(_ status: HTTPResponse.Status, _ object: JSONObject) -> Response {
        Response(status: status, headers: [.contentType: "application/json", .cacheControl: "no-cache"],
                 body: .init(byteBuffer: ByteBuffer(string: JSONWriter.string(.object(object)))))
    }

    func kel(_ aid: String) throws(Problem) -> Response {
        guard KERI.isAID(aid), let log = keeper.keyEventLog(of: aid) else {
            throw Problem(404, "keri.aid_unknown", "Unknown AID", "this gateway holds no KEL for that AID")
        }
        return Response(status: .ok, headers: [.contentType: "application/cesr", .cacheControl: "no-cache"],
                        body: .init(byteBuffer: ByteBuffer(bytes: log.cesr)))
    }

    func push(_ request: Request) async throws -> Response {
        let limit = keeper.configuration.maxKELBytes
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit {
            throw Problem(413, "keri.kel_too_large", "KEL too large", "the limit is \(limit) bytes (keri.max_kel_bytes)")
        }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: limit)
        } catch {
            throw Problem(413, "keri.kel_too_large", "KEL too large", "the limit is \(limit) bytes (keri.max_kel_bytes)")
        }
        let bytes = Array(buffer: body)
        switch try await keeper.offer(bytes, source: "push", admitting: knownAIDs) {
        case .notAdmitted(let aid):
            throw Problem(404, "keri.aid_not_configured", "AID not configured",
                          "no partner names \(aid) in its roles or identities; add it to partner.yaml first")
        case .invalid(let error):
            throw Problem(422, "keri.kel_invalid", "Not a valid KEL", error.description, extra: ["reason": .string(error.code.rawValue)])
        case .accepted(let outcome, let kel):
            return json(outcome == .stored ? .created : .ok, Self.summary(kel, outcome: outcome))
        case .refused(.forked(let sn), let kel):
            throw Problem(409, "keri.kel_duplicity", "Duplicity",
                          "the KEL holds a different event at sn \(sn) than the one this gateway first saw for \(kel.prefix); recorded")
        case .refused(let outcome, let kel):
            throw Problem(409, "keri.kel_regressed", "Older than the KEL held",
                          "this gateway holds a longer KEL of \(kel.prefix) than the one pushed (\(outcome)); push the whole current KEL")
        }
    }

    static func summary(_ kel: KERIKeyEventLog, outcome: KELUpdateOutcome) -> JSONObject {
        let outcomeName: String = switch outcome {
        case .stored: "stored"
        case .extended: "extended"
        case .identical: "identical"
        case .regressed: "regressed"
        case .forked: "forked"
        }
        return JSONObject([("aid", .string(kel.prefix)), ("outcome", .string(outcomeName)), ("s", .string(String(kel.lastSN, radix: 16))),
                           ("d", .string(kel.lastSAID)), ("keys", .array(kel.latestState.keys.map(JSONValue.string)))])
    }
}
