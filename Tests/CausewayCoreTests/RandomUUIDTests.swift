@testable import CausewayCore
import Foundation
import Testing

@Suite("Random UUIDs without Foundation's per-call /dev/urandom")
struct RandomUUIDTests {
    @Test("the text of known bits: version 4, variant 10, every other bit kept, lowercase 8-4-4-4-12")
    func knownBits() {
        #expect(RandomUUID.text(high: 0, low: 0) == "00000000-0000-4000-8000-000000000000")
        #expect(RandomUUID.text(high: .max, low: .max) == "ffffffff-ffff-4fff-bfff-ffffffffffff")
        #expect(RandomUUID.text(high: 0x0123_4567_89AB_CDEF, low: 0xFEDC_BA98_7654_3210) == "01234567-89ab-4def-bedc-ba9876543210")
    }

    @Test("new ones parse as UUIDs of version 4 and variant 10, as URNs too, and do not repeat")
    func fresh() throws {
        var seen = Set<String>()
        for _ in 0..<2_000 {
            let text = RandomUUID.string()
            let uuid = try #require(UUID(uuidString: text), "\(text)")
            #expect(uuid.uuidString.lowercased() == text)
            #expect(uuid.uuid.6 >> 4 == 4, "version nibble of \(text)")
            #expect(uuid.uuid.8 >> 6 == 0b10, "variant bits of \(text)")
            seen.insert(text)
        }
        #expect(seen.count == 2_000)
        let urn = RandomUUID.urn()
        #expect(urn.hasPrefix("urn:uuid:") && UUID(uuidString: String(urn.dropFirst(9))) != nil, "\(urn)")
    }
}
