/// When to try a failed delivery again, and when to stop.
public struct RetryPolicy: Sendable, Hashable {
    /// Attempts before an entry is dead-lettered (the first try counts).
    public var maxAttempts: Int
    /// The delay after the first failure; it doubles with each further one.
    public var baseDelayMilliseconds: Int64
    /// The longest delay between attempts.
    public var maxDelayMilliseconds: Int64

    public init(maxAttempts: Int = 8, baseDelayMilliseconds: Int64 = 1_000, maxDelayMilliseconds: Int64 = 300_000) {
        self.maxAttempts = maxAttempts
        self.baseDelayMilliseconds = baseDelayMilliseconds
        self.maxDelayMilliseconds = maxDelayMilliseconds
    }

    /// Exponential backoff with "equal jitter": half the capped delay, plus a random share of the
    /// other half. `jitter` is in 0…1 (the caller draws it; tests pin it).
    public func delay(afterAttempt attempt: Int, jitter: Double) -> Int64 {
        let exponent = min(max(attempt - 1, 0), 30)
        let raw = baseDelayMilliseconds.multipliedReportingOverflow(by: Int64(1) << exponent)
        let capped = raw.overflow ? maxDelayMilliseconds : min(raw.partialValue, maxDelayMilliseconds)
        let half = capped / 2
        return half + Int64(Double(capped - half) * min(max(jitter, 0), 1))
    }
}
