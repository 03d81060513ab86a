import CausewayTrust

/// Loads a partner folder's verification policy for `causeway verify --partner`.
enum PartnerPolicyLoader {
    static func policy(forPartnerAt path: String) throws(CLIError) -> VerificationPolicy {
        throw CLIError("--partner is not available yet")
    }
}
