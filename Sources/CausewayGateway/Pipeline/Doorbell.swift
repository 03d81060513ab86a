import Synchronization

/// Wakes polling loops early: intake rings the delivery workers' bell when it stores new work,
/// the workers ring the receipt issuer's when they finish deliveries. Polling stays the safety
/// net (work from another instance, retries falling due), so a lost ring costs at most one pause.
///
/// A ring wakes every loop waiting at that moment (``ringOne()``: one of them); a ring while
/// nobody waits is remembered (once) and ends the next wait at once.
public final class Doorbell: Sendable {
    struct State {
        var rung = false
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var nextID = 0
    }

    let state = Mutex(State())

    public init() {}

    /// Wakes the waiting loops, or the next one to wait.
    public func ring() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard !state.waiters.isEmpty else {
                state.rung = true
                return []
            }
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Wakes the loop that has waited longest, or the next one to wait. For work any one of the
    /// loops can take: intake's commits wake one delivery worker each, not all four, three of
    /// which would then claim nothing (each an empty claim transaction).
    public func ringOne() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let first = state.waiters.keys.min() else {
                state.rung = true
                return nil
            }
            return state.waiters.removeValue(forKey: first)
        }
        waiter?.resume()
    }

    /// Returns when the bell rings or after `limit`, whichever comes first.
    public func wait(upTo limit: Duration) async {
        await withCheckedContinuation { continuation in
            let id = state.withLock { state -> Int? in
                if state.rung {
                    state.rung = false
                    return nil
                }
                state.nextID += 1
                state.waiters[state.nextID] = continuation
                return state.nextID
            }
            guard let id else {
                continuation.resume()
                return
            }
            Task {
                try? await Task.sleep(for: limit)
                self.state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
            }
        }
    }
}
