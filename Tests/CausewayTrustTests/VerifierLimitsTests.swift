import CausewayCore
@_spi(Testing) @testable import CausewayTrust
import Crypto
import Foundation
import Testing

/// Adversarial bodies built in the test; the work is counted (signature checks, hashes of the
/// body, credentials read), never timed.
@Suite("Verifier work is bounded (issue 11, finding 1)")
struct VerifierLimitsTests {
    let f = Fixture()
    let limits = VerificationLimits.default
    let created = "2026-11-20T09:31:00Z"

    func verify(_ document: JSONObject, policy: VerificationPolicy = .default) -> VerificationReport {
        AgreementVerifier(policy: policy, now: Fixture.now).verify(Agreement(document))
    }

    func codes(_ report: VerificationReport) -> Set<String> { Set(report.findings.map(\.code.rawValue)) }

    /// Distinct identities beyond the fixture's.
    func identities(_ count: Int, from seed: Int = 100) throws -> [SigningIdentity] {
        try (0..<count).map { try SigningIdentity(seed: [UInt8](repeating: UInt8(seed + $0), count: 32)) }
    }

    @Test("thousands of proofs are refused before any signature is checked or the body hashed")
    func thousandsOfProofs() throws {
        let signed = try f.sign(f.agreement(), by: [f.seller, f.buyer]).document
        let proof = try #require(signed["proof"]?.arrayValue?.first?.objectValue)
        var document = signed
        document["proof"] = .array((0..<3000).map { index in
            var copy = proof
            copy["id"] = .string("urn:p:\(index)")
            return .object(copy)
        })
        let report = verify(document)
        #expect(codes(report).contains("proof.too_many"))
        #expect(report.findings.contains { $0.code == .proofTooMany && $0.message.contains("maxProofs") && $0.path == "$['proof']" })
        #expect(!report.verified)
        #expect(report.work.signatureChecks == 0)
        #expect(report.work.documentHashes == 0)
        #expect(report.proofs.count == 1)
        #expect(report.findings.count <= limits.maxFindings + 1)
    }

    @Test("at the limit, each proof is checked once against one hash of the body")
    func proofsAtTheLimit() throws {
        var document = f.agreement()
        for identity in try [f.seller, f.buyer] + identities(14) {
            document = try EddsaJcs2022.addProof(to: document, signer: identity, options: .init(created: created))
        }
        let report = verify(document)
        #expect(report.verified, "\(report.findings)")
        #expect(report.work.signatureChecks == 16)
        #expect(report.work.documentHashes == 1)
    }

    @Test("a chain of 16 proofs, each naming every earlier one, verifies with one hash per signed form")
    func longChain() throws {
        var document = f.agreement()
        var ids: [String] = []
        for (index, identity) in try ([f.seller, f.buyer] + identities(14)).enumerated() {
            let id = "urn:p:\(index)"
            document = try EddsaJcs2022.addProof(to: document, signer: identity, options: .init(created: created, id: id, previousProof: ids))
            ids.append(id)
        }
        let report = verify(document)
        #expect(report.verified, "\(report.findings)")
        #expect(report.work.signatureChecks == 16)
        #expect(report.work.documentHashes == 16)  // the body alone, and 15 distinct chains
    }

    /// The seller signs with id urn:p:1, the buyer chains to it; then `change` edits the buyer's proof.
    func chained(_ change: (inout JSONObject) -> Void) throws -> VerificationReport {
        var document = f.agreement()
        document = try EddsaJcs2022.addProof(to: document, signer: f.seller, options: .init(created: created, id: "urn:p:1"))
        document = try EddsaJcs2022.addProof(to: document, signer: f.buyer,
                                              options: .init(created: created, id: "urn:p:2", previousProof: ["urn:p:1"]))
        var proofs = document["proof"]!.arrayValue!
        var buyer = proofs[1].objectValue!
        change(&buyer)
        proofs[1] = .object(buyer)
        document["proof"] = .array(proofs)
        return verify(document)
    }

    @Test("previousProof with 100000 copies of one id is refused without building the chain")
    func duplicatePreviousProofs() throws {
        let valid = try chained { _ in }
        #expect(valid.verified, "\(valid.findings)")
        #expect(valid.work.documentHashes == 2)
        let report = try chained { $0["previousProof"] = .array(Array(repeating: "urn:p:1", count: 100_000)) }
        #expect(report.findings.contains { $0.code == .proofPreviousTooMany && $0.message.contains("maxPreviousProofs")
            && $0.path == "$['proof'][1]['previousProof']" })
        #expect(report.work.documentHashes == 1)  // the seller's proof only
        #expect(report.work.signatureChecks == 1)
        #expect(!report.verified)
    }

    @Test("previousProof must name other, existing proofs, each once", arguments: [
        (["urn:p:1", "urn:p:1"], "proof.previous_invalid"),
        (["urn:p:2"], "proof.previous_invalid"),
        (["urn:p:9"], "proof.previous_proof_missing"),
    ])
    func previousProofRules(ids: [String], code: String) throws {
        let report = try chained { $0["previousProof"] = .array(ids.map(JSONValue.string)) }
        #expect(codes(report).contains(code), "\(report.findings)")
        #expect(report.work.signatureChecks == 1)
    }

    @Test("a previousProof cycle is refused before any hashing of chains")
    func cycle() throws {
        var document = try f.sign(f.agreement(), by: [f.seller, f.buyer]).document
        var proofs = document["proof"]!.arrayValue!
        for (index, (id, previous)) in [("urn:a", "urn:b"), ("urn:b", "urn:a")].enumerated() {
            var proof = proofs[index].objectValue!
            proof["id"] = .string(id)
            proof["previousProof"] = .string(previous)
            proofs[index] = .object(proof)
        }
        document["proof"] = .array(proofs)
        let report = verify(document)
        #expect(report.findings.filter { $0.code == .proofPreviousInvalid && $0.message.contains("cycle") }.count == 2)
        #expect(report.work.signatureChecks == 0)
        #expect(report.work.documentHashes == 0)
    }

    @Test("proofs with their own @context: the body is hashed once per distinct context, spliced correctly")
    func contexts() throws {
        var document = f.agreement()
        document["@context"] = ["https://w3id.org/a", "https://example.org/b"]
        document["!first"] = "sorts before @context"
        document["zz"] = ["sorts": "after proof"]
        var prefix = document
        prefix["@context"] = ["https://w3id.org/a"]
        var proofs: [JSONValue] = []
        for (index, identity) in try ([f.seller, f.buyer] + identities(6)).enumerated() {
            let base = index == 1 ? document : prefix  // the buyer signs the document's own context
            proofs.append(.object(try EddsaJcs2022.createProof(for: base, signer: identity, options: .init(created: created))))
        }
        document["proof"] = .array(proofs)
        let report = verify(document)
        #expect(report.verified, "\(report.findings)")
        #expect(report.work.signatureChecks == 8)
        #expect(report.work.documentHashes == 2)
    }

    @Test("an @context over the limits is refused")
    func largeContext() throws {
        var document = f.agreement()
        document["@context"] = .array((0..<1000).map { .string("https://example.org/\($0)") })
        let report = verify(try f.sign(document, by: [f.seller, f.buyer]).document)
        #expect(codes(report).contains("proof.context_too_large"))
        #expect(report.work.signatureChecks == 0)
    }

    @Test("thousands of delegation credentials are refused before any is read")
    func thousandsOfDelegations() throws {
        let credential = try f.credential()
        var document = f.agreement()
        document["delegations"] = .array(Array(repeating: .object(credential), count: 3000))
        let report = verify(try f.sign(document, by: [f.agent, f.buyer]).document)
        #expect(report.findings.contains { $0.code == .delegationTooMany && $0.message.contains("maxDelegations") })
        #expect(report.work.credentialsRead == 0)
        #expect(!report.signers.contains { $0.role == "seller" })
        #expect(report.findings.count <= limits.maxFindings + 1)
    }

    @Test("16 parties × 15 credentials: each credential read once, findings capped with a count")
    func partiesTimesCredentials() throws {
        let others = try identities(16, from: 150)
        var document = f.agreement()
        document["type"] = "Memo"
        var parties = JSONObject()
        for (index, identity) in others.enumerated() { parties["r\(index)"] = ["id": .string(identity.didKey.did)] }
        document["parties"] = .object(parties)
        var credentials: [JSONValue] = []
        for index in 0..<15 {
            var credential = try f.credential()
            credential["id"] = .string("urn:c:\(index)")  // (breaks its signature too: more findings)
            credentials.append(.object(credential))
        }
        document["delegations"] = .array(credentials)
        let report = verify(try f.sign(document, by: [f.agent]).document)
        #expect(!report.verified)
        #expect(report.work.credentialsRead == 15)
        #expect(report.work.scopeChecks <= 16 * 15)
        #expect(report.work.signatureChecks <= 1 + 15 * limits.maxDelegationProofs)
        #expect(report.findings.count == limits.maxFindings + 1)
        #expect(report.omittedFindings > 0)
        let last = try #require(report.findings.last)
        #expect(last.code == .verificationFindingsTruncated && last.severity == .error)
        #expect(report.json["findingsOmitted"] == .number(Double(report.omittedFindings)))
    }

    @Test("more parties than the limit are refused without checking any")
    func tooManyParties() throws {
        var document = f.agreement()
        var parties = JSONObject()
        for index in 0..<5000 { parties["r\(index)"] = ["id": .string(f.buyer.didKey.did)] }
        document["parties"] = .object(parties)
        let report = verify(try f.sign(document, by: [f.buyer]).document)
        #expect(report.findings.contains { $0.code == .partyTooMany && $0.path == "$['parties']" })
        #expect(!report.findings.contains { $0.code == .partyUnsigned })
        #expect(report.findings.count <= limits.maxFindings + 1)
    }

    @Test("many content errors: the first maxFindings are listed and the rest counted")
    func findingsCap() throws {
        var document = f.agreement()
        document["lines"] = .array((0..<500).map { _ in ["sku": "X", "quantity": 1, "unit": "pcs", "unitPrice": 2] })
        let report = verify(try f.sign(document, by: [f.seller, f.buyer]).document)
        #expect(report.findings.count == limits.maxFindings + 1)
        #expect(report.omittedFindings >= 500 - limits.maxFindings)
        #expect(report.findings.last?.code == .verificationFindingsTruncated)
        #expect(!report.verified)
    }

    @Test("the worst body the limits allow, near 1 MiB: work stays within the budget")
    func worstCaseWithinLimits() throws {
        let signers = try [f.agent, f.buyer] + identities(14)
        var document = f.agreement()
        document["note"] = .string(String(repeating: "x", count: 900_000))
        document["@context"] = .array((0..<16).map { .string("https://example.org/\($0)") })
        // 16 credentials (8 in the body, 8 in the agent's proofs), each with 4 proofs.
        var credential = try f.credential()
        for identity in signers.prefix(3) {
            credential = try EddsaJcs2022.addProof(to: credential, signer: identity, options: .init(created: created))
        }
        document["delegations"] = .array((0..<8).map { index in
            var copy = credential
            copy["id"] = .string("urn:c:\(index)")
            return .object(copy)
        })
        var parties = JSONObject()
        // 16 roles, none signed directly: each tries every credential.
        for (index, identity) in try identities(16, from: 200).enumerated() { parties["r\(index)"] = ["id": .string(identity.didKey.did)] }
        document["parties"] = .object(parties)
        // 16 chained proofs, each with its own @context prefix.
        var ids: [String] = []
        for (index, identity) in signers.enumerated() {
            var base = document
            base["@context"] = .array((0...index).map { .string("https://example.org/\($0)") })
            base["proof"] = document["proof"]
            var copy = credential
            copy["id"] = .string("urn:c:p\(index)")
            let extra: [(String, JSONValue)] = index < 8 ? [("delegation", .object(copy))] : []
            let proof = try EddsaJcs2022.createProof(for: base, signer: identity,
                                                     options: .init(created: created, id: "urn:p:\(index)", previousProof: ids,
                                                                    extraMembers: extra))
            document = try appendProof(proof, to: document)
            ids.append("urn:p:\(index)")
        }
        let body = JCS.canonicalize(.object(document))
        #expect(body.count > 900_000 && body.count < 1 << 20)
        // For measuring a release build's CPU and memory on this body (Docs/security.md):
        // CAUSEWAY_WORST_CASE_OUT=FILE swift test --filter worstCase, then time causeway verify FILE.
        if let out = ProcessInfo.processInfo.environment["CAUSEWAY_WORST_CASE_OUT"] {
            try Data(body).write(to: URL(fileURLWithPath: out))
        }
        let report = verify(document)
        #expect(report.findings.count <= limits.maxFindings + 1)
        // 16 agreement proofs, and at most 4 proofs in each of at most 16 credentials.
        #expect(report.work.signatureChecks <= 16 + 16 * 4)
        // One hash per signed form of the agreement (≤ 16) and of each credential.
        #expect(report.work.documentHashes <= 16 + 16 * 5)
        #expect(report.work.hashedBytes <= 40 * body.count)
        #expect(report.work.credentialsRead <= 16)
        #expect(report.work.scopeChecks <= 16 * 16)
    }

    func appendProof(_ proof: JSONObject, to document: JSONObject) throws -> JSONObject {
        var result = document
        result["proof"] = .array(EddsaJcs2022.proofList(document["proof"]) + [.object(proof)])
        return result
    }
}
