public import AdapterKit
public import CausewayCore
import Synchronization

/// An adapter that keeps what it "writes" in memory, for unit tests of the pipeline.
///
/// It is idempotent by key like a real target, and it can be told to fail: the next deliveries
/// can be made retryable, rejected, or unknown — optionally *after* recording the write, which
/// is what a timeout after sending looks like.
public final class InMemoryAdapter: Adapter {
    /// A scripted failure for the next delivery.
    public enum Fault: Sendable {
        case retryable
        case rejected
        /// The write happens, but the caller is told the outcome is unknown.
        case unknownAfterWrite
        /// Nothing is written, and the caller is told the outcome is unknown.
        case unknownBeforeWrite
    }

    struct State {
        var written: [String: (reference: LegacyReference, action: LegacyAction, provenance: ProvenanceRecord)] = [:]
        var faults: [Fault] = []
        var deliveries = 0
        var counter = 0
    }

    private let state = Mutex(State())
    public let descriptor: AdapterDescriptor

    public init(kind: String = "memory", actionKinds: Set<LegacyAction.Kind> = Set(LegacyAction.Kind.allCases)) {
        descriptor = AdapterDescriptor(kind: kind, summary: "Keeps deliveries in memory (tests only).", actionKinds: actionKinds,
                                       schema: ConfigurationSchema([]))
    }

    /// Queues faults for the next deliveries, in order.
    public func inject(_ faults: Fault...) { state.withLock { $0.faults += faults } }

    /// Everything written, by idempotency key.
    public var written: [String: LegacyReference] { state.withLock { $0.written.mapValues(\.reference) } }

    /// How many times `deliver` was called.
    public var deliveries: Int { state.withLock { $0.deliveries } }

    public func deliver(_ delivery: Delivery) async -> DeliveryOutcome {
        state.withLock { state in
            state.deliveries += 1
            guard descriptor.actionKinds.contains(delivery.action.kind) else {
                return .rejected("this adapter does not perform \(delivery.action.kind.rawValue) actions")
            }
            let fault = state.faults.isEmpty ? nil : state.faults.removeFirst()
            switch fault {
            case .retryable?: return .retryable("injected: target unavailable")
            case .rejected?: return .rejected("injected: the target refused the document")
            case .unknownBeforeWrite?: return .unknown("injected: timeout before the write")
            default: break
            }
            if let existing = state.written[delivery.idempotencyKey] {
                return fault == .unknownAfterWrite ? .unknown("injected: timeout after the write") : .delivered(existing.reference)
            }
            state.counter += 1
            let reference = LegacyReference(system: "memory", kind: delivery.action.kind.rawValue, id: "M\(state.counter)")
            state.written[delivery.idempotencyKey] = (reference, delivery.action, delivery.provenance)
            return fault == .unknownAfterWrite ? .unknown("injected: timeout after the write") : .delivered(reference)
        }
    }

    public func lookup(_ delivery: Delivery) async -> LookupResult {
        state.withLock { state in
            state.written[delivery.idempotencyKey].map { .found($0.reference) } ?? .notFound
        }
    }
}
