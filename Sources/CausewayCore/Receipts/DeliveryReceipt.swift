/// A `DeliveryReceipt`: the gateway's signed statement that one action of one agreement was
/// committed in a legacy system, and where it sits in the ledger.
///
/// This type builds the unsigned body; `CausewayTrust.ReceiptSigner` adds the eddsa-jcs-2022
/// proof. A receipt is only ever issued for a delivered outcome.
public struct DeliveryReceipt: Sendable, Hashable {
    /// The ledger position of the receipt.
    public struct LedgerPosition: Sendable, Hashable {
        /// The log's origin, unique per deployment (e.g. `erp.acme.example/causeway`).
        public let origin: String
        /// The entry's sequence number, from 0.
        public let sequence: Int
        /// The leaf hash of the previous entry (`sha256:` + 64 zeros for the first).
        public let previous: ContentDigest

        public init(origin: String, sequence: Int, previous: ContentDigest) {
            self.origin = origin
            self.sequence = sequence
            self.previous = previous
        }
    }

    public let id: String
    /// The gateway's DID.
    public let issuer: String
    /// RFC 3339 UTC with milliseconds.
    public let issued: String
    public let partner: String
    public let provenance: ProvenanceRecord
    public let adapter: String
    public let reference: (system: String, kind: String, id: String)
    /// When the target committed, RFC 3339 UTC with milliseconds.
    public let committedAt: String
    public let ledger: LedgerPosition

    public init(id: String, issuer: String, issued: String, partner: String, provenance: ProvenanceRecord, adapter: String,
                reference: (system: String, kind: String, id: String), committedAt: String, ledger: LedgerPosition) {
        self.id = id
        self.issuer = issuer
        self.issued = issued
        self.partner = partner
        self.provenance = provenance
        self.adapter = adapter
        self.reference = reference
        self.committedAt = committedAt
        self.ledger = ledger
    }

    public static func == (lhs: DeliveryReceipt, rhs: DeliveryReceipt) -> Bool { lhs.body == rhs.body }
    public func hash(into hasher: inout Hasher) { hasher.combine(body) }

    /// The body without `ledger.leaf` and without proof: the ledger leaf's preimage.
    public var leafPreimage: JSONObject {
        let p = provenance
        let proofs = p.signers.map { $0.json(includingDID: false) }
        var agreement: JSONObject = ["id": .string(p.agreementID), "type": .string(p.agreementType), "digest": .string(p.agreementDigest.description),
                                     "proofs": .array(proofs)]
        // A change's or cancellation's receipt names its version and links the previous receipt of the action.
        if let revision = p.revision {
            agreement["version"] = .number(Double(revision.version))
            agreement["amends"] = .string(revision.amends.description)
            agreement["supersedes"] = .string(revision.supersedes.description)
        }
        var object: JSONObject = [
            "type": "DeliveryReceipt", "v": 1,
            "id": .string(id),
            "issuer": .string(issuer),
            "issued": .string(issued),
            "partner": .string(partner),
            "agreement": .object(agreement),
            "action": ["index": .number(Double(p.plan.actionIndex)), "adapter": .string(adapter), "target": .string(p.target),
                       "idempotencyKey": .string(p.idempotencyKey)],
            "mapping": ["id": .string(p.plan.mapping), "version": .string(p.plan.version), "digest": .string(p.plan.digest.description)],
            "outcome": "delivered",
            "legacyRef": ["system": .string(reference.system), "kind": .string(reference.kind), "id": .string(reference.id)],
            "committedAt": .string(committedAt),
            "provenanceDigest": .string(p.digest.description),
            "ledger": ["origin": .string(ledger.origin), "seq": .number(Double(ledger.sequence)), "prev": .string(ledger.previous.description)],
        ]
        if let previous = p.revision?.previousReceiptID { object["previousReceipt"] = .string(previous) }
        return object
    }

    /// The ledger leaf hash: SHA-256(0x00 ‖ JCS(leaf preimage)), as RFC 6962 hashes leaves.
    public var leaf: ContentDigest { LedgerChain.leafHash(of: leafPreimage) }

    /// The unsigned receipt: the leaf preimage with `ledger.leaf` added.
    public var body: JSONObject { signable.body }

    /// The unsigned receipt and its ledger leaf hash, from one build of the preimage (the issuer
    /// needs both; building and canonicalizing each apart doubled its work).
    public var signable: (body: JSONObject, leaf: ContentDigest) {
        var object = leafPreimage
        let leaf = LedgerChain.leafHash(of: object)
        var ledgerObject = object["ledger"]?.objectValue ?? [:]
        ledgerObject["leaf"] = .string(leaf.description)
        object["ledger"] = .object(ledgerObject)
        return (object, leaf)
    }
}
