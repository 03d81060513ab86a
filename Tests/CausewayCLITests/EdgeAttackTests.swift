import CausewayCore
import CausewayTesting
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing

/// The attacks of issue 11 on the HTTP edge, each against a real `causeway serve` on loopback.
@Suite("The edge holds against hostile clients", .serialized)
struct EdgeAttackTests {
    static func gateway(http: String, store: String? = nil, partners: URL? = nil) async throws -> RunningGateway {
        let gateway = try RunningGateway(store: store, partners: partners, extra: "http:\n\(http)")
        try await gateway.waitUntilReady()
        return gateway
    }

    /// An unlabelled metric's value in a Prometheus exposition (0 when absent).
    static func gauge(_ name: String, in exposition: String) -> Int {
        let line = exposition.split(separator: "\n").first { $0.hasPrefix(name + " ") }
        return line.flatMap { Int($0.split(separator: " ").last ?? "") } ?? 0
    }

    @Test("half-sent heads and bodies are closed by their timeouts while the gateway keeps serving")
    func slowClients() async throws {
        let gateway = try await Self.gateway(http: "  header_timeout_seconds: 2\n  body_timeout_seconds: 2")
        defer { _ = gateway.stop() }
        var heads: [RawConnection] = []
        for _ in 0..<100 {
            let connection = try RawConnection(port: gateway.port, timeoutSeconds: 20)
            try connection.send("POST /v1/agreements HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le")
            heads.append(connection)
        }
        let body = try RawConnection(port: gateway.port, timeoutSeconds: 20)
        try body.send("POST /v1/agreements HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n{\"a\":")
        // Meanwhile the gateway answers others.
        let (status, _) = try await gateway.request("GET", "/healthz")
        #expect(status == 200)
        // Each half-sent request is closed by the gateway, long before the client's own 20 s.
        for connection in heads {
            guard case .closed = connection.readToEnd() else {
                Issue.record("a half-sent head was still open after 20 s")
                break
            }
        }
        guard case .closed = body.readToEnd() else {
            Issue.record("a body that stopped arriving was still open after 20 s")
            return
        }
        let (after, _) = try await gateway.request("GET", "/healthz")
        #expect(after == 200)
        let (_, metrics) = try await gateway.text("/metrics")
        #expect(Self.gauge("causeway_http_connections_timed_out", in: metrics) >= 101, "\(metrics)")
    }

    @Test("clients that never finish their bodies hold no verification slot: a valid agreement is still accepted")
    func slowBodiesDoNotStarveIntake() async throws {
        let gateway = try await Self.gateway(http: "  max_in_flight_intake: 4\n  body_timeout_seconds: 60")
        defer { _ = gateway.stop() }
        var stalled: [RawConnection] = []
        for _ in 0..<70 {
            let connection = try RawConnection(port: gateway.port)
            try connection.send("POST /v1/agreements HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5000\r\n\r\n{\"type\":")
            stalled.append(connection)
        }
        try await Task.sleep(for: .milliseconds(500))
        let bytes = Array(try Data(contentsOf: TestPaths.repository.appendingPathComponent("Mappings/stahlteile/fixtures/agreements/one-line.json")))
        let (status, body) = try await gateway.request("POST", "/v1/agreements", body: bytes)
        #expect(status == 202, "\(String(describing: body))")
        withExtendedLifetime(stalled) {}  // the stalled bodies stay open until the valid agreement was answered
    }

    @Test("past the connection limit a client gets 503 with Retry-After, and service resumes when connections close")
    func connectionLimit() async throws {
        let gateway = try await Self.gateway(http: "  max_connections: 16\n  header_timeout_seconds: 60")
        defer { _ = gateway.stop() }
        var idle: [RawConnection] = []
        for _ in 0..<16 { idle.append(try RawConnection(port: gateway.port)) }
        try await Task.sleep(for: .milliseconds(300))
        let extra = try RawConnection(port: gateway.port)
        try extra.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        let answer = try extra.readResponse()
        #expect(answer.status == 503, "\(answer.head)")
        #expect(RawConnection.header("retry-after", in: answer.head) != nil)
        #expect(answer.body.contains("server.busy"))
        idle.removeAll()
        var recovered = false
        for _ in 0..<50 where !recovered {
            try await Task.sleep(for: .milliseconds(100))
            recovered = (try? await gateway.request("GET", "/healthz"))?.0 == 200
        }
        #expect(recovered, "the gateway did not serve again after the idle connections closed")
        let (_, metrics) = try await gateway.text("/metrics")
        #expect(Self.gauge("causeway_http_connections_refused", in: metrics) >= 1, "\(metrics)")
    }

    @Test("an over-limit body written in full before reading gets its 413 (lingering close)")
    func lingeringClose() async throws {
        let gateway = try await Self.gateway(http: "  drain_bytes: 4194304")
        defer { _ = gateway.stop() }
        let connection = try RawConnection(port: gateway.port, timeoutSeconds: 20)
        let size = (1 << 20) + (512 << 10)
        try connection.send("POST /v1/agreements HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(size)\r\nConnection: close\r\n\r\n")
        // Like Python's urllib: the whole body first, only then the answer.
        try connection.send([UInt8](repeating: 0x20, count: size))
        let answer = try connection.readResponse()
        #expect(answer.status == 413, "\(answer.head)")
        #expect(answer.body.contains("intake.too_large"))
    }

    @Test("query parameters are validated: limit=0 is a 400, not a crash")
    func queryValidation() async throws {
        let gateway = try await Self.gateway(http: "  max_in_flight_intake: 64")
        defer { _ = gateway.stop() }
        for query in ["limit=0", "limit=-5", "limit=100000", "limit=abc", "before=zero", "before=0", "status=nope"] {
            let (status, body) = try await gateway.request("GET", "/v1/agreements?\(query)", token: gateway.viewerToken)
            #expect(status == 400, "\(query): \(String(describing: body))")
            #expect(body?["code"]?.stringValue?.hasPrefix("query.") == true, "\(query)")
        }
        let (status, _) = try await gateway.request("GET", "/v1/agreements?limit=1", token: gateway.viewerToken)
        #expect(status == 200)
        #expect(gateway.process.isRunning)
    }

    /// POSTs the sign-in form as a browser on the gateway's own page would.
    static func signIn(_ gateway: RunningGateway, token: String, next: String) throws -> (status: Int, head: String) {
        let connection = try RawConnection(port: gateway.port)
        let form = "token=\(token.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")&next=\(next)"
        try connection.send("POST /login HTTP/1.1\r\nHost: 127.0.0.1:\(gateway.port)\r\nOrigin: http://127.0.0.1:\(gateway.port)\r\n"
            + "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: \(form.utf8.count)\r\nConnection: close\r\n\r\n\(form)")
        let answer = try connection.readResponse()
        return (answer.status, answer.head)
    }

    @Test("sign-in never redirects to another origin")
    func openRedirect() async throws {
        let gateway = try await Self.gateway(http: "  auth_failures_per_address: 100")
        defer { _ = gateway.stop() }
        let cases: [(String, String)] = [
            ("%2F%09%2Fevil.example", "/"), ("%2F%2Fevil.example", "/"), ("%2F%5Cevil.example", "/"), ("https%3A%2F%2Fevil.example", "/"),
            ("%2F%0A%2Fevil.example", "/"), ("%2Forders%3Fstatus%3Ddelivered", "/orders?status=delivered"),
        ]
        for (next, expected) in cases {
            let answer = try Self.signIn(gateway, token: gateway.token, next: next)
            #expect(answer.status == 303, "\(next): \(answer.head)")
            #expect(RawConnection.header("location", in: answer.head) == expected, "\(next): \(answer.head)")
        }
    }

    @Test("wrong tokens are rate-limited per address with 429 and Retry-After, at sign-in and on the API")
    func bruteForce() async throws {
        let gateway = try await Self.gateway(http: "  auth_failures_per_address: 5")
        defer { _ = gateway.stop() }
        for attempt in 0..<5 {
            let answer = try Self.signIn(gateway, token: "guess-\(attempt)-0123456789abcdef0123456789", next: "%2F")
            #expect(answer.status == 401, "attempt \(attempt): \(answer.head)")
        }
        let blocked = try Self.signIn(gateway, token: gateway.token, next: "%2F")
        #expect(blocked.status == 429, "\(blocked.head)")
        #expect(RawConnection.header("retry-after", in: blocked.head).flatMap { Int($0) } ?? 0 > 0)
        let (status, body) = try await gateway.request("GET", "/v1/agreements", token: gateway.viewerToken)
        #expect(status == 429)
        #expect(body?["code"]?.stringValue == "auth.rate_limited")
    }

    @Test("bearer scheme matches case-insensitively; short tokens stop serve from starting")
    func tokens() async throws {
        let gateway = try await Self.gateway(http: "  auth_failures_per_address: 100")
        defer { _ = gateway.stop() }
        let connection = try RawConnection(port: gateway.port)
        try connection.send("GET /v1/agreements HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: bearer \(gateway.viewerToken)\r\nConnection: close\r\n\r\n")
        #expect(try connection.readResponse().status == 200)

        let short = try RunningGateway(start: false)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandRunner.causewayBinary)
        process.arguments = ["serve", "--config", short.configFile]
        process.currentDirectoryURL = short.directory
        var environment = ProcessInfo.processInfo.environment
        environment["TEST_OPS_TOKEN"] = "short-token"
        environment["TEST_VIEWER_TOKEN"] = short.viewerToken
        process.environment = environment
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        process.waitUntilExit()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus != 0)
        #expect(message.contains("tokens.ops.secret") && message.contains("at least 32"), "\(message)")
        #expect(!message.contains("short-token"), "the secret itself must never be printed")
    }

    @Test("refusals tell strangers codes and paths only; a token shows the whole story")
    func refusalDetail() async throws {
        let gateway = try await Self.gateway(http: "  auth_failures_per_address: 100")
        defer { _ = gateway.stop() }
        let limit = Array(try Data(contentsOf: TestPaths.repository.appendingPathComponent("Mappings/stahlteile/fixtures/agreements/limit-exceeded.json")))
        let (status, body) = try await gateway.request("POST", "/v1/agreements", body: limit)
        #expect(status == 422)
        let text = JSONWriter.string(body ?? .null, style: .compact)
        #expect(!text.contains("stahlteile") && !text.contains("limit of") && !text.contains("partner.yaml") && !text.contains("/tmp"), "\(text)")
        let codes = body?["findings"]?.arrayValue?.compactMap { $0["code"]?.stringValue } ?? []
        #expect(codes.contains("policy.limit_exceeded"), "\(text)")
        #expect(body?["findings"]?.arrayValue?.allSatisfy { $0["message"] == nil } == true)
        let (_, detailed) = try await gateway.request("POST", "/v1/agreements", body: limit, token: gateway.viewerToken)
        let full = JSONWriter.string(detailed ?? .null, style: .compact)
        #expect(full.contains("stahlteile") && full.contains("limit"), "\(full)")
        #expect(gateway.log.contains("agreement refused"), "operators see refusals in the log")
    }

    @Test("a full disk answers 503 problem+json, readyz reports not ready, and both recover when space is back")
    func fullDisk() async throws {
        let work = try GeneratedAgreements(count: 400, seed: 31)
        let mount = try CommandRunner.temporaryDirectory("full-disk").appendingPathComponent("disk")
        try FileManager.default.createDirectory(at: mount, withIntermediateDirectories: true)
        let mounted = try CommandRunner.run("/bin/mount", ["-t", "tmpfs", "-o", "size=3m", "tmpfs", mount.path])
        try #require(mounted.status == 0, "this test needs root to mount a small tmpfs: \(mounted)")
        defer { _ = try? CommandRunner.run("/bin/umount", ["-l", mount.path]) }
        let gateway = try await Self.gateway(http: "  max_in_flight_intake: 64", store: "sqlite:\(mount.path)/causeway.sqlite", partners: work.partners)
        defer { _ = gateway.stop() }
        // Fill the disk.
        let filler = mount.appendingPathComponent("filler")
        _ = try CommandRunner.run("/bin/dd", ["if=/dev/zero", "of=\(filler.path)", "bs=64k"])
        var refused: (index: Int, body: JSONValue?)?
        for (index, document) in work.documents.enumerated() {
            let (status, body) = try await gateway.request("POST", "/v1/agreements", body: document)
            if status == 503 {
                refused = (index, body)
                break
            }
            #expect(status == 202 || status == 200, "\(status) \(String(describing: body))")
        }
        let failure = try #require(refused, "no write failed on a full disk")
        #expect(failure.body?["code"]?.stringValue == "store.unavailable", "\(String(describing: failure.body))")
        let (ready, _) = try await gateway.request("GET", "/readyz")
        #expect(ready == 503)
        try FileManager.default.removeItem(at: filler)
        let (readyAgain, _) = try await gateway.request("GET", "/readyz")
        #expect(readyAgain == 200, "\(gateway.log)")
        let (status, body) = try await gateway.request("POST", "/v1/agreements", body: work.documents[failure.index])
        #expect(status == 202, "\(String(describing: body))")
        #expect(gateway.log.contains("intake could not store an agreement"))
    }

    @Test("config check refuses short tokens and unknown or invalid http and intake settings, naming each")
    func configCheck() throws {
        let directory = try CommandRunner.temporaryDirectory("edge-config")
        let file = directory.appendingPathComponent("causeway.yaml")
        try Data("""
            identity: key.json
            http:
              max_connections: 0
              header_timeout: 5
            intake:
              max_proofs: many
              max_findng: 3
            tokens:
              - {name: ops, role: operator, secret: env:EDGE_SHORT}
            """.utf8).write(to: file)
        let r = try CommandRunner.causeway(["config", "check", "--config", file.path], environment: ["EDGE_SHORT": "abc-short"])
        #expect(r.status == 1)
        for expected in ["http.max_connections: must be a positive whole number", "http.header_timeout: unknown setting",
                         "intake.max_proofs: must be a positive whole number", "intake.max_findng: unknown setting"] {
            #expect(r.stderr.contains(expected), "missing '\(expected)' in \(r.stderr)")
        }
        try Data("identity: key.json\ntokens:\n  - {name: ops, role: operator, secret: env:EDGE_SHORT}\n".utf8).write(to: file)
        let short = try CommandRunner.causeway(["config", "check", "--config", file.path],
                                               environment: ["EDGE_SHORT": "abc-short", "CAUSEWAY_ALLOW_FIXTURE_KEYS": "true"])
        #expect(short.status == 1)
        #expect(short.stderr.contains("tokens.ops.secret") && short.stderr.contains("at least 32"), "\(short.stderr)")
        #expect(!short.stderr.contains("abc-short") && !short.stdout.contains("abc-short"))
        let long = try CommandRunner.causeway(["config", "check", "--config", file.path],
                                              environment: ["EDGE_SHORT": String(repeating: "k", count: 32), "CAUSEWAY_ALLOW_FIXTURE_KEYS": "true"])
        #expect(long.status == 0, "\(long)")
    }
}
