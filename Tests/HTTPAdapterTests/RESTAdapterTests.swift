import AdapterKit
import AdapterKitTesting
import CausewayCore
import Foundation
import HTTPAdapter
import Testing

@Suite("HTTP adapter: REST calls against a real HTTP server on loopback")
struct RESTAdapterTests {
    @Test("passes the adapter conformance suite (REST JSON)")
    func conformance() async throws {
        let server = try RecordingServer()
        let failures = try await TestAdapter.with(server) { adapter in
            await AdapterConformance.run(adapter) { SampleActions.rest() }
        }
        #expect(failures.isEmpty, "\(failures)")
        // Three deliveries of the first key, one of the second, two racing of the third: three resources.
        let posts = try server.deliveries().filter { $0.method == "POST" }
        #expect(Set(posts.compactMap { $0.header("Idempotency-Key") }).count == 3)
    }

    @Test("every call carries the Idempotency-Key and provenance headers; the body is canonical JSON with exact decimals")
    func headersAndBody() async throws {
        let server = try RecordingServer()
        let delivery = SampleActions.rest(headers: [("X-Buyer", "Konepaja Oy")])
        let outcome = try await TestAdapter.with(server) { await $0.deliver(delivery) }
        #expect(outcome.outcomeClass == .delivered, "\(outcome)")
        let request = try #require(try server.deliveries().first)
        #expect(request.method == "POST" && request.path == "/api/notes")
        #expect(request.header("Idempotency-Key") == delivery.idempotencyKey)
        #expect(request.header("Causeway-Agreement-Digest") == delivery.agreementDigest.description)
        #expect(request.header("Causeway-Provenance-Digest") == delivery.provenance.digest.description)
        #expect(request.header("Causeway-Receipt-ID") == delivery.provenance.receiptID)
        #expect(request.header("X-Buyer") == "Konepaja Oy")
        #expect(request.header("Content-Type") == "application/json")
        // The provenance header is the record's canonical JSON, base64url.
        var encoded = try #require(request.header("Causeway-Provenance")).replacingOccurrences(of: "-", with: "+")
            .replacingOccurrences(of: "_", with: "/")
        while encoded.count % 4 != 0 { encoded += "=" }
        let decoded = try #require(Data(base64Encoded: encoded))
        #expect(Array(decoded) == delivery.provenance.canonicalBytes)
        #expect(request.body == #"{"lines":[{"position":1,"sku":"A-1"}],"orderReference":"PO-1","quantity":"0.125","total":"1234.50"}"#)
    }

    @Test("the reference is captured from the body, else from Location, and looked up the same way")
    func referenceCapture() async throws {
        let server = try RecordingServer()
        try await TestAdapter.with(server) { adapter in
            let captured = SampleActions.rest(capture: "$.notificationId")
            let first = await adapter.deliver(captured)
            #expect(first.reference?.id.hasPrefix("N-") == true, "\(first)")
            #expect(first.reference?.kind == "/api/notes" && first.reference?.system == "http")
            let firstReference = try #require(first.reference)
            #expect(await adapter.lookup(captured) == .found(firstReference))

            let pointer = await adapter.deliver(SampleActions.rest(capture: "/id"))
            #expect(pointer.reference.map { Int($0.id) != nil } == true, "\(pointer)")

            let location = await adapter.deliver(SampleActions.rest(path: "/api/orders", capture: nil))
            #expect(location.reference?.id.hasPrefix("/api/orders/") == true, "\(location)")
        }
    }

    @Test("4xx is rejected with the target's words; 408, 429 and 5xx are retryable and honour Retry-After")
    func outcomeClasses() async throws {
        let date = Date().addingTimeInterval(120)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        let server = try RecordingServer(paths: [
            "/problem": ["kind": "fixed", "status": 422, "content_type": "application/problem+json",
                         "body": #"{"type":"about:blank","title":"Unprocessable","detail":"orderReference is already closed"}"#],
            "/text": ["kind": "fixed", "status": 400, "content_type": "text/plain", "body": "bad request:\n  quantity must be positive"],
            "/busy": ["kind": "fixed", "status": 503, "headers": ["Retry-After": "7"], "body": #"{"title":"maintenance"}"#],
            "/limited": ["kind": "fixed", "status": 429, "headers": ["Retry-After": .string(formatter.string(from: date))]],
            "/slowclient": ["kind": "fixed", "status": 408],
            "/broken": ["kind": "fixed", "status": 500, "content_type": "text/html", "body": "<h1>Internal error</h1>"],
            "/moved": ["kind": "fixed", "status": 301, "headers": ["Location": "/elsewhere"]],
            "/conflict": ["kind": "fixed", "status": 409, "body": #"{"title":"a request with this key is in progress"}"#],
        ])
        try await TestAdapter.with(server) { adapter in
            let problem = await adapter.deliver(SampleActions.rest(path: "/problem"))
            #expect(problem.outcomeClass == .rejected)
            #expect(problem.reason?.contains("422") == true && problem.reason?.contains("orderReference is already closed") == true, "\(problem)")

            let text = await adapter.deliver(SampleActions.rest(path: "/text"))
            #expect(text.outcomeClass == .rejected)
            #expect(text.reason?.contains("bad request: quantity must be positive") == true, "\(text)")

            let busy = await adapter.deliver(SampleActions.rest(path: "/busy"))
            #expect(busy.outcomeClass == .retryable && busy.retryAfter == .seconds(7), "\(busy)")

            let limited = await adapter.deliver(SampleActions.rest(path: "/limited"))
            #expect(limited.outcomeClass == .retryable, "\(limited)")
            let wait = try #require(limited.retryAfter)
            #expect(wait > .seconds(100) && wait <= .seconds(121), "\(wait)")

            #expect(await adapter.deliver(SampleActions.rest(path: "/slowclient")).outcomeClass == .retryable)
            let broken = await adapter.deliver(SampleActions.rest(path: "/broken"))
            #expect(broken.outcomeClass == .retryable && broken.retryAfter == nil, "\(broken)")

            let moved = await adapter.deliver(SampleActions.rest(path: "/moved"))
            #expect(moved.outcomeClass == .rejected && moved.reason?.contains("redirect") == true, "\(moved)")

            // The target honours Idempotency-Key: 409 means the first request with the key is still in progress.
            let conflict = await adapter.deliver(SampleActions.rest(path: "/conflict"))
            #expect(conflict.outcomeClass == .retryable, "\(conflict)")
        }
        let conflict = try await TestAdapter.with(server, ["honours_idempotency_key": "false", "lookup_path": nil]) {
            await $0.deliver(SampleActions.rest(path: "/conflict"))
        }
        #expect(conflict.outcomeClass == .rejected, "\(conflict)")
    }

    @Test("a flapping target: retryable until it recovers, then delivered once")
    func flapping() async throws {
        let server = try RecordingServer(paths: ["/api/notes": ["kind": "create", "fail_first": 2]])
        let delivery = SampleActions.rest()
        let outcomes = try await TestAdapter.with(server) { adapter in
            var outcomes: [DeliveryOutcome] = []
            for _ in 0..<3 { outcomes.append(await adapter.deliver(delivery)) }
            return outcomes
        }
        #expect(outcomes.map(\.outcomeClass) == [.retryable, .retryable, .delivered], "\(outcomes)")
        #expect(outcomes[0].retryAfter == .seconds(1))
        #expect(try server.deliveries().count == 3)
    }

    @Test("a timeout after sending is unknown; the lookup then finds the write and a re-delivery does not repeat it")
    func timeoutThenLookup() async throws {
        let server = try RecordingServer(paths: ["/api/notes": ["kind": "create", "delay": 12]])
        let delivery = SampleActions.rest()
        try await TestAdapter.with(server, ["timeout": "1"]) { adapter in
            let started = ContinuousClock.now
            let outcome = await adapter.deliver(delivery)
            #expect(outcome.outcomeClass == .unknown, "\(outcome)")
            // Well before the server's answer: the client gave up at its own timeout (loose bound: busy machine).
            #expect(ContinuousClock.now - started < .seconds(9))
            guard case .found(let reference) = await adapter.lookup(delivery) else {
                Issue.record("the lookup did not find the delivery")
                return
            }
            #expect(reference.id.hasPrefix("N-"))
            // The target replays the first answer for the key at once (no new resource, no delay).
            let again = await adapter.deliver(delivery)
            #expect(again.reference == reference, "\(again)")
        }
        #expect(try server.deliveries().filter { $0.method == "POST" }.count == 2)
    }

    @Test("a connect failure is retryable and the lookup is unavailable, never notFound")
    func unreachable() async throws {
        let server = try RecordingServer()
        // Nothing listens on port 1 of the loopback address.
        let port = 1
        let delivery = SampleActions.rest()
        try await TestAdapter.with(server, ["base_url": "http://127.0.0.1:\(port)"]) { adapter in
            let outcome = await adapter.deliver(delivery)
            #expect(outcome.outcomeClass == .retryable, "\(outcome)")
            #expect(outcome.reason?.contains("not sent") == true)
            guard case .unavailable = await adapter.lookup(delivery) else {
                Issue.record("a lookup at an unreachable target must be unavailable")
                return
            }
        }
    }

    @Test("bearer and basic authentication; a refused credential never appears in the reason")
    func authentication() async throws {
        let basic = "Basic " + Data("gateway:pa55-w0rd".utf8).base64EncodedString()
        let server = try RecordingServer(paths: [
            "/bearer": ["kind": "create", "authorization": "Bearer tok-right-123", "echo_authorization_on_401": true],
            "/basic": ["kind": "create", "authorization": .string(basic), "echo_authorization_on_401": true],
        ])
        let bearerRight = try await TestAdapter.with(server, ["auth": "bearer", "token": "env:PORTAL_TOKEN"],
                                                     secrets: ["token": "tok-right-123"]) { await $0.deliver(SampleActions.rest(path: "/bearer")) }
        #expect(bearerRight.outcomeClass == .delivered, "\(bearerRight)")
        let bearerWrong = try await TestAdapter.with(server, ["auth": "bearer", "token": "env:PORTAL_TOKEN"],
                                                     secrets: ["token": "tok-wrong-456"]) { await $0.deliver(SampleActions.rest(path: "/bearer")) }
        #expect(bearerWrong.outcomeClass == .rejected && bearerWrong.reason?.contains("401") == true, "\(bearerWrong)")
        #expect(bearerWrong.reason?.contains("tok-wrong-456") == false, "\(bearerWrong)")
        #expect(bearerWrong.reason?.contains("you sent") == true, "the target's text is kept, the secret removed")

        let basicRight = try await TestAdapter.with(server, ["auth": "basic", "username": "gateway", "password": "file:/run/secret"],
                                                    secrets: ["password": "pa55-w0rd"]) { await $0.deliver(SampleActions.rest(path: "/basic")) }
        #expect(basicRight.outcomeClass == .delivered, "\(basicRight)")
        let basicWrong = try await TestAdapter.with(server, ["auth": "basic", "username": "gateway", "password": "file:/run/secret"],
                                                    secrets: ["password": "not-it-789"]) { await $0.deliver(SampleActions.rest(path: "/basic")) }
        #expect(basicWrong.outcomeClass == .rejected, "\(basicWrong)")
        let wrongEncoded = Data("gateway:not-it-789".utf8).base64EncodedString()
        #expect(basicWrong.reason?.contains("not-it-789") == false && basicWrong.reason?.contains(wrongEncoded) == false, "\(basicWrong)")

        let requests = try server.deliveries()
        #expect(requests.map { $0.header("Authorization") ?? "" }
            == ["Bearer tok-right-123", "Bearer tok-wrong-456", basic, "Basic " + wrongEncoded])
    }

    @Test("mutual TLS: with the client certificate the call is delivered; without it nothing reaches the target")
    func mutualTLS() async throws {
        let certificates = try TestCertificates.make()
        let server = try RecordingServer(tls: .init(certificate: certificates.serverCertificate, key: certificates.serverKey,
                                                    clientCA: certificates.caCertificate))
        let key = try String(contentsOfFile: certificates.clientKey, encoding: .utf8)
        let withCertificate = try await TestAdapter.with(
            server, ["ca_certificate": certificates.caCertificate, "client_certificate": certificates.clientCertificate,
                     "client_key": "file:\(certificates.clientKey)"],
            secrets: ["client_key": key]) { await $0.deliver(SampleActions.rest()) }
        #expect(withCertificate.outcomeClass == .delivered, "\(withCertificate)")
        #expect(try server.deliveries().first?.clientSubject?["commonName"] == "causeway-gateway")

        let without = try await TestAdapter.with(server, ["ca_certificate": certificates.caCertificate]) { await $0.deliver(SampleActions.rest()) }
        #expect(without.outcomeClass == .retryable, "\(without)")
        #expect(try server.deliveries().count == 1)

        // A server the configured CA did not sign is not trusted.
        let untrusted = try await TestAdapter.with(server) { await $0.deliver(SampleActions.rest()) }
        #expect(untrusted.outcomeClass == .retryable && untrusted.reason?.contains("TLS") == true, "\(untrusted)")
    }

    @Test("lookup without lookup_path: notFound only when the target honours Idempotency-Key, else unavailable")
    func lookupModes() async throws {
        let server = try RecordingServer()
        let delivery = SampleActions.rest()
        let honouring = try await TestAdapter.with(server, ["lookup_path": nil, "honours_idempotency_key": "true"]) { await $0.lookup(delivery) }
        #expect(honouring == .notFound)
        let neither = try await TestAdapter.with(server, ["lookup_path": nil, "honours_idempotency_key": "false"]) { await $0.lookup(delivery) }
        guard case .unavailable(let reason) = neither else {
            Issue.record("expected unavailable, got \(neither)")
            return
        }
        #expect(reason.contains("lookup_path") && reason.contains("honours_idempotency_key"))
        #expect(try server.requests().isEmpty)

        // A lookup route that fails is unavailable, never notFound.
        let failing = try RecordingServer(paths: ["/find": ["kind": "fixed", "status": 500]])
        let broken = try await TestAdapter.with(failing, ["lookup_path": "/find?key={key}"]) { await $0.lookup(delivery) }
        guard case .unavailable(let why) = broken else {
            Issue.record("expected unavailable, got \(broken)")
            return
        }
        #expect(why.contains("500"))
        let asked = try #require(try failing.requests().first)
        #expect(asked.method == "GET" && asked.path == "/find?key=" + delivery.idempotencyKey.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)
    }

    @Test("a target that ignores Idempotency-Key but offers a lookup is asked before each send: one write")
    func lookupBeforeSend() async throws {
        let server = try RecordingServer(paths: ["/api/notes": ["kind": "create", "honour_key": false]])
        let delivery = SampleActions.rest()
        let (first, second) = try await TestAdapter.with(server, ["honours_idempotency_key": "false"]) { adapter in
            (await adapter.deliver(delivery), await adapter.deliver(delivery))
        }
        #expect(first.outcomeClass == .delivered && second.reference == first.reference, "\(first) \(second)")
        let requests = try server.requests()
        #expect(requests.map(\.method) == ["GET", "POST", "GET"], "\(requests.map(\.path))")
    }

    @Test("actions that cannot be sent safely are rejected before any request")
    func unsafeActions() async throws {
        let server = try RecordingServer()
        try await TestAdapter.with(server) { adapter in
            let reserved = await adapter.deliver(SampleActions.rest(headers: [("Idempotency-Key", "mine")]))
            #expect(reserved.outcomeClass == .rejected && reserved.reason?.contains("Idempotency-Key") == true, "\(reserved)")
            let injected = await adapter.deliver(SampleActions.rest(headers: [("X-Note", "a\r\nX-Evil: 1")]))
            #expect(injected.outcomeClass == .rejected && injected.reason?.contains("X-Note") == true, "\(injected)")
            let escaping = await adapter.deliver(SampleActions.rest(path: "/api/../admin"))
            #expect(escaping.outcomeClass == .rejected && escaping.reason?.contains("http.path") == true, "\(escaping)")
        }
        #expect(try server.requests().isEmpty)
    }

    @Test("configuration problems name the setting and never the secret")
    func configuration() throws {
        let schema = HTTPTargetAdapter.descriptor.schema
        func problems(_ raw: [String: String], _ secrets: [String: String] = [:]) -> [String] {
            do {
                let settings = try schema.validate(raw, prefix: "targets.portal").get()
                let adapter = try HTTPTargetAdapter(settings: settings, secrets: secrets)
                Task { await adapter.shutdown() }
                return []
            } catch {
                return error.problems
            }
        }
        #expect(problems(["base_url": "http://x", "auth": "bearer"]).contains { $0.hasPrefix("token:") })
        #expect(problems(["base_url": "http://x", "lookup_path": "/orders"]).contains { $0.hasPrefix("lookup_path:") })
        #expect(problems(["base_url": "https://x", "client_certificate": "/nonexistent.pem"]).contains { $0.hasPrefix("client_certificate:") })
        let bad = problems(["base_url": "https://x", "client_certificate": "/nonexistent.pem", "client_key": "env:K"], ["client_key": "s3cret-pem"])
        #expect(!bad.isEmpty && !bad.joined().contains("s3cret-pem"), "\(bad)")
        #expect(problems(["base_url": "http://x", "token": "literal"]).contains { $0.contains("env:NAME or file:PATH") })
        #expect(problems(["base_url": "http://x"]).isEmpty)
    }
}
