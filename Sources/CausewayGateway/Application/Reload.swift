import AdapterKit
import CausewayCore
import CausewayMapping
import CausewayStore
import Dispatch
import Foundation
import Logging
import ServiceLifecycle

/// The part of the configuration a running gateway can replace — partner folders, targets and
/// tokens — loaded and checked completely: every partner folder with its mappings, crosswalks and
/// schemas; every target's settings against its adapter's schema, with its secrets resolved and
/// its adapter built; every token's secret. Start-up and live reload both build it here, so a
/// reload accepts exactly what a start would.
struct RuntimeConfiguration: Sendable {
    let configuration: GatewayConfiguration
    let partners: PartnerRegistry
    let targets: [String: AdapterRegistry.Target]
    let tokens: [String: (name: String, role: GatewayConfiguration.TokenConfiguration.Role)]
    /// Per partner: what tells its loaded folder from another (its partner.yaml as read, and its
    /// mappings' digests, which cover their crosswalks and schemas).
    let partnerPrints: [String: String]

    /// Loads and checks; throws every problem at once, each naming its file or key.
    static func load(_ configuration: GatewayConfiguration, environment: [String: String]) throws(StartupError) -> RuntimeConfiguration {
        var problems: [String] = []
        var partners = PartnerRegistry(partners: [])
        do {
            partners = try PartnerRegistry.load(directory: URL(fileURLWithPath: configuration.partners))
            if partners.partners.isEmpty { problems.append("partners: no partner folder (with partner.yaml) in \(configuration.partners)") }
        } catch {
            problems += ["partners: the partner folders are not valid:"] + error.diagnostics.map(\.description)
        }
        let (targets, targetProblems) = AdapterRegistry.build(configuration, environment: environment)
        problems += targetProblems
        let (tokens, tokenProblems) = resolveTokens(configuration.tokens, environment: environment)
        problems += tokenProblems
        guard problems.isEmpty else {
            Self.dispose(targets.values.map(\.built))
            throw StartupError(problems: problems)
        }
        var prints: [String: String] = [:]
        for partner in partners.partners {
            let yaml = FileManager.default.contents(atPath: partner.configuration.folder.appendingPathComponent("partner.yaml").path) ?? Data()
            prints[partner.name] = ContentDigest(of: Array(yaml)).description + "|" + partner.mappings.map(\.digest.description).joined(separator: ",")
        }
        return RuntimeConfiguration(configuration: configuration, partners: partners, targets: targets, tokens: tokens, partnerPrints: prints)
    }

    /// Shuts down adapters that were built but will not be used (their run loop, started
    /// cancelled, closes what the adapter opened).
    static func dispose(_ built: [AdapterRegistration.Built]) {
        for run in built.compactMap(\.run) { Task { await run() }.cancel() }
    }

    var snapshot: RuntimeSnapshot { snapshot(generation: 1) }

    func snapshot(generation: Int) -> RuntimeSnapshot {
        RuntimeSnapshot(generation: generation, partners: partners, targetConfigurations: configuration.targets, tokens: tokens,
                        tokenConfigurations: configuration.tokens)
    }
}

/// What a reload changed, by name (never a secret).
struct ReloadSummary: Sendable {
    var generation = 0
    var partners = Changes()
    var targets = Changes()
    var tokens = Changes()
    /// Settings that differ from the running ones but apply only after a restart.
    var restartRequired: [String] = []

    struct Changes: Sendable {
        var added: [String] = []
        var removed: [String] = []
        var changed: [String] = []
        var json: JSONValue {
            ["added": .array(added.sorted().map(JSONValue.string)), "removed": .array(removed.sorted().map(JSONValue.string)),
             "changed": .array(changed.sorted().map(JSONValue.string))]
        }
        var text: String { "added [\(added.sorted().joined(separator: ", "))] removed [\(removed.sorted().joined(separator: ", "))] changed [\(changed.sorted().joined(separator: ", "))]" }

        init() {}
        init<V>(old: [String: V], new: [String: V], same: (V, V) -> Bool) {
            added = new.keys.filter { old[$0] == nil }
            removed = old.keys.filter { new[$0] == nil }
            changed = new.keys.filter { name in old[name].map { !same($0, new[name]!) } ?? false }
        }
    }

    var object: JSONObject {
        ["status": "reloaded", "generation": .number(Double(generation)), "partners": partners.json, "targets": targets.json, "tokens": tokens.json,
         "restartRequired": .array(restartRequired.map(JSONValue.string))]
    }
}

/// Who asked for a reload: a token's name (`api`) or `SIGHUP` (`signal`), and from where.
struct ReloadRequest: Sendable {
    let caller: String
    let channel: String
    var remote: String? = nil
}

/// What one reload did.
enum ReloadOutcome: Sendable {
    case applied(ReloadSummary)
    /// Nothing changed; every problem named.
    case refused([String])
}

/// Live reload: reads the configuration again (as `serve` read it at start), checks all of it
/// (``RuntimeConfiguration``), and only then swaps the ``GatewayRuntime``'s snapshot, adapters and
/// tokens. A refused configuration changes nothing. One reload at a time (an actor); each
/// gateway instance reloads itself (SIGHUP, or `POST /v1/admin/reload`).
///
/// Work in flight keeps its plan: intake maps an agreement under the snapshot it read and stores
/// the mapped actions with the mapping's id, version and digest, so a stored agreement is
/// delivered as it was mapped, whatever is reloaded later; a delivery keeps the adapter it
/// borrowed, and a removed or changed target's old adapter is shut down once those finish.
actor GatewayReloader {
    /// Reads the configuration file and the environment again (the CLI's loader); a
    /// ``StartupError`` lists every problem.
    let load: @Sendable () throws -> GatewayConfiguration
    let environment: [String: String]
    let runtime: GatewayRuntime
    let tokens: TokenAuthenticator
    /// The receipt pusher for a set of partners (nil: none has a callback).
    let pusher: @Sendable (PartnerRegistry) -> (@Sendable () async throws -> Void)?
    let logger: Logger
    private var running: GatewayConfiguration
    private var generation = 1
    /// Per target: a fingerprint of its resolved secrets, so that a rotated secret file counts as a change.
    private var secretPrints: [String: Int]
    private var tokenPrints: [String: Int]
    private var partnerPrints: [String: String]
    /// Told of every reload (the audit log).
    private var observers: [@Sendable (_ request: ReloadRequest, _ outcome: ReloadOutcome) async -> Void] = []

    init(load: @escaping @Sendable () throws -> GatewayConfiguration, environment: [String: String], started: RuntimeConfiguration,
         runtime: GatewayRuntime, tokens: TokenAuthenticator, pusher: @escaping @Sendable (PartnerRegistry) -> (@Sendable () async throws -> Void)?,
         logger: Logger) {
        self.load = load
        self.environment = environment
        self.runtime = runtime
        self.tokens = tokens
        self.pusher = pusher
        self.logger = logger
        running = started.configuration
        secretPrints = started.targets.mapValues(\.secretsFingerprint)
        tokenPrints = Self.tokenPrints(started.tokens)
        partnerPrints = started.partnerPrints
    }

    /// Adds an observer of reloads (who asked, how, from where; the outcome).
    func observe(_ observer: @escaping @Sendable (_ request: ReloadRequest, _ outcome: ReloadOutcome) async -> Void) { observers.append(observer) }

    static func tokenPrints(_ tokens: [String: (name: String, role: GatewayConfiguration.TokenConfiguration.Role)]) -> [String: Int] {
        var prints: [String: Int] = [:]
        for (secret, token) in tokens {
            var hasher = Hasher()
            hasher.combine(secret)
            hasher.combine(token.role)
            prints[token.name] = hasher.finalize()
        }
        return prints
    }

    /// Reloads; `request` names who asked (a token's name, or `SIGHUP`), through what and from where.
    func reload(_ request: ReloadRequest) async -> ReloadOutcome {
        let caller = request.caller
        let outcome = attempt()
        switch outcome {
        case .applied(let summary):
            logger.notice("configuration reloaded", metadata: [
                "reload.by": .string(caller), "reload.generation": .stringConvertible(summary.generation),
                "partners": .string(summary.partners.text), "targets": .string(summary.targets.text), "tokens": .string(summary.tokens.text),
            ])
            if !summary.restartRequired.isEmpty {
                logger.warning("these settings differ from the running ones and apply only after a restart",
                               metadata: ["settings": .string(summary.restartRequired.joined(separator: ", "))])
            }
        case .refused(let problems):
            logger.error("configuration reload refused; the running configuration stays", metadata: [
                "reload.by": .string(caller), "problems": .string(problems.joined(separator: "\n")),
            ])
            for problem in problems { logger.error("reload problem", metadata: ["problem": .string(problem)]) }
        }
        for observer in observers { await observer(request, outcome) }
        return outcome
    }

    private func attempt() -> ReloadOutcome {
        let configuration: GatewayConfiguration
        let checked: RuntimeConfiguration
        do {
            configuration = try load()
            checked = try RuntimeConfiguration.load(configuration, environment: environment)
        } catch let error as StartupError {
            return .refused(error.problems)
        } catch {
            return .refused(["\(error)"])
        }
        let old = runtime.snapshot
        // A partner that now requires client certificates needs a listener that asks for them
        // (http.tls is read at start only).
        let problems = Self.restartBoundPartnerChanges(old: old.partners, new: checked.partners)
            + ListenerTLS.partnerProblems(checked.partners, settings: running.listenerTLS)
        guard problems.isEmpty else {
            RuntimeConfiguration.dispose(checked.targets.values.map(\.built))
            return .refused(problems)
        }

        generation += 1
        var summary = ReloadSummary()
        summary.generation = generation
        let oldPartners = Dictionary(old.partners.partners.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let newPartners = Dictionary(checked.partners.partners.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        summary.partners = .init(old: partnerPrints, new: checked.partnerPrints) { $0 == $1 }
        let newSecretPrints = checked.targets.mapValues(\.secretsFingerprint)
        summary.targets = .init(old: running.targets, new: configuration.targets) { $0 == $1 }
        for name in configuration.targets.keys where running.targets[name] == configuration.targets[name]
            && secretPrints[name] != newSecretPrints[name] && !summary.targets.changed.contains(name)
        {
            summary.targets.changed.append(name)
        }
        let newTokenPrints = Self.tokenPrints(checked.tokens)
        summary.tokens = .init(old: tokenPrints, new: newTokenPrints) { $0 == $1 }
        summary.restartRequired = Self.restartRequired(running: running, new: configuration)

        // Unchanged targets keep their adapter (and its connections); the copies built for the check are closed.
        let kept = Set(running.targets.keys).intersection(configuration.targets.keys).subtracting(summary.targets.changed)
        let built = checked.targets.filter { !kept.contains($0.key) }
        RuntimeConfiguration.dispose(checked.targets.filter { kept.contains($0.key) }.map(\.value.built))
        var tasks: [String: @Sendable () async throws -> Void] = [:]
        let callbacksChanged = summary.partners.added.contains { newPartners[$0]?.configuration.receiptCallback != nil }
            || summary.partners.removed.contains { oldPartners[$0]?.configuration.receiptCallback != nil }
            || summary.partners.changed.contains { oldPartners[$0]?.configuration.receiptCallback != newPartners[$0]?.configuration.receiptCallback }
        if callbacksChanged { tasks["receipt-pusher"] = pusher(checked.partners) ?? {} }
        // Every setting the running parts keep (listen, store, …) stays as it runs until a restart;
        // only partners, targets and tokens are taken from the new file.
        var applied = running
        applied.partners = configuration.partners
        applied.targets = configuration.targets
        applied.tokens = configuration.tokens
        running = applied
        runtime.replace(snapshot: checked.snapshot(generation: generation), kept: kept, built: built, tasks: tasks)
        tokens.replace(checked.tokens)
        // The new tokens and target secrets are never written to the log either (Observability/StructuredLogHandler.swift).
        StructuredLogging.register(secrets: StructuredLogging.secrets(of: configuration, environment: environment))
        secretPrints = newSecretPrints
        tokenPrints = newTokenPrints
        partnerPrints = checked.partnerPrints
        return .applied(summary)
    }

    /// A partner's settings that the running gateway holds outside the snapshot (witnesses and
    /// cosignatures of its receipts, KERI signers' key state): changing them needs a restart, so
    /// a reload that changes them is refused, naming them.
    static func restartBoundPartnerChanges(old: PartnerRegistry, new: PartnerRegistry) -> [String] {
        let before = Dictionary(old.partners.map { ($0.name, restartBound($0)) }, uniquingKeysWith: { a, _ in a })
        var problems: [String] = []
        for partner in new.partners {
            let now = restartBound(partner)
            let was = before[partner.name] ?? RestartBound(ledger: PartnerLedgerPolicy(), keri: [])
            if now.ledger != was.ledger {
                problems.append("partners/\(partner.name)/partner.yaml: ledger (witnesses, cosignatures_required) differs from the running "
                    + "gateway's; witness settings apply after a restart (restart the gateway, or reload without this change)")
            }
            if now.keri != was.keri {
                problems.append("partners/\(partner.name)/partner.yaml: the KERI identifiers (did:keri, did:webs, AIDs) differ from the running "
                    + "gateway's; KERI key state is loaded at start-up, so this change needs a restart")
            }
        }
        return problems
    }

    struct RestartBound: Equatable {
        let ledger: PartnerLedgerPolicy
        let keri: Set<String>
    }

    static func restartBound(_ partner: PartnerRegistry.Partner) -> RestartBound {
        let named = partner.configuration.roles.values.flatMap { $0 } + partner.configuration.identities
        return RestartBound(ledger: partner.configuration.ledger, keri: Set(named.filter { !$0.hasPrefix("did:key:") }))
    }

    /// The settings that differ and apply only after a restart, by their `causeway.yaml` key.
    static func restartRequired(running: GatewayConfiguration, new: GatewayConfiguration) -> [String] {
        var keys: [String] = []
        if running.host != new.host || running.port != new.port { keys.append("listen") }
        if running.store != new.store { keys.append("store") }
        if running.identity != new.identity { keys.append("identity") }
        if running.ledgerOrigin != new.ledgerOrigin || running.checkpointIntervalSeconds != new.checkpointIntervalSeconds
            || running.checkpointFile != new.checkpointFile { keys.append("ledger") }
        if running.maxBytes != new.maxBytes || running.verification != new.verification { keys.append("intake") }
        if running.delivery != new.delivery { keys.append("delivery") }
        if running.reconcileIntervalSeconds != new.reconcileIntervalSeconds { keys.append("reconcile") }
        if running.http != new.http { keys.append("http") }
        if running.witness != new.witness { keys.append("witness") }
        if "\(running.keri)" != "\(new.keri)" { keys.append("keri") }
        return keys
    }
}

/// SIGHUP's process default (ending the process), set aside before a dispatch source listens.
enum HangupSignal {
    /// Ignores SIGHUP while nothing handles it yet. Only then: libdispatch installs its own
    /// handler for the first source of a signal, and setting SIG_IGN after that would make the
    /// kernel drop the signal for every source (the reload's and the listener TLS's both listen).
    static func ignoreUntilHandled() {
        #if canImport(Glibc)
        var action = sigaction()
        if sigaction(SIGHUP, nil, &action) == 0, action.__sigaction_handler.sa_handler == nil { signal(SIGHUP, SIG_IGN) }
        #else
        signal(SIGHUP, SIG_IGN)  // kqueue sees ignored signals
        #endif
    }
}

/// Reloads on SIGHUP. ``install(reloader:)`` ignores the signal as a process default at once (it
/// would end the process) and listens for it; the service runs a reload for each one received
/// (problems are logged) until the group shuts down.
struct ReloadSignalService: Service {
    let reloader: GatewayReloader
    let signals: AsyncStream<Void>
    private let source: Source

    /// The dispatch source, held so that it lives as long as the service and is cancelled after.
    private final class Source: @unchecked Sendable {  // DispatchSource is thread-safe; only cancel() is called from another task
        let source: any DispatchSourceSignal
        init(_ source: any DispatchSourceSignal) { self.source = source }
    }

    static func install(reloader: GatewayReloader) -> ReloadSignalService {
        HangupSignal.ignoreUntilHandled()
        let (signals, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let source = Source(DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global()))
        source.source.setEventHandler { continuation.yield() }
        source.source.resume()
        return ReloadSignalService(reloader: reloader, signals: signals, source: source)
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            for await _ in signals { _ = await reloader.reload(ReloadRequest(caller: "SIGHUP", channel: "signal")) }
        }
        source.source.cancel()
    }
}
