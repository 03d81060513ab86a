import CausewayCore

/// The one interface between Causeway and a legacy system.
///
/// An adapter performs typed legacy actions exactly once: it makes every delivery idempotent by
/// its ``Delivery/idempotencyKey`` at the target itself (a unique constraint, a reference field,
/// a file name), classifies every outcome (``DeliveryOutcome``), and can look a key up so that
/// an unknown outcome is settled before any retry. Adapters never import the gateway; they are
/// registered in its composition root by their ``AdapterDescriptor/kind``.
///
/// Every adapter passes the conformance suite in `AdapterKitTesting`.
public protocol Adapter: Sendable {
    /// What this adapter is and what it needs.
    var descriptor: AdapterDescriptor { get }

    /// Performs one action. Must not throw: every failure is an outcome.
    func deliver(_ delivery: Delivery) async -> DeliveryOutcome

    /// Whether the action with this delivery's idempotency key was already performed.
    func lookup(_ delivery: Delivery) async -> LookupResult

    /// Connects to the target as a delivery would (logs in, opens a connection, reaches the base
    /// URL, checks the folder is writable, starts the program) without performing any action, and throws
    /// the reason it cannot, each problem naming the setting and the fix (`url: …`, `password: …`).
    /// Used by `causeway config check --connect` and by `/readyz` (cached, at most every 10 s).
    /// The default does nothing: an adapter without a connection to check is always reachable.
    func checkConnection() async throws(AdapterConfigurationError)
}

extension Adapter {
    public func checkConnection() async throws(AdapterConfigurationError) {}
}

/// An adapter that can perform several actions in one legacy transaction (the rows adapters).
///
/// The delivery worker hands it the entries of one target it claimed together, instead of one
/// call and one transaction each. The answer must be exactly what delivering each alone would
/// answer: one outcome per delivery, in order, each the delivery's own. An adapter keeps that by
/// committing the batch only when every delivery in it succeeded, and otherwise rolling it back
/// and delivering each alone; a commit whose outcome is unknown makes every outcome `unknown`
/// (each is looked up before any retry, as for one delivery).
public protocol BatchDeliveringAdapter: Adapter {
    /// Performs `deliveries`; returns one outcome per delivery, in the same order. Must not throw.
    func deliverBatch(_ deliveries: [Delivery]) async -> [DeliveryOutcome]
}

extension BatchDeliveringAdapter {
    /// A batch as most adapters make it: the deliveries `batchable` picks (when more than one) go to
    /// `together`, which answers their outcomes in order, or nil when it wrote nothing and each
    /// must go alone; every other delivery — and all of them after a nil — goes through
    /// ``Adapter/deliver(_:)``, one after the other.
    public func deliverBatch(_ deliveries: [Delivery], batchable: (Delivery) -> Bool,
                             together: ([Delivery]) async -> [DeliveryOutcome]?) async -> [DeliveryOutcome] {
        let picked = deliveries.indices.filter { batchable(deliveries[$0]) }
        var outcomes: [DeliveryOutcome?] = Array(repeating: nil, count: deliveries.count)
        if picked.count > 1, let answered = await together(picked.map { deliveries[$0] }), answered.count == picked.count {
            for (index, outcome) in zip(picked, answered) { outcomes[index] = outcome }
        }
        var results: [DeliveryOutcome] = []
        results.reserveCapacity(deliveries.count)
        for (index, delivery) in deliveries.enumerated() {
            if let outcome = outcomes[index] { results.append(outcome) } else { results.append(await deliver(delivery)) }
        }
        return results
    }
}

/// Makes adapters from a target's validated settings.
public protocol AdapterFactory: Sendable {
    /// The descriptor of the adapters it makes (its kind and configuration schema).
    var descriptor: AdapterDescriptor { get }

    /// An adapter for one configured target. `settings` have passed the descriptor's schema.
    func makeAdapter(target: String, settings: AdapterSettings) throws(AdapterConfigurationError) -> any Adapter
}
