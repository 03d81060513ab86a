import Foundation

/// The wall clock in the milliseconds the store records. Services take a `now` closure instead
/// of reading it directly, so that tests can pin time.
public enum WallClock {
    public static func milliseconds() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
}
