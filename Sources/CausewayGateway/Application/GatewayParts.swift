import AdapterKit
import CausewayCore
import CausewayMapping
import CausewayStore
import CausewayTrust
import Foundation
import Logging
import ServiceLifecycle

// The parts `buildApplication` lists, each built by a small named type from the configuration.

/// The gateway's signing identity: its key, its KERI controller when the key file has a KEL
/// beside it (`causeway keys new --keri`), and the DID receipts and provenance name.
struct GatewayIdentity: Sendable {
    let signing: SigningIdentity
    let keri: GatewayKERIIdentity?
    var did: String { keri?.did ?? signing.didKey.did }

    static func load(_ configuration: GatewayConfiguration) throws(StartupError) -> GatewayIdentity {
        let signing: SigningIdentity
        do {
            signing = try SigningIdentity(contentsOfKeyFile: configuration.identity)
        } catch {
            throw StartupError(problems: ["identity: \(configuration.identity): \(error.message)"])
        }
        do {
            return GatewayIdentity(signing: signing,
                                   keri: try GatewayKERIIdentity.load(keyFile: configuration.identity, identity: signing, webs: configuration.keri.webs))
        } catch {
            throw StartupError(problems: ["identity: \(error.message)"])
        }
    }
}

/// The store and the Service that keeps it: PostgreSQL's connection pool runs for as long as the
/// gateway serves; SQLite folds its write-ahead log into the file once everything else stopped.
/// Migrations are each store's own (`migrate()`, one ordered list per store), run before serving.
struct GatewayStore: Sendable {
    let store: any AgreementStore
    /// Listed first in the group, so it stops last.
    let service: any Service

    static func open(_ configuration: GatewayConfiguration, environment: [String: String], monitor: ServiceMonitor, logger: Logger)
        throws -> GatewayStore
    {
        switch configuration.store {
        case .sqlite(let path):
            let sqlite = try SQLiteStore(path: path)
            return GatewayStore(store: sqlite, service: StoreShutdownService(logger: logger) { try await sqlite.checkpointWriteAheadLog() })
        case .postgres(let url, let password):
            let postgres = try PostgresStore(url: url, password: try password?.resolve(environment: environment))
            return GatewayStore(store: postgres, service: SupervisedService("store.pool", monitor: monitor) { await postgres.run() })
        }
    }

    /// Creates or upgrades the schema through a short-lived connection of its own (a
    /// PostgresClient's pool runs once; the store's own pool is a service of the group).
    static func migrate(_ configuration: GatewayConfiguration, environment: [String: String]) async throws {
        try await withStore(configuration.store, environment: environment) { _ in }
    }
}

/// The receipt issuer's loop: issues the receipts that deliveries left without one (woken by the
/// workers when they record a delivery without its receipt; every 100 ms otherwise), and reports
/// a store that cannot be written instead of swallowing it. The issuer counts what it stores.
struct ReceiptLoop: Sendable {
    let issuer: ReceiptIssuer
    let finishedWork: Doorbell
    let monitor: ServiceMonitor
    static let name = "receipt-issuer"

    func run() async {
        while !Task.isCancelled {
            let issued: Int
            do {
                issued = try await issuer.issuePending()
                monitor.running(Self.name)
            } catch {
                if Task.isCancelled { return }
                monitor.failing(Self.name, error)
                try? await Task.sleep(for: .seconds(1))
                continue
            }
            if issued == 0 { await finishedWork.wait(upTo: .milliseconds(100)) }
        }
    }
}

/// The delivery side: the workers (several claim-and-deliver loops, so that while one waits on
/// its targets another claims the next batch), the receipt issuer and the checkpointer.
struct DeliveryPipeline: Sendable {
    let worker: DeliveryWorker
    let issuer: ReceiptIssuer
    let checkpointer: Checkpointer

    init(configuration: GatewayConfiguration, identity: GatewayIdentity, store: any AgreementStore, targets: any DeliveryTargets,
         breakers: CircuitBreakers, metrics: GatewayMetrics, logger: Logger) {
        issuer = ReceiptIssuer(store: store, identity: identity.signing, origin: configuration.ledgerOrigin, keri: identity.keri?.signer,
                               counted: { metrics.increment("causeway_receipts_issued_total", by: $0) })
        worker = DeliveryWorker(
            configuration: .init(
                // Unique per process even where containers share a host name and all run as PID 1.
                worker: "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))",
                leaseMilliseconds: configuration.delivery.leaseMilliseconds,
                partnerConcurrency: configuration.delivery.partnerConcurrency,
                retry: RetryPolicy(maxAttempts: configuration.delivery.maxAttempts)),
            store: store, targets: targets, breakers: breakers, receipts: issuer,
            observe: { metrics.attempt(partner: $0.partner, target: $0.target, outcome: $0.outcome, next: $0.next, seconds: $0.seconds) })
        checkpointer = Checkpointer(
            store: store, identity: identity.signing,
            configuration: .init(origin: configuration.ledgerOrigin, interval: .milliseconds(Int64(configuration.checkpointIntervalSeconds * 1000)),
                                 file: configuration.checkpointFile ?? Checkpointer.defaultFile(for: configuration.store)),
            logger: logger)
    }

    /// The named services: `delivery-worker-N`, `receipt-issuer`, `checkpointer`.
    func services(workers: Int, metrics: GatewayMetrics, monitor: ServiceMonitor) -> [any Service] {
        var services: [any Service] = []
        for index in 1...max(workers, 1) {
            let name = "delivery-worker-\(index)"
            services.append(SupervisedService(name, monitor: monitor) { [worker] in
                try await worker.run { failure in
                    if let failure { monitor.failing(name, failure) } else { monitor.running(name) }
                }
            })
        }
        let receipts = ReceiptLoop(issuer: issuer, finishedWork: worker.finishedWork, monitor: monitor)
        services.append(SupervisedService(ReceiptLoop.name, monitor: monitor) { await receipts.run() })
        services.append(SupervisedService("checkpointer", monitor: monitor) { [checkpointer] in await checkpointer.run() })
        return services
    }
}

/// The receipt pusher's task for the partners' callbacks, or nil when no partner has one. A
/// runtime task: a reload that changes the callbacks replaces it (its progress is in the store).
func receiptPusherTask(partners: PartnerRegistry, store: any AgreementStore, witnessing: LedgerWitnessing, logger: Logger)
    -> (@Sendable () async throws -> Void)?
{
    let callbacks = partners.partners.compactMap { partner in
        partner.configuration.receiptCallback.map { ReceiptPusher.Callback(partner: partner.name, url: $0) }
    }
    guard !callbacks.isEmpty else { return nil }
    let pusher = ReceiptPusher(store: store, callbacks: callbacks, logger: logger, pushableBelow: witnessing.pushableBelow,
                               published: { [book = witnessing.book] in book.published($0) })
    return { await pusher.run() }
}
