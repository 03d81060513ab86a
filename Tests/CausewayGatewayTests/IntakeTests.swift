import CausewayCore
import CausewayGateway
import CausewayMapping
import CausewayStore
import CausewayTesting
import CausewayTrust
import Foundation
import Testing

/// The public fixture keys of scripts/make-fixture-agreements.py (never for real use).
func fixtureKey(_ name: String) -> SigningIdentity {
    try! SigningIdentity(seed: ContentDigest(of: Array("causeway fixture key: \(name)".utf8)).bytes)
}

func fixtureBytes(_ partner: String, _ name: String) throws -> [UInt8] {
    Array(try Data(contentsOf: TestPaths.repository.appendingPathComponent("Mappings/\(partner)/fixtures/agreements/\(name).json")))
}

struct IntakeHarness {
    let store: SQLiteStore
    let intake: IntakeService

    init() async throws {
        store = try SQLiteStore(path: try CommandRunner.temporaryDirectory("intake").appendingPathComponent("c.sqlite").path)
        try await store.migrate()
        let partners = try PartnerRegistry.load(directory: TestPaths.repository.appendingPathComponent("Mappings"))
        intake = IntakeService(configuration: .init(gateway: gatewayKey.didKey.did, software: "causeway-test"), partners: partners,
                               targets: ["erp-staging": "postgresql", "erp": "tryton", "order-inbox": "http", "portal": "http"], store: store)
    }

    func refusal(_ outcome: IntakeOutcome) -> String? {
        if case .refused(let refusal, _, _, _) = outcome { return refusal.code }
        return nil
    }
}

@Suite("Intake: parse, route, verify, map, persist")
struct IntakeTests {
    @Test("a signed fixture is accepted with one outbox entry per action; resubmission is harmless")
    func accept() async throws {
        let h = try await IntakeHarness()
        let bytes = try fixtureBytes("nordic-fasteners", "multi-line")
        let outcome = try await h.intake.submit(bytes)
        guard case .accepted(let digest, let partner, _) = outcome else {
            Issue.record("expected accepted, got \(outcome)")
            return
        }
        #expect(outcome.httpStatus == 202)
        #expect(partner == "nordic-fasteners")
        let stored = try #require(try await h.store.agreement(digest: digest))
        #expect(stored.entries.map(\.target) == ["erp", "order-inbox", "portal"])
        #expect(stored.entries.map(\.adapter) == ["tryton", "http", "http"])
        #expect(stored.document == bytes)
        #expect(stored.mappingID == "nordic-fasteners-po")
        // Provenance names the signers and the mapping, and is tied to the receipt id.
        let provenance = try ProvenanceRecord(json: stored.entries[0].provenance)
        #expect(provenance.receiptID == stored.entries[0].receiptID)
        #expect(Set(provenance.signers.map(\.role)) == ["buyer", "seller"])
        #expect(provenance.plan.digest == stored.mappingDigest)
        let again = try await h.intake.submit(bytes)
        #expect(again.httpStatus == 200)
        #expect(try await h.store.agreements(AgreementQuery()).count == 1)
    }

    @Test("a delegated agent's agreement is accepted and its provenance records the delegation")
    func delegated() async throws {
        let h = try await IntakeHarness()
        guard case .accepted(let digest, _, _) = try await h.intake.submit(try fixtureBytes("stahlteile", "delegated-agent")) else {
            Issue.record("not accepted")
            return
        }
        let entry = try #require(try await h.store.agreement(digest: digest)?.entries.first)
        let seller = try #require(try ProvenanceRecord(json: entry.provenance).signers.first { $0.role == "seller" })
        #expect(seller.delegation != nil)
        #expect(seller.verificationMethod.hasPrefix(fixtureKey("stahlteile/seller-agent").didKey.did))
    }

    @Test("refusals carry a stable code and store nothing", arguments: [
        ("limit-exceeded", "intake.not_verified", 422), ("unknown-sku", "intake.mapping_failed", 422),
        ("wrong-currency", "intake.not_verified", 422),
    ])
    func refusals(fixture: String, code: String, status: Int) async throws {
        let h = try await IntakeHarness()
        let outcome = try await h.intake.submit(try fixtureBytes("stahlteile", fixture))
        #expect(h.refusal(outcome) == code)
        #expect(outcome.httpStatus == status)
        #expect(try await h.store.agreements(AgreementQuery()).isEmpty)
    }

    @Test("malformed, oversized, deep, tampered and unknown-partner input")
    func badInput() async throws {
        let h = try await IntakeHarness()
        #expect(h.refusal(try await h.intake.submit(Array(#"{"a":1,"a":2}"#.utf8))) == "intake.malformed")
        #expect(h.refusal(try await h.intake.submit(Array("[1,2".utf8))) == "intake.malformed")
        #expect(h.refusal(try await h.intake.submit(Array(repeating: UInt8(ascii: " "), count: (1 << 20) + 1))) == "intake.too_large")
        #expect(h.refusal(try await h.intake.submit(Array((String(repeating: "[", count: 100) + String(repeating: "]", count: 100)).utf8)))
            == "intake.malformed")
        var tampered = try JSONReader().read(try fixtureBytes("stahlteile", "one-line")).objectValue!
        tampered["total"] = "1.00"
        #expect(h.refusal(try await h.intake.submit(Array(JSONWriter.string(.object(tampered)).utf8))) == "intake.not_verified")
        let strangers = try JSONReader().read(Array(try Data(contentsOf: TestPaths.repository
            .appendingPathComponent("Docs/examples/purchase-agreement.signed.json"))))
        #expect(h.refusal(try await h.intake.submit(Array(JSONWriter.string(strangers).utf8))) == "intake.unknown_partner")
        #expect(try await h.store.agreements(AgreementQuery()).isEmpty)
    }

    @Test("the same business id with other content is a conflict (409), not an update")
    func conflict() async throws {
        let h = try await IntakeHarness()
        let original = try fixtureBytes("stahlteile", "one-line")
        #expect(try await h.intake.submit(original).httpStatus == 202)
        var changed = try JSONReader().read(original).objectValue!
        changed["proof"] = nil
        var payment = changed["payment"]!.objectValue!
        payment["terms"] = "NET60"
        changed["payment"] = .object(payment)
        changed = try EddsaJcs2022.addProof(to: changed, signer: fixtureKey("stahlteile/seller"), options: .init(created: "2026-11-11T09:30:00Z"))
        changed = try EddsaJcs2022.addProof(to: changed, signer: fixtureKey("konepaja/buyer"), options: .init(created: "2026-11-11T09:30:00Z"))
        let outcome = try await h.intake.submit(Array(JSONWriter.string(.object(changed)).utf8))
        #expect(h.refusal(outcome) == "intake.conflict")
        #expect(outcome.httpStatus == 409)
        #expect(try await h.store.agreements(AgreementQuery()).count == 1)
    }
}

@Suite("Secret references")
struct SecretReferenceTests {
    @Test("env: and file: resolve; literals are refused; errors name the reference, not a value")
    func resolve() throws {
        #expect(SecretReference("hunter2") == nil)
        #expect(try SecretReference("env:TOKEN")!.resolve(environment: ["TOKEN": "abc"]) == "abc")
        #expect(throws: SecretError.self) { try SecretReference("env:MISSING")!.resolve(environment: [:]) }
        let file = try CommandRunner.temporaryDirectory("secret").appendingPathComponent("t")
        try Data("from-file\n".utf8).write(to: file)
        #expect(try SecretReference("file:\(file.path)")!.resolve() == "from-file")
        #expect(SecretReference("file:\(file.path)")!.description == "file:\(file.path)")
    }
}
