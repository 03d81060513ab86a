import AdapterKit
import Foundation
import Testing

@Suite("withDeadline")
struct DeadlineTests {
    @Test("answers the body's value when it finishes first")
    func bodyFirst() async {
        let value = await withDeadline(.seconds(5), otherwise: "late") { "done" }
        #expect(value == "done")
    }

    @Test("answers on time even when the body ignores cancellation")
    func stubbornBody() async {
        let started = ContinuousClock.now
        let value = await withDeadline(.milliseconds(100), otherwise: "late") {
            // A blocked driver: sleeps through cancellation on a thread of its own.
            await withCheckedContinuation { continuation in
                Thread.detachNewThread {
                    Thread.sleep(forTimeInterval: 1.5)
                    continuation.resume(returning: "too late")
                }
            }
        }
        let elapsed = ContinuousClock.now - started
        #expect(value == "late")
        #expect(elapsed < .seconds(1), "withDeadline waited \(elapsed) for a body that ignores cancellation")
    }

    @Test("cancels a body that honours cancellation")
    func cancelsBody() async {
        let value = await withDeadline(.milliseconds(50), otherwise: -1) {
            do {
                try await Task.sleep(for: .seconds(30))
                return 1
            } catch {
                return 0
            }
        }
        #expect(value == -1)
    }
}
