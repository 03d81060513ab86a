import AdapterKit
import AdapterKitTesting
import CausewayCore
import CausewayTrust
import Foundation
import Synchronization
import Testing

let sampleAction = LegacyAction(index: 0, name: "purchase-order", target: "erp-staging", payload: .rows(RowsAction(
    table: "erp_purchase_order", key: ["agreement_digest"], returning: ["po_id"],
    row: Row([("external_ref", .text("urn:x")), ("total_amount", .text("10.00", .decimal(precision: 14, scale: 2)))]),
    children: [])))

final class Counter: @unchecked Sendable {  // only used from one task at a time in these tests
    var value = 0
    func next() -> String {
        value += 1
        return "\(value)-\(UUID().uuidString)"
    }
}

@Suite("Adapter conformance suite")
struct AdapterConformanceTests {
    @Test("the in-memory adapter passes")
    func inMemoryPasses() async {
        let counter = Counter()
        let failures = await AdapterConformance.run(InMemoryAdapter()) {
            AdapterConformance.sampleDelivery(action: sampleAction, nonce: counter.next())
        }
        #expect(failures.isEmpty, "\(failures)")
    }

    /// An adapter that writes a new record on every call: the suite must catch it.
    final class ForgetfulAdapter: Adapter {
        let descriptor = AdapterDescriptor(kind: "forgetful", summary: "", actionKinds: [.rows], schema: ConfigurationSchema([]))
        let counter = Mutex(0)
        func deliver(_ delivery: Delivery) async -> DeliveryOutcome {
            let n = counter.withLock { value -> Int in
                value += 1
                return value
            }
            return .delivered(LegacyReference(system: "x", kind: "row", id: "\(n)"))
        }
        func lookup(_ delivery: Delivery) async -> LookupResult { .notFound }
    }

    @Test("an adapter without idempotency fails it, naming the checks")
    func forgetfulFails() async {
        let counter = Counter()
        let failures = await AdapterConformance.run(ForgetfulAdapter()) {
            AdapterConformance.sampleDelivery(action: sampleAction, nonce: counter.next())
        }
        let checks = Set(failures.map(\.check))
        #expect(checks.isSuperset(of: ["idempotency", "lookup-after", "concurrency"]), "\(failures)")
    }

    @Test("injected faults produce each outcome class; an unknown outcome after a write is found by lookup")
    func faults() async {
        let adapter = InMemoryAdapter()
        let delivery = AdapterConformance.sampleDelivery(action: sampleAction, nonce: "faults")
        adapter.inject(.retryable, .rejected, .unknownAfterWrite)
        #expect(await adapter.deliver(delivery).outcomeClass == .retryable)
        #expect(await adapter.deliver(delivery).outcomeClass == .rejected)
        #expect(await adapter.deliver(delivery).outcomeClass == .unknown)
        guard case .found(let reference) = await adapter.lookup(delivery) else {
            Issue.record("the write before the unknown outcome was not found")
            return
        }
        #expect(await adapter.deliver(delivery).reference == reference)
        #expect(adapter.written.count == 1)
    }
}

@Suite("Adapter configuration schema")
struct ConfigurationSchemaTests {
    let schema = ConfigurationSchema([
        .init("url", .url, required: true, help: "the database URL"),
        .init("password", .secret, help: "the password"),
        .init("timeout", .duration, default: "5", help: "seconds"),
        .init("pool", .integer, default: "4", help: "connections"),
    ])

    @Test("valid settings come back typed, with defaults")
    func valid() throws {
        let settings = try schema.validate(["url": "postgresql://u@127.0.0.1:5432/erp", "password": "env:PGPASSWORD"], prefix: "targets.erp").get()
        #expect(settings["timeout"] == "5")
        #expect(settings["pool"] == "4")
    }

    @Test("every problem is reported, each naming the key")
    func invalid() {
        guard case .failure(let error) = schema.validate(["password": "hunter2", "pool": "many", "colour": "blue"], prefix: "targets.erp") else {
            Issue.record("expected problems")
            return
        }
        #expect(error.problems.count == 4)
        #expect(error.problems.contains { $0.hasPrefix("targets.erp.url: required") })
        #expect(error.problems.contains { $0.hasPrefix("targets.erp.password:") && $0.contains("env:NAME") })
        #expect(error.problems.contains { $0.hasPrefix("targets.erp.pool:") })
        #expect(error.problems.contains { $0.hasPrefix("targets.erp.colour: unknown setting") })
        #expect(!error.description.contains("hunter2"))
    }
}

@Suite("Provenance, receipts and the ledger chain")
struct ReceiptTests {
    let gateway = try! SigningIdentity(seed: Array(repeating: 42, count: 32))

    func receipt(sequence: Int, previous: ContentDigest, nonce: String) -> DeliveryReceipt {
        let delivery = AdapterConformance.sampleDelivery(action: sampleAction, nonce: nonce)
        return DeliveryReceipt(id: "urn:uuid:\(nonce)", issuer: gateway.didKey.did, issued: "2026-11-22T10:00:01.000Z", partner: "stahlteile",
                               provenance: delivery.provenance, adapter: "postgresql", reference: ("postgresql", "erp_purchase_order", "\(sequence + 1)"),
                               committedAt: "2026-11-22T10:00:00.900Z",
                               ledger: .init(origin: "test/causeway", sequence: sequence, previous: previous))
    }

    @Test("provenance is deterministic and carries the idempotency key")
    func provenance() {
        let a = AdapterConformance.sampleDelivery(action: sampleAction, nonce: "p")
        let b = AdapterConformance.sampleDelivery(action: sampleAction, nonce: "p")
        #expect(a.provenance.canonicalBytes == b.provenance.canonicalBytes)
        #expect(a.provenance.json["idempotencyKey"]?.stringValue == a.idempotencyKey)
        #expect(a.provenance.json["subject"]?["payloadDigest"]?.stringValue == ContentDigest(of: JCS.canonicalize(sampleAction.json)).description)
    }

    @Test("signCanonical gives the receipt sign gives, and its canonical bytes without writing it out again")
    func signCanonical() throws {
        for nonce in ["c0", "c1", "c2"] {
            let body = receipt(sequence: 3, previous: LedgerChain.genesis, nonce: nonce).signable.body
            let plain = try ReceiptSigner.sign(body: body, issuer: gateway.didKey.did, with: gateway, created: "2026-11-22T10:00:01Z")
            let (signed, canonical) = try ReceiptSigner.signCanonical(body: body, issuer: gateway.didKey.did, with: gateway,
                                                                     created: "2026-11-22T10:00:01Z")
            #expect(signed == plain, "Ed25519 is deterministic: the same proof")
            #expect(canonical == JCS.canonicalize(.object(plain)))
            #expect(ReceiptSigner.verify(signed, expectedIssuer: gateway.didKey.did).isEmpty)
        }
        let other = try SigningIdentity(seed: Array(repeating: 43, count: 32))
        #expect(throws: ProofCreationError.self) {
            try ReceiptSigner.signCanonical(body: receipt(sequence: 0, previous: LedgerChain.genesis, nonce: "x").signable.body,
                                            issuer: other.didKey.did, with: gateway, created: "2026-11-22T10:00:01Z")
        }
    }

    @Test("a signed receipt verifies offline; a changed one does not")
    func signAndVerify() throws {
        let signed = try ReceiptSigner.sign(receipt(sequence: 0, previous: LedgerChain.genesis, nonce: "r0"), with: gateway,
                                            created: "2026-11-22T10:00:01Z")
        #expect(ReceiptSigner.verify(signed, expectedIssuer: gateway.didKey.did).isEmpty)
        var tampered = signed
        var legacy = tampered["legacyRef"]!.objectValue!
        legacy["id"] = "999"
        tampered["legacyRef"] = .object(legacy)
        let codes = Set(ReceiptSigner.verify(tampered).map(\.code.rawValue))
        #expect(codes == ["proof.signature_invalid", "receipt.leaf_mismatch"])
        #expect(!ReceiptSigner.verify(signed, expectedIssuer: "did:key:z6MkOther").isEmpty)
    }

    @Test("the chain names the edited, deleted and reordered entries")
    func chain() throws {
        var entries: [JSONObject] = []
        var previous = LedgerChain.genesis
        for sequence in 0..<5 {
            let r = receipt(sequence: sequence, previous: previous, nonce: "c\(sequence)")
            entries.append(try ReceiptSigner.sign(r, with: gateway, created: "2026-11-22T10:00:01Z"))
            previous = r.leaf
        }
        #expect(LedgerChain.verify(entries).isEmpty)

        var edited = entries
        var reference = edited[2]["legacyRef"]!.objectValue!
        reference["id"] = "changed"
        edited[2]["legacyRef"] = .object(reference)
        #expect(LedgerChain.verify(edited).map { "\($0.kind.rawValue)@\($0.sequence ?? -1)" } == ["edited@2"])

        var deleted = entries
        deleted.remove(at: 3)
        #expect(LedgerChain.verify(deleted).map { "\($0.kind.rawValue)@\($0.sequence ?? -1)" } == ["deleted@4"])

        var reordered = entries
        reordered.swapAt(1, 2)
        let problems = LedgerChain.verify(reordered).map { "\($0.kind.rawValue)@\($0.sequence ?? -1)" }
        #expect(problems.first == "reordered@2")
        #expect(problems.allSatisfy { $0.hasPrefix("reordered") })
    }
}

@Suite("Provenance round trip")
struct ProvenanceRoundTripTests {
    @Test("a record read back from its JSON has the same bytes")
    func roundTrip() throws {
        let record = AdapterConformance.sampleDelivery(action: sampleAction, nonce: "rt").provenance
        let again = try ProvenanceRecord(json: record.json)
        #expect(again.canonicalBytes == record.canonicalBytes)
        #expect(throws: LegacyAction.DecodingError.self) { try ProvenanceRecord(json: ["type": "CausewayProvenance"]) }
    }
}
