import CausewayCore
import CausewayTesting
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// Verifier amplification (issue 11, finding 1) against a real `causeway serve`: bodies under the
/// size limit that once made the process allocate gigabytes or burn a minute of CPU are refused
/// with a small answer, and the process's peak memory barely moves.
@Suite("Amplification attempts against a real gateway", .serialized)
struct VerifierAttackTests {
    /// The multi-line fixture with its proofs replaced by `proofs` (the parties still route to
    /// the stahlteile partner, as an attacker who knows its public DIDs would make them).
    static func agreement(proofs: [JSONValue], delegations: [JSONValue]? = nil) throws -> [UInt8] {
        let bytes = Array(try Data(contentsOf: TestPaths.repository.appendingPathComponent("Mappings/stahlteile/fixtures/agreements/multi-line.json")))
        guard case .object(var document) = try JSONReader().read(bytes) else { throw RawError("fixture is not an object") }
        document["proof"] = .array(proofs)
        if let delegations { document["delegations"] = .array(delegations) }
        return Array(JSONWriter.string(.object(document), style: .compact).utf8)
    }

    static func fixtureProofs() throws -> [JSONObject] {
        let bytes = Array(try Data(contentsOf: TestPaths.repository.appendingPathComponent("Mappings/stahlteile/fixtures/agreements/multi-line.json")))
        return try JSONReader().read(bytes)["proof"]?.arrayValue?.compactMap(\.objectValue) ?? []
    }

    /// The process's peak resident memory (VmHWM) in KiB.
    static func peakKiB(_ gateway: RunningGateway) throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(gateway.process.processIdentifier)/status", encoding: .utf8)
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    @Test("previousProof with 60,000 duplicate ids, thousands of proofs and credentials: small refusals, flat memory")
    func amplification() async throws {
        let gateway = try RunningGateway()
        defer { _ = gateway.stop() }
        try await gateway.waitUntilReady()
        let genuine = try Self.fixtureProofs()
        let seller = try #require(genuine.first)

        // 1. previousProof naming one id 100,000 times (about 1 MiB).
        var chained = seller
        chained["id"] = "urn:p:1"
        var second = seller
        second["id"] = "urn:p:2"
        second["previousProof"] = .array(Array(repeating: .string("urn:p:1"), count: 60_000))
        let duplicates = try Self.agreement(proofs: [.object(chained), .object(second)])
        // 2. 2,000 proofs, each pointing at all the others.
        let many = try Self.agreement(proofs: (0..<2_000).map { index in
            var proof = seller
            proof["id"] = .string("urn:p:\(index)")
            proof["previousProof"] = .array([.string("urn:p:\((index + 1) % 2_000)")])
            return .object(proof)
        })
        // 3. 2,500 delegation credentials for the seller's role.
        let fixture = try JSONReader().read(Array(try Data(contentsOf: TestPaths.repository.appendingPathComponent(
            "Mappings/stahlteile/fixtures/agreements/multi-line.json"))))
        let sellerDID = try #require(fixture["parties"]?["seller"]?["id"]?.stringValue)
        let credential: JSONValue = [
            "type": "DelegationCredential", "v": .number(1), "id": "urn:uuid:00000000-0000-4000-8000-000000000001",
            "issuer": .string(sellerDID),
            "agent": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK", "validFrom": "2026-01-01T00:00:00Z",
            "validUntil": "2036-01-01T00:00:00Z", "scope": ["roles": ["seller"]],
        ]
        let credentials = try Self.agreement(proofs: genuine.map(JSONValue.object), delegations: Array(repeating: credential, count: 2_500))

        let before = try Self.peakKiB(gateway)
        for (name, body) in [("duplicate previousProof ids", duplicates), ("2,000 proofs", many), ("2,500 credentials", credentials)] {
            #expect(body.count < 1 << 20, "\(name) must fit under the size limit to be an amplification: \(body.count)")
            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(gateway.port)/v1/agreements")!)
            request.httpMethod = "POST"
            request.httpBody = Data(body)
            request.timeoutInterval = 30
            let (data, response) = try await URLSession.shared.data(for: request)
            let status = (response as? HTTPURLResponse)?.statusCode ?? 0
            #expect(status == 422, "\(name): \(status) \(String(decoding: data.prefix(500), as: UTF8.self))")
            #expect(data.count < 32 * 1024, "\(name): a refusal of \(data.count) bytes")
            let answer = try JSONReader().read(Array(data))
            #expect(answer["code"]?.stringValue == "intake.not_verified", "\(name)")
        }
        let after = try Self.peakKiB(gateway)
        #expect(after - before < 96 * 1024, "peak memory grew by \(after - before) KiB")
        let (health, _) = try await gateway.request("GET", "/healthz")
        #expect(health == 200)
        // A genuine agreement still goes through.
        let bytes = Array(try Data(contentsOf: TestPaths.repository.appendingPathComponent("Mappings/stahlteile/fixtures/agreements/multi-line.json")))
        let (status, _) = try await gateway.request("POST", "/v1/agreements", body: bytes)
        #expect(status == 202)
    }
}
