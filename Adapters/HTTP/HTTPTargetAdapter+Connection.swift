public import AdapterKit
import AsyncHTTPClient
import NIOCore
import NIOHTTP1

extension HTTPTargetAdapter {
    /// Reaches `base_url` with one GET (no action, no credentials sent) within `connect_timeout`
    /// plus 5 s: any HTTP answer means the target is reachable, except 502, 503 and 504 (a proxy
    /// or the target saying it is unavailable). A refused connection, a TLS failure (an untrusted
    /// certificate, a client certificate refused) or no answer throws, naming `base_url`.
    public func checkConnection() async throws(AdapterConfigurationError) {
        var request = HTTPClientRequest(url: configuration.baseURL)
        request.method = .GET
        let deadline = NIODeadline.now() + .nanoseconds(Self.nanoseconds(configuration.connectTimeout) + 5_000_000_000)
        let status: UInt
        do {
            let response = try await client.execute(request, deadline: deadline)
            status = response.status.code
            _ = try? await response.body.collect(upTo: 64 << 10)
        } catch {
            throw AdapterConfigurationError(problems: [
                "base_url: cannot reach \(configuration.baseURL): \(error) (is the target running and the host and port right? "
                    + "for https, does ca_certificate trust its certificate?)",
            ])
        }
        if [502, 503, 504].contains(status) {
            throw AdapterConfigurationError(problems: ["base_url: \(configuration.baseURL) answered \(status): the target says it is unavailable"])
        }
    }
}
