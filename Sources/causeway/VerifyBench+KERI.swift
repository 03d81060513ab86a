import CausewayCore
import CausewayTrust
import Crypto
import Foundation

/// `causeway bench verify --keri`: the same agreement with the seller a KERI AID (one key, a KEL
/// of an inception and two rotations, held in memory as the gateway's keeper holds it) against
/// the did:key original, measured back to back in each round (goal: KERI ≥ 0.9 × did:key).
extension VerifyBench {
    /// The benchmark agreement re-signed with the seller as `did:keri:AID`, and the AID's KEL.
    static func keriAgreement() throws -> ([UInt8], KERIKeyStates) {
        let (bytes, _) = try BenchAgreement.make()
        var document = try JSONReader().read(bytes).objectValue ?? [:]
        document["proof"] = nil
        let keys = (1...4).map { try! Curve25519.Signing.PrivateKey(rawRepresentation: Array(repeating: UInt8(100 + $0), count: 32)) }
        var controller = try KERIController.incept(keys: [keys[0]], nextKeys: [keys[1].publicKey])
        try controller.rotate(to: [keys[1]], nextKeys: [keys[2].publicKey])
        try controller.rotate(to: [keys[2]], nextKeys: [keys[3].publicKey])
        let did = "did:keri:" + controller.prefix
        if case .object(var parties)? = document["parties"], case .object(var seller)? = parties["seller"] {
            seller["id"] = .string(did)
            parties["seller"] = .object(seller)
            document["parties"] = .object(parties)
        }
        let buyer = try SigningIdentity(seed: Array(repeating: 2, count: 32))
        var signed = try KERISigning.addProofs(to: document, did: did, state: controller.log.latestState, keys: controller.keys,
                                               created: "2026-11-20T09:31:00Z")
        signed = try EddsaJcs2022.addProof(to: signed, signer: buyer, options: .init(created: "2026-11-20T09:32:00Z"))
        return (Array(JSONWriter.string(.object(signed), style: .pretty).utf8), KERIKeyStates([controller.log]))
    }

    /// Median rates of both, and the median per-round ratio KERI / did:key.
    func runKERIComparison() throws {
        let (plain, _) = try BenchAgreement.make()
        let (keri, states) = try Self.keriAgreement()
        let verifier = AgreementVerifier(keyStates: states)
        let report = verifier.verify(try Agreement(bytes: keri))
        guard report.verified else { throw CLIError("the KERI benchmark agreement does not verify: \(report.findings)") }
        var didKeyRates: [Double] = []
        var keriRates: [Double] = []
        var ratios: [Double] = []
        for _ in 0..<max(rounds, 1) {
            let didKey = measure(seconds: seconds) { precondition(AgreementVerifier().verify(try! Agreement(bytes: plain)).verified) }
            let byAID = measure(seconds: seconds) { precondition(verifier.verify(try! Agreement(bytes: keri)).verified) }
            didKeyRates.append(didKey)
            keriRates.append(byAID)
            ratios.append(byAID / didKey)
        }
        func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
        if json {
            let object: JSONValue = [
                "benchmark": "verify-keri", "didKeyPerSecond": .number(median(didKeyRates).rounded()),
                "keriPerSecond": .number(median(keriRates).rounded()), "ratio": .number((median(ratios) * 1000).rounded() / 1000), "goal": 0.9,
            ]
            print(JSONWriter.string(object, style: .pretty))
        } else {
            print("agreement: seller did:key vs seller did:keri (KEL of 3 events, cached), buyer did:key")
            print(String(format: "did:key agreements verified/s: %10.0f", median(didKeyRates)))
            print(String(format: "KERI agreements verified/s:    %10.0f", median(keriRates)))
            print(String(format: "ratio KERI / did:key:          %10.3f   (goal ≥ 0.9; median of %d rounds, range %.3f–%.3f)",
                         median(ratios), ratios.count, ratios.min() ?? 0, ratios.max() ?? 0))
        }
    }
}
