public import AdapterKit
public import CausewayStore

/// The decisions of delivering one outbox entry, as pure functions: what to do first, and where
/// an outcome leaves the entry. The worker performs them; tests check them without I/O.
public enum DeliveryStateMachine {
    /// The first step for a claimed entry.
    public enum Step: Sendable, Equatable {
        /// The last outcome was unknown: ask the target before doing anything.
        case lookup
        case deliver
    }

    /// What a lookup settled.
    public enum LookupDecision: Sendable, Equatable {
        /// The target has it: record it as delivered, do not deliver again.
        case found(AttemptRecord.Next)
        /// The target has no trace: deliver now.
        case deliver
        /// The target could not be asked: try again later, looking up first.
        case later(AttemptRecord.Next, detail: String)
    }

    public static func firstStep(for entry: OutboxEntry) -> Step { entry.needsLookup ? .lookup : .deliver }

    public static func afterLookup(_ result: LookupResult, entry: OutboxEntry, now: Int64, policy: RetryPolicy, jitter: Double) -> LookupDecision {
        switch result {
        case .found(let reference): return .found(.delivered(reference: reference.json))
        case .notFound: return .deliver
        case .unavailable(let reason):
            return .later(retryOrGiveUp(entry: entry, now: now, policy: policy, jitter: jitter, lookupFirst: true,
                                        reason: "lookup unavailable: \(reason)"), detail: reason)
        }
    }

    /// Where a delivery outcome leaves the entry.
    public static func afterDelivery(_ outcome: DeliveryOutcome, entry: OutboxEntry, now: Int64, policy: RetryPolicy, jitter: Double)
        -> AttemptRecord.Next
    {
        switch outcome.outcomeClass {
        case .delivered:
            guard let reference = outcome.reference else { return .deadLetter(reason: "the adapter reported delivery without a reference") }
            return .delivered(reference: reference.json)
        case .rejected:
            return .deadLetter(reason: outcome.reason ?? "rejected by the target")
        case .retryable:
            var next = retryOrGiveUp(entry: entry, now: now, policy: policy, jitter: jitter, lookupFirst: false,
                                     reason: outcome.reason ?? "retryable failure")
            // The target's own wish (Retry-After) is a lower bound.
            if case .retry(let at, let lookup) = next, let wanted = outcome.retryAfter {
                let (seconds, attoseconds) = wanted.components
                let earliest = now + seconds * 1000 + attoseconds / 1_000_000_000_000_000
                next = .retry(at: max(at, earliest), lookupFirst: lookup)
            }
            return next
        case .unknown:
            return retryOrGiveUp(entry: entry, now: now, policy: policy, jitter: jitter, lookupFirst: true,
                                 reason: "outcome unknown: \(outcome.reason ?? "no answer")")
        }
    }

    static func retryOrGiveUp(entry: OutboxEntry, now: Int64, policy: RetryPolicy, jitter: Double, lookupFirst: Bool, reason: String)
        -> AttemptRecord.Next
    {
        let attempt = entry.attempts + 1
        guard attempt < policy.maxAttempts else {
            return .deadLetter(reason: "gave up after \(attempt) attempts; last: \(reason)")
        }
        return .retry(at: now + policy.delay(afterAttempt: attempt, jitter: jitter), lookupFirst: lookupFirst)
    }
}
