import CausewayCore
import CausewayMapping
import CausewayStore
import CausewayTrust
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

/// KERI's parts of the gateway, built by ``buildApplication(configuration:environment:)``: the
/// key-state keeper (loaded from the store, the gateway's own KEL and the partner folders before
/// anything is served), the did:webs refresh schedule, and the HTTP routes.
struct KERIGateway: Sendable {
    let keeper: KERIKeyStateKeeper
    let api: KERIAPI
    let services: [any Service]

    /// - Parameter setUp: runs the loading against a store that is usable now (the migration's
    ///   short-lived connection; the long-lived store's pool starts with the service group).
    static func build(configuration: GatewayConfiguration, identity: SigningIdentity, own: GatewayKERIIdentity?, partners: PartnerRegistry,
                      store: any AgreementStore, metrics: GatewayMetrics, logger: Logger,
                      setUp: (@Sendable (any AgreementStore) async throws -> [String]) async throws -> [String]) async throws -> KERIGateway
    {
        let keeper = KERIKeyStateKeeper(store: store, configuration: configuration.keri.keeper, metrics: metrics, logger: logger)
        let folders = partners.partners.map { (name: $0.name, folder: $0.configuration.folder) }
        let ownLog = own.map { $0.log.cesr }
        let problems = try await setUp { store in
            var problems = try await keeper.loadStored(using: store)
            if let ownLog, case .invalid(let error) = try await keeper.offer(ownLog, source: "self", using: store) {
                problems.append("identity: the gateway's KEL is not valid: \(error)")
            }
            problems += try await keeper.loadPartnerFolders(folders, using: store)
            return problems
        }
        guard problems.isEmpty else { throw StartupError(problems: problems) }

        let named = partners.partners.flatMap { partner in partner.configuration.roles.values.flatMap { $0 } + partner.configuration.identities }
        let knownAIDs = Set(named.compactMap { text in KERI.isAID(text) ? text : KERIDID(text)?.aid })
        let webs = Array(Set(named.filter { KERIDID($0)?.host != nil })).sorted()
        keeper.allowResolving(webs)
        var services: [any Service] = []
        let interval = configuration.keri.keeper.refreshIntervalSeconds
        if interval > 0, !webs.isEmpty {
            services.append(LoopService {
                while !Task.isCancelled {
                    await keeper.refresh(webs)
                    try await Task.sleep(for: .milliseconds(Int64(interval * 1000)))
                }
            })
        }
        let websPath = configuration.keri.webs.map { Array($0.split(separator: ":").dropFirst().map(String.init)) } ?? []
        let api = KERIAPI(keeper: keeper, own: own, didKey: identity.didKey.did, knownAIDs: knownAIDs, websPath: websPath)
        return KERIGateway(keeper: keeper, api: api, services: services)
    }
}
