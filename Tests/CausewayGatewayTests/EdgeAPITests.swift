import CausewayCore
@testable import CausewayGateway
import CausewayTesting
import CausewayTrust
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Synchronization
import Testing

/// The API through the composition root (`buildApplication`), in process: route groups per
/// role, strict query parameters, refusals as strangers and operators see them.
@Suite("HTTP API in process: authentication, validation, refusals", .serialized)
struct EdgeAPITests {
    static let operatorToken = "in-process-operator-token-0123456789abcdef"
    static let viewerToken = "in-process-viewer-token-0123456789abcdef00"

    /// A gateway configuration in a fresh folder: its own key, the stahlteile partner, an SQLite
    /// store and an SQLite target.
    static func configuration(http: GatewayConfiguration.EdgeSettings = .init()) throws -> GatewayConfiguration {
        let directory = try CommandRunner.temporaryDirectory("edge-api")
        let key = directory.appendingPathComponent("key.json").path
        try SigningIdentity().writeKeyFile(to: key)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: key)
        let partners = directory.appendingPathComponent("partners")
        try FileManager.default.createDirectory(at: partners, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: TestPaths.repository.appendingPathComponent("Mappings/stahlteile"),
                                         to: partners.appendingPathComponent("stahlteile"))
        var configuration = GatewayConfiguration()
        configuration.identity = key
        configuration.partners = partners.path
        configuration.store = .sqlite(path: directory.appendingPathComponent("causeway.sqlite").path)
        configuration.targets = ["erp-staging": .init(adapter: "sqlite", settings: ["path": directory.appendingPathComponent("erp.sqlite").path])]
        configuration.tokens = [.init(name: "ops", role: .operator, secret: .environment("EDGE_OPS")),
                                .init(name: "viewer", role: .viewer, secret: .environment("EDGE_VIEWER"))]
        configuration.reconcileIntervalSeconds = 0
        configuration.http = http
        return configuration
    }

    static let environment = ["EDGE_OPS": operatorToken, "EDGE_VIEWER": viewerToken]

    static func bearer(_ token: String, scheme: String = "Bearer") -> HTTPFields { [.authorization: "\(scheme) \(token)"] }

    static func json(_ response: TestResponse) -> JSONValue? { try? JSONReader().read(Array(buffer: response.body)) }

    @Test("every /v1 route but intake needs a token, by role; the scheme matches in any case")
    func routeGroups() async throws {
        let app = try await buildApplication(configuration: try Self.configuration(), environment: Self.environment)
        try await app.test(.router) { client in
            for (method, uri) in [(HTTPRequest.Method.get, "/v1/agreements"), (.get, "/v1/agreements/sha256:" + String(repeating: "0", count: 64)),
                                  (.get, "/v1/receipts/urn:uuid:x"), (.get, "/v1/reconcile"),
                                  (.post, "/v1/agreements/sha256:" + String(repeating: "0", count: 64) + "/retry")] {
                let response = try await client.execute(uri: uri, method: method)
                #expect(response.status == .unauthorized, "\(method) \(uri)")
                #expect(Self.json(response)?["code"]?.stringValue == "auth.token_required")
                #expect(response.headers[.contentType] == "application/problem+json")
            }
            for scheme in ["Bearer", "bearer", "BEARER"] {
                let response = try await client.execute(uri: "/v1/agreements", method: .get, headers: Self.bearer(Self.viewerToken, scheme: scheme))
                #expect(response.status == .ok, "scheme \(scheme)")
            }
            let digest = "sha256:" + String(repeating: "0", count: 64)
            let viewerRetry = try await client.execute(uri: "/v1/agreements/\(digest)/retry", method: .post, headers: Self.bearer(Self.viewerToken))
            #expect(viewerRetry.status == .forbidden)
            let operatorRetry = try await client.execute(uri: "/v1/agreements/\(digest)/retry", method: .post, headers: Self.bearer(Self.operatorToken))
            #expect(operatorRetry.status == .notFound)
            #expect(Self.json(operatorRetry)?["code"]?.stringValue == "agreement.not_found")
        }
    }

    @Test("query parameters are checked, each refusal naming the parameter")
    func queries() async throws {
        let app = try await buildApplication(configuration: try Self.configuration(), environment: Self.environment)
        try await app.test(.router) { client in
            let bad = ["limit=0": "query.limit_invalid", "limit=201": "query.limit_invalid", "limit=1e3": "query.limit_invalid",
                       "before=-1": "query.before_invalid", "before=99999999999999999999": "query.before_invalid",
                       "status=lost": "query.status_invalid", "partner=a%00b": "query.partner_invalid"]
            for (query, code) in bad {
                let response = try await client.execute(uri: "/v1/agreements?\(query)", method: .get, headers: Self.bearer(Self.viewerToken))
                #expect(response.status == .badRequest, "\(query)")
                #expect(Self.json(response)?["code"]?.stringValue == code, "\(query)")
            }
            let page = try await client.execute(uri: "/v1/agreements?limit=200&before=5", method: .get, headers: Self.bearer(Self.viewerToken))
            #expect(page.status == .ok)
            #expect(Self.json(page)?["next"] == .null)
            let digest = try await client.execute(uri: "/v1/agreements/not-a-digest", method: .get, headers: Self.bearer(Self.viewerToken))
            #expect(digest.status == .badRequest)
        }
    }

    @Test("wrong tokens from one address are throttled: 429 with Retry-After, even for a right token then")
    func throttle() async throws {
        var http = GatewayConfiguration.EdgeSettings()
        http.authFailuresPerAddress = 3
        let app = try await buildApplication(configuration: try Self.configuration(http: http), environment: Self.environment)
        try await app.test(.router) { client in
            for attempt in 0..<3 {
                let response = try await client.execute(uri: "/v1/agreements", method: .get, headers: Self.bearer("wrong-\(attempt)"))
                #expect(response.status == .unauthorized)
            }
            let blocked = try await client.execute(uri: "/v1/agreements", method: .get, headers: Self.bearer(Self.viewerToken))
            #expect(blocked.status == .tooManyRequests)
            #expect(Int(blocked.headers[.retryAfter] ?? "") ?? 0 > 0)
            #expect(Self.json(blocked)?["code"]?.stringValue == "auth.rate_limited")
        }
    }

    @Test("a refused agreement: strangers see codes and paths, a token holder sees partner and limits")
    func refusals() async throws {
        let app = try await buildApplication(configuration: try Self.configuration(), environment: Self.environment)
        let limit = try fixtureBytes("stahlteile", "limit-exceeded")
        try await app.test(.router) { client in
            let stranger = try await client.execute(uri: "/v1/agreements", method: .post, body: ByteBuffer(bytes: limit))
            #expect(stranger.status == .unprocessableContent)
            let text = String(buffer: stranger.body)
            #expect(!text.contains("stahlteile") && !text.contains("limit of"), "\(text)")
            #expect(Self.json(stranger)?["findings"]?.arrayValue?.contains { $0["code"]?.stringValue == "policy.limit_exceeded" } == true, "\(text)")
            let insider = try await client.execute(uri: "/v1/agreements", method: .post, headers: Self.bearer(Self.operatorToken),
                                                   body: ByteBuffer(bytes: limit))
            #expect(String(buffer: insider.body).contains("stahlteile"))
        }
    }

    @Test("mapping errors shown to strangers keep codes and agreement paths, not the gateway's files")
    func publicMappingErrors() {
        let detail: JSONObject = ["partner": "stahlteile", "errors": [
            ["code": "mapping.lookup_missing", "message": "no row for X in /etc/causeway/partners/stahlteile/codes.csv",
             "location": "/etc/causeway/partners/stahlteile/purchase-order.yaml:12:5", "path": "$['lines'][0]['sku']"],
        ]]
        let problem = GatewayAPI.publicRefusal(.mappingFailed, message: "mapping m 1 cannot map this agreement", digest: nil, detail: detail)
        let text = JSONWriter.string(.object(problem.json), style: .compact)
        #expect(!text.contains("/etc/") && !text.contains("stahlteile") && !text.contains("cannot map"), "\(text)")
        #expect(problem.json["errors"]?.arrayValue?.first?["path"]?.stringValue == "$['lines'][0]['sku']")
        #expect(problem.json["errors"]?.arrayValue?.first?["code"]?.stringValue == "mapping.lookup_missing")
    }

    @Test("short tokens stop the gateway from starting")
    func shortTokens() async throws {
        do {
            _ = try await buildApplication(configuration: try Self.configuration(), environment: ["EDGE_OPS": "too-short", "EDGE_VIEWER": Self.viewerToken])
            Issue.record("a 9-byte token was accepted")
        } catch let error as StartupError {
            #expect(error.description.contains("tokens.ops.secret") && error.description.contains("at least 32"), "\(error)")
            #expect(!error.description.contains("too-short"))
        }
    }

    @Test("after sign-in only same-origin paths are followed")
    func safeNext() {
        for hostile in ["//evil.example", "/\t/evil.example", "/\n/evil.example", "/\\evil.example", "https://evil.example", "evil", "",
                        "/\u{0}x", "/ /x", "/é"] {
            #expect(Dashboard.safeNext(hostile) == "/", "\(hostile.debugDescription)")
        }
        for local in ["/", "/orders", "/orders?status=delivered&q=a%2Fb", "/orders/sha256:ab"] {
            #expect(Dashboard.safeNext(local) == local)
        }
    }

    @Test("the throttle counts per address and in total, and forgets after its window")
    func throttleWindows() {
        let clock = Mutex<Int64>(0)
        let throttle = AuthThrottle(limits: .init(perAddress: 2, global: 3, windowMilliseconds: 1000), now: { clock.withLock { $0 } })
        throttle.failed("a")
        #expect(throttle.blocked("a") == nil)
        throttle.failed("a")
        #expect(throttle.blocked("a") == 1)
        #expect(throttle.blocked("b") == nil)
        throttle.failed("b")
        #expect(throttle.blocked("c") != nil, "the global limit holds for every address")
        clock.withLock { $0 = 1000 }
        #expect(throttle.blocked("a") == nil)
    }
}
