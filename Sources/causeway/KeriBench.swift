import ArgumentParser
import CausewayCore
import CausewayTrust
import Crypto
import Foundation

/// KEL validation time against a did:key signature check measured in the same run.
struct KeriBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keri",
        abstract: "KERI KEL validation (10 events) and proof verification vs. one did:key signature check (goal: KEL < 1 ms).",
        discussion: """
            Builds a 1-key AID's KEL of 10 events (icp, then 5 rot and 4 ixn alternating) and validates it \
            from its CESR bytes (framing, JSON, canonical form, 10 BLAKE3 SAIDs, 10 Ed25519 checks, \
            pre-rotation digests). Baseline, alternating in each round: parse a did:key and verify one \
            Ed25519 signature with it. Also times a -F proof verified against the validated (cached) KEL. \
            Reports medians of the rounds; ratio = KEL time / did:key time.
            """)

    @Option(name: .long, help: "Seconds per measurement in a round.")
    var seconds: Double = 0.3

    @Option(name: .long, help: "Rounds; the median is reported.")
    var rounds: Int = 9

    @Flag(name: .long, help: "Print JSON.")
    var json = false

    func run() throws {
        let (stream, controller) = try Self.makeKEL(events: 10)
        let payload = Array(repeating: UInt8(7), count: 64)
        let proof = try controller.sign(payload)
        let kel = try KERIKeyEventLog(validating: stream)
        guard kel.events.count == 10 else { throw CLIError("benchmark KEL has \(kel.events.count) events") }
        _ = try kel.verify(proof: proof, payload: payload)

        let identity = try SigningIdentity(seed: Array(repeating: 3, count: 32))
        let method = identity.didKey.verificationMethod
        let signature = try identity.sign(payload)

        var kelTimes: [Double] = [], didTimes: [Double] = [], proofTimes: [Double] = [], ratios: [Double] = []
        for _ in 0..<max(rounds, 1) {
            let did = 1 / measure(seconds: seconds) {
                let key = try! DIDKey(parsing: method).publicKey()
                precondition(key.isValidSignature(signature, for: payload))
            }
            let validation = 1 / measure(seconds: seconds) {
                precondition((try? KERIKeyEventLog(validating: stream)) != nil)
            }
            let verification = 1 / measure(seconds: seconds) {
                precondition((try? kel.verify(proof: proof, payload: payload)) != nil)
            }
            didTimes.append(did)
            kelTimes.append(validation)
            proofTimes.append(verification)
            ratios.append(validation / did)
        }
        func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
        let kelTime = median(kelTimes), didTime = median(didTimes), proofTime = median(proofTimes), ratio = median(ratios)
        if json {
            let object: JSONValue = [
                "benchmark": "keri", "kelEvents": 10, "kelBytes": .number(Double(stream.count)),
                "kelValidationMicroseconds": .number((kelTime * 1e7).rounded() / 10),
                "didKeyVerifyMicroseconds": .number((didTime * 1e7).rounded() / 10),
                "proofVerifyMicroseconds": .number((proofTime * 1e7).rounded() / 10),
                "ratio": .number((ratio * 100).rounded() / 100), "goalKELMicroseconds": 1000,
            ]
            print(JSONWriter.string(object, style: .pretty))
        } else {
            print("KEL: 10 events (icp, 5 rot, 4 ixn), \(stream.count) bytes, 1 key")
            print(String(format: "KEL validation:                 %8.1f µs   (goal < 1000 µs)", kelTime * 1e6))
            print(String(format: "baseline did:key parse+verify:  %8.1f µs", didTime * 1e6))
            print(String(format: "ratio KEL / did:key:            %8.2f    (median of %d rounds)", ratio, ratios.count))
            print(String(format: "proof (-F) on the cached KEL:   %8.1f µs", proofTime * 1e6))
        }
    }

    /// A KEL of `events` events: icp, then rot and ixn alternating; deterministic keys.
    static func makeKEL(events: Int) throws -> ([UInt8], KERIController) {
        func key(_ n: Int) throws -> Curve25519.Signing.PrivateKey {
            try Curve25519.Signing.PrivateKey(rawRepresentation: Array(SHA256.hash(data: Array("keri-bench/\(n)".utf8))))
        }
        var controller = try KERIController.incept(keys: [try key(0)], nextKeys: [try key(1).publicKey])
        var next = 1
        for index in 1..<events {
            if index % 2 == 1 {
                try controller.rotate(to: [try key(next)], nextKeys: [try key(next + 1).publicKey])
                next += 1
            } else {
                try controller.interact(anchors: [KERIEventBuilder.digestSeal(of: Array("anchor \(index)".utf8))])
            }
        }
        return (controller.log.cesr, controller)
    }
}
