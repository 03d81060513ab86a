public import AdapterKit
public import CausewayCore

/// The conformance suite every adapter passes: idempotency by key, lookups, outcome classes,
/// and a sane descriptor. Run it from a test against an adapter connected to a real target.
///
/// ```swift
/// let failures = await AdapterConformance.run(adapter, deliveries: { AdapterConformance.sampleDelivery(action: myAction) })
/// #expect(failures.isEmpty, "\(failures)")
/// ```
public enum AdapterConformance {
    /// One failed expectation, in words.
    public struct Failure: Sendable, CustomStringConvertible {
        public let check: String
        public let message: String
        public var description: String { "\(check): \(message)" }
    }

    /// Runs the suite. `makeDelivery` must return a new, never-delivered delivery on every call
    /// (a fresh agreement digest), for an action the adapter can perform at its target.
    public static func run(_ adapter: any Adapter, makeDelivery: () -> Delivery) async -> [Failure] {
        var failures: [Failure] = []
        func fail(_ check: String, _ message: String) { failures.append(Failure(check: check, message: message)) }

        // Descriptor.
        let descriptor = adapter.descriptor
        if descriptor.kind.isEmpty { fail("descriptor", "the kind is empty") }
        if descriptor.actionKinds.isEmpty { fail("descriptor", "no action kinds are declared") }
        let names = descriptor.schema.fields.map(\.name)
        if Set(names).count != names.count { fail("descriptor", "the configuration schema repeats a setting") }

        // A new key is unknown to the target.
        let first = makeDelivery()
        if descriptor.actionKinds.contains(first.action.kind) == false {
            fail("setup", "the sample delivery's action kind \(first.action.kind.rawValue) is not one the adapter declares")
            return failures
        }
        switch await adapter.lookup(first) {
        case .notFound: break
        case let other: fail("lookup-before", "a key never delivered must be notFound, got \(other)")
        }

        // Deliver: delivered, with a reference.
        let outcome = await adapter.deliver(first)
        guard outcome.outcomeClass == .delivered, let reference = outcome.reference else {
            fail("deliver", "a valid delivery must be delivered with a reference, got \(outcome)")
            return failures
        }
        if reference.id.isEmpty { fail("deliver", "the legacy reference id is empty") }

        // Idempotency: the same key again is a no-op reporting the same reference.
        let again = await adapter.deliver(first)
        if again.outcomeClass != .delivered || again.reference != reference {
            fail("idempotency", "delivering the same key again must report the first reference \(reference), got \(again)")
        }
        let retried = Delivery(agreementDigest: first.agreementDigest, agreementID: first.agreementID, action: first.action,
                               provenance: first.provenance, signedAgreement: first.signedAgreement, attempt: first.attempt + 1)
        let third = await adapter.deliver(retried)
        if third.reference != reference { fail("idempotency", "a later attempt with the same key must report \(reference), got \(third)") }

        // Lookup finds it.
        switch await adapter.lookup(first) {
        case .found(let found) where found == reference: break
        case let other: fail("lookup-after", "a delivered key must be found with \(reference), got \(other)")
        }

        // A different key is a different write.
        let second = makeDelivery()
        if second.idempotencyKey == first.idempotencyKey {
            fail("setup", "makeDelivery must return a new idempotency key each time")
        } else {
            let other = await adapter.deliver(second)
            if other.outcomeClass != .delivered || other.reference == reference {
                fail("distinct", "a different key must be a different write, got \(other)")
            }
        }

        // Concurrency: the same new key delivered concurrently writes once.
        let racing = makeDelivery()
        async let a = adapter.deliver(racing)
        async let b = adapter.deliver(racing)
        let (ra, rb) = await (a, b)
        if ra.outcomeClass == .delivered, rb.outcomeClass == .delivered, ra.reference != rb.reference {
            fail("concurrency", "two concurrent deliveries of one key wrote twice (\(ra) and \(rb))")
        }
        return failures
    }

    /// A delivery of `action` for a fresh, made-up agreement (a new digest every call).
    public static func sampleDelivery(action: LegacyAction, partner: String = "conformance", nonce: String) -> Delivery {
        let digest = ContentDigest(of: Array("conformance agreement \(nonce)".utf8))
        let provenance = ProvenanceRecord(
            receiptID: "urn:uuid:00000000-0000-4000-8000-\(String(digest.hex.prefix(12)))",
            generated: "2026-11-22T10:00:00.000Z", action: action, adapter: "conformance",
            agreementID: "urn:conformance:\(nonce)", agreementType: PurchaseAgreement.typeName, agreementDigest: digest,
            signers: [], plan: .init(partner: partner, mapping: "conformance", version: "1", digest: digest, actionIndex: action.index),
            gateway: "did:key:z6MkConformance", software: "causeway-conformance")
        return Delivery(agreementDigest: digest, agreementID: "urn:conformance:\(nonce)", action: action, provenance: provenance,
                        signedAgreement: Array("{}".utf8))
    }
}
