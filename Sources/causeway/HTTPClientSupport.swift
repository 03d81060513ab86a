import AsyncHTTPClient
import CausewayCore
import CausewayGateway
import Foundation
import NIOCore
import NIOHTTP1

/// Small HTTP helpers for `submit`, `status` and `demo`, on AsyncHTTPClient (SwiftNIO): one shared
/// client with a bounded connection pool, safe to call from many tasks at once. (Foundation's
/// URLSession crashed `submit` with a few hundred concurrent requests on Linux.)
enum GatewayClient {
    static func defaultGateway() -> String { ProcessInfo.processInfo.environment["CAUSEWAY_GATEWAY"] ?? "http://127.0.0.1:8080" }

    /// The bearer token in `$CAUSEWAY_TOKEN`, surrounding white space removed (a token file read with
    /// `$(cat …)` may end in a newline); nil when unset or empty.
    static func environmentToken() -> String? {
        guard let raw = ProcessInfo.processInfo.environment["CAUSEWAY_TOKEN"] else { return nil }
        let token = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        return token.isEmpty ? nil : token
    }

    /// Largest answer read (a listing of agreements with their actions).
    static let maxAnswerBytes = 64 << 20

    /// The one client of the process (never shut down: it lives as long as the command). Up to 64
    /// connections to the gateway; a refused or failed connection is reported at once instead of
    /// being retried until the connect timeout (10 s).
    static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(10), read: .seconds(30))
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    /// Sends a request; returns the status and the JSON body (nil when not JSON).
    static func send(_ method: String, _ url: String, body: [UInt8]? = nil, token: String? = nil) async throws(CLIError) -> (Int, JSONValue?) {
        let shown = SecretRedaction.redacted(url: url)
        guard let parsed = URL(string: url), let scheme = parsed.scheme, ["http", "https"].contains(scheme.lowercased()), parsed.host != nil else {
            throw CLIError("\(shown): not an http(s) URL")
        }
        var request = HTTPClientRequest(url: url)
        request.method = HTTPMethod(rawValue: method)
        if let body {
            request.body = .bytes(ByteBuffer(bytes: body))
            request.headers.add(name: "Content-Type", value: "application/json")
        }
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        do {
            let response = try await client.execute(request, timeout: .seconds(30))
            let answer = try await response.body.collect(upTo: maxAnswerBytes)
            return (Int(response.status.code), try? JSONReader(limits: .init(maxBytes: maxAnswerBytes)).read(Array(buffer: answer)))
        } catch {
            throw CLIError("cannot reach the gateway at \(shown): \(error) (is it running? scripts/demo or causeway serve starts one; "
                + "--gateway or CAUSEWAY_GATEWAY gives its address)")
        }
    }
}
