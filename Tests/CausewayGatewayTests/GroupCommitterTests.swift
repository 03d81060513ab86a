@testable import CausewayGateway
import Synchronization
import Testing

@Suite("Group commit")
struct GroupCommitterTests {
    struct Poisoned: Error {}

    /// A store stand-in that records each batch it writes and takes a little time per write.
    final class Recorder: Sendable {
        let batches = Mutex<[[Int]]>([])
        let singles = Mutex<[Int]>([])
        let failed = Mutex<[[Int]]>([])
        let inFlight = Mutex(0)
        let mostInFlight = Mutex(0)

        func write(_ items: [Int]) async throws -> [Int] {
            let now = inFlight.withLock { $0 += 1; return $0 }
            mostInFlight.withLock { $0 = max($0, now) }
            defer { inFlight.withLock { $0 -= 1 } }
            try await Task.sleep(for: .milliseconds(5))
            if items.contains(13) {  // the whole transaction rolls back
                failed.withLock { $0.append(items) }
                throw Poisoned()
            }
            batches.withLock { $0.append(items) }
            return items.map { $0 * 10 }
        }

        func writeOne(_ item: Int) async throws -> Int {
            try await Task.sleep(for: .milliseconds(2))
            if item == 13 { throw Poisoned() }
            singles.withLock { $0.append(item) }
            return item * 10
        }
    }

    @Test("callers arriving together share batches; each gets its own result; no more writers than allowed")
    func batches() async throws {
        let recorder = Recorder()
        let committer = GroupCommitter<Int, Int>(maxBatch: 16, maxWriters: 2, writeBatch: { try await recorder.write($0) },
                                                 writeOne: { try await recorder.writeOne($0) })
        let results = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
            for item in 0..<200 where item != 13 { group.addTask { (item, try await committer.submit(item)) } }
            var all: [Int: Int] = [:]
            for try await (item, result) in group { all[item] = result }
            return all
        }
        #expect(results.count == 199)
        #expect(results.allSatisfy { $0.value == $0.key * 10 })
        let batches = recorder.batches.withLock { $0 }
        let written = batches.flatMap { $0 } + recorder.singles.withLock { $0 }
        #expect(written.sorted() == (0..<200).filter { $0 != 13 }, "every item written exactly once")
        #expect(batches.contains { $0.count > 1 }, "under load items share a transaction: \(batches.map(\.count))")
        #expect(batches.allSatisfy { $0.count <= 16 })
        #expect(recorder.mostInFlight.withLock { $0 } <= 2)
    }

    @Test("a lone caller is written at once, alone")
    func alone() async throws {
        let recorder = Recorder()
        let committer = GroupCommitter<Int, Int>(writeBatch: { try await recorder.write($0) }, writeOne: { try await recorder.writeOne($0) })
        #expect(try await committer.submit(7) == 70)
        #expect(try await committer.submit(8) == 80)
        #expect(recorder.singles.withLock { $0 } == [7, 8])
        #expect(recorder.batches.withLock { $0 }.isEmpty)
    }

    @Test("a batch that fails as a whole is written again one at a time: only the bad item fails")
    func isolation() async throws {
        let recorder = Recorder()
        let committer = GroupCommitter<Int, Int>(maxBatch: 64, maxWriters: 1, writeBatch: { try await recorder.write($0) },
                                                 writeOne: { try await recorder.writeOne($0) })
        let outcomes = await withTaskGroup(of: (Int, Result<Int, any Error>).self) { group in
            for item in 0..<40 {
                group.addTask {
                    do { return (item, .success(try await committer.submit(item))) } catch { return (item, .failure(error)) }
                }
            }
            var all: [Int: Result<Int, any Error>] = [:]
            for await (item, outcome) in group { all[item] = outcome }
            return all
        }
        #expect(outcomes.count == 40)
        for (item, outcome) in outcomes {
            switch outcome {
            case .success(let value): #expect(item != 13 && value == item * 10)
            case .failure(let error): #expect(item == 13 && error is Poisoned, "item \(item): \(error)")
            }
        }
        let failed = recorder.failed.withLock { $0 }
        #expect(failed.contains { $0.count > 1 }, "13 shared a batch that failed: \(failed)")
        let singles = Set(recorder.singles.withLock { $0 })
        for batch in failed { #expect(Set(batch.filter { $0 != 13 }).isSubset(of: singles), "its neighbours were written one at a time") }
    }
}
