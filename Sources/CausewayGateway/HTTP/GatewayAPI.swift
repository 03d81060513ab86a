import CausewayCore
import CausewayStore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// The HTTP API of DESIGN §5. Intake is authenticated by the agreement's own signatures; every
/// other `/v1` endpoint sits in a route group behind ``BearerAuthentication`` (viewers read,
/// operators also act), so no handler can forget to check.
struct GatewayAPI: Sendable {
    let intake: IntakeService
    let store: any AgreementStore
    let tokens: TokenAuthenticator
    let throttle: AuthThrottle
    let metrics: GatewayMetrics
    let maxBytes: Int
    let edge: GatewayConfiguration.EdgeSettings
    /// Rung when an agreement with actions is stored, so the worker starts at once.
    let newWork: Doorbell
    /// The configured targets and their circuits, for `/healthz`.
    let targets: [String]
    let breakers: CircuitBreakers
    /// The scheduled reconciliation, when `serve` runs one.
    let reconcile: ReconcileSchedule?
    /// Agreements being read, verified and stored right now.
    let inFlight = InFlightGate()
    /// Whether the last write to the store failed (a full disk): `/readyz` then probes writes.
    let storeHealth = StoreHealth()
    let logger: Logger
    /// The targets' cached connection checks, for `/readyz` (nil: targets not covered; TargetReadiness.swift).
    var targetReadiness: TargetReadiness? = nil
    /// The long-lived services and how each is doing, for `/healthz` (nil: not shown).
    var services: ServiceMonitor? = nil
    /// The targets configured now (a live reload changes them); nil: ``targets``.
    var currentTargets: (@Sendable () -> [String])? = nil

    /// The largest `limit` of a list request.
    static let maxPageSize: Int64 = 200

    func register(on router: Router<GatewayRequestContext>) {
        router.post("/v1/agreements") { request, context in try await self.submit(request, context) }
        router.get("/healthz") { _, _ in
            // The process runs; each target's circuit says whether deliveries to it are paused.
            var circuits: JSONObject = [:]
            for target in self.currentTargets?() ?? self.targets { circuits[target] = .string(self.breakers.state(of: target, now: WallClock.milliseconds()).rawValue) }
            guard let services = self.services else { return Self.json(["status": "ok", "targets": .object(circuits)]) }
            // Every named service; one failing or restarting makes the status `degraded` (still 200:
            // the process answers, and restarting it would not mend a lost store).
            return Self.json(["status": .string(services.healthy ? "ok" : "degraded"), "targets": .object(circuits),
                              "services": .object(services.json)])
        }
        router.get("/readyz") { _, _ in try await self.ready() }
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                     body: .init(byteBuffer: ByteBuffer(string: self.metrics.exposition())))
        }

        let viewers = router.group("/v1").add(middleware: BearerAuthentication(tokens: tokens, throttle: throttle, role: .viewer))
        viewers.get("agreements") { request, _ in try await self.list(request) }
        viewers.get("agreements/:digest") { _, context in try await self.show(context) }
        viewers.get("agreements/:digest/document") { _, context in try await self.document(context) }
        viewers.get("receipts/:id") { _, context in try await self.receipt(context) }
        viewers.get("reconcile") { _, _ in
            guard let reconcile = self.reconcile else {
                throw Problem(404, "reconcile.off", "Scheduled reconciliation is off", "set reconcile.every_seconds above 0, or run causeway reconcile")
            }
            return Self.json(reconcile.json)
        }
        let operators = router.group("/v1").add(middleware: BearerAuthentication(tokens: tokens, throttle: throttle, role: .operator))
        operators.post("agreements/:digest/retry") { _, context in try await self.retry(context) }
        AuditAPI(store: store, tokens: tokens, throttle: throttle).register(on: router)
    }

    // MARK: Responses

    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"],
                 body: .init(byteBuffer: ByteBuffer(string: JSONWriter.string(value, style: .compact))))
    }

    /// RFC 9457 problem details with a stable `code`.
    static func problem(_ status: Int, _ code: String, _ title: String, _ detail: String?, extra: JSONObject = [:]) -> Response {
        Problem(status, code, title, detail, extra: extra).response
    }

    // MARK: Health

    /// Ready when the store answers and, after a failed write, when a write succeeds again.
    func ready() async throws -> Response {
        do {
            if storeHealth.writeFailed {
                try await store.setCursor(StoreHealth.probeCursor, to: Int(WallClock.milliseconds() / 1000))
                storeHealth.wrote()
            } else {
                _ = try await store.ledgerHead()
            }
        } catch {
            logger.error("the store is not ready", metadata: ["error": "\(error)"])
            throw Problem.retryLater(503, "store.unavailable", "The store cannot be written",
                                     storeHealth.writeFailed ? "the last write to the store failed (is its disk full?)" : "the store cannot be reached",
                                     seconds: 5)
        }
        return try targetReadiness.map { try $0.readyz() } ?? Self.json(["status": "ready"])
    }

    // MARK: Intake

    func submit(_ request: Request, _ context: GatewayRequestContext) async throws -> Response {
        metrics.increment("causeway_agreements_received_total")
        let started = ContinuousClock.now
        defer {
            let elapsed = ContinuousClock.now - started
            metrics.observe("causeway_intake_duration_seconds",
                            seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        }
        // Intake needs no token; one that is presented (and valid) unlocks the refusals' full detail.
        var caller: Caller?
        if let presented = TokenAuthenticator.bearerToken(request), throttle.blocked(context.clientAddress) == nil {
            caller = tokens.caller(presenting: presented)
            if caller == nil { throttle.failed(context.clientAddress) }
        }
        let body: [UInt8]
        switch await readBody(request) {
        case .complete(let bytes): body = bytes
        case .tooLarge:
            metrics.increment("causeway_agreements_refused_total", ["code": "intake.too_large"])
            var problem = Problem(413, "intake.too_large", "Agreement too large", "the limit is \(maxBytes) bytes")
            problem.headers[.connection] = "close"
            return problem.response
        case .unreadable:
            // The client went away or the body broke off: nothing was stored.
            metrics.increment("causeway_agreements_refused_total", ["code": "intake.unreadable"])
            var problem = Problem(400, "intake.unreadable", "The request body could not be read", "the body ended early or was not valid HTTP")
            problem.headers[.connection] = "close"
            return problem.response
        }

        // Only verifying and storing are gated: a slow client still sending its body holds a connection
        // (bounded by http.max_connections and the body timeout), never a verification slot.
        guard inFlight.enter(limit: edge.maxInFlightIntake) else {
            metrics.increment("causeway_agreements_refused_total", ["code": "server.busy"])
            throw Problem.retryLater(503, "server.busy", "The gateway is busy", "too many agreements are being verified at once; retry shortly",
                                     seconds: 1)
        }
        defer { inFlight.leave() }
        let outcome: IntakeOutcome
        do {
            outcome = try await intake.submit(body, clientCertificate: { await context.presentedClientCertificate() })
        } catch {
            // A full disk or a lost store: nothing was stored, nothing acknowledged.
            storeHealth.failed()
            metrics.increment("causeway_agreements_refused_total", ["code": "store.unavailable"])
            logger.error("intake could not store an agreement", metadata: ["error": "\(error)"])
            throw Problem.retryLater(503, "store.unavailable", "The agreement could not be stored",
                                     "nothing was stored; send the same agreement again later", seconds: 5)
        }
        storeHealth.wrote()
        switch outcome {
        case .accepted(let digest, let partner, let status):
            RequestLogNotes.note(partner: partner, digest: digest.description)
            metrics.increment("causeway_agreements_accepted_total", ["partner": partner])
            newWork.ringOne()
            return Self.json(["digest": .string(digest.description), "status": .string(status.rawValue), "partner": .string(partner)],
                             status: .accepted)
        case .known(let digest, let status):
            RequestLogNotes.note(digest: digest.description)
            metrics.increment("causeway_agreements_known_total")
            return Self.json(["digest": .string(digest.description), "status": .string(status.rawValue)], status: .ok)
        case .refused(let refusal, let message, let digest, let detail):
            RequestLogNotes.note(digest: digest?.description)
            metrics.increment("causeway_agreements_refused_total", ["code": refusal.code])
            // Operators see everything in the log; the sender sees the whole story only with a token.
            logger.notice("agreement refused", metadata: [
                "code": .string(refusal.code), "digest": .string(digest?.description ?? "-"), "message": .string(message),
                "detail": .string(JSONWriter.string(.object(detail), style: .compact)),
            ])
            if caller != nil {
                var extra = detail
                if let digest { extra["digest"] = .string(digest.description) }
                return Problem(refusal.httpStatus, refusal.code, refusal.title, message, extra: extra).response
            }
            return Self.publicRefusal(refusal, message: message, digest: digest, detail: detail).response
        }
    }

    /// A refusal as an unauthenticated sender sees it: stable codes and paths into the agreement
    /// it sent, never partner names, limits, role set-up or the gateway's files.
    static func publicRefusal(_ refusal: IntakeRefusal, message: String, digest: ContentDigest?, detail: JSONObject) -> Problem {
        var extra: JSONObject = [:]
        if let digest { extra["digest"] = .string(digest.description) }
        if let reason = detail["reason"] { extra["reason"] = reason }
        // A stale or closed chain names its current head: the sender has proven it is a party (its
        // change verified before the chain was looked at), and needs the head to rebase on.
        if refusal == .staleVersion || refusal == .agreementCancelled {
            for key in ["current", "version", "cancellation"] { if let value = detail[key] { extra[key] = value } }
        }
        for key in ["findings", "errors"] {
            guard case .array(let items)? = detail[key] else { continue }
            extra[key] = .array(items.map { item in
                var kept: JSONObject = [:]
                if let code = item["code"] { kept["code"] = code }
                if let path = item["path"] { kept["path"] = path }
                return .object(kept)
            })
            if let omitted = detail[key + "Omitted"] { extra[key + "Omitted"] = omitted }
        }
        // Malformed and too-large messages speak only of the sender's own bytes.
        let shown: String = switch refusal {
        case .malformed, .tooLarge: message
        case .unknownPartner: "no configured partner has these parties' DIDs in its roles"
        case .notVerified: "the agreement is not verified; each finding names its code and the path in the agreement"
        case .mappingFailed: "the agreement cannot be mapped; each error names its code and the path in the agreement"
        case .conflict: "an agreement with this id and other content is already stored"
        case .staleVersion, .agreementCancelled, .revisionNotMapped, .unknownAgreement, .agreementArchived: message
        default: refusal.title
        }
        return Problem(refusal.httpStatus, refusal.code, refusal.title, shown, extra: extra)
    }

    enum Body {
        case complete([UInt8])
        case tooLarge
        case unreadable
    }

    /// Reads the body up to `maxBytes`. An over-limit body is read on and discarded up to
    /// `drainBytes` more before the 413 (RFC 9112 §9.6: a client that writes its whole body
    /// before reading would otherwise never see the answer); past that the connection is closed.
    func readBody(_ request: Request) async -> Body {
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > maxBytes + edge.drainBytes { return .tooLarge }
        var buffer = ByteBuffer()
        var total = 0
        do {
            for try await chunk in request.body {
                total += chunk.readableBytes
                if total <= maxBytes {
                    var chunk = chunk
                    buffer.writeBuffer(&chunk)
                } else if total > maxBytes + edge.drainBytes {
                    return .tooLarge
                }
            }
        } catch {
            return .unreadable
        }
        return total > maxBytes ? .tooLarge : .complete(Array(buffer: buffer))
    }

    func digest(_ context: GatewayRequestContext) throws(Problem) -> ContentDigest {
        guard let digest = context.digestParameter else { throw Problem(400, "query.digest_invalid", "Not a digest", "expected sha256:<64 hex>") }
        return digest
    }

    func list(_ request: Request) async throws -> Response {
        let query = QueryReader(request)
        var filter = AgreementQuery(limit: Int(try query.integer("limit", in: 1...Self.maxPageSize, default: 50) ?? 50))
        filter.partner = try query.text("partner")
        if let status = try query.text("status") {
            guard let parsed = AgreementStatus(rawValue: status) else {
                throw Problem(400, "query.status_invalid", "Unknown status", "use one of \(AgreementStatus.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            filter.status = parsed
        }
        filter.before = try query.integer("before", in: 1...Int64.max)
        let summaries = try await store.agreements(filter)
        let next: JSONValue = summaries.count == filter.limit ? summaries.last.map { .string(String($0.sequence)) } ?? .null : .null
        return Self.json(["agreements": .array(summaries.map(Self.summaryJSON)), "next": next])
    }

    static func summaryJSON(_ summary: AgreementSummary) -> JSONValue {
        .object(summaryObject(summary))
    }

    static func summaryObject(_ summary: AgreementSummary) -> JSONObject {
        [
            "digest": .string(summary.digest.description), "id": .string(summary.agreementID), "partner": .string(summary.partner),
            "status": .string(summary.status.rawValue), "total": summary.total.map(JSONValue.string) ?? .null,
            "currency": summary.currency.map(JSONValue.string) ?? .null, "targets": .array(summary.targets.map(JSONValue.string)),
            "references": .array(summary.references.map(JSONValue.string)), "receivedAt": .number(Double(summary.receivedAt)),
            "version": .number(Double(summary.version)), "revision": summary.revision.map(JSONValue.string) ?? .null,
            "chain": summary.chain.map { .string($0.description) } ?? .null,
            "supersededBy": summary.supersededBy.map { .string($0.description) } ?? .null,
        ]
    }

    func show(_ context: GatewayRequestContext) async throws -> Response {
        let digest = try digest(context)
        guard let stored = try await store.agreement(digest: digest) else {
            throw Problem(404, "agreement.not_found", "No such agreement", nil)
        }
        var object = Self.summaryObject(stored.summary)
        object["mapping"] = ["id": .string(stored.mappingID), "version": .string(stored.mappingVersion), "digest": .string(stored.mappingDigest.description)]
        object["verification"] = stored.verification
        object["actions"] = .array(stored.entries.map { entry in
            [
                "index": .number(Double(entry.actionIndex)), "name": .string(entry.name), "target": .string(entry.target),
                "state": .string(entry.state.rawValue), "attempts": .number(Double(entry.attempts)),
                "lastError": entry.lastError.map(JSONValue.string) ?? .null, "legacyRef": entry.legacyReference ?? .null,
                "receiptId": .string(entry.receiptID),
            ]
        })
        object["attempts"] = .array(stored.attempts.map { attempt in
            ["entry": .number(Double(attempt.entryID)), "number": .number(Double(attempt.number)), "outcome": .string(attempt.outcome),
             "detail": attempt.detail.map(JSONValue.string) ?? .null, "startedAt": .number(Double(attempt.startedAt)),
             "finishedAt": .number(Double(attempt.finishedAt))]
        })
        object["receipts"] = .array(try await store.receipts(digest: digest).map(JSONValue.object))
        // The agreement's life: every version of its chain, oldest first (one entry for an agreement never changed).
        if let chain = stored.summary.chain {
            object["versions"] = .array(try await store.versions(of: chain).map { version in
                ["digest": .string(version.digest.description), "version": .number(Double(version.version)),
                 "revision": version.revision.map(JSONValue.string) ?? .null, "status": .string(version.status.rawValue),
                 "receivedAt": .number(Double(version.receivedAt))]
            })
        }
        return Self.json(.object(object))
    }

    /// The signed document exactly as received (the bytes every proof covers): what `causeway amend`
    /// and `causeway cancel` follow when given a digest instead of a file.
    func document(_ context: GatewayRequestContext) async throws -> Response {
        let digest = try digest(context)
        guard let stored = try await store.agreement(digest: digest) else { throw Problem(404, "agreement.not_found", "No such agreement", nil) }
        guard !stored.document.isEmpty else {
            throw Problem(410, "agreement.archived", "Agreement archived", "retention archived this agreement's document (retention.days)")
        }
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: stored.document)))
    }

    func retry(_ context: GatewayRequestContext) async throws -> Response {
        let digest = try digest(context)
        guard try await store.agreement(digest: digest) != nil else { throw Problem(404, "agreement.not_found", "No such agreement", nil) }
        let requeued = try await store.retry(digest: digest, now: WallClock.milliseconds())
        await AuditRecorder(store: store).record(action: AuditEntry.Action.retry, actor: context.caller?.name ?? "unknown", channel: "api",
                                                 target: digest.description, remote: context.clientAddress, outcome: .success,
                                                 detail: "\(requeued) action\(requeued == 1 ? "" : "s") re-queued")
        return Self.json(["digest": .string(digest.description), "requeued": .number(Double(requeued))], status: .accepted)
    }

    func receipt(_ context: GatewayRequestContext) async throws -> Response {
        guard let raw = context.parameters.get("id"), raw.utf8.count <= 512 else {
            throw Problem(400, "query.id_invalid", "Not a receipt id", "expected a urn:uuid receipt id")
        }
        guard let receipt = try await store.receipt(id: raw.removingPercentEncoding ?? raw) else {
            throw Problem(404, "receipt.not_found", "No such receipt", nil)
        }
        return Self.json(.object(receipt))
    }
}

/// Counts agreements in intake at once; past the limit intake answers 503 instead of queueing
/// work and memory without bound.
final class InFlightGate: Sendable {
    private let count = Atomic<Int>(0)

    func enter(limit: Int) -> Bool {
        if count.wrappingAdd(1, ordering: .acquiringAndReleasing).newValue > max(limit, 1) {
            count.wrappingSubtract(1, ordering: .acquiringAndReleasing)
            return false
        }
        return true
    }

    func leave() { count.wrappingSubtract(1, ordering: .acquiringAndReleasing) }
}

/// Whether the store's last write failed. Set by intake on a failed transaction, cleared by the
/// next successful one or by `/readyz`'s write probe.
final class StoreHealth: Sendable {
    private let failedWrite = Atomic<Bool>(false)
    /// The cursor `/readyz` writes to prove the store takes writes again.
    static let probeCursor = "causeway.readyz.write_probe"

    var writeFailed: Bool { failedWrite.load(ordering: .relaxed) }
    func failed() { failedWrite.store(true, ordering: .relaxed) }
    func wrote() { failedWrite.store(false, ordering: .relaxed) }
}
