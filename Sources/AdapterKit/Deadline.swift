import Synchronization

/// Runs `body` for at most `limit`; after that answers `otherwise` and leaves `body` cancelled
/// in the background.
///
/// Unlike a task group racing a timer, this returns on time even when `body` ignores
/// cancellation — a driver blocked on a dead socket, a child program that hangs. Adapters use it
/// so that a target that stops answering makes an `unknown` outcome (settled by a lookup before
/// any retry) instead of a delivery slot held forever. `body` may still finish later; what it
/// returns then is dropped.
public func withDeadline<T: Sendable>(_ limit: Duration, otherwise: T, _ body: @escaping @Sendable () async -> T) async -> T {
    let race = DeadlineRace<T>()
    return await withCheckedContinuation { continuation in
        race.begin(continuation)
        let work = Task {
            let value = await body()
            race.finish(value)
        }
        let timer = Task {
            try? await Task.sleep(for: limit)
            if race.finish(otherwise) { work.cancel() }
        }
        race.onFinish { timer.cancel() }
    }
}

/// The first of the body and the timer to finish resumes the continuation; the other is ignored.
final class DeadlineRace<T: Sendable>: Sendable {
    struct State {
        var continuation: CheckedContinuation<T, Never>?
        var finished = false
        var cleanup: (@Sendable () -> Void)?
    }

    let state = Mutex(State())

    func begin(_ continuation: CheckedContinuation<T, Never>) {
        state.withLock { $0.continuation = continuation }
    }

    /// Registers what to do once finished (cancel the timer); runs it at once if already finished.
    func onFinish(_ cleanup: @escaping @Sendable () -> Void) {
        let now = state.withLock { state -> Bool in
            if state.finished { return true }
            state.cleanup = cleanup
            return false
        }
        if now { cleanup() }
    }

    /// Resumes with `value` if nothing did yet; returns whether this call won.
    @discardableResult
    func finish(_ value: T) -> Bool {
        let (continuation, cleanup) = state.withLock { state -> (CheckedContinuation<T, Never>?, (@Sendable () -> Void)?) in
            guard !state.finished else { return (nil, nil) }
            state.finished = true
            defer { state.continuation = nil; state.cleanup = nil }
            return (state.continuation, state.cleanup)
        }
        guard let continuation else { return false }
        continuation.resume(returning: value)
        cleanup?()
        return true
    }
}
