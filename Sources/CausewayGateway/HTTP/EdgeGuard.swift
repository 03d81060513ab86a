import HTTPTypes
import NIOCore
import NIOHTTPTypes
import Synchronization

/// Connection-level defences of the HTTP listener, one handler per connection (after HTTP
/// decoding, before Hummingbird's request handling):
///
/// - **Connection limit.** Past `maxConnections` open connections a new one gets `503` with
///   `Retry-After` to its first request and is closed (or closed after a second if it sends
///   none), so a flood of idle sockets cannot exhaust the process's file descriptors.
/// - **Header timeout.** A request head must arrive complete within `headerTimeout` of the
///   connection opening (slow-loris clients dribbling header bytes are closed), and the next
///   request on a kept-alive connection within `idleTimeout` of the previous answer.
/// - **Body timeout.** Once a head arrived, the whole body must arrive within `bodyTimeout`.
///
/// Closing is the answer to a timeout: the request was never complete, so no handler has
/// anything to say, and a half-read body makes intake answer nothing and store nothing.
final class EdgeGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// The settings and the live count, shared by every connection of one listener.
    final class Shared: Sendable {
        let maxConnections: Int
        let headerTimeout: TimeAmount
        let bodyTimeout: TimeAmount
        let idleTimeout: TimeAmount
        let open = Atomic<Int>(0)
        /// Connections refused for the limit and closed for a timeout, for metrics and tests.
        let refused = Atomic<Int>(0)
        let timedOut = Atomic<Int>(0)

        init(settings: GatewayConfiguration.EdgeSettings) {
            maxConnections = max(settings.maxConnections, 1)
            headerTimeout = .seconds(Int64(max(settings.headerTimeoutSeconds, 1)))
            bodyTimeout = .seconds(Int64(max(settings.bodyTimeoutSeconds, 1)))
            idleTimeout = .seconds(Int64(max(settings.idleTimeoutSeconds, 1)))
        }
    }

    private enum Phase { case awaitingHead, readingBody, handling, rejecting }

    private let shared: Shared
    private var phase = Phase.awaitingHead
    private var timer: Scheduled<Void>?
    private var counted = false

    init(shared: Shared) { self.shared = shared }

    func handlerAdded(context: ChannelHandlerContext) {
        let open = shared.open.wrappingAdd(1, ordering: .relaxed).newValue
        counted = true
        if open > shared.maxConnections {
            phase = .rejecting
            shared.refused.wrappingAdd(1, ordering: .relaxed)
            arm(context, after: .seconds(1))
        } else {
            arm(context, after: shared.headerTimeout)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        if counted {
            shared.open.wrappingSubtract(1, ordering: .relaxed)
            counted = false
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        switch (phase, part) {
        case (.rejecting, .head):
            let body = ByteBuffer(string: #"{"type":"https://causeway.invalid/problems/server.busy","title":"The gateway is at its connection limit","status":503,"code":"server.busy","detail":"too many open connections; retry after the Retry-After seconds"}"#)
            var head = HTTPResponse(status: .serviceUnavailable)
            head.headerFields[.contentType] = "application/problem+json"
            head.headerFields[.retryAfter] = "1"
            head.headerFields[.connection] = "close"
            head.headerFields[.contentLength] = String(body.readableBytes)
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.write(wrapOutboundOut(.body(body)), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolatedUnsafeUnchecked().whenComplete { _ in context.close(promise: nil) }  // on the channel's event loop
            phase = .handling
        case (.rejecting, _):
            break
        case (_, .head):
            phase = .readingBody
            arm(context, after: shared.bodyTimeout)
            context.fireChannelRead(data)
        case (_, .end):
            if phase == .readingBody {
                phase = .handling
                disarm()
            }
            context.fireChannelRead(data)
        case (_, .body):
            context.fireChannelRead(data)
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            // The answer is complete: the next request head must come within the idle timeout. (An
            // answer before the body ended leaves the body timer running.)
            if phase == .handling {
                phase = .awaitingHead
                arm(context, after: shared.idleTimeout)
            }
        }
        context.write(data, promise: promise)
    }

    private func arm(_ context: ChannelHandlerContext, after delay: TimeAmount) {
        timer?.cancel()
        let shared = shared
        timer = context.eventLoop.assumeIsolatedUnsafeUnchecked().scheduleTask(in: delay) {
            self.timer = nil
            switch self.phase {
            case .awaitingHead, .readingBody, .rejecting:
                shared.timedOut.wrappingAdd(1, ordering: .relaxed)
                context.close(promise: nil)
            case .handling:
                break
            }
        }
    }

    private func disarm() {
        timer?.cancel()
        timer = nil
    }
}
