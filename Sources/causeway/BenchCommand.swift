import ArgumentParser
import CausewayCore
import CausewayTrust
import Crypto
import CausewayMapping
import Foundation

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure throughput against a baseline measured in the same run.",
        discussion: "Build with -c release for meaningful numbers: swift run -c release causeway bench verify",
        subcommands: [VerifyBench.self, MappingBench.self, GatewayBench.self, SoakBench.self, KeriBench.self, LedgerBench.self])
}

/// Agreements verified per second on one core, against raw Ed25519 verifications per second.
struct VerifyBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Agreement verification rate vs. raw Ed25519 verify rate (goal: ratio ≥ 0.8).",
        discussion: """
            Verifies a two-party, three-line PurchaseAgreement of about 2 KB from its bytes (parse, \
            canonicalize, hash, two signature checks, content rules) on one thread, and in the same run \
            the bare Ed25519 checks of the same two signatures, alternating. \
            Ratio = (agreements/s × 2) / (raw verifies/s).
            """)

    @Option(name: .long, help: "Seconds per measurement in a round.")
    var seconds: Double = 0.5

    @Option(name: .long, help: "Rounds; each measures both rates back to back, and the median of the per-round ratios is reported.")
    var rounds: Int = 15

    @Flag(name: .long, help: "Print JSON.")
    var json = false

    @Flag(name: .long, help: "Also time each phase (read, canonicalize+digest, proofs, content rules) on its own.")
    var breakdown = false

    @Option(name: .long, help: ArgumentHelp(
        "Run only this many iterations of one side (raw or agreements), untimed, for instruction counting under valgrind --tool=callgrind.",
        valueName: "raw:N|agreements:N"))
    var count: String?

    @Flag(name: .long, help: "Compare an agreement whose seller is a KERI AID (key state cached) with the did:key one (goal ≥ 0.9).")
    var keri = false

    func run() throws {
        if keri { return try runKERIComparison() }
        let (bytes, identity) = try BenchAgreement.make()
        let agreement = try Agreement(bytes: bytes)
        let report = AgreementVerifier().verify(agreement)
        guard report.verified else { throw CLIError("benchmark agreement does not verify: \(report.findings)") }

        // Baseline: the bare Ed25519 checks of this agreement's own two signatures, alternating, over
        // their 64-byte hash data — exactly the signature work inside one agreement verification.
        let message = Array(repeating: UInt8(7), count: 64)
        let signature = try identity.sign(message)
        let pairs = try BenchAgreement.signatureChecks(of: agreement)
        var turn = 0

        if let count {
            let parts = count.split(separator: ":")
            guard parts.count == 2, let n = Int(parts[1]), n > 0, parts[0] == "raw" || parts[0] == "agreements" else {
                throw CLIError("--count takes raw:N or agreements:N")
            }
            for _ in 0..<n {
                if parts[0] == "raw" {
                    let (key, data, sig) = pairs[turn & 1]
                    turn &+= 1
                    precondition(key.isValidSignature(sig, for: data))
                } else {
                    let agreement = try! Agreement(bytes: bytes)
                    precondition(AgreementVerifier().verify(agreement).verified)
                }
            }
            return
        }
        // The machine is shared and noisy: measure both rates back to back in many short rounds,
        // and report the median of the per-round ratios (and the median rates).
        var agreementRates: [Double] = []
        var rawRates: [Double] = []
        var ratios: [Double] = []
        for _ in 0..<max(rounds, 1) {
            let raw = measure(seconds: seconds) {
                let (key, data, sig) = pairs[turn & 1]
                turn &+= 1
                precondition(key.isValidSignature(sig, for: data))
            }
            let agreements = measure(seconds: seconds) {
                let agreement = try! Agreement(bytes: bytes)
                precondition(AgreementVerifier().verify(agreement).verified)
            }
            rawRates.append(raw)
            agreementRates.append(agreements)
            ratios.append(agreements * 2 / raw)
        }
        func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
        let agreementRate = median(agreementRates)
        let rawRate = median(rawRates)
        let ratio = median(ratios)
        if breakdown {
            let reader = JSONReader()
            let value = try reader.read(bytes)
            let object = value.objectValue!
            let proofObject = object["proof"]![0]!.objectValue!
            let proofValue = proofObject["proofValue"]!.stringValue!
            let method = proofObject["verificationMethod"]!.stringValue!
            let didKey = try DIDKey(parsing: method)
            let didPublicKey = try didKey.publicKey()
            let phases: [(String, () -> Void)] = [
                ("read (strict I-JSON parse)", { _ = try! reader.read(bytes) }),
                ("canonicalize body + SHA-256 digest", { _ = Agreement(object) }),
                ("verify proofs (2 × Ed25519 + proof JCS)", { _ = EddsaJcs2022.verifyProofs(in: object, canonicalBody: agreement.canonicalBody) }),
                ("PurchaseAgreement rules", { _ = PurchaseAgreement.check(object) }),
                ("  base58 decode of a proofValue", { _ = Multibase.decode(proofValue) }),
                ("  did:key parse", { _ = try! DIDKey(parsing: method) }),
                ("  public key from did:key", { _ = try! didKey.publicKey() }),
                ("  JCS of proof options + SHA-256", { _ = ContentDigest(of: JCS.canonicalize(.object(proofObject))) }),
                ("  Ed25519 verify with key from did:key", { _ = didPublicKey.isValidSignature(signature, for: message) }),
                ("whole verify (no parse)", { _ = AgreementVerifier().verify(agreement) }),
            ]
            for (name, body) in phases {
                let rate = measure(seconds: seconds / 2, body)
                print(String(format: "  %-44@ %8.1f µs", name as NSString, 1e6 / rate))
            }
        }
        if json {
            let object: JSONValue = [
                "benchmark": "verify", "agreementBytes": .number(Double(bytes.count)),
                "agreementsPerSecond": .number(agreementRate.rounded()), "rawVerifiesPerSecond": .number(rawRate.rounded()),
                "ratio": .number((ratio * 1000).rounded() / 1000), "goal": 0.8,
            ]
            print(JSONWriter.string(object, style: .pretty))
        } else {
            print("agreement: \(bytes.count) bytes, 2 proofs, 3 lines")
            print(String(format: "agreements verified/s (1 core): %10.0f", agreementRate))
            print(String(format: "raw Ed25519 verifies/s:         %10.0f", rawRate))
            print(String(format: "ratio (agreements/s × 2) / raw: %10.3f   (goal ≥ 0.8; median of %d rounds, range %.3f–%.3f)",
                         ratio, ratios.count, ratios.min()!, ratios.max()!))
        }
    }

}

/// Operations per second of `body` over about `seconds` (after a short warm-up).
func measure(seconds: Double, _ body: () -> Void) -> Double {
    for _ in 0..<50 { body() }
    var count = 0
    let start = DispatchTime.now().uptimeNanoseconds
    let limit = UInt64(seconds * 1e9)
    var elapsed: UInt64 = 0
    repeat {
        for _ in 0..<64 { body() }
        count += 64
        elapsed = DispatchTime.now().uptimeNanoseconds - start
    } while elapsed < limit
    return Double(count) / (Double(elapsed) / 1e9)
}

/// The benchmark's agreement: two parties, three lines, about 2 KB signed.
enum BenchAgreement {
    /// For each proof: the key, the 64 bytes it signed, and the signature.
    static func signatureChecks(of agreement: Agreement) throws -> [(Curve25519.Signing.PublicKey, [UInt8], [UInt8])] {
        try agreement.proofs.map { proof in
            let object = proof.objectValue!
            let key = try DIDKey(parsing: object["verificationMethod"]!.stringValue!).publicKey()
            let signature = Multibase.decode(object["proofValue"]!.stringValue!)!
            let config = Array(SHA256.hash(data: JCS.canonicalize(.object(object.removing("proofValue")))))
            let data = config + agreement.digest.bytes
            guard key.isValidSignature(signature, for: data) else { throw CLIError("benchmark proof does not verify") }
            return (key, data, signature)
        }
    }

    static func make() throws -> ([UInt8], SigningIdentity) {
        let seller = try SigningIdentity(seed: Array(repeating: 1, count: 32))
        let buyer = try SigningIdentity(seed: Array(repeating: 2, count: 32))
        let lines: [JSONValue] = [
            ["sku": "STL-6205-2RS", "description": "Deep groove ball bearing 6205-2RS, sealed both sides, C3 clearance",
             "quantity": "200", "unit": "pcs", "unitPrice": "7.85"],
            ["sku": "STL-NU205", "description": "Zylinderrollenlager NU205 — Käfig aus Messing, für hohe Drehzahlen",
             "quantity": "40", "unit": "pcs", "unitPrice": "31.20"],
            ["sku": "STL-22205-E", "description": "Pendelrollenlager 22205-E, Fett lose (Gebinde), lithiumverseift",
             "quantity": "12.5", "unit": "kg", "unitPrice": "18.40"],
        ]
        let document: JSONObject = [
            "type": "PurchaseAgreement",
            "id": "urn:uuid:5f0c2a9e-3b1d-4c6e-8f70-1a2b3c4d5e6f",
            "parties": [
                "buyer": ["id": .string(buyer.didKey.did), "name": "Konepaja Oy", "vatId": "FI12345678"],
                "seller": ["id": .string(seller.didKey.did), "name": "Stahlteile GmbH", "vatId": "DE123456789"],
            ],
            "issued": "2026-11-20T09:30:00Z",
            "currency": "EUR",
            "lines": .array(lines),
            "total": "3048.00",
            "delivery": ["incoterm": "DAP", "place": "Tampere, FI", "date": "2026-12-15"],
            "payment": ["terms": "NET30"],
        ]
        var signed = try EddsaJcs2022.addProof(to: document, signer: seller,
                                               options: .init(created: "2026-11-20T09:31:00Z", id: "urn:uuid:0c8e6a52-9d0b-4d55-b2a3-4f5e0e6a7b11"))
        signed = try EddsaJcs2022.addProof(to: signed, signer: buyer,
                                           options: .init(created: "2026-11-20T09:32:00Z", id: "urn:uuid:7a1d3c44-1e2f-4a6b-9c8d-2b3e4f5a6b7c"))
        return (Array(JSONWriter.string(.object(signed), style: .pretty).utf8), seller)
    }
}

/// Mapping evaluation rate for a partner's mapping, against canonicalizing the same agreements.
struct MappingBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mapping",
        abstract: "Agreements mapped per second on one core (goal for stahlteile: ≥ 50,000/s).",
        discussion: """
            Maps the partner's fixture agreements (those that map without error) round-robin through its \
            first mapping on one thread. In the same run it measures JCS canonicalization of the same \
            agreements as a baseline and prints the ratio, so that machine noise can be told apart.
            """)

    @Option(name: .long, help: "The partner folder.")
    var partner: String = "Mappings/stahlteile"

    @Option(name: .long, help: "Seconds per measurement round.")
    var seconds: Double = 2

    @Option(name: .long, help: "Measurement rounds; the best of each is reported.")
    var rounds: Int = 3

    func run() throws {
        let configuration = try PartnerPolicyLoader.partner(at: partner)
        let mapping: Mapping
        do {
            guard let first = try configuration.loadMappings().first else { throw CLIError("the partner has no mapping") }
            mapping = first
        } catch let error as MappingLoadError {
            throw CLIError(error.description)
        }
        let folder = configuration.folder.appendingPathComponent("fixtures/agreements")
        var inputs: [(JSONValue, MappingContext)] = []
        for name in ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).sorted() where name.hasSuffix(".json") {
            guard let data = FileManager.default.contents(atPath: folder.appendingPathComponent(name).path),
                let agreement = try? Agreement(bytes: Array(data))
            else { continue }
            let context = MappingContext(digest: agreement.digest, partner: configuration.name)
            if mapping.map(.object(agreement.document), context: context).succeeded {
                inputs.append((.object(agreement.document), context))
            }
        }
        guard !inputs.isEmpty else { throw CLIError("no fixture agreement of \(configuration.name) maps without error") }
        var next = 0
        var mapRate = 0.0
        var jcsRate = 0.0
        for _ in 0..<rounds {
            mapRate = max(mapRate, measure(seconds: seconds) {
                let (value, context) = inputs[next % inputs.count]
                next &+= 1
                precondition(mapping.map(value, context: context).succeeded)
            })
            jcsRate = max(jcsRate, measure(seconds: seconds) {
                let (value, _) = inputs[next % inputs.count]
                next &+= 1
                _ = JCS.canonicalize(value)
            })
        }
        print("mapping \(mapping.id) \(mapping.version), \(inputs.count) agreements round-robin")
        print(String(format: "agreements mapped/s (1 core):        %10.0f   (goal ≥ 50000)", mapRate))
        print(String(format: "baseline: JCS canonicalizations/s:   %10.0f", jcsRate))
        print(String(format: "ratio mapping / canonicalization:    %10.3f", mapRate / jcsRate))
    }
}
