public import CausewayCore
public import CausewayMapping
public import CausewayTrust
public import Foundation

/// The partner folders the gateway serves, loaded and checked at start-up.
public struct PartnerRegistry: Sendable {
    /// One partner with its mappings and verification policy.
    public struct Partner: Sendable {
        public let configuration: PartnerConfiguration
        public let mappings: [Mapping]
        public let policy: VerificationPolicy

        public var name: String { configuration.name }

        /// The partner's mapping for an agreement type.
        public func mapping(for type: String?) -> Mapping? {
            mappings.first { $0.accepts == type } ?? (type == nil ? mappings.first : nil)
        }
    }

    public let partners: [Partner]

    /// Loads every partner folder under `directory`; all problems of all folders are reported together.
    public static func load(directory: URL) throws(MappingLoadError) -> PartnerRegistry {
        var partners: [Partner] = []
        var diagnostics: [MappingDiagnostic] = []
        for folder in PartnerConfiguration.folders(in: directory) {
            do {
                let configuration = try PartnerConfiguration.load(folder: folder)
                let mappings = try configuration.loadMappings()
                let policy = VerificationPolicy(roles: configuration.roles, maxTotal: configuration.maxTotal,
                                                currencies: configuration.currencies, agreementTypes: configuration.accepts,
                                                keri: configuration.keriPolicy.flatMap(KERIKeyStatePolicy.init(name:)) ?? .latestOnly)
                partners.append(Partner(configuration: configuration, mappings: mappings, policy: policy))
            } catch {
                diagnostics += error.diagnostics
            }
        }
        guard diagnostics.isEmpty else { throw MappingLoadError(diagnostics) }
        return PartnerRegistry(partners: partners)
    }

    public init(partners: [Partner]) { self.partners = partners }

    /// The partners an agreement belongs to: every role the partner lists is in `parties`, held
    /// by one of the DIDs the partner lists for it.
    public func candidates(for agreement: Agreement) -> [Partner] {
        let parties = Dictionary(agreement.parties.compactMap { party in party.id.map { (party.role, $0) } }, uniquingKeysWith: { a, _ in a })
        return partners.filter { partner in
            !partner.configuration.roles.isEmpty && partner.configuration.roles.allSatisfy { role, dids in
                parties[role].map { KERIDID.party($0, matchesAnyOf: dids) } ?? false
            }
        }
    }
}
