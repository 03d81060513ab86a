import Synchronization

/// One circuit per target: after a run of failures the target is left alone for a while, so a
/// slow or broken system does not hold workers that other targets need.
public final class CircuitBreakers: Sendable {
    public struct Configuration: Sendable, Hashable {
        /// Consecutive failures (retryable, unknown, lookup unavailable) that open the circuit.
        public var failureThreshold: Int
        /// How long an open circuit stays open before one trial delivery is let through.
        public var openMilliseconds: Int64

        public init(failureThreshold: Int = 5, openMilliseconds: Int64 = 30_000) {
            self.failureThreshold = failureThreshold
            self.openMilliseconds = openMilliseconds
        }
    }

    /// A circuit's state, for health reports and metrics.
    public enum State: String, Sendable {
        case closed, open
        /// Open time is over; the next delivery is a trial.
        case halfOpen = "half_open"
    }

    struct Circuit {
        var failures = 0
        var openUntil: Int64?
    }

    let configuration: Configuration
    let circuits = Mutex<[String: Circuit]>([:])

    public init(configuration: Configuration = .init()) { self.configuration = configuration }

    /// Targets whose circuit is open at `now` (not to be claimed).
    public func openTargets(now: Int64) -> Set<String> {
        circuits.withLock { circuits in
            Set(circuits.compactMap { target, circuit in (circuit.openUntil.map { now < $0 } ?? false) ? target : nil })
        }
    }

    public func state(of target: String, now: Int64) -> State {
        circuits.withLock { circuits in
            guard let until = circuits[target]?.openUntil else { return .closed }
            return now < until ? .open : .halfOpen
        }
    }

    /// The target answered (delivered, rejected, or found by lookup): close its circuit.
    public func recordSuccess(_ target: String) {
        circuits.withLock { $0[target] = Circuit() }
    }

    /// The target failed to answer usefully; open the circuit after enough failures in a row.
    public func recordFailure(_ target: String, now: Int64) {
        circuits.withLock { circuits in
            var circuit = circuits[target] ?? Circuit()
            circuit.failures += 1
            if circuit.failures >= configuration.failureThreshold { circuit.openUntil = now + configuration.openMilliseconds }
            circuits[target] = circuit
        }
    }
}
