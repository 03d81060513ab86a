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

/// A long-running loop as a Service: it stops when the group shuts down gracefully.
struct LoopService: Service {
    let body: @Sendable () async throws -> Void
    func run() async throws { try await cancelWhenGracefulShutdown { try await body() } }
}

/// Runs `onShutdown` when the group shuts down gracefully (after the services listed after it
/// have stopped); failures are logged, not thrown, so the rest of the shutdown goes on.
struct StoreShutdownService: Service {
    let logger: Logger
    let onShutdown: @Sendable () async throws -> Void
    func run() async throws {
        try? await gracefulShutdown()
        do { try await onShutdown() } catch { logger.error("store: closing failed", metadata: ["error": "\(error)"]) }
    }
}

/// Why the gateway cannot start; each problem names the setting.
public struct StartupError: Error, CustomStringConvertible {
    public let problems: [String]
    public var description: String { problems.joined(separator: "\n") }
}

/// The composition root: every part of the gateway is built here from the configuration and
/// started as a Service of one group (HTTP server, delivery worker, receipt issuer, connection pools).
public func buildApplication(configuration: GatewayConfiguration, environment: [String: String] = ProcessInfo.processInfo.environment)
    async throws -> some ApplicationProtocol
{
    var problems: [String] = []
    var logger = Logger(label: "causeway")
    logger.logLevel = .info

    let identity: SigningIdentity
    do {
        identity = try SigningIdentity(contentsOfKeyFile: configuration.identity)
    } catch {
        throw StartupError(problems: ["identity: \(configuration.identity): \(error.message)"])
    }
    // A KERI controller when the key file has a KEL beside it (`causeway keys new --keri`).
    let ownKERI: GatewayKERIIdentity?
    do {
        ownKERI = try GatewayKERIIdentity.load(keyFile: configuration.identity, identity: identity, webs: configuration.keri.webs)
    } catch {
        throw StartupError(problems: ["identity: \(error.message)"])
    }
    let gatewayDID = ownKERI?.did ?? identity.didKey.did
    let partners: PartnerRegistry
    do {
        partners = try PartnerRegistry.load(directory: URL(fileURLWithPath: configuration.partners))
    } catch {
        throw StartupError(problems: ["partners: the partner folders are not valid:"] + error.diagnostics.map(\.description))
    }
    if partners.partners.isEmpty { problems.append("partners: no partner folder (with partner.yaml) in \(configuration.partners)") }

    // The store.
    var services: [any Service] = []
    let store: any AgreementStore
    switch configuration.store {
    case .sqlite(let path):
        let sqlite = try SQLiteStore(path: path)
        // First in the group, so stopped last: once everything else has stopped writing, the
        // write-ahead log is folded into the file (a stopped gateway's .sqlite file is whole).
        services.append(StoreShutdownService(logger: logger) { try await sqlite.checkpointWriteAheadLog() })
        store = sqlite
    case .postgres(let url, let password):
        let postgres = try PostgresStore(url: url, password: try password?.resolve(environment: environment))
        services.append(LoopService { await postgres.run() })
        store = postgres
    }

    // Adapters, registered explicitly by kind (AdapterRegistry).
    var adapters: [String: any Adapter] = [:]
    var targetKinds: [String: String] = [:]
    let (built, targetProblems) = AdapterRegistry.build(configuration, environment: environment)
    problems += targetProblems
    for (name, target) in built {
        targetKinds[name] = target.kind
        adapters[name] = target.built.adapter
        if let run = target.built.run { services.append(LoopService { await run() }) }
    }
    let (tokens, tokenProblems) = resolveTokens(configuration.tokens, environment: environment)
    problems += tokenProblems
    guard problems.isEmpty else { throw StartupError(problems: problems) }

    // Migrations run before anything is served, through a short-lived connection of their own
    // (a PostgresClient's pool runs once; the store's own pool is a service of the group).
    try await withStore(configuration.store, environment: environment) { _ in }

    var intake = IntakeService(configuration: .init(maxBytes: configuration.maxBytes, gateway: gatewayDID,
                                                    software: "causeway/0.1.0", limits: configuration.verification),
                               partners: partners, targets: targetKinds, store: store)
    let breakers = CircuitBreakers()
    // Reconciliation on a schedule, through the targets this gateway runs (read only).
    let reconcile = configuration.reconcileIntervalSeconds > 0
        ? ReconcileSchedule(store: store, adapters: adapters, gateway: identity.didKey.did,
                            interval: .seconds(configuration.reconcileIntervalSeconds), logger: logger)
        : nil
    if let reconcile { services.append(LoopService { await reconcile.run() }) }
    let edge = EdgeGuard.Shared(settings: configuration.http)
    let metrics = GatewayMetrics(gauges: { [targets = configuration.targets.keys.sorted()] in
        let now = WallClock.milliseconds()
        var open: [String: Double] = [:]
        for target in targets { open[GatewayMetrics.render(["target": target])] = breakers.state(of: target, now: now) == .open ? 1 : 0 }
        return ["causeway_circuit_open": open, "causeway_reconcile_findings": reconcile?.gauges ?? [:],
                "causeway_http_connections_open": ["": Double(edge.open.load(ordering: .relaxed))],
                "causeway_http_connections_refused": ["": Double(edge.refused.load(ordering: .relaxed))],
                "causeway_http_connections_timed_out": ["": Double(edge.timedOut.load(ordering: .relaxed))]]
    })
    let keri = try await KERIGateway.build(configuration: configuration, identity: identity, own: ownKERI, partners: partners, store: store,
                                           metrics: metrics, logger: logger) { load in
        try await withStore(configuration.store, environment: environment, load)
    }
    intake.keyStates = keri.keeper
    services += keri.services
    let worker = DeliveryWorker(
        configuration: .init(
            // Unique per process even where containers share a host name and all run as PID 1.
            worker: "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))",
                             leaseMilliseconds: configuration.delivery.leaseMilliseconds,
                             partnerConcurrency: configuration.delivery.partnerConcurrency,
                             retry: RetryPolicy(maxAttempts: configuration.delivery.maxAttempts)),
        store: store, adapters: adapters, breakers: breakers,
        observe: { metrics.attempt(partner: $0.partner, target: $0.target, outcome: $0.outcome, next: $0.next, seconds: $0.seconds) })
    let issuer = ReceiptIssuer(store: store, identity: identity, origin: configuration.ledgerOrigin, keri: ownKERI?.signer)
    // Several claim-and-deliver loops: while one waits on its targets, another claims the next batch.
    for _ in 0..<max(configuration.delivery.workers, 1) { services.append(LoopService { try await worker.run() }) }
    services.append(LoopService {
        while !Task.isCancelled {
            let issued = (try? await issuer.issuePending()) ?? 0
            if issued > 0 { metrics.increment("causeway_receipts_issued_total", by: issued) }
            if issued == 0 { await worker.finishedWork.wait(upTo: .milliseconds(100)) }
        }
    })
    let checkpointer = Checkpointer(
        store: store, identity: identity,
        configuration: .init(origin: configuration.ledgerOrigin, interval: .milliseconds(Int64(configuration.checkpointIntervalSeconds * 1000)),
                             file: configuration.checkpointFile ?? Checkpointer.defaultFile(for: configuration.store)),
        logger: logger)
    services.append(LoopService { await checkpointer.run() })

    let witnessing = try LedgerWitnessing(configuration: configuration, identity: identity, partners: partners, store: store, logger: logger)
    services += witnessing.services
    let callbacks = partners.partners.compactMap { partner in
        partner.configuration.receiptCallback.map { ReceiptPusher.Callback(partner: partner.name, url: $0) }
    }
    if !callbacks.isEmpty {
        let pusher = ReceiptPusher(store: store, callbacks: callbacks, logger: logger, pushableBelow: witnessing.pushableBelow,
                                   published: { [book = witnessing.book] in book.published($0) })
        services.append(LoopService { await pusher.run() })
    }

    let router = Router(context: GatewayRequestContext.self)
    router.add(middleware: ProblemMiddleware(logger: logger))
    let authenticator = TokenAuthenticator(tokens)
    let throttle = AuthThrottle(limits: .init(perAddress: configuration.http.authFailuresPerAddress, global: configuration.http.authFailuresGlobal))
    GatewayAPI(intake: intake, store: store, tokens: authenticator, throttle: throttle, metrics: metrics, maxBytes: configuration.maxBytes,
               edge: configuration.http, newWork: worker.newWork, targets: configuration.targets.keys.sorted(), breakers: worker.breakers,
               reconcile: reconcile, logger: logger).register(on: router)
    Dashboard(store: store, tokens: authenticator, throttle: throttle, streamsPerSession: configuration.http.streamsPerSession,
              newWork: worker.newWork, partners: partners.partners.map(\.name).sorted(),
              targets: configuration.targets.keys.sorted(), reconcile: reconcile,
              partnerNames: Dictionary(partners.partners.compactMap { p in p.configuration.displayName.map { (p.name, $0) } },
                                       uniquingKeysWith: { a, _ in a }),
              cosignatures: witnessing.book).register(on: router)
    LedgerAPI(store: store, tokens: authenticator, throttle: throttle,
              retryAfterSeconds: max(1, Int(configuration.checkpointIntervalSeconds.rounded(.up))),
              cosignatures: witnessing.book).register(on: router)
    witnessing.register(on: router)
    keri.api.register(on: router)
    raiseOpenFileLimit(toFit: configuration.http.maxConnections, logger: logger)
    logger.info("causeway gateway", metadata: ["gateway.did": .string(gatewayDID), "listen": .string("\(configuration.host):\(configuration.port)"),
                                               "store": .string(configuration.store.redacted), "partners": .stringConvertible(partners.partners.count)])
    return Application(router: router, server: .http1(configuration: .init(additionalChannelHandlers: [EdgeGuard(shared: edge)])),
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
