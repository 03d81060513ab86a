import Synchronization

/// Runs one body at a time per key, within the process. Tryton has no unique constraint on a
/// purchase's reference, so two deliveries of one key must never search-then-create at once.
actor KeyedSerializer {
    private var queues: [String: [CheckedContinuation<Void, Never>]] = [:]

    /// Waits for the key, runs `body`, and hands the key to the next waiter.
    func run<T: Sendable>(_ key: String, _ body: @Sendable () async -> T) async -> T {
        await acquire(key)
        let result = await body()
        release(key)
        return result
    }

    private func acquire(_ key: String) async {
        if queues[key] == nil {
            queues[key] = []
            return
        }
        await withCheckedContinuation { queues[key, default: []].append($0) }
    }

    private func release(_ key: String) {
        guard var waiting = queues[key] else { return }
        if waiting.isEmpty {
            queues[key] = nil
        } else {
            let next = waiting.removeFirst()
            queues[key] = waiting
            next.resume()
        }
    }
}

/// Resolved codes (party, product, unit, currency → Tryton ids), each kept for a bounded time.
/// Unknown codes are never cached, so a product created in Tryton is found on the next try.
final class CodeCache<Value: Sendable>: Sendable {
    private struct Entry {
        let value: Value
        let expires: ContinuousClock.Instant
    }

    private let entries = Mutex<[String: Entry]>([:])
    private let lifetime: Duration

    init(lifetime: Duration) { self.lifetime = lifetime }

    subscript(code: String) -> Value? {
        entries.withLock { entries in
            guard let entry = entries[code] else { return nil }
            if entry.expires < .now {
                entries[code] = nil
                return nil
            }
            return entry.value
        }
    }

    func store(_ value: Value, for code: String) {
        guard lifetime > .zero else { return }
        entries.withLock { entries in
            // Bounded: a cache that grows past a few thousand codes starts again.
            if entries.count > 4096 { entries.removeAll() }
            entries[code] = Entry(value: value, expires: .now + lifetime)
        }
    }
}
