import CausewayCore
@_spi(Testing) import CausewayStore
import CausewayTesting
import Foundation
import Testing

/// Intake trace contexts (migration v7) in both stores.
@Suite("Store: intake trace contexts")
struct TraceContextStoreTests {
    static func digest(_ n: Int) -> ContentDigest { ContentDigest(of: Array("agreement \(n)".utf8)) }

    @Test("the first context of an agreement is kept, read alone or in a batch; invalid or over-long ones are not stored",
          arguments: StoreKind.allCases)
    func keepFirst(kind: StoreKind) async throws {
        let store = try #require(try await kind.make() as? any TraceContextStore)
        let first = StoredTraceContext(traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", tracestate: "vendor=a")
        try await store.recordTraceContext(first, digest: Self.digest(1))
        try await store.recordTraceContext(StoredTraceContext(traceparent: "00-11111111111111111111111111111111-2222222222222222-01"),
                                           digest: Self.digest(1))
        #expect(try await store.traceContext(digest: Self.digest(1)) == first, "a resubmission does not replace the first trace")
        #expect(first.traceID == "4bf92f3577b34da6a3ce929d0e0e4736")

        let second = StoredTraceContext(traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00")
        try await store.recordTraceContext(second, digest: Self.digest(2))
        let batch = try await store.traceContexts(digests: [Self.digest(1), Self.digest(2), Self.digest(3)])
        #expect(batch == [Self.digest(1): first, Self.digest(2): second])
        #expect(try await store.traceContexts(digests: []).isEmpty)

        for invalid in [
            StoredTraceContext(traceparent: "00-00000000000000000000000000000000-b7ad6b7169203331-01"),  // zero trace id
            StoredTraceContext(traceparent: "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),  // unknown version
            StoredTraceContext(traceparent: "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01"),  // upper case
            StoredTraceContext(traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                               tracestate: String(repeating: "a", count: StoredTraceContext.maxTracestate + 1)),
            StoredTraceContext(traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", tracestate: "a=\n"),
        ] {
            try await store.recordTraceContext(invalid, digest: Self.digest(4))
        }
        #expect(try await store.traceContext(digest: Self.digest(4)) == nil)
    }
}
