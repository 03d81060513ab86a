/// What travels with each legacy write: which signed agreement, signed by whom, through which
/// mapping, by which gateway, produced it.
///
/// It is built once, when the agreement is mapped, from pinned inputs, and stored with the outbox
/// entry, so every retry and replay writes identical bytes. It holds no outcome and no legacy
/// reference (those belong to the receipt); the receipt carries this record's digest and this
/// record carries the receipt id, so each leads to the other. The shape follows in-toto/SLSA:
/// a subject by digest, inputs by digest, the builder, an invocation id.
///
/// ```json
/// {"type": "CausewayProvenance", "v": 1, "receiptId": "urn:uuid:…", "generated": "2026-11-23T10:15:02.301Z",
///  "subject": {"target": "erp-staging", "adapter": "postgresql", "kind": "rows", "payloadDigest": "sha256:…"},
///  "agreement": {"id": "urn:uuid:…", "type": "PurchaseAgreement", "digest": "sha256:…"},
///  "signers": [{"role": "seller", "did": "did:key:…", "verificationMethod": "did:key:…#…", "proofDigest": "sha256:…"}],
///  "plan": {"partner": "stahlteile", "mapping": "stahlteile-po", "version": "1.0.0", "digest": "sha256:…", "actionIndex": 0},
///  "agent": {"gateway": "did:key:…", "software": "causeway/0.1.0"},
///  "idempotencyKey": "sha256:…/0"}
/// ```
///
/// When intake was traced, the record also has `"traceId": "<32 lowercase hex>"`, the W3C trace id
/// of the trace that runs from intake to the receipt. Records without it are unchanged, byte for
/// byte, so their digests (and the receipts over them) still verify.
public struct ProvenanceRecord: Sendable, Hashable {
    /// A signer of the agreement as verification established it.
    public struct Signer: Sendable, Hashable {
        public let role: String
        /// The party's DID.
        public let did: String
        /// The key that signed (an agent's, when delegated).
        public let verificationMethod: String
        public let proofDigest: ContentDigest?
        /// The delegation credential's digest, when an agent signed.
        public let delegation: ContentDigest?
        /// For a KERI signer, the key state its proofs verified under.
        public var keyState: KeyState? = nil

        /// A KERI AID's establishment event: `{"aid": "E…", "s": "<hex sn>", "d": "<SAID>"}`.
        public struct KeyState: Sendable, Hashable {
            public let aid: String
            public let sn: UInt64
            public let said: String

            public init(aid: String, sn: UInt64, said: String) {
                self.aid = aid
                self.sn = sn
                self.said = said
            }

            var json: JSONValue { .object(JSONObject([("aid", .string(aid)), ("s", .string(String(sn, radix: 16))), ("d", .string(said))])) }

            init?(json: JSONValue) {
                guard let aid = json["aid"]?.stringValue, let sn = json["s"]?.stringValue.flatMap({ UInt64($0, radix: 16) }),
                    let said = json["d"]?.stringValue
                else { return nil }
                self.init(aid: aid, sn: sn, said: said)
            }
        }

        public init(role: String, did: String, verificationMethod: String, proofDigest: ContentDigest?, delegation: ContentDigest?) {
            self.role = role
            self.did = did
            self.verificationMethod = verificationMethod
            self.proofDigest = proofDigest
            self.delegation = delegation
        }

        /// The signer as JSON; receipts leave the party's DID out (it is in the agreement).
        func json(includingDID: Bool) -> JSONValue {
            var object: JSONObject = ["role": .string(role)]
            if includingDID { object["did"] = .string(did) }
            object["verificationMethod"] = .string(verificationMethod)
            if let proofDigest { object["proofDigest"] = .string(proofDigest.description) }
            if let delegation { object["delegation"] = .string(delegation.description) }
            if let keyState { object["keri"] = keyState.json }
            return .object(object)
        }
    }

    /// The mapping that produced the action.
    public struct Plan: Sendable, Hashable {
        public let partner: String
        public let mapping: String
        public let version: String
        public let digest: ContentDigest
        public let actionIndex: Int

        public init(partner: String, mapping: String, version: String, digest: ContentDigest, actionIndex: Int) {
            self.partner = partner
            self.mapping = mapping
            self.version = version
            self.digest = digest
            self.actionIndex = actionIndex
        }
    }

    public let receiptID: String
    /// When the record was made (map time), RFC 3339 UTC with milliseconds.
    public let generated: String
    public let target: String
    public let adapter: String
    public let actionKind: LegacyAction.Kind
    /// `sha256:` of the JCS of the action's JSON: what the adapter was asked to write.
    public let payloadDigest: ContentDigest
    public let agreementID: String
    public let agreementType: String
    public let agreementDigest: ContentDigest
    public let signers: [Signer]
    public let plan: Plan
    public let gateway: String
    public let software: String
    /// The W3C trace id (32 lowercase hex digits) of intake's trace, when intake was traced.
    public let traceID: String?
    /// For an action of a change or cancellation: its place in the agreement's chain. Absent (and
    /// the record's bytes exactly as before) for an original agreement.
    public var revision: Revision? = nil

    /// Where a change's or cancellation's action sits in the agreement's chain: the JSON member
    /// `revision` = `{"version", "amends", "supersedes", "previousReceiptId"?}`.
    public struct Revision: Sendable, Hashable {
        public let version: Int
        /// The original agreement's digest.
        public let amends: ContentDigest
        /// The version it follows.
        public let supersedes: ContentDigest
        /// The receipt id of the same action in the latest earlier version that had it, if any:
        /// the link from this receipt to the previous one.
        public let previousReceiptID: String?

        public init(version: Int, amends: ContentDigest, supersedes: ContentDigest, previousReceiptID: String?) {
            self.version = version
            self.amends = amends
            self.supersedes = supersedes
            self.previousReceiptID = previousReceiptID
        }

        var json: JSONValue {
            var object: JSONObject = ["version": .number(Double(version)), "amends": .string(amends.description),
                                      "supersedes": .string(supersedes.description)]
            if let previousReceiptID { object["previousReceiptId"] = .string(previousReceiptID) }
            return .object(object)
        }
    }

    /// Whether `text` is a W3C trace id: 32 lowercase hex digits, not all zero.
    public static func isTraceID(_ text: String) -> Bool {
        text.utf8.count == 32 && text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
            && text.utf8.contains { $0 != 0x30 }
    }

    public init(receiptID: String, generated: String, action: LegacyAction, adapter: String, agreementID: String, agreementType: String,
                agreementDigest: ContentDigest, signers: [Signer], plan: Plan, gateway: String, software: String, traceID: String? = nil) {
        self.receiptID = receiptID
        self.generated = generated
        self.target = action.target
        self.adapter = adapter
        self.actionKind = action.kind
        self.payloadDigest = ContentDigest(of: JCS.canonicalize(action.json))
        self.agreementID = agreementID
        self.agreementType = agreementType
        self.agreementDigest = agreementDigest
        self.signers = signers
        self.plan = plan
        self.gateway = gateway
        self.software = software
        self.traceID = traceID.flatMap { Self.isTraceID($0) ? $0 : nil }
    }

    /// Reads a record back from its JSON form (as the outbox stores it).
    public init(json: JSONValue) throws(LegacyAction.DecodingError) {
        func fail(_ what: String) -> LegacyAction.DecodingError { .init(message: "stored provenance: \(what) is missing or unreadable") }
        func digest(_ value: JSONValue?, _ what: String) throws(LegacyAction.DecodingError) -> ContentDigest {
            guard let d = value?.stringValue.flatMap(ContentDigest.init) else { throw fail(what) }
            return d
        }
        guard json["type"]?.stringValue == "CausewayProvenance", let receiptID = json["receiptId"]?.stringValue,
            let generated = json["generated"]?.stringValue, let subject = json["subject"], let target = subject["target"]?.stringValue,
            let adapter = subject["adapter"]?.stringValue, let kind = subject["kind"]?.stringValue.flatMap(LegacyAction.Kind.init),
            let agreement = json["agreement"], let agreementID = agreement["id"]?.stringValue, let agreementType = agreement["type"]?.stringValue,
            let plan = json["plan"], let partner = plan["partner"]?.stringValue, let mapping = plan["mapping"]?.stringValue,
            let version = plan["version"]?.stringValue,
            let gateway = json["agent"]?["gateway"]?.stringValue, let software = json["agent"]?["software"]?.stringValue
        else { throw fail("a required member") }
        guard let actionIndex = plan["actionIndex"]?.exactInt, actionIndex >= 0 else { throw fail("plan.actionIndex (a whole number from 0)") }
        var signers: [Signer] = []
        for signer in json["signers"]?.arrayValue ?? [] {
            guard let role = signer["role"]?.stringValue, let did = signer["did"]?.stringValue,
                let method = signer["verificationMethod"]?.stringValue
            else { throw fail("a signer") }
            var read = Signer(role: role, did: did, verificationMethod: method,
                              proofDigest: signer["proofDigest"]?.stringValue.flatMap(ContentDigest.init),
                              delegation: signer["delegation"]?.stringValue.flatMap(ContentDigest.init))
            if let keri = signer["keri"] {
                guard let keyState = Signer.KeyState(json: keri) else { throw fail("a signer's keri key state") }
                read.keyState = keyState
            }
            signers.append(read)
        }
        self.receiptID = receiptID
        self.generated = generated
        self.target = target
        self.adapter = adapter
        self.actionKind = kind
        self.payloadDigest = try digest(subject["payloadDigest"], "subject.payloadDigest")
        self.agreementID = agreementID
        self.agreementType = agreementType
        self.agreementDigest = try digest(agreement["digest"], "agreement.digest")
        self.signers = signers
        self.plan = Plan(partner: partner, mapping: mapping, version: version, digest: try digest(plan["digest"], "plan.digest"),
                         actionIndex: actionIndex)
        self.gateway = gateway
        self.software = software
        if let traceID = json["traceId"] {
            guard let text = traceID.stringValue, Self.isTraceID(text) else { throw fail("traceId (32 lowercase hex digits)") }
            self.traceID = text
        } else {
            self.traceID = nil
        }
        if let revision = json["revision"] {
            guard let version = revision["version"]?.exactInt, version >= 2 else { throw fail("revision.version (2 or more)") }
            self.revision = Revision(version: version, amends: try digest(revision["amends"], "revision.amends"),
                                     supersedes: try digest(revision["supersedes"], "revision.supersedes"),
                                     previousReceiptID: revision["previousReceiptId"]?.stringValue)
        }
    }

    /// `sha256:…/N`.
    public var idempotencyKey: String { "\(agreementDigest)/\(plan.actionIndex)" }

    /// The record as JSON (`traceId` only when there is one).
    public var json: JSONValue {
        guard traceID != nil || revision != nil, case .object(var object) = untracedJSON else { return untracedJSON }
        if let traceID { object["traceId"] = .string(traceID) }
        if let revision { object["revision"] = revision.json }
        return .object(object)
    }

    var untracedJSON: JSONValue {
        [
            "type": "CausewayProvenance", "v": 1,
            "receiptId": .string(receiptID),
            "generated": .string(generated),
            "subject": [
                "target": .string(target), "adapter": .string(adapter), "kind": .string(actionKind.rawValue),
                "payloadDigest": .string(payloadDigest.description),
            ],
            "agreement": ["id": .string(agreementID), "type": .string(agreementType), "digest": .string(agreementDigest.description)],
            "signers": .array(signers.map { $0.json(includingDID: true) }),
            "plan": [
                "partner": .string(plan.partner), "mapping": .string(plan.mapping), "version": .string(plan.version),
                "digest": .string(plan.digest.description), "actionIndex": .number(Double(plan.actionIndex)),
            ],
            "agent": ["gateway": .string(gateway), "software": .string(software)],
            "idempotencyKey": .string(idempotencyKey),
        ]
    }

    /// The canonical bytes: what targets store and what the receipt's `provenanceDigest` covers.
    public var canonicalBytes: [UInt8] { JCS.canonicalize(json) }

    /// `sha256:` of ``canonicalBytes``.
    public var digest: ContentDigest { ContentDigest(of: canonicalBytes) }
}
