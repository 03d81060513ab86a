import AdapterKit

extension GatewayTracing {
    /// `targets` with each adapter it lends traced (``traced(_:target:)``); tracing off: `targets`.
    public func traced(_ targets: any DeliveryTargets) -> any DeliveryTargets {
        guard isOn else { return targets }
        return TracedDeliveryTargets(base: targets, tracing: self)
    }
}

/// Lends the base's adapters wrapped in ``TracedAdapter``, so every delivery and lookup the worker
/// makes is a span of its agreement's trace, whatever adapter a reload put in place.
struct TracedDeliveryTargets: DeliveryTargets {
    let base: any DeliveryTargets
    let tracing: GatewayTracing

    func withAdapter<T: Sendable>(for target: String, _ body: ((any Adapter)?) async throws -> T) async throws -> T {
        try await base.withAdapter(for: target) { adapter in
            try await body(adapter.map { tracing.traced($0, target: target) })
        }
    }
}
