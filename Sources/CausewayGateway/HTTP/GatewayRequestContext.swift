import CausewayCore
import Foundation
import Hummingbird
import Logging
import NIOCore

/// The request context of every route: Hummingbird's core storage, the peer's socket address
/// (for throttling; a proxy's `X-Forwarded-For` is never trusted for that) and, once the
/// authentication middleware has run, who is calling.
struct GatewayRequestContext: RequestContext, RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    /// The TCP peer, when the channel still knows it.
    let remoteAddress: SocketAddress?
    /// Set by ``BearerAuthentication`` (API) or by the dashboard's session check.
    var caller: Caller?
    /// The connection, asked for its TLS client certificate when a partner requires one
    /// (``presentedClientCertificate()``, ListenerTLS.swift).
    let channel: (any Channel)?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
        channel = source.channel
    }

    /// The body limit Hummingbird applies where a handler does not set its own.
    var maxUploadSize: Int { 64 * 1024 }

    /// The peer's address without its port: the key throttles count failures under.
    var clientAddress: String { remoteAddress?.ipAddress ?? "unknown" }

    /// The route's `{digest}` parameter, when it is a digest (the API answers 400 otherwise, the
    /// dashboard "No such order").
    var digestParameter: ContentDigest? {
        guard let raw = parameters.get("digest"), raw.utf8.count <= 256 else { return nil }
        return ContentDigest(raw.removingPercentEncoding ?? raw)
    }
}

/// An authenticated caller: the configured token's name and role.
struct Caller: Sendable, Hashable {
    let name: String
    let role: GatewayConfiguration.TokenConfiguration.Role
}
