import Synchronization

/// Group commit: callers that arrive while a transaction is being written wait together, and
/// the next transaction writes all of them (at most ``maxBatch``). Nobody waits for a timer: a
/// lone caller is written at once, so at low load a caller pays one transaction as before, and
/// under load the batches grow by themselves and one commit serves many callers.
///
/// Each caller gets its own item's result only once the transaction holding it has committed.
/// When a batch fails as a whole, its items are written again one at a time, so one bad item
/// never fails its neighbours: each gets its own result or its own error.
final class GroupCommitter<Item: Sendable, Output: Sendable>: Sendable {
    typealias Waiter = CheckedContinuation<Output, any Error>

    private struct State {
        var queue: [(item: Item, waiter: Waiter)] = []
        var writers = 0
    }

    /// The most items in one transaction.
    let maxBatch: Int
    /// The most transactions written at once (each on its own connection).
    let maxWriters: Int
    private let writeBatch: @Sendable ([Item]) async throws -> [Output]
    private let writeOne: @Sendable (Item) async throws -> Output
    private let state = Mutex(State())

    init(maxBatch: Int = 256, maxWriters: Int = 2, writeBatch: @escaping @Sendable ([Item]) async throws -> [Output],
         writeOne: @escaping @Sendable (Item) async throws -> Output) {
        self.maxBatch = max(1, maxBatch)
        self.maxWriters = max(1, maxWriters)
        self.writeBatch = writeBatch
        self.writeOne = writeOne
    }

    /// Writes `item` with whatever else is waiting; returns its result once committed.
    func submit(_ item: Item) async throws -> Output {
        try await withCheckedThrowingContinuation { (waiter: Waiter) in
            let start = state.withLock { state -> Bool in
                state.queue.append((item, waiter))
                guard state.writers < maxWriters else { return false }
                state.writers += 1
                return true
            }
            if start { Task { await self.write() } }
        }
    }

    /// Takes batches off the queue until it is empty.
    private func write() async {
        while true {
            let batch = state.withLock { state -> [(item: Item, waiter: Waiter)] in
                let batch = Array(state.queue.prefix(maxBatch))
                state.queue.removeFirst(batch.count)
                if batch.isEmpty { state.writers -= 1 }
                return batch
            }
            if batch.isEmpty { return }
            await write(batch)
        }
    }

    private func write(_ batch: [(item: Item, waiter: Waiter)]) async {
        if batch.count == 1 {
            do { batch[0].waiter.resume(returning: try await writeOne(batch[0].item)) } catch { batch[0].waiter.resume(throwing: error) }
            return
        }
        do {
            let outputs = try await writeBatch(batch.map(\.item))
            guard outputs.count == batch.count else { throw BatchCountMismatch(expected: batch.count, got: outputs.count) }
            for (entry, output) in zip(batch, outputs) { entry.waiter.resume(returning: output) }
        } catch {
            // The batch's transaction was rolled back: each item on its own.
            for entry in batch {
                do { entry.waiter.resume(returning: try await writeOne(entry.item)) } catch { entry.waiter.resume(throwing: error) }
            }
        }
    }

    struct BatchCountMismatch: Error, CustomStringConvertible {
        let expected: Int
        let got: Int
        var description: String { "a batch of \(expected) was answered with \(got) results" }
    }
}
