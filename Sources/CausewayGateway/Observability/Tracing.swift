public import AdapterKit
import CausewayCore
public import CausewayStore
import Foundation
import HTTPTypes
public import Hummingbird
public import Logging
import OTel
public import ServiceLifecycle
import Synchronization
import Tracing

/// OpenTelemetry tracing of the gateway (the `tracing:` section; Docs/operations.md, Traces;
/// decision 0019).
///
/// One trace runs from intake to receipt: intake opens a server span (`causeway.intake`), as a
/// child of the W3C `traceparent` the sender passed, else as a new trace; its context is kept with
/// the agreement (store migration v7) and its trace id goes into the provenance record. Each
/// delivery attempt (`causeway.delivery`, or `causeway.delivery.lookup`) and each receipt
/// (`causeway.receipt`) is a child of that intake span — by parent, not by link — whichever
/// instance runs it and however much later. The HTTP adapter passes the delivery span's
/// `traceparent` to its target. Spans leave through swift-otel's OTLP/HTTP exporter, a Service
/// of the application.
///
/// The tracer is the application's own, never the process-wide `InstrumentationSystem`, so
/// gateways built side by side in one process (the tests) trace apart. Off (no `tracing:`), every
/// call here is a no-op and no span, context or trace id is made.
public struct GatewayTracing: Sendable {
    let tracer: TracerBox?
    let store: (any TraceContextStore)?
    let logger: Logger
    /// The exporter, batch processor and tracer; empty when tracing is off.
    public let services: [any Service]

    /// Tracing off.
    public static func off(logger: Logger = Logger(label: "causeway")) -> GatewayTracing {
        GatewayTracing(tracer: nil, store: nil, logger: logger, services: [])
    }

    init(tracer: TracerBox?, store: (any TraceContextStore)?, logger: Logger, services: [any Service]) {
        self.tracer = tracer
        self.store = store
        self.logger = logger
        self.services = services
    }

    /// Tracing as `settings` say (off when nil). `OTEL_*` environment variables override the
    /// exporter's settings, as swift-otel reads them. Throws a ``StartupError`` naming the setting.
    public static func make(settings: GatewayConfiguration.TracingSettings?, store: any AgreementStore, logger: Logger) throws -> GatewayTracing {
        guard let settings else { return .off(logger: logger) }
        var configuration = OTel.Configuration.default
        configuration.serviceName = settings.serviceName
        configuration.diagnosticLogger = .custom(logger)
        configuration.propagators = [.traceContext]
        configuration.metrics.enabled = false
        configuration.logs.enabled = false
        configuration.traces.enabled = true
        configuration.traces.exporter = .otlp
        // A sender's sampled flag decides for its trace; new traces are kept at the ratio.
        configuration.traces.sampler = .parentBasedTraceIDRatio(ratio: settings.sampleRatio) ?? .parentBasedAlwaysOn
        configuration.traces.otlpExporter.endpoint = settings.tracesURL
        configuration.traces.otlpExporter.protocol = settings.wireProtocol == .json ? .httpJSON : .httpProtobuf
        do {
            let (tracer, service) = try OTel.makeTracingBackend(configuration: configuration)
            guard let store = store as? any TraceContextStore else {
                throw StartupError(problems: ["tracing: this store cannot keep trace contexts"])
            }
            return GatewayTracing(tracer: TracerBox(tracer), store: store, logger: logger, services: [service])
        } catch let error as StartupError {
            throw error
        } catch {
            throw StartupError(problems: ["tracing: the OTLP exporter cannot be set up for \(settings.tracesURL): \(error) "
                + "(check tracing.otlp_endpoint and tracing.protocol)"])
        }
    }

    /// Whether spans are made.
    public var isOn: Bool { tracer != nil }

    // MARK: Intake

    /// The middleware that traces `POST /v1/agreements` (other routes pass through untraced).
    public func intakeMiddleware<Context: RequestContext>(context: Context.Type = Context.self) -> IntakeTracingMiddleware<Context> {
        IntakeTracingMiddleware(tracing: self)
    }

    /// Keeps the trace context of the intake being handled with the agreement `digest`, before the
    /// agreement itself is stored (so that a worker claiming it at once finds it). No-op when
    /// tracing is off or the request was not traced.
    static func recordIntake(digest: ContentDigest, store: any AgreementStore) async throws {
        guard let context = IntakeTrace.current, let traced = store as? any TraceContextStore else { return }
        try await traced.recordTraceContext(context, digest: digest)
    }

    // MARK: Delivery

    /// `adapter` with each delivery and lookup in a span that is a child of the agreement's intake
    /// span, and the span's `traceparent` in the ``Delivery`` (the HTTP adapter sends it on).
    /// Tracing off: `adapter` itself.
    public func traced(_ adapter: any Adapter, target: String) -> any Adapter {
        guard isOn else { return adapter }
        if let batches = adapter as? any BatchDeliveringAdapter {
            return TracedBatchAdapter(base: batches, target: target, tracing: self)
        }
        return TracedAdapter(base: adapter, target: target, tracing: self)
    }

    /// Runs `body` in a span named `name` under the intake span of `delivery`'s agreement; without
    /// a kept intake context (an agreement stored before tracing was on), runs it untraced.
    func inDeliverySpan<T: Sendable>(_ name: String, _ delivery: Delivery, target: String,
                                     _ body: (Delivery, any Span) async -> T) async -> T? {
        guard let (carried, span) = await startDeliverySpan(name, delivery, target: target) else { return nil }
        defer { span.end() }
        return await ServiceContext.withValue(span.context) { await body(carried, span) }
    }

    /// Starts a span named `name` under the intake span of `delivery`'s agreement and returns the
    /// delivery carrying the span's `traceparent`, with the span (the caller ends it); nil without
    /// a kept intake context.
    func startDeliverySpan(_ name: String, _ delivery: Delivery, target: String) async -> (Delivery, any Span)? {
        guard let tracer, let store else { return nil }
        let kept: StoredTraceContext?
        do {
            kept = try await store.traceContext(digest: delivery.agreementDigest)
        } catch {
            logger.warning("tracing: the agreement's trace context cannot be read; this attempt is not traced",
                           metadata: ["agreement.digest": .string(delivery.agreementDigest.description), "error": "\(error)"])
            return nil
        }
        guard let kept else { return nil }
        let span = tracer.startSpan(name, tracer.extract(kept), .client, nil)
        span.attributes["causeway.target"] = target
        span.attributes["causeway.agreement.digest"] = delivery.agreementDigest.description
        span.attributes["causeway.idempotency_key"] = delivery.idempotencyKey
        span.attributes["causeway.attempt"] = delivery.attempt
        var carried = delivery
        let own = tracer.inject(span.context)
        carried.traceparent = own["traceparent"]
        carried.tracestate = own["tracestate"]
        return (carried, span)
    }

    // MARK: Receipts

    /// Records a `causeway.receipt` span for each receipt just issued, under its agreement's intake
    /// span, from `startedAt` (milliseconds since 1970, when issuing began) to now. Receipts of
    /// agreements whose intake was not traced get none.
    public func receiptsIssued(_ appends: [LedgerAppend], startedAt: Int64) async {
        guard let tracer, let store, !appends.isEmpty else { return }
        let kept: [ContentDigest: StoredTraceContext]
        do {
            kept = try await store.traceContexts(digests: Array(Set(appends.map(\.digest))))
        } catch {
            logger.warning("tracing: trace contexts cannot be read; these receipts are not traced",
                           metadata: ["receipts": .stringConvertible(appends.count), "error": "\(error)"])
            return
        }
        let start = UInt64(max(startedAt, 0)) * 1_000_000
        for append in appends {
            guard let context = kept[append.digest] else { continue }
            let span = tracer.startSpan("causeway.receipt", tracer.extract(context), .internal, start)
            span.attributes["causeway.agreement.digest"] = append.digest.description
            span.attributes["causeway.receipt.id"] = append.receiptID
            span.attributes["causeway.ledger.sequence"] = append.sequence
            span.end()
        }
    }
}

/// The trace context of the intake request being handled, set by ``IntakeTracingMiddleware`` for
/// the handler's duration (nil when tracing is off).
enum IntakeTrace {
    @TaskLocal static var current: StoredTraceContext?

    /// The trace id intake's provenance records carry, when the request is traced.
    static var traceID: String? { current?.traceID }
}

/// Traces `POST /v1/agreements`: a `causeway.intake` server span, child of the request's W3C
/// `traceparent` (and `tracestate`) when it has a valid one. An invalid header starts a new trace.
public struct IntakeTracingMiddleware<Context: RequestContext>: RouterMiddleware {
    let tracing: GatewayTracing

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let tracer = tracing.tracer, request.method == .post, request.uri.path == "/v1/agreements" else {
            return try await next(request, context)
        }
        var carrier: [String: String] = [:]
        // One header each; several or over-long ones are ignored (a new trace starts).
        for name in ["traceparent", "tracestate"] {
            guard let field = HTTPField.Name(name) else { continue }
            let values = request.headers[values: field]
            if values.count == 1, let value = values.first, value.utf8.count <= StoredTraceContext.maxTracestate { carrier[name] = value }
        }
        let span = tracer.startSpan("causeway.intake", tracer.extract(carrier), .server, nil)
        defer { span.end() }
        span.attributes["http.request.method"] = "POST"
        span.attributes["url.path"] = "/v1/agreements"
        let own = tracer.inject(span.context)
        let kept = own["traceparent"].map { StoredTraceContext(traceparent: $0, tracestate: own["tracestate"] ?? "") }
        do {
            let response = try await ServiceContext.withValue(span.context) {
                try await IntakeTrace.$current.withValue(kept) { try await next(request, context) }
            }
            span.attributes["http.response.status_code"] = Int(response.status.code)
            if response.status.code >= 500 { span.setStatus(.init(code: .error)) }
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            span.attributes["http.response.status_code"] = Int(status)
            if status >= 500 { span.recordError(error) }
            throw error
        }
    }
}

/// An adapter whose deliveries and lookups are spans of their agreement's trace.
struct TracedAdapter: Adapter {
    let base: any Adapter
    let target: String
    let tracing: GatewayTracing

    var descriptor: AdapterDescriptor { base.descriptor }

    func deliver(_ delivery: Delivery) async -> DeliveryOutcome {
        let traced = await tracing.inDeliverySpan("causeway.delivery", delivery, target: target) { carried, span in
            let outcome = await base.deliver(carried)
            span.attributes["causeway.outcome"] = outcome.outcomeClass.rawValue
            if outcome.outcomeClass != .delivered { span.setStatus(.init(code: .error, message: outcome.outcomeClass.rawValue)) }
            return outcome
        }
        if let traced { return traced }
        return await base.deliver(delivery)
    }

    func lookup(_ delivery: Delivery) async -> LookupResult {
        let traced = await tracing.inDeliverySpan("causeway.delivery.lookup", delivery, target: target) { carried, span in
            let result = await base.lookup(carried)
            span.attributes["causeway.lookup"] = switch result {
            case .found: "found"
            case .notFound: "not_found"
            case .unavailable: "unavailable"
            }
            return result
        }
        if let traced { return traced }
        return await base.lookup(delivery)
    }
}

/// A traced adapter that delivers batches: each delivery of a batch still gets its own
/// `causeway.delivery` span (under its agreement's intake span, with its own outcome), all open
/// while the batch runs in one call of the base adapter.
struct TracedBatchAdapter: BatchDeliveringAdapter {
    let base: any BatchDeliveringAdapter
    let target: String
    let tracing: GatewayTracing
    /// One delivery or lookup alone, traced as by any adapter.
    var traced: TracedAdapter { TracedAdapter(base: base, target: target, tracing: tracing) }

    var descriptor: AdapterDescriptor { base.descriptor }
    func deliver(_ delivery: Delivery) async -> DeliveryOutcome { await traced.deliver(delivery) }
    func lookup(_ delivery: Delivery) async -> LookupResult { await traced.lookup(delivery) }

    func deliverBatch(_ deliveries: [Delivery]) async -> [DeliveryOutcome] {
        var carried: [Delivery] = []
        var spans: [(any Span)?] = []
        for delivery in deliveries {
            if let (withContext, span) = await tracing.startDeliverySpan("causeway.delivery", delivery, target: target) {
                carried.append(withContext)
                spans.append(span)
            } else {
                carried.append(delivery)
                spans.append(nil)
            }
        }
        let outcomes = await base.deliverBatch(carried)
        for (index, span) in spans.enumerated() {
            guard let span else { continue }
            if index < outcomes.count {
                span.attributes["causeway.outcome"] = outcomes[index].outcomeClass.rawValue
                span.attributes["causeway.batch.size"] = deliveries.count
                if outcomes[index].outcomeClass != .delivered {
                    span.setStatus(.init(code: .error, message: outcomes[index].outcomeClass.rawValue))
                }
            }
            span.end()
        }
        return outcomes
    }
}

/// A tracer behind closures, so that the gateway holds swift-otel's opaque tracer type without
/// being generic over it.
struct TracerBox: Sendable {
    let start: @Sendable (_ name: String, _ parent: ServiceContext, _ kind: SpanKind, _ atNanoseconds: UInt64?) -> any Span
    let inject: @Sendable (ServiceContext) -> [String: String]
    let extractFrom: @Sendable ([String: String]) -> ServiceContext

    init<T: Tracer>(_ tracer: T) {
        start = { name, parent, kind, at in
            if let at { return tracer.startSpan(name, context: parent, ofKind: kind, at: DefaultTracerClock.Instant(nanosecondsSinceEpoch: at)) }
            return tracer.startSpan(name, context: parent, ofKind: kind)
        }
        inject = { context in
            var carrier: [String: String] = [:]
            tracer.inject(context, into: &carrier, using: DictionaryCarrier())
            return carrier
        }
        extractFrom = { carrier in
            var context = ServiceContext.topLevel
            tracer.extract(carrier, into: &context, using: DictionaryCarrier())
            return context
        }
    }

    func startSpan(_ name: String, _ parent: ServiceContext, _ kind: SpanKind, _ atNanoseconds: UInt64?) -> any Span {
        start(name, parent, kind, atNanoseconds)
    }

    func extract(_ carrier: [String: String]) -> ServiceContext { extractFrom(carrier) }

    func extract(_ kept: StoredTraceContext) -> ServiceContext {
        var carrier = ["traceparent": kept.traceparent]
        if !kept.tracestate.isEmpty { carrier["tracestate"] = kept.tracestate }
        return extractFrom(carrier)
    }
}

/// W3C trace context headers in a dictionary (stored contexts, deliveries).
struct DictionaryCarrier: Injector, Extractor {
    func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) { carrier[key] = value }
    func extract(key: String, from carrier: [String: String]) -> String? { carrier[key] }
}

/// Hears each batch of receipts the ``ReceiptIssuer`` has just stored: the appended entries and
/// when issuing began (milliseconds since 1970). Set once while the gateway is built; tracing
/// turns the batch into `causeway.receipt` spans.
public final class ReceiptObserver: Sendable {
    let body = Mutex<(@Sendable ([LedgerAppend], Int64) async -> Void)?>(nil)

    public init() {}

    /// Sets what hears the batches (replacing what did).
    public func set(_ body: @escaping @Sendable (_ appends: [LedgerAppend], _ startedAt: Int64) async -> Void) {
        self.body.withLock { $0 = body }
    }

    func heard(_ appends: [LedgerAppend], startedAt: Int64) async {
        guard let body = body.withLock({ $0 }) else { return }
        await body(appends, startedAt)
    }
}
