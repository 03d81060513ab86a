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

    @Test("answers at its deadline even when the body ignores cancellation and never ends by itself")
    func stubbornBody() async {
        // A blocked driver: waits on a thread of its own until the test releases it, whatever
        // cancellation says. Only the deadline can end the call before the release.
        let release = DispatchSemaphore(value: 0)
        let value = await withDeadline(.milliseconds(100), otherwise: "late") {
            await withCheckedContinuation { continuation in
                Thread.detachNewThread {
                    release.wait()
                    continuation.resume(returning: "released")
                }
            }
        }
        #expect(value == "late")
        release.signal()
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
