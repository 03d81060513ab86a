import CausewayCore
import CausewayStore
import Testing

/// The KEL table on both stores: first seen, extensions stored, regressions and forks refused,
/// forks recorded as duplicity. (SAIDs here are labels; validation is the trust core's job.)
@Suite("Key event log store")
struct KeyEventLogStoreTests {
    static let aid = "E" + String(repeating: "A", count: 43)

    func kel(_ saids: [String], source: String = "push", at time: Int64) -> StoredKEL {
        StoredKEL(aid: Self.aid, cesr: Array(saids.joined(separator: "|").utf8), saids: saids, source: source, firstSeen: time, updatedAt: time)
    }

    @Test("first seen, extended, identical; regression and fork refused; duplicity recorded", arguments: StoreKind.allCases)
    func updates(kind: StoreKind) async throws {
        let store = try await kind.make()
        #expect(try await store.keyEventLog(aid: Self.aid) == nil)
        #expect(try await store.offerKeyEventLog(kel(["E0", "E1"], source: "partner:acme", at: 1000)) == .stored)
        #expect(try await store.offerKeyEventLog(kel(["E0", "E1", "E2"], at: 2000)) == .extended(by: 1))
        #expect(try await store.offerKeyEventLog(kel(["E0", "E1", "E2"], at: 3000)) == .identical)
        #expect(try await store.offerKeyEventLog(kel(["E0", "E1"], at: 4000)) == .regressed(by: 1))
        #expect(try await store.offerKeyEventLog(kel(["E0", "X1", "X2", "X3"], source: "did:webs", at: 5000)) == .forked(atSN: 1))

        let stored = try #require(try await store.keyEventLog(aid: Self.aid))
        #expect(stored.saids == ["E0", "E1", "E2"])
        #expect(stored.cesr == Array("E0|E1|E2".utf8))
        #expect(stored.firstSeen == 1000 && stored.updatedAt == 2000 && stored.source == "push")
        #expect(try await store.keyEventLogs().map(\.aid) == [Self.aid])
        #expect(try await store.kelDuplicityCount() == 1)
        #expect(try await store.kelDuplicities(limit: 10)
            == [KELDuplicity(aid: Self.aid, sn: 1, knownSAID: "E1", offeredSAID: "X1", source: "did:webs", seenAt: 5000)])
    }
}
