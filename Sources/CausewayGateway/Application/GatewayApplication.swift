import AdapterKit
import CausewayCore
import CausewayMapping
public import CausewayStore
import CausewayTrust
public import Foundation
public import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization

/// Why the gateway cannot start; each problem names the setting.
public struct StartupError: Error, CustomStringConvertible {
    public let problems: [String]
    public init(problems: [String]) { self.problems = problems }
    public var description: String { problems.joined(separator: "\n") }
}

/// The composition root: lists the gateway's services and routes. Each part is built by a small
/// named type (GatewayParts.swift, GatewayRuntime.swift, Reload.swift); every long-lived part is
/// a named Service of one group, supervised by the ``ServiceMonitor`` (failures logged and shown
/// in `/healthz`).
///
/// `reload` reads the configuration again for a live reload (SIGHUP, `POST /v1/admin/reload`);
/// nil: the gateway answers a reload with 422 (`causeway serve` passes its loader).
public func buildApplication(configuration: GatewayConfiguration, environment: [String: String] = ProcessInfo.processInfo.environment,
                             reload: (@Sendable () throws -> GatewayConfiguration)? = nil)
    async throws -> some ApplicationProtocol
{
    var logger = Logger(label: "causeway")
    logger.logLevel = .info
    let monitor = ServiceMonitor(logger: logger)

    let identity = try GatewayIdentity.load(configuration)
    // Partners, targets and tokens: the part a live reload replaces (checked the same way then).
    let loaded = try RuntimeConfiguration.load(configuration, environment: environment)
    let partners = loaded.partners
    // TLS on the listener (http.tls; ListenerTLS.swift), and partners' client-certificate requirements.
    let (listenerTLS, tlsProblems) = ListenerTLS.prepare(configuration: configuration, partners: partners, logger: logger)
    guard tlsProblems.isEmpty else { throw StartupError(problems: tlsProblems) }
    let gatewayStore = try GatewayStore.open(configuration, environment: environment, monitor: monitor, logger: logger)
    let store = gatewayStore.store
    try await GatewayStore.migrate(configuration, environment: environment)
    let tracing = try GatewayTracing.make(settings: configuration.tracing, store: store, logger: logger)  // Observability/Tracing.swift
    let runtime = GatewayRuntime(snapshot: loaded.snapshot, targets: loaded.targets, monitor: monitor, logger: logger)

    var intake = IntakeService(configuration: .init(maxBytes: configuration.maxBytes, gateway: identity.did,
                                                    software: "causeway/0.1.0", limits: configuration.verification),
                               partners: partners, targets: loaded.snapshot.targetKinds, store: store)
    intake.routing = { let snapshot = runtime.snapshot; return (snapshot.partners, snapshot.targetKinds) }
    let breakers = CircuitBreakers()
    // Reconciliation on a schedule, through the targets this gateway runs (read only).
    let reconcile = configuration.reconcileIntervalSeconds > 0
        ? ReconcileSchedule(store: store, adapters: LiveAdapter.proxies(of: runtime), gateway: identity.signing.didKey.did,
                            interval: .seconds(configuration.reconcileIntervalSeconds), logger: logger)
        : nil
    let edge = EdgeGuard.Shared(settings: configuration.http)
    let metrics = GatewayMetrics(gauges: {
        let now = WallClock.milliseconds()
        var open: [String: Double] = [:]
        for target in runtime.snapshot.targetConfigurations.keys.sorted() {
            open[GatewayMetrics.render(["target": target])] = breakers.state(of: target, now: now) == .open ? 1 : 0
        }
        return ["causeway_circuit_open": open, "causeway_reconcile_findings": reconcile?.gauges ?? [:],
                "causeway_http_connections_open": ["": Double(edge.open.load(ordering: .relaxed))],
                "causeway_http_connections_refused": ["": Double(edge.refused.load(ordering: .relaxed))],
                "causeway_http_connections_timed_out": ["": Double(edge.timedOut.load(ordering: .relaxed))]]
    })
    let keri = try await KERIGateway.build(configuration: configuration, identity: identity.signing, own: identity.keri, partners: partners,
                                           store: store, metrics: metrics, logger: logger) { load in
        try await withStore(configuration.store, environment: environment, load)
    }
    intake.keyStates = keri.keeper
    // Agreements that arrive together share one transaction (each answered after it commits).
    let intakeCommits = GroupCommitter<IncomingAgreement, IntakeResult>(
        maxBatch: 128, writeBatch: { try await store.acceptBatch($0) }, writeOne: { try await store.accept($0) })
    intake.persist = { try await intakeCommits.submit($0) }
    let pipeline = DeliveryPipeline(configuration: configuration, identity: identity, store: store, targets: tracing.traced(runtime), breakers: breakers,
                                    metrics: metrics, logger: logger)
    pipeline.issuer.observer.set { await tracing.receiptsIssued($0, startedAt: $1) }
    let witnessing = try LedgerWitnessing(configuration: configuration, identity: identity.signing, partners: partners, store: store, logger: logger)
    let pusher: @Sendable (PartnerRegistry) -> (@Sendable () async throws -> Void)? = { [logger] partners in
        receiptPusherTask(partners: partners, store: store, witnessing: witnessing, logger: logger)
    }
    let authenticator = TokenAuthenticator(loaded.tokens)
    let reloader = GatewayReloader(load: reload ?? { throw StartupError(problems: ["this gateway was started without a configuration file to reload"]) },
                                   environment: environment, started: loaded, runtime: runtime, tokens: authenticator, pusher: pusher,
                                   logger: logger)
    await reloader.recordInAuditLog(AuditRecorder(store: store))  // config.reload in the audit log

    // The services, in start order (a graceful shutdown stops them in reverse: the store last).
    var services: [any Service] = [gatewayStore.service]
    services += tracing.services  // the span exporter: stopped after everything that makes spans
    services.append(runtime.service(tasks: pusher(partners).map { ["receipt-pusher": $0] } ?? [:]))  // targets' run loops, receipt pusher
    if let reconcile { services.append(SupervisedService("reconcile", monitor: monitor) { await reconcile.run() }) }
    services += keri.services.enumerated().map { SupervisedService("keri.keeper-\($0.offset + 1)", monitor: monitor, wrapping: $0.element) }
    services += pipeline.services(workers: configuration.delivery.workers, metrics: metrics, monitor: monitor)
    services += witnessing.services.map { SupervisedService("witness-collector", monitor: monitor, wrapping: $0) }
    services.append(ReloadSignalService.install(reloader: reloader))
    // The targets' connection checks for /readyz, and the scheduled prune (TargetReadiness.swift, RetentionService.swift).
    let readiness = TargetReadiness(adapters: { runtime.adapters }, settings: configuration.readiness, logger: logger)
    services.append(SupervisedService("target-readiness", monitor: monitor) { await readiness.run() })
    if let retention = RetentionService(configuration: configuration, store: store, logger: logger) {
        services.append(SupervisedService("retention", monitor: monitor, wrapping: retention))
    }

    // The routes.
    let router = Router(context: GatewayRequestContext.self)
    router.add(middleware: RequestLogMiddleware(logger: Logger(label: "causeway.http")))
    router.add(middleware: MetricsMiddleware())  // hb_requests & co. through swift-metrics (GatewayMetrics)
    router.add(middleware: tracing.intakeMiddleware())
    router.add(middleware: ProblemMiddleware(logger: logger))
    let throttle = AuthThrottle(limits: .init(perAddress: configuration.http.authFailuresPerAddress, global: configuration.http.authFailuresGlobal))
    var api = GatewayAPI(intake: intake, store: store, tokens: authenticator, throttle: throttle, metrics: metrics, maxBytes: configuration.maxBytes,
                         edge: configuration.http, newWork: pipeline.worker.newWork, targets: configuration.targets.keys.sorted(),
                         breakers: pipeline.worker.breakers, reconcile: reconcile, logger: logger)
    api.services = monitor
    api.currentTargets = { runtime.snapshot.targetConfigurations.keys.sorted() }
    api.targetReadiness = readiness
    api.register(on: router)
    // The dashboard's partner and target lists follow a live reload.
    Dashboard(store: store, tokens: authenticator, throttle: throttle, streamsPerSession: configuration.http.streamsPerSession,
              newWork: pipeline.worker.newWork, configured: { let now = runtime.snapshot; return (now.partners, Array(now.targetConfigurations.keys)) },
              reconcile: reconcile, cosignatures: witnessing.book).register(on: router)
    LedgerAPI(store: store, tokens: authenticator, throttle: throttle,
              retryAfterSeconds: max(1, Int(configuration.checkpointIntervalSeconds.rounded(.up))),
              cosignatures: witnessing.book).register(on: router)
    AdminAPI(reloader: reloader, tokens: authenticator, throttle: throttle,
             reloadCertificates: listenerTLS.map { tls in { @Sendable in _ = try tls.reload() } }).register(on: router)
    witnessing.register(on: router)
    keri.api.register(on: router)
    raiseOpenFileLimit(toFit: configuration.http.maxConnections, logger: logger)
    logger.info("causeway gateway", metadata: ["gateway.did": .string(identity.did), "listen": .string("\(configuration.host):\(configuration.port)"),
                                               "store": .string(configuration.store.redacted), "partners": .stringConvertible(partners.partners.count)])
    if let listenerTLS { services.append(listenerTLS.reloadOnHangup()) }
    return Application(router: router, server: ListenerTLS.server(listenerTLS, http: .init(additionalChannelHandlers: [EdgeGuard(shared: edge)])),
                       configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "causeway"),
                       services: services, logger: logger)
}

/// The configured API tokens resolved to their secrets, and a problem for each that cannot be
/// resolved or is too short to resist guessing (``GatewayConfiguration/minimumTokenBytes``).
public func resolveTokens(_ tokens: [GatewayConfiguration.TokenConfiguration], environment: [String: String])
    -> (tokens: [String: (name: String, role: GatewayConfiguration.TokenConfiguration.Role)], problems: [String])
{
    var resolved: [String: (name: String, role: GatewayConfiguration.TokenConfiguration.Role)] = [:]
    var problems: [String] = []
    for token in tokens {
        do {
            let secret = try token.secret.resolve(environment: environment)
            guard secret.utf8.count >= GatewayConfiguration.minimumTokenBytes else {
                problems.append("tokens.\(token.name).secret: \(token.secret) holds \(secret.utf8.count) bytes; a token needs at least "
                    + "\(GatewayConfiguration.minimumTokenBytes) (make one with: openssl rand -hex 32)")
                continue
            }
            resolved[secret] = (token.name, token.role)
        } catch {
            problems.append("tokens.\(token.name).secret: \(error.message)")
        }
    }
    return (resolved, problems)
}

/// Raises the soft open-file limit toward the hard one so that the connection limit, not the
/// kernel, decides when a client is turned away (each connection is a descriptor; the store,
/// targets and logs need some more).
func raiseOpenFileLimit(toFit connections: Int, logger: Logger) {
    var limit = rlimit()
    guard getrlimit(RLIMIT_NOFILE_VALUE, &limit) == 0 else { return }
    let wanted = rlim_t(connections + 1024)
    if limit.rlim_cur < wanted {
        limit.rlim_cur = min(wanted, limit.rlim_max)
        _ = setrlimit(RLIMIT_NOFILE_VALUE, &limit)
    }
    if limit.rlim_cur < wanted {
        logger.warning("the open-file limit is below what http.max_connections needs; raise LimitNOFILE",
                       metadata: ["limit": "\(limit.rlim_cur)", "needed": "\(wanted)"])
    }
}

#if canImport(Glibc)
import Glibc
private let RLIMIT_NOFILE_VALUE = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
#else
import Darwin
private let RLIMIT_NOFILE_VALUE = RLIMIT_NOFILE
#endif

/// Opens the configured store (running its connection pool if it has one) for the duration of `body`.
public func withStore<T: Sendable>(_ location: GatewayConfiguration.StoreLocation, environment: [String: String] = ProcessInfo.processInfo.environment,
                                   _ body: @Sendable (any AgreementStore) async throws -> T) async throws -> T {
    switch location {
    case .sqlite(let path):
        let store = try SQLiteStore(path: path)
        try await store.migrate()
        return try await body(store)
    case .postgres(let url, let password):
        let store = try PostgresStore(url: url, password: try password?.resolve(environment: environment))
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                await store.run()
                return nil
            }
            try await store.migrate()
            let result = try await body(store)
            group.cancelAll()
            return result
        }
    }
}
