import CausewayCore
import CausewayMapping
import CausewayTrust
import Foundation

/// Keys whose private halves are public: the repository's fixture keys and the specification
/// examples in the shared test vectors. Anyone can sign with them, so a partner folder whose roles
/// (or delegation roots) trust one accepts agreements from anyone.
///
/// `causeway serve` and `causeway config check` refuse such partner folders unless the
/// configuration says `allow_fixture_keys: true` (or `CAUSEWAY_ALLOW_FIXTURE_KEYS=true`), which is
/// for tests and demonstrations only.
public enum PublishedKeys {
    /// The fixture keys of `scripts/make-fixture-agreements.py`: the Ed25519 seed of each is the
    /// SHA-256 of `causeway fixture key: NAME`.
    public static let fixtureSeedNames = ["konepaja/buyer", "stahlteile/seller", "stahlteile/seller-agent",
                                          "nordic-fasteners/seller", "nordic-fasteners/seller-agent"]

    /// Published DIDs and where their private key is published.
    public static let dids: [String: String] = {
        var dids: [String: String] = [:]
        for name in fixtureSeedNames {
            let seed = ContentDigest(of: Array("causeway fixture key: \(name)".utf8)).bytes
            if let identity = try? SigningIdentity(seed: seed) {
                dids[identity.didKey.did] = "the fixture key '\(name)' of scripts/make-fixture-agreements.py"
            }
        }
        // The key pair of the W3C Data Integrity EdDSA specification's examples (its private key is
        // printed in the specification and in the shared vectors' vc-di-eddsa/keyPair.json).
        dids["did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"] = "the example key of the W3C vc-di-eddsa specification"
        return dids
    }()

    /// One partner role (or delegation root) that trusts a published key.
    public struct Trust: Sendable, Hashable, CustomStringConvertible {
        /// The partner's name.
        public let partner: String
        /// The partner folder.
        public let folder: String
        /// `role seller`, or `identities` for a delegation root.
        public let role: String
        public let did: String
        /// Where the key's private half is published.
        public let source: String

        public var description: String {
            "partners: \(folder): partner '\(partner)', \(role) trusts \(did), \(source), whose private key is public: anyone can sign as it. "
                + "Put the partner's real DID there, or, for tests and demonstrations only, set allow_fixture_keys: true in causeway.yaml "
                + "(or CAUSEWAY_ALLOW_FIXTURE_KEYS=true)"
        }
    }

    /// Every role and delegation root of the partner folders under `partners` that trusts a
    /// published key. Folders that cannot be read are skipped here (serve reports them).
    public static func trusted(inPartners partners: String) -> [Trust] {
        var found: [Trust] = []
        for folder in PartnerConfiguration.folders(in: URL(fileURLWithPath: partners)) {
            guard let partner = try? PartnerConfiguration.load(folder: folder) else { continue }
            for (role, roleDIDs) in partner.roles.sorted(by: { $0.key < $1.key }) {
                for did in roleDIDs {
                    if let source = dids[did] { found.append(Trust(partner: partner.name, folder: folder.path, role: "role \(role)", did: did, source: source)) }
                }
            }
            for did in partner.identities {
                if let source = dids[did] { found.append(Trust(partner: partner.name, folder: folder.path, role: "identities", did: did, source: source)) }
            }
        }
        return found
    }
}
