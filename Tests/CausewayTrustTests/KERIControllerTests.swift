import CausewayCore
@testable import CausewayTrust
import Crypto
import Foundation
import Testing

@Suite("KERI controller: inception, rotation, interaction, proofs")
struct KERIControllerTests {
    /// The keripy scenario's fixed seeds (kel.json `private_seeds_for_debugging`, qb64 `A…` seeds).
    static func seeds(_ scenario: String) throws -> [[Curve25519.Signing.PrivateKey]] {
        let recorded = try KERIFixtures.json("\(scenario)/kel.json")
        let sets = try #require(recorded["private_seeds_for_debugging"]?.arrayValue)
        return try sets.map { set in
            try (set.arrayValue ?? []).map { seed in
                let text = Array(try #require(seed.stringValue).utf8)
                let raw = try CESRMatter.decodeRaw(text[...], codeChars: 1, rawSize: 32, what: "A")
                return try Curve25519.Signing.PrivateKey(rawRepresentation: raw)
            }
        }
    }

    static func events(_ scenario: String) throws -> [String] {
        let recorded = try KERIFixtures.json("\(scenario)/kel.json")
        return try #require(recorded["events"]?.arrayValue).compactMap { $0["raw"]?.stringValue }
    }

    @Test("with keripy's seeds, scenario A (icp → rot → rot) is rebuilt byte for byte")
    func rebuildsScenarioA() throws {
        let keys = try Self.seeds("A")
        var controller = try KERIController.incept(keys: keys[0], nextKeys: keys[1].map(\.publicKey))
        try controller.rotate(to: keys[1], nextKeys: keys[2].map(\.publicKey))
        try controller.rotate(to: keys[2], nextKeys: keys[3].map(\.publicKey))
        let expected = try Self.events("A")
        #expect(controller.log.events.map { String(decoding: $0.raw, as: UTF8.self) } == expected)
        #expect(controller.prefix == KERIFixtures.cases["aids"]?["A"]?.stringValue)
        // The whole stream validates again from its bytes.
        let again = try KERIKeyEventLog(validating: controller.log.cesr)
        #expect(again.comparison(with: controller.log) == .identical)
    }

    @Test("with keripy's seeds, scenario B (icp → ixn anchoring the payload → rot) is rebuilt byte for byte")
    func rebuildsScenarioB() throws {
        let keys = try Self.seeds("B")
        let payload = try KERIFixtures.bytes("payload.bin")
        var controller = try KERIController.incept(keys: keys[0], nextKeys: keys[1].map(\.publicKey))
        try controller.interact(anchors: [KERIEventBuilder.digestSeal(of: payload)])
        try controller.rotate(to: keys[1], nextKeys: keys[2].map(\.publicKey))
        #expect(controller.log.events.map { String(decoding: $0.raw, as: UTF8.self) } == (try Self.events("B")))
    }

    @Test("with keripy's seeds, scenario C (3 keys, kt = nt = 2) is rebuilt byte for byte")
    func rebuildsScenarioC() throws {
        let keys = try Self.seeds("C")
        var controller = try KERIController.incept(keys: keys[0], nextKeys: keys[1].map(\.publicKey), signingThreshold: 2, nextThreshold: 2)
        try controller.rotate(to: keys[1], nextKeys: keys[2].map(\.publicKey), signingThreshold: 2, nextThreshold: 2)
        #expect(controller.log.events.map { String(decoding: $0.raw, as: UTF8.self) } == (try Self.events("C")))
    }

    @Test("a fresh AID: sign, rotate, the old proof is stale under latest-only and the new one verifies")
    func rotationLifecycle() throws {
        let k0 = Curve25519.Signing.PrivateKey(), k1 = Curve25519.Signing.PrivateKey(), k2 = Curve25519.Signing.PrivateKey()
        var controller = try KERIController.incept(keys: [k0], nextKeys: [k1.publicKey])
        let payload = Array("an agreement".utf8)
        let before = try controller.sign(payload)
        #expect(before.sn == 0 && before.said == controller.prefix)
        _ = try controller.log.verify(proof: before, payload: payload)

        try controller.rotate(to: [k1], nextKeys: [k2.publicKey])
        let kel = try KERIKeyEventLog(validating: controller.log.cesr)
        do throws(KERIError) {
            _ = try kel.verify(proof: before, payload: payload)
            Issue.record("a proof under a rotated-out key verified under latest-only")
        } catch {
            #expect(error.code == .staleKeyState)
        }
        let after = try controller.sign(payload)
        let result = try kel.verify(proof: try KERIProof(cesr: after.cesr), payload: payload)
        #expect(result.state.sn == 1 && result.isLatest && result.verifiedKeys == [KERI.qb64(publicKey: Array(k1.publicKey.rawRepresentation))])
        // Rotating to a key that was not committed is refused by the controller's own validation.
        do throws(KERIError) {
            try controller.rotate(to: [Curve25519.Signing.PrivateKey()], nextKeys: [k0.publicKey])
            Issue.record("a rotation to an uncommitted key was made")
        } catch {
            #expect(error.code == .preRotationViolated)
        }
        #expect(controller.log.lastSN == 1)
    }

    @Test("extensions: appending a longer KEL, a repeated prefix, a fork; comparisons")
    func extensionsAndComparison() throws {
        let k0 = Curve25519.Signing.PrivateKey(), k1 = Curve25519.Signing.PrivateKey(), k2 = Curve25519.Signing.PrivateKey()
        var controller = try KERIController.incept(keys: [k0], nextKeys: [k1.publicKey])
        let short = controller.log
        let rotation = try controller.rotate(to: [k1], nextKeys: [k2.publicKey])
        let long = controller.log

        // Only the new event, or the whole KEL again: both extend.
        let fromTail = try short.appending(rotation.cesr)
        let fromWhole = try short.appending(long.cesr)
        #expect(short.comparison(with: fromTail) == .extended(by: 1))
        #expect(fromWhole.comparison(with: long) == .identical)
        #expect(long.comparison(with: short) == .regressed(by: 1))

        // A different rotation at sn 1 (the same committed key, other next commitment) is a fork.
        var other = try KERIController(log: short, keys: [k0])
        try other.rotate(to: [k1], nextKeys: [Curve25519.Signing.PrivateKey().publicKey])
        #expect(long.comparison(with: other.log) == .forked(atSN: 1))
        do throws(KERIError) {
            _ = try long.appending(other.log.cesr)
            Issue.record("a fork was appended")
        } catch {
            #expect(error.code == .duplicity && error.sn == 1)
        }
        // Another AID.
        let stranger = try KERIController.incept(keys: [k2], nextKeys: [k0.publicKey])
        #expect(long.comparison(with: stranger.log) == .differentPrefix)
        #expect(throws: KERIError.self) { try long.appending(stranger.log.cesr) }
    }

    @Test("2-of-3: a proof needs two distinct keys; one key under two index codes counts once")
    func multiKeyThreshold() throws {
        let current = (0..<3).map { _ in Curve25519.Signing.PrivateKey() }
        let next = (0..<3).map { _ in Curve25519.Signing.PrivateKey() }
        let controller = try KERIController.incept(keys: current, nextKeys: next.map(\.publicKey), signingThreshold: 2, nextThreshold: 2)
        let payload = Array("po-7".utf8)
        let full = try controller.sign(payload)
        let state = controller.log.latestState
        func proof(_ signatures: [KERIIndexedSignature]) -> KERIProof {
            KERIProof(prefix: controller.prefix, sn: state.sn, said: state.said, signatures: signatures)
        }
        _ = try controller.log.verify(proof: proof([full.signatures[0], full.signatures[2]]), payload: payload)
        let one = full.signatures[1]
        let twice = [one, KERIIndexedSignature(raw: one.raw, index: 1, ondex: nil), KERIIndexedSignature(raw: one.raw, index: 1, ondex: 7)]
        #expect(twice.map(\.code) == [.ed25519, .ed25519CurrentOnly, .ed25519Big])
        do throws(KERIError) {
            _ = try controller.log.verify(proof: proof(twice), payload: payload)
            Issue.record("one key counted more than once")
        } catch {
            #expect(error.code == .signingThresholdNotMet)
        }
    }

    @Test("establishment-only AIDs refuse interactions")
    func establishmentOnly() throws {
        let k0 = Curve25519.Signing.PrivateKey(), k1 = Curve25519.Signing.PrivateKey()
        var controller = try KERIController.incept(keys: [k0], nextKeys: [k1.publicKey], establishmentOnly: true)
        do throws(KERIError) {
            try controller.interact(anchors: [])
            Issue.record("an ixn was added to an EO KEL")
        } catch {
            #expect(error.code == .establishmentOnly)
        }
    }

    @Test("abandonment: after a rotation with no next keys, no rotation is accepted")
    func abandoned() throws {
        let k0 = Curve25519.Signing.PrivateKey(), k1 = Curve25519.Signing.PrivateKey()
        var controller = try KERIController.incept(keys: [k0], nextKeys: [k1.publicKey])
        try controller.rotate(to: [k1], nextKeys: [])
        #expect(controller.log.latestState.nextKeyDigests.isEmpty && controller.log.latestState.nextThreshold == 0)
        do throws(KERIError) {
            try controller.rotate(to: [k1], nextKeys: [k0.publicKey])
            Issue.record("an abandoned AID rotated")
        } catch {
            #expect(error.code == .abandoned)
        }
    }
}

@Suite("KERI key state for signatures that are not -F groups")
struct KERIKeyStateLookupTests {
    @Test("keyState(sn:said:policy:): latest-only, historical with an anchored digest or a first-seen record")
    func keyStateLookup() throws {
        let k0 = Curve25519.Signing.PrivateKey(), k1 = Curve25519.Signing.PrivateKey(), k2 = Curve25519.Signing.PrivateKey()
        var controller = try KERIController.incept(keys: [k0], nextKeys: [k1.publicKey])
        let inception = controller.log.latestState
        let message = Array("signed under the inception".utf8)
        let signature = Array(try k0.signature(for: message))
        try controller.interact(anchors: [KERIEventBuilder.digestSeal(of: message)])
        try controller.rotate(to: [k1], nextKeys: [k2.publicKey])
        let kel = controller.log

        // The latest state is found under either policy; its key verifies its own signatures only.
        let latest = try kel.keyState(sn: 2, said: kel.latestState.said)
        #expect(latest.keys == [KERI.qb64(publicKey: Array(k1.publicKey.rawRepresentation))])
        #expect(!latest.verifies(signature, byKeyAt: 0, over: message))
        #expect(inception.verifies(signature, byKeyAt: 0, over: message))
        #expect(!inception.verifies(signature, byKeyAt: 1, over: message))

        func code(_ body: () throws(KERIError) -> KERIKeyState) -> KERIError.Code? {
            do throws(KERIError) { _ = try body(); return nil } catch { return error.code }
        }
        #expect(code { () throws(KERIError) in try kel.keyState(sn: 0, said: inception.said) } == .staleKeyState)
        #expect(code { () throws(KERIError) in try kel.keyState(sn: 0, said: inception.said, policy: .historical) } == .noHistoricalEvidence)
        #expect(code { () throws(KERIError) in
            try kel.keyState(sn: 0, said: inception.said, policy: .historical, anchoredDigest: KERI.digest(message))
        } == nil)
        #expect(code { () throws(KERIError) in
            try kel.keyState(sn: 0, said: inception.said, policy: .historical, anchoredDigest: KERI.digest(message + [0]))
        } == .noHistoricalEvidence)
        #expect(code { () throws(KERIError) in
            try kel.keyState(sn: 0, said: inception.said, policy: .historical, evidence: .init(recordedWhileLatest: true))
        } == nil)
        #expect(code { () throws(KERIError) in try kel.keyState(sn: 1, said: kel.events[1].said, policy: .historical) } == .notEstablishment)
        #expect(code { () throws(KERIError) in try kel.keyState(sn: 2, said: inception.said) } == .unknownEvent)
        #expect(code { () throws(KERIError) in try kel.keyState(sn: 3, said: inception.said) } == .unknownEvent)
        #expect(kel.anchoringSN(ofDigest: KERI.digest(message), atOrAfter: 0) == 1)
        #expect(kel.anchoringSN(ofDigest: KERI.digest(message), atOrAfter: 2) == nil)

        #expect(KERI.isAID(kel.prefix) && !KERI.isAID(latest.keys[0]) && !KERI.isAID("did:keri:" + kel.prefix))
        #expect(KERI.publicKeyBytes(ofKey: latest.keys[0]) == Array(k1.publicKey.rawRepresentation))
        #expect(KERI.publicKeyBytes(ofKey: kel.prefix) == nil)
    }
}

@Suite("KERI controller output accepted by the reference verifier and keripy (committed)")
struct KERISwiftMadeVectorTests {
    static func key(_ label: String) throws -> Curve25519.Signing.PrivateKey {
        try Curve25519.Signing.PrivateKey(rawRepresentation: Array(SHA256.hash(data: Array("causeway-swift-controller/\(label)".utf8))))
    }

    @Test("the controller rebuilds the committed events byte for byte; every case keeps its verdict here")
    func swiftMadeVectors() throws {
        let payload = try KERIFixtures.bytes("swift-controller/payload.bin")
        var s1 = try KERIController.incept(keys: [try Self.key("s1/0")], nextKeys: [try Self.key("s1/1").publicKey])
        try s1.interact(anchors: [KERIEventBuilder.digestSeal(of: payload)])
        try s1.rotate(to: [try Self.key("s1/1")], nextKeys: [try Self.key("s1/2").publicKey])
        try s1.rotate(to: [try Self.key("s1/2")], nextKeys: [try Self.key("s1/3").publicKey])
        let current = try (0..<3).map { try Self.key("s2/0/\($0)") }
        let next = try (0..<3).map { try Self.key("s2/1/\($0)") }
        var s2 = try KERIController.incept(keys: current, nextKeys: next.map(\.publicKey), signingThreshold: 2, nextThreshold: 2)
        try s2.rotate(to: next, nextKeys: try (0..<3).map { try Self.key("s2/2/\($0)").publicKey }, signingThreshold: 2, nextThreshold: 2)
        // Event bodies are deterministic (signatures need not be: Ed25519 may be randomised elsewhere).
        #expect(try KERIFixtures.kel("swift-controller/S1/kel.cesr").events.map(\.raw) == s1.log.events.map(\.raw))
        #expect(try KERIFixtures.kel("swift-controller/S2/kel.cesr").events.map(\.raw) == s2.log.events.map(\.raw))

        let cases = try KERIFixtures.json("swift-controller/cases.json")
        for value in try #require(cases["kel_cases"]?.arrayValue) {
            let accepted = (try? KERIFixtures.kel("swift-controller/" + (value["kel"]?.stringValue ?? ""))) != nil
            #expect(accepted == (value["expect"]?.stringValue == "accept"), "\(value["case"]?.stringValue ?? "")")
        }
        let proofs = try #require(cases["proof_cases"]?.arrayValue)
        #expect(proofs.count == 5)
        for value in proofs {
            let kel = try KERIFixtures.kel("swift-controller/" + (value["kel"]?.stringValue ?? ""))
            let proof = try KERIProof(cesr: value["proof_cesr"]?.stringValue ?? "")
            let valid = (try? kel.verifySignatures(of: proof, payload: payload)) != nil
            let latest = (try? kel.verify(proof: proof, payload: payload, policy: .latestOnly)) != nil
            #expect(valid == value["expect"]?["historical"]?.boolValue, "\(value["case"]?.stringValue ?? "")")
            #expect(latest == value["expect"]?["latest_only"]?.boolValue, "\(value["case"]?.stringValue ?? "")")
        }
    }
}

@Suite("KERI pre-rotation: exposed prior-next digests counted by distinct ondex")
struct KERIPreRotationTests {
    @Test("one new key attached as 'A' and as '2A' with the same ondex exposes one commitment, not two")
    func sameOndexTwice() throws {
        let current = [Curve25519.Signing.PrivateKey(), Curve25519.Signing.PrivateKey()]
        let next = [Curve25519.Signing.PrivateKey(), Curve25519.Signing.PrivateKey()]
        let controller = try KERIController.incept(keys: current, nextKeys: next.map(\.publicKey), signingThreshold: 2, nextThreshold: 2)
        let log = controller.log
        let keys = next.map { KERI.qb64(publicKey: Array($0.publicKey.rawRepresentation)) }
        // The rotation lists both committed keys but needs only one signature (kt = 1); prior nt = 2.
        let raw = KERIEventBuilder.rotation(prefix: log.prefix, sn: 1, prior: log.lastSAID, keys: keys, signingThreshold: 1,
                                            nextKeyDigests: [KERI.nextKeyDigest(ofKey: keys[0])], nextThreshold: 1)
        let signature = Array(try next[0].signature(for: raw))
        let small = KERIIndexedSignature(raw: signature, index: 0, ondex: 0)
        // The same signature as '2A' with index 0 and ondex 0 (the encoder would choose 'A').
        let big = try KERIIndexedSignature(qb64: "2AAAAA" + String(small.qb64.dropFirst(2)))
        #expect(big.code == .ed25519Big && big.index == 0 && big.ondex == 0 && big.raw == signature)
        for twice in [[small, big], [small, KERIIndexedSignature(raw: signature, index: 0, ondex: 1)]] {
            do throws(KERIError) {
                _ = try log.appending(KERIMessage(raw: raw, signatures: twice).cesr)
                Issue.record("one key exposed two commitments")
            } catch {
                #expect(error.code == .preRotationViolated && error.sn == 1)
            }
        }
        let sameOndex = [KERIIndexedSignature(raw: signature, index: 0, ondex: 0),
                         KERIIndexedSignature(raw: signature, index: 0, ondex: nil)]
        do throws(KERIError) {
            _ = try log.appending(KERIMessage(raw: raw, signatures: sameOndex).cesr)
            Issue.record("one exposed commitment met nt = 2")
        } catch {
            #expect(error.code == .preRotationViolated)
        }
        // With both new keys signing, both commitments are exposed.
        let both = [KERIIndexedSignature(raw: signature, index: 0, ondex: 0),
                    KERIIndexedSignature(raw: Array(try next[1].signature(for: raw)), index: 1, ondex: 1)]
        let rotated = try log.appending(KERIMessage(raw: raw, signatures: both).cesr)
        #expect(rotated.latestState.keys == keys && rotated.latestState.signingThreshold == 1)
    }

    @Test("a rotation may list the committed keys in another order: signatures carry index and ondex ('2A')")
    func reorderedKeys() throws {
        let current = [Curve25519.Signing.PrivateKey(), Curve25519.Signing.PrivateKey()]
        let next = [Curve25519.Signing.PrivateKey(), Curve25519.Signing.PrivateKey()]
        var controller = try KERIController.incept(keys: current, nextKeys: next.map(\.publicKey))
        let message = try controller.rotate(to: [next[1], next[0]], nextKeys: [Curve25519.Signing.PrivateKey().publicKey])
        #expect(message.signatures.map(\.code) == [.ed25519Big, .ed25519Big])
        #expect(message.signatures.map(\.ondex) == [1, 0])
        let again = try KERIKeyEventLog(validating: controller.log.cesr)
        #expect(again.latestState.keys.first == KERI.qb64(publicKey: Array(next[1].publicKey.rawRepresentation)))
    }
}
