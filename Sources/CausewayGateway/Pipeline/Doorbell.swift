import Synchronization

/// Wakes a polling loop early: intake rings the delivery worker's bell when it stores new work,
/// the worker rings the receipt issuer's when it finishes deliveries. Polling stays the safety
/// net (work from another instance, retries falling due), so a lost ring costs at most one pause.
///
/// One loop waits on a bell at a time; rings while nobody waits are remembered (once).
public final class Doorbell: Sendable {
    struct State {
        var rung = false
        var waiter: CheckedContinuation<Void, Never>?
        var generation = 0
    }

    let state = Mutex(State())

    public init() {}

    /// Wakes the waiting loop, or the next one to wait.
    public func ring() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.waiter else {
                state.rung = true
                return nil
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume()
    }

    /// Returns when the bell rings or after `limit`, whichever comes first.
    public func wait(upTo limit: Duration) async {
        let generation = state.withLock { state -> Int? in
            if state.rung {
                state.rung = false
                return nil
            }
            state.generation += 1
            return state.generation
        }
        guard let generation else { return }
        await withCheckedContinuation { continuation in
            let early = state.withLock { state -> Bool in
                if state.rung {
                    state.rung = false
                    return true
                }
                state.waiter = continuation
                return false
            }
            if early {
                continuation.resume()
                return
            }
            Task {
                try? await Task.sleep(for: limit)
                let timedOut = self.state.withLock { state -> CheckedContinuation<Void, Never>? in
                    guard state.generation == generation, let waiter = state.waiter else { return nil }
                    state.waiter = nil
                    return waiter
                }
                timedOut?.resume()
            }
        }
    }
}
