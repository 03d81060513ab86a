import CausewayCore
import Testing

/// A KERI signer's key state (AID, sn, SAID) travels in the provenance record and its receipt form.
@Suite("Provenance: KERI key state of a signer")
struct ProvenanceKeyStateTests {
    static let aid = "E" + String(repeating: "a", count: 43)
    static let said = "E" + String(repeating: "b", count: 43)
    static let digest = "sha256:" + String(repeating: "0", count: 64)

    func record(keri: JSONValue?) -> JSONValue {
        var seller: JSONObject = ["role": "seller", "did": .string("did:keri:" + Self.aid),
                                  "verificationMethod": .string("did:keri:\(Self.aid)#D" + String(repeating: "c", count: 43))]
        if let keri { seller["keri"] = keri }
        return [
            "type": "CausewayProvenance", "v": 1, "receiptId": "urn:uuid:1", "generated": "2026-12-04T01:00:00.000Z",
            "subject": ["target": "erp", "adapter": "sqlite", "kind": "rows", "payloadDigest": .string(Self.digest)],
            "agreement": ["id": "urn:uuid:2", "type": "PurchaseAgreement", "digest": .string(Self.digest)],
            "signers": [.object(seller)],
            "plan": ["partner": "p", "mapping": "m", "version": "1.0.0", "digest": .string(Self.digest), "actionIndex": 0],
            "agent": ["gateway": "did:keri:x", "software": "causeway-test"],
        ]
    }

    @Test("read back and written again with its key state; a malformed key state is refused")
    func roundTrip() throws {
        let keri: JSONValue = ["aid": .string(Self.aid), "s": "1a", "d": .string(Self.said)]
        let read = try ProvenanceRecord(json: record(keri: keri))
        #expect(read.signers.first?.keyState == .init(aid: Self.aid, sn: 26, said: Self.said))
        #expect(read.json["signers"]?[0]?["keri"] == keri)
        #expect(try ProvenanceRecord(json: record(keri: nil)).signers.first?.keyState == nil)
        #expect(throws: LegacyAction.DecodingError.self) { try ProvenanceRecord(json: record(keri: ["aid": .string(Self.aid)])) }
    }
}
