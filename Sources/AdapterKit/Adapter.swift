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

/// Makes adapters from a target's validated settings.
public protocol AdapterFactory: Sendable {
    /// The descriptor of the adapters it makes (its kind and configuration schema).
    var descriptor: AdapterDescriptor { get }

    /// An adapter for one configured target. `settings` have passed the descriptor's schema.
    func makeAdapter(target: String, settings: AdapterSettings) throws(AdapterConfigurationError) -> any Adapter
}
