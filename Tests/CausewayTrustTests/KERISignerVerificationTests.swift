import CausewayCore
@testable import CausewayTrust
import Crypto
import Foundation
import Testing

/// Agreements whose seller is a KERI AID (`did:keri:` / `did:webs:`), verified against its KEL.
@Suite("Agreement verification with KERI signers")
struct KERISignerVerificationTests {
    let f = Fixture()

    static func key(_ byte: UInt8) -> Curve25519.Signing.PrivateKey {
        try! Curve25519.Signing.PrivateKey(rawRepresentation: Array(repeating: byte, count: 32))
    }

    func codes(_ report: VerificationReport) -> Set<String> { Set(report.errors.map(\.code.rawValue)) }

    /// The fixture agreement with the seller replaced by `did`.
    func document(seller did: String) -> JSONObject {
        var document = f.agreement()
        document["parties"] = [
            "buyer": ["id": .string(f.buyer.didKey.did), "name": "Konepaja Oy"],
            "seller": ["id": .string(did), "name": "Stahlteile GmbH"],
        ]
        return document
    }

    /// Seller signs with `keys` under `state`, buyer with its did:key.
    func signed(_ document: JSONObject, did: String, state: KERIKeyState, keys: [Curve25519.Signing.PrivateKey]) throws -> Agreement {
        let bySeller = try KERISigning.addProofs(to: document, did: did, state: state, keys: keys, created: "2026-11-20T09:31:00Z")
        return try f.sign(bySeller, by: [f.buyer])
    }

    func verify(_ agreement: Agreement, _ logs: [KERIKeyEventLog]?, policy: VerificationPolicy = .default) -> VerificationReport {
        AgreementVerifier(policy: policy, now: Fixture.now, keyStates: logs.map { KERIKeyStates($0) }).verify(agreement)
    }

    @Test("one-key AID: verified under its inception, the signer records AID, sn and SAID")
    func oneKey() throws {
        let controller = try KERIController.incept(keys: [Self.key(41)], nextKeys: [Self.key(42).publicKey])
        let did = "did:keri:" + controller.prefix
        let agreement = try signed(document(seller: did), did: did, state: controller.log.latestState, keys: controller.keys)
        let report = verify(agreement, [controller.log])
        #expect(report.verified, "\(report.findings)")
        let seller = try #require(report.signers.first { $0.role == "seller" })
        #expect(seller.keri == KERIKeyStateUsed(aid: controller.prefix, sn: 0, said: controller.log.latestState.said,
                                                keys: controller.log.latestState.keys))
        #expect(seller.verificationMethod == did + "#" + controller.log.latestState.keys[0])
        #expect(report.json["signers"]?.arrayValue?.contains { $0["keri"]?["aid"]?.stringValue == controller.prefix } == true)
        // Without the KEL the AID is unknown.
        #expect(codes(verify(agreement, nil)) == ["keri.aid_unknown"])
        // did:key signers keep working beside it.
        #expect(verify(try f.sign(f.agreement(), by: [f.seller, f.buyer]), nil).verified)
    }

    @Test("did:webs parties are verified by their AID; a changed document fails the signature")
    func didWebs() throws {
        let controller = try KERIController.incept(keys: [Self.key(43)], nextKeys: [Self.key(44).publicKey])
        let did = "did:webs:partner.example%3A8443:keri:" + controller.prefix
        let parsed = try #require(KERIDID(did))
        #expect(parsed.host == "partner.example:8443" && parsed.path == ["keri"] && parsed.aid == controller.prefix)
        let agreement = try signed(document(seller: did), did: did, state: controller.log.latestState, keys: controller.keys)
        #expect(verify(agreement, [controller.log]).verified)
        var tampered = agreement.document
        tampered["total"] = "1.00"
        #expect(codes(verify(Agreement(tampered), [controller.log])).contains("proof.signature_invalid"))
        #expect(KERIDID("did:keri:Enot-an-aid") == nil && KERIDID("did:webs::" + controller.prefix) == nil)
    }

    @Test("2-of-3 AID: two distinct keys satisfy kt, one key (even twice) does not")
    func twoOfThree() throws {
        let controller = try KERIController.incept(keys: [Self.key(51), Self.key(52), Self.key(53)],
                                                   nextKeys: [Self.key(54).publicKey, Self.key(55).publicKey, Self.key(56).publicKey],
                                                   signingThreshold: 2, nextThreshold: 2)
        let did = "did:keri:" + controller.prefix
        let state = controller.log.latestState
        let two = verify(try signed(document(seller: did), did: did, state: state, keys: [controller.keys[0], controller.keys[2]]),
                         [controller.log])
        #expect(two.verified, "\(two.findings)")
        #expect(two.signers.first { $0.role == "seller" }?.keri?.keys == [state.keys[0], state.keys[2]])

        let one = verify(try signed(document(seller: did), did: did, state: state, keys: [controller.keys[1]]), [controller.log])
        #expect(codes(one) == ["keri.threshold_not_met"])
        // The same key twice, in two proofs with different ids, is still one key.
        var doubled = try KERISigning.addProofs(to: document(seller: did), did: did, state: state, keys: [controller.keys[1]],
                                                created: "2026-11-20T09:31:00Z")
        doubled = try KERISigning.addProofs(to: doubled, did: did, state: state, keys: [controller.keys[1]], created: "2026-11-20T09:32:00Z")
        #expect(codes(verify(try f.sign(doubled, by: [f.buyer]), [controller.log])) == ["keri.threshold_not_met"])
    }

    @Test("rotation: the new key is accepted; the old key is refused under latest-only and needs an anchor under historical")
    func rotation() throws {
        var controller = try KERIController.incept(keys: [Self.key(61)], nextKeys: [Self.key(62).publicKey])
        let did = "did:keri:" + controller.prefix
        let inception = controller.log
        let oldState = controller.log.latestState
        let oldKeys = controller.keys
        let beforeRotation = try signed(document(seller: did), did: did, state: oldState, keys: oldKeys)
        try controller.rotate(to: [Self.key(62)], nextKeys: [Self.key(63).publicKey])
        let rotated = controller.log
        let newState = rotated.latestState

        // Signed with the new key under the rotation.
        let afterRotation = try signed(document(seller: did), did: did, state: newState, keys: controller.keys)
        #expect(verify(afterRotation, [rotated]).verified)
        // The verifier still holds the old KEL: the rotation is an unknown establishment event.
        #expect(codes(verify(afterRotation, [inception])) == ["keri.event_unknown"])

        // The old key under the inception.
        #expect(verify(beforeRotation, [inception]).verified)
        #expect(codes(verify(beforeRotation, [rotated])) == ["keri.key_state_stale"])
        let historical = VerificationPolicy(keri: .historical)
        #expect(codes(verify(beforeRotation, [rotated], policy: historical)) == ["keri.historical_unproven"])
        // Historical with evidence: the agreement's digest anchored in the KEL after the old event.
        var anchoring = controller
        try anchoring.interact(anchors: [KERIEventBuilder.digestSeal(of: beforeRotation.canonicalBody)])
        #expect(verify(beforeRotation, [anchoring.log], policy: historical).verified)

        // The new key claimed under the old event, or a stranger's key under the new one.
        let newKeyUnderOld = try EddsaJcs2022.addProof(
            to: document(seller: did), signer: SigningIdentity(privateKey: controller.keys[0]),
            options: .init(created: nil, extraMembers: [("keriEvent", KERISignerReference.eventMember(sn: 0, said: oldState.said))],
                           verificationMethod: did + "#" + newState.keys[0]))
        let relabelledAgreement = try f.sign(newKeyUnderOld, by: [f.buyer])
        #expect(codes(verify(relabelledAgreement, [inception])) == ["keri.key_not_in_event"])
    }

    @Test("malformed KERI proofs are named: no keriEvent, a key that is not D…, an interaction event")
    func malformed() throws {
        var controller = try KERIController.incept(keys: [Self.key(71)], nextKeys: [Self.key(72).publicKey])
        let did = "did:keri:" + controller.prefix
        let key = controller.log.latestState.keys[0]
        let noEvent = try EddsaJcs2022.addProof(to: document(seller: did), signer: SigningIdentity(privateKey: controller.keys[0]),
                                                options: .init(created: nil, verificationMethod: did + "#" + key))
        #expect(codes(verify(try f.sign(noEvent, by: [f.buyer]), [controller.log])).contains("keri.proof.event_missing"))
        let badKey = try EddsaJcs2022.addProof(to: document(seller: did), signer: SigningIdentity(privateKey: controller.keys[0]),
                                               options: .init(created: nil, verificationMethod: did + "#" + controller.prefix))
        #expect(codes(verify(try f.sign(badKey, by: [f.buyer]), [controller.log])).contains("proof.verification_method_invalid"))
        try controller.interact(anchors: [])
        let ixn = controller.log.events[1]
        let underIxn = try EddsaJcs2022.addProof(
            to: document(seller: did), signer: SigningIdentity(privateKey: controller.keys[0]),
            options: .init(created: nil, extraMembers: [("keriEvent", KERISignerReference.eventMember(sn: 1, said: ixn.said))],
                           verificationMethod: did + "#" + key))
        #expect(codes(verify(try f.sign(underIxn, by: [f.buyer]), [controller.log])) == ["keri.event_unknown"])
    }

    @Test("partner roles may list a bare AID or the DID; another AID is not authorized")
    func roles() throws {
        let controller = try KERIController.incept(keys: [Self.key(81)], nextKeys: [Self.key(82).publicKey])
        let other = try KERIController.incept(keys: [Self.key(83)], nextKeys: [Self.key(84).publicKey])
        let did = "did:webs:example.com:" + controller.prefix
        let agreement = try signed(document(seller: did), did: did, state: controller.log.latestState, keys: controller.keys)
        for listed in [controller.prefix, did] {
            let policy = VerificationPolicy(roles: ["seller": [listed], "buyer": [f.buyer.didKey.did]])
            #expect(verify(agreement, [controller.log], policy: policy).verified, "\(listed)")
        }
        let policy = VerificationPolicy(roles: ["seller": [other.prefix], "buyer": [f.buyer.didKey.did]])
        #expect(codes(verify(agreement, [controller.log], policy: policy)) == ["party.not_authorized"])
        // A KERI proof by another AID does not sign for this party.
        let byOther = try KERISigning.addProofs(to: document(seller: did), did: "did:keri:" + other.prefix, state: other.log.latestState,
                                                keys: other.keys, created: nil)
        #expect(codes(verify(try f.sign(byOther, by: [f.buyer]), [controller.log, other.log])) == ["party.unsigned"])
    }

    @Test("a document without parties signed by a KERI key is checked against the AID's key state too")
    func withoutParties() throws {
        let controller = try KERIController.incept(keys: [Self.key(91)], nextKeys: [Self.key(92).publicKey])
        let did = "did:keri:" + controller.prefix
        let document: JSONObject = ["type": "Note", "text": "hello"]
        let signed = Agreement(try KERISigning.addProofs(to: document, did: did, state: controller.log.latestState, keys: controller.keys,
                                                         created: "2026-11-20T09:31:00Z"))
        let known = verify(signed, [controller.log])
        #expect(known.verified && known.signers.first?.keri?.aid == controller.prefix, "\(known.findings)")
        #expect(codes(verify(signed, nil)) == ["keri.aid_unknown"])
    }
}
