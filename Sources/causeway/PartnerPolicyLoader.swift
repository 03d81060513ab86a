import CausewayCore
import CausewayMapping
import CausewayTrust
import Foundation

/// Builds verification policies from partner folders.
enum PartnerPolicyLoader {
    static func partner(at path: String) throws(CLIError) -> PartnerConfiguration {
        do {
            return try PartnerConfiguration.load(folder: URL(fileURLWithPath: path))
        } catch {
            throw CLIError("the partner folder is not valid:\n" + error.description)
        }
    }

    static func policy(for partner: PartnerConfiguration) -> VerificationPolicy {
        VerificationPolicy(roles: partner.roles, maxTotal: partner.maxTotal, currencies: partner.currencies, agreementTypes: partner.accepts,
                           keri: partner.keriPolicy.flatMap(KERIKeyStatePolicy.init(name:)) ?? .latestOnly)
    }

    static func policy(forPartnerAt path: String) throws(CLIError) -> VerificationPolicy {
        policy(for: try partner(at: path))
    }
}
