public import CausewayCore

/// The W3C trace context of an agreement's intake span, kept with the agreement (migration v7) so
/// that its deliveries and receipts, which run later and perhaps on another instance, join the
/// same trace as children of that span.
public struct StoredTraceContext: Sendable, Hashable {
    /// `00-<trace id>-<span id>-<flags>` (W3C Trace Context, level 1).
    public let traceparent: String
    /// The vendor entries that came with it (`tracestate`), or empty.
    public let tracestate: String

    /// The longest `traceparent` and `tracestate` kept; longer values are not stored (W3C allows
    /// 32 list members of up to 256 characters in `tracestate`; 512 characters are ample here).
    public static let maxTraceparent = 55
    public static let maxTracestate = 512

    public init(traceparent: String, tracestate: String = "") {
        self.traceparent = traceparent
        self.tracestate = tracestate
    }

    /// A version-00 `traceparent`: lowercase hex fields of 32, 16 and 2 digits, ids not all zero.
    public static func isTraceparent(_ text: String) -> Bool {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard text.utf8.count == maxTraceparent, parts.count == 4, parts[0] == "00" else { return false }
        func hex(_ part: Substring, _ count: Int) -> Bool {
            part.utf8.count == count && part.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
        }
        return hex(parts[1], 32) && hex(parts[2], 16) && hex(parts[3], 2) && parts[1].contains { $0 != "0" } && parts[2].contains { $0 != "0" }
    }

    /// The trace id (32 hex digits) the `traceparent` names.
    public var traceID: String { String(traceparent.split(separator: "-")[1]) }
}

/// A store that keeps each agreement's intake trace context (both stores, migration v7).
public protocol TraceContextStore: Sendable {
    /// Keeps `context` for the agreement `digest` unless one is kept already (the first intake's
    /// trace stays the agreement's trace; a resubmission does not replace it). Invalid or
    /// over-long values are not stored.
    func recordTraceContext(_ context: StoredTraceContext, digest: ContentDigest) async throws
    /// The kept context of the agreement, or nil when intake was not traced.
    func traceContext(digest: ContentDigest) async throws -> StoredTraceContext?
    /// The kept contexts of several agreements (for a batch of receipts), by digest.
    func traceContexts(digests: [ContentDigest]) async throws -> [ContentDigest: StoredTraceContext]
}

extension StoredTraceContext {
    /// Whether the context may be stored (a valid `traceparent`, a bounded visible-ASCII `tracestate`).
    var storable: Bool {
        Self.isTraceparent(traceparent) && tracestate.utf8.count <= Self.maxTracestate
            && tracestate.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F }
    }
}
