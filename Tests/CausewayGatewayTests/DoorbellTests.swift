import CausewayGateway
import Testing

@Suite("Doorbell")
struct DoorbellTests {
    @Test("a ring while nobody waits is remembered once")
    func remembered() async {
        let bell = Doorbell()
        bell.ring()
        bell.ring()
        let clock = ContinuousClock()
        let first = await clock.measure { await bell.wait(upTo: .seconds(60)) }
        #expect(first < .seconds(30))
        let second = await clock.measure { await bell.wait(upTo: .milliseconds(150)) }
        #expect(second >= .milliseconds(150), "two rings before a wait must wake one wait, not two")
    }

    @Test("a ring wakes the waiting loop early")
    func wakes() async {
        let bell = Doorbell()
        Task {
            try? await Task.sleep(for: .milliseconds(50))
            bell.ring()
        }
        let waited = await ContinuousClock().measure { await bell.wait(upTo: .seconds(60)) }
        #expect(waited < .seconds(30))
    }

    @Test("a ring wakes every waiting loop")
    func wakesAll() async {
        let bell = Doorbell()
        let clock = ContinuousClock()
        let started = clock.now
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<4 { group.addTask { await bell.wait(upTo: .seconds(60)) } }
            group.addTask {
                try? await Task.sleep(for: .milliseconds(100))
                bell.ring()
            }
        }
        #expect(clock.now - started < .seconds(30))
    }

    @Test("ringOne wakes one waiting loop only; with nobody waiting it is remembered like a ring")
    func wakesOne() async {
        let bell = Doorbell()
        let clock = ContinuousClock()
        let woken = await withTaskGroup(of: Int?.self) { group in
            for index in 0..<3 {
                group.addTask {
                    let waited = await clock.measure { await bell.wait(upTo: .seconds(6)) }
                    return waited < .seconds(5) ? index : nil
                }
            }
            group.addTask {
                try? await Task.sleep(for: .milliseconds(300))
                bell.ringOne()
                return nil
            }
            var woken: [Int] = []
            for await index in group { if let index { woken.append(index) } }
            return woken
        }
        #expect(woken.count == 1, "one ring wakes one waiter and leaves the others to their limit: \(woken)")
        bell.ringOne()
        let remembered = await clock.measure { await bell.wait(upTo: .seconds(60)) }
        #expect(remembered < .seconds(30))
    }

    @Test("without a ring the wait ends after its limit, and a late timer does not end the next wait")
    func timesOut() async {
        let bell = Doorbell()
        let clock = ContinuousClock()
        let waited = await clock.measure { await bell.wait(upTo: .milliseconds(100)) }
        #expect(waited >= .milliseconds(100))
        // A wait ended by a ring leaves its timer running; that timer must not end the next wait.
        Task { bell.ring() }
        await bell.wait(upTo: .milliseconds(300))
        let next = await clock.measure { await bell.wait(upTo: .milliseconds(500)) }
        #expect(next >= .milliseconds(500))
    }
}
