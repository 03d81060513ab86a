import CausewayCore
import Testing

/// The provenance record's optional `traceId` (Docs/agreement-format.md §9).
@Suite("Provenance: trace id")
struct ProvenanceTraceTests {
    static let digest = "sha256:" + String(repeating: "0", count: 64)
    static let traceID = "4bf92f3577b34da6a3ce929d0e0e4736"

    /// A stored record as the outbox keeps it (idempotency key included).
    func stored(traceId: JSONValue? = nil) -> JSONObject {
        var object: JSONObject = [
            "type": "CausewayProvenance", "v": 1, "receiptId": "urn:uuid:1", "generated": "2026-12-04T01:00:00.000Z",
            "subject": ["target": "erp", "adapter": "sqlite", "kind": "rows", "payloadDigest": .string(Self.digest)],
            "agreement": ["id": "urn:uuid:2", "type": "PurchaseAgreement", "digest": .string(Self.digest)],
            "signers": [["role": "seller", "did": "did:key:z6Mk", "verificationMethod": "did:key:z6Mk#z6Mk"]],
            "plan": ["partner": "p", "mapping": "m", "version": "1.0.0", "digest": .string(Self.digest), "actionIndex": 0],
            "agent": ["gateway": "did:key:z6Mg", "software": "causeway-test"],
            "idempotencyKey": .string(Self.digest + "/0"),
        ]
        if let traceId { object["traceId"] = traceId }
        return object
    }

    @Test("a record without a trace id keeps its bytes and digest; one with it round-trips and its digest covers it")
    func bytes() throws {
        let old = try ProvenanceRecord(json: .object(stored()))
        #expect(old.traceID == nil)
        #expect(old.canonicalBytes == JCS.canonicalize(.object(stored())), "an old record's canonical bytes are unchanged")
        #expect(old.json["traceId"] == nil)

        let traced = try ProvenanceRecord(json: .object(stored(traceId: .string(Self.traceID))))
        #expect(traced.traceID == Self.traceID)
        #expect(traced.canonicalBytes == JCS.canonicalize(.object(stored(traceId: .string(Self.traceID)))))
        #expect(traced.digest != old.digest)
        #expect(try ProvenanceRecord(json: traced.json) == traced)
    }

    @Test("a trace id that is not 32 lowercase hex digits is refused when read, and left out when made", arguments: [
        JSONValue.string("4BF92F3577B34DA6A3CE929D0E0E4736"), .string(String(repeating: "0", count: 32)), .string("4bf92f3577b34da6a3ce929d0e0e473"),
        .number(1), .string(""),
    ])
    func invalid(traceId: JSONValue) throws {
        #expect(throws: LegacyAction.DecodingError.self) { try ProvenanceRecord(json: .object(stored(traceId: traceId))) }
        let old = try ProvenanceRecord(json: .object(stored()))
        let action = try LegacyAction(json: ["target": "erp", "name": "a", "index": 0, "kind": "http",
                                             "http": ["method": "POST", "path": "/orders"]])
        let made = ProvenanceRecord(receiptID: old.receiptID, generated: old.generated, action: action, adapter: "sqlite",
                                    agreementID: old.agreementID, agreementType: old.agreementType, agreementDigest: old.agreementDigest,
                                    signers: old.signers, plan: old.plan, gateway: old.gateway, software: old.software,
                                    traceID: traceId.stringValue)
        #expect(made.traceID == nil)
        #expect(made.json["traceId"] == nil)
    }
}
