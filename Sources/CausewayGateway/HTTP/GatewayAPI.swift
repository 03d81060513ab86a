import CausewayCore
import CausewayStore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization

/// The HTTP API of DESIGN §5. Intake is authenticated by the agreement's own signatures; every
/// other endpoint needs a bearer token (viewers read, operators also act).
struct GatewayAPI: Sendable {
    let intake: IntakeService
    let store: any AgreementStore
    /// Token secret → (name, role).
    let tokens: [String: (name: String, role: GatewayConfiguration.TokenConfiguration.Role)]
    let metrics: GatewayMetrics
    let maxBytes: Int
    /// Rung when an agreement with actions is stored, so the worker starts at once.
    let newWork: Doorbell
    /// The configured targets and their circuits, for `/healthz`.
    let targets: [String]
    let breakers: CircuitBreakers
    /// The scheduled reconciliation, when `serve` runs one.
    let reconcile: ReconcileSchedule?

    func register(on router: Router<BasicRequestContext>) {
        router.post("/v1/agreements") { request, _ in try await self.submit(request) }
        router.get("/v1/agreements") { request, context in try await self.list(request, context) }
        router.get("/v1/agreements/:digest") { request, context in try await self.show(request, context) }
        router.post("/v1/agreements/:digest/retry") { request, context in try await self.retry(request, context) }
        router.get("/v1/receipts/:id") { request, context in try await self.receipt(request, context) }
        router.get("/v1/reconcile") { request, _ in
            if let denied = self.authorize(request, needs: .viewer) { return denied }
            guard let reconcile = self.reconcile else {
                return Self.problem(404, "reconcile.off", "Scheduled reconciliation is off", "set reconcile.every_seconds above 0, or run causeway reconcile")
            }
            return Self.json(reconcile.json)
        }
        router.get("/healthz") { _, _ in
            // The process runs; each target's circuit says whether deliveries to it are paused.
            var circuits: JSONObject = [:]
            for target in self.targets { circuits[target] = .string(self.breakers.state(of: target, now: WallClock.milliseconds()).rawValue) }
            return Self.json(["status": "ok", "targets": .object(circuits)])
        }
        router.get("/readyz") { _, _ in
            do {
                _ = try await self.store.ledgerHead()
                return Self.json(["status": "ready"])
            } catch {
                return Self.problem(503, "store.unavailable", "The store cannot be reached", nil)
            }
        }
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                     body: .init(byteBuffer: ByteBuffer(string: self.metrics.exposition())))
        }
    }

    // MARK: Responses

    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"],
                 body: .init(byteBuffer: ByteBuffer(string: JSONWriter.string(value, style: .compact))))
    }

    /// RFC 9457 problem details with a stable `code`.
    static func problem(_ status: Int, _ code: String, _ title: String, _ detail: String?, extra: JSONObject = [:]) -> Response {
        var object: JSONObject = ["type": .string("https://causeway.invalid/problems/\(code)"), "title": .string(title),
                                  "status": .number(Double(status)), "code": .string(code)]
        if let detail { object["detail"] = .string(detail) }
        for (key, value) in extra { object[key] = value }
        return Response(status: .init(code: status), headers: [.contentType: "application/problem+json"],
                        body: .init(byteBuffer: ByteBuffer(string: JSONWriter.string(.object(object), style: .compact))))
    }

    /// The caller's role, or a 401/403 response.
    func authorize(_ request: Request, needs role: GatewayConfiguration.TokenConfiguration.Role) -> Response? {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
            return Self.problem(401, "auth.token_required", "A bearer token is required", "send Authorization: Bearer TOKEN")
        }
        let presented = Array(header.dropFirst(7).utf8)
        // Compare against every token in constant time per token.
        var match: GatewayConfiguration.TokenConfiguration.Role?
        for (secret, token) in tokens {
            let expected = Array(secret.utf8)
            var difference = UInt8(expected.count == presented.count ? 0 : 1)
            for index in 0..<min(expected.count, presented.count) { difference |= expected[index] ^ presented[index] }
            if difference == 0 { match = token.role }
        }
        guard let match else { return Self.problem(401, "auth.token_invalid", "The token is not valid", nil) }
        if role == .operator, match != .operator {
            return Self.problem(403, "auth.forbidden", "This action needs an operator token", nil)
        }
        return nil
    }

    // MARK: Endpoints

    func submit(_ request: Request) async throws -> Response {
        metrics.increment("causeway_agreements_received_total")
        let started = ContinuousClock.now
        defer {
            let elapsed = ContinuousClock.now - started
            metrics.observe("causeway_intake_duration_seconds",
                            seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: maxBytes)
        } catch is NIOTooManyBytesError {
            metrics.increment("causeway_agreements_refused_total", ["code": "intake.too_large"])
            return Self.problem(413, "intake.too_large", "Agreement too large", "the limit is \(maxBytes) bytes")
        } catch {
            // The client went away or the body broke off: nothing was stored.
            metrics.increment("causeway_agreements_refused_total", ["code": "intake.unreadable"])
            return Self.problem(400, "intake.unreadable", "The request body could not be read", "\(error)")
        }
        let outcome = try await intake.submit(Array(buffer: body))
        switch outcome {
        case .accepted(let digest, let partner, let status):
            metrics.increment("causeway_agreements_accepted_total", ["partner": partner])
            newWork.ring()
            return Self.json(["digest": .string(digest.description), "status": .string(status.rawValue), "partner": .string(partner)],
                             status: .accepted)
        case .known(let digest, let status):
            metrics.increment("causeway_agreements_known_total")
            return Self.json(["digest": .string(digest.description), "status": .string(status.rawValue)], status: .ok)
        case .refused(let refusal, let message, let digest, let detail):
            metrics.increment("causeway_agreements_refused_total", ["code": refusal.code])
            var extra = detail
            if let digest { extra["digest"] = .string(digest.description) }
            return Self.problem(refusal.httpStatus, refusal.code, refusal.title, message, extra: extra)
        }
    }

    func digest(_ context: BasicRequestContext) -> ContentDigest? {
        context.parameters.get("digest").flatMap { ContentDigest($0.removingPercentEncoding ?? $0) }
    }

    func list(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        if let denied = authorize(request, needs: .viewer) { return denied }
        let query = request.uri.queryParameters
        var filter = AgreementQuery(limit: query["limit"].flatMap { Int(String($0)) } ?? 50)
        filter.partner = query["partner"].map(String.init)
        if let status = query["status"] {
            guard let parsed = AgreementStatus(rawValue: String(status)) else {
                return Self.problem(400, "query.status_invalid", "Unknown status", "use one of \(AgreementStatus.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            filter.status = parsed
        }
        filter.before = query["before"].flatMap { Int64(String($0)) }
        let summaries = try await store.agreements(filter)
        return Self.json(["agreements": .array(summaries.map(Self.summaryJSON)),
                          "next": summaries.count == filter.limit ? .string(String(summaries.last!.sequence)) : .null])
    }

    static func summaryJSON(_ summary: AgreementSummary) -> JSONValue {
        [
            "digest": .string(summary.digest.description), "id": .string(summary.agreementID), "partner": .string(summary.partner),
            "status": .string(summary.status.rawValue), "total": summary.total.map(JSONValue.string) ?? .null,
            "currency": summary.currency.map(JSONValue.string) ?? .null, "targets": .array(summary.targets.map(JSONValue.string)),
            "references": .array(summary.references.map(JSONValue.string)), "receivedAt": .number(Double(summary.receivedAt)),
        ]
    }

    func show(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        if let denied = authorize(request, needs: .viewer) { return denied }
        guard let digest = digest(context) else { return Self.problem(400, "query.digest_invalid", "Not a digest", "expected sha256:<64 hex>") }
        guard let stored = try await store.agreement(digest: digest) else {
            return Self.problem(404, "agreement.not_found", "No such agreement", nil)
        }
        var object = Self.summaryJSON(stored.summary).objectValue!
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
             "detail": attempt.detail.map(JSONValue.string) ?? .null, "finishedAt": .number(Double(attempt.finishedAt))]
        })
        object["receipts"] = .array(try await store.receipts(digest: digest).map(JSONValue.object))
        return Self.json(.object(object))
    }

    func retry(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        if let denied = authorize(request, needs: .operator) { return denied }
        guard let digest = digest(context) else { return Self.problem(400, "query.digest_invalid", "Not a digest", "expected sha256:<64 hex>") }
        guard try await store.agreement(digest: digest) != nil else { return Self.problem(404, "agreement.not_found", "No such agreement", nil) }
        let requeued = try await store.retry(digest: digest, now: WallClock.milliseconds())
        return Self.json(["digest": .string(digest.description), "requeued": .number(Double(requeued))], status: .accepted)
    }

    func receipt(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        if let denied = authorize(request, needs: .viewer) { return denied }
        guard let id = context.parameters.get("id"), let receipt = try await store.receipt(id: id.removingPercentEncoding ?? id) else {
            return Self.problem(404, "receipt.not_found", "No such receipt", nil)
        }
        return Self.json(.object(receipt))
    }
}
