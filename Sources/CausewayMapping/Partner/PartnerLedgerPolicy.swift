import CausewayCore
import Foundation

/// A partner's `ledger:` section in `partner.yaml`: the witnesses that cosign the gateway's
/// checkpoints for this partner, and how many cosignatures a checkpoint needs before receipts are
/// pushed to the partner.
///
/// ```yaml
/// ledger:
///   witnesses:
///     - url: https://witness.stahlteile.example/witness   # the submission prefix; /add-checkpoint is appended
///       key: witness.stahlteile.example+7c2a09b1+BMGd…    # the witness's vkey (C2SP signed-note, type 0x04)
///   cosignatures_required: 1                               # default 0: push without waiting
/// ```
public struct PartnerLedgerPolicy: Sendable, Hashable {
    /// One C2SP `tlog-witness` the gateway submits its checkpoints to.
    public struct Witness: Sendable, Hashable {
        /// The witness's submission prefix; the gateway posts to `<url>/add-checkpoint`.
        public let url: String
        /// The witness's verifier key (`name+hex key id+base64(0x04 ‖ Ed25519 key)`).
        public let key: String
    }

    public var witnesses: [Witness] = []
    /// Cosignatures from distinct listed witnesses a checkpoint needs before the receipts it
    /// covers are pushed to the partner. Default 0.
    public var cosignaturesRequired: Int = 0

    public init(witnesses: [Witness] = [], cosignaturesRequired: Int = 0) {
        self.witnesses = witnesses
        self.cosignaturesRequired = cosignaturesRequired
    }

    /// The most witnesses one partner may list (each is contacted on every new checkpoint).
    public static let maxWitnesses = 16

    /// Reads the `ledger:` node; every problem becomes a diagnostic at its position.
    static func parse(_ node: YNode, _ d: inout Diagnostics) -> PartnerLedgerPolicy {
        var policy = PartnerLedgerPolicy()
        guard let ledger = node.mapping("'ledger'", allowed: ["witnesses", "cosignatures_required"], &d) else { return policy }
        if let list = ledger["witnesses"] {
            guard let items = list.items else {
                d.error("partner.type_error", "'ledger.witnesses' must be a list of {url, key}", at: list.location)
                return policy
            }
            if items.count > maxWitnesses {
                d.error("partner.too_many_witnesses", "'ledger.witnesses' lists \(items.count) witnesses; at most \(maxWitnesses)", at: list.location)
            }
            for item in items {
                guard let fields = item.mapping("a witness in 'ledger.witnesses'", allowed: ["url", "key"], &d) else { continue }
                guard let url = fields["url"]?.string("'url' of a witness", &d), let key = fields["key"]?.string("'key' of a witness", &d) else {
                    if fields["url"] == nil || fields["key"] == nil {
                        d.error("partner.missing_key", "each witness needs 'url' (its submission prefix) and 'key' (its vkey)", at: item.location)
                    }
                    continue
                }
                let parsed = URL(string: url)
                if parsed?.host == nil || !["http", "https"].contains(parsed?.scheme?.lowercased() ?? "") {
                    d.error("partner.type_error", "witness url '\(url)' is not an http(s) URL", at: fields["url"]?.location ?? item.location)
                }
                if key.split(separator: "+", maxSplits: 2, omittingEmptySubsequences: false).count != 3 {
                    d.error("partner.type_error", "witness key '\(key)' is not a vkey (name+keyid+base64, as `causeway ledger witness-key` prints)",
                            at: fields["key"]?.location ?? item.location)
                }
                if policy.witnesses.contains(where: { $0.key == key }) {
                    d.error("partner.duplicate_witness", "the witness key '\(key)' is listed twice", at: fields["key"]?.location ?? item.location)
                }
                policy.witnesses.append(Witness(url: url, key: key))
            }
        }
        if let required = ledger["cosignatures_required"], let n = required.integer("'ledger.cosignatures_required'", &d) {
            if n < 0 || n > policy.witnesses.count {
                d.error("partner.type_error", "'ledger.cosignatures_required' is \(n); it must be 0 to the number of witnesses listed (\(policy.witnesses.count))",
                        at: required.location)
            } else {
                policy.cosignaturesRequired = n
            }
        }
        return policy
    }
}
