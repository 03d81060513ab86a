extension GatewayConfiguration {
    /// What `/readyz` checks besides the store (the `readiness:` section; Docs/operations.md, Readiness).
    ///
    /// ```yaml
    /// readiness:
    ///   targets: true          # a target whose connection check fails makes /readyz answer 503
    ///   every_seconds: 10      # how often each target is checked, in the background
    ///   timeout_seconds: 5     # how long one check may take before it counts as failed
    /// ```
    public struct ReadinessSettings: Sendable, Hashable {
        /// Whether failing targets make the instance not ready. Default true. With false they are
        /// still checked and named in `/readyz`'s body, but intake stays in the load balancer
        /// while an ERP is down (the outbox holds the work).
        public var targets = true
        /// Seconds between two checks of the targets. Default 10; at least 1.
        public var everySeconds = 10
        /// Seconds one target's check may take. Default 5; at least 1.
        public var timeoutSeconds = 5

        public init() {}
    }
}
