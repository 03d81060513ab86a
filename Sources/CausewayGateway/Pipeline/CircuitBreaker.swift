import CausewayStore
public import Logging
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
        /// Whether the change to half-open (open time over) has been logged.
        var halfOpenLogged = false
    }

    let configuration: Configuration
    let circuits = Mutex<[String: Circuit]>([:])
    /// Every change of a circuit (open, half-open, closed) is logged here at `warning`/`notice`.
    let logger: Logger

    public init(configuration: Configuration = .init(), logger: Logger = Logger(label: "causeway.circuit")) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Targets whose circuit is open at `now` (not to be claimed). A circuit whose open time is
    /// over is half-open from here on: the change is logged once.
    public func openTargets(now: Int64) -> Set<String> {
        let (open, halfOpen) = circuits.withLock { circuits in
            var halfOpen: [(String, Int)] = []
            for (target, circuit) in circuits where !circuit.halfOpenLogged {
                if let until = circuit.openUntil, now >= until {
                    circuits[target]?.halfOpenLogged = true
                    halfOpen.append((target, circuit.failures))
                }
            }
            let open = Set(circuits.compactMap { target, circuit in (circuit.openUntil.map { now < $0 } ?? false) ? target : nil })
            return (open, halfOpen)
        }
        for (target, failures) in halfOpen.sorted(by: { $0.0 < $1.0 }) {
            logger.notice("circuit half-open: the next delivery is a trial",
                          metadata: ["circuit.state": "half_open", "target": .string(target), "circuit.failures": .stringConvertible(failures)])
        }
        return open
    }

    public func state(of target: String, now: Int64) -> State {
        circuits.withLock { circuits in
            guard let until = circuits[target]?.openUntil else { return .closed }
            return now < until ? .open : .halfOpen
        }
    }

    /// The target answered (delivered, rejected, or found by lookup): close its circuit.
    public func recordSuccess(_ target: String) {
        let wasOpen = circuits.withLock { circuits in
            let wasOpen = circuits[target]?.openUntil != nil
            circuits[target] = Circuit()
            return wasOpen
        }
        if wasOpen { logger.notice("circuit closed: the target answered", metadata: ["circuit.state": "closed", "target": .string(target)]) }
    }

    /// The target failed to answer usefully; open the circuit after enough failures in a row.
    public func recordFailure(_ target: String, now: Int64) {
        let opened: (failures: Int, until: Int64)? = circuits.withLock { circuits in
            var circuit = circuits[target] ?? Circuit()
            circuit.failures += 1
            var opened: (failures: Int, until: Int64)?
            if circuit.failures >= configuration.failureThreshold {
                // Logged when it opens (closed or half-open before), not when a delivery already under way fails while open.
                if !(circuit.openUntil.map { now < $0 } ?? false) { opened = (circuit.failures, now + configuration.openMilliseconds) }
                circuit.openUntil = now + configuration.openMilliseconds
                circuit.halfOpenLogged = false
            }
            circuits[target] = circuit
            return opened
        }
        if let opened {
            logger.warning("circuit open: deliveries to the target pause", metadata: [
                "circuit.state": "open", "target": .string(target), "circuit.failures": .stringConvertible(opened.failures),
                "circuit.open_until": .string(AuditEntry.timestamp(opened.until)),
            ])
        }
    }
}
