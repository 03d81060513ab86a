/// Checks on Ed25519 encodings that the signature primitive does not make.
///
/// BoringSSL's `ED25519_verify` (behind swift-crypto on Linux) accepts any public key that
/// decodes, including the eight points of small order: with the identity point as key, the
/// "signature" R = identity, S = 0 verifies over any message (finding 7 of issue 11). These
/// checks refuse, for public keys and for the R half of signatures:
/// - non-canonical encodings, whose y coordinate (the low 255 bits) is ≥ p = 2²⁵⁵ − 19;
/// - the eight small-order points, in every encoding: their y is 0, 1, p − 1 or ±y₈ (the order-8
///   points), with either sign bit — including the "negative zero" forms with x = 0.
/// and refuse an S that is not reduced (S ≥ L, the group order), which RFC 8032 §5.1.7 forbids.
enum Ed25519Encoding {
    /// p = 2²⁵⁵ − 19, little endian.
    static let p: [UInt8] = [0xED] + Array(repeating: 0xFF, count: 30) + [0x7F]
    /// L = 2²⁵² + 27742317777372353535851937790883648493, little endian.
    static let order: [UInt8] = [
        0xED, 0xD3, 0xF5, 0x5C, 0x1A, 0x63, 0x12, 0x58, 0xD6, 0x9C, 0xF7, 0xA2, 0xDE, 0xF9, 0xDE, 0x14,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ]
    /// The y coordinates (sign bit clear, little endian) of the eight points of small order.
    static let smallOrderY: [[UInt8]] = [
        Array(repeating: 0, count: 32),  // y = 0: the two points of order 4
        [1] + Array(repeating: 0, count: 31),  // y = 1: the identity (order 1)
        [0xEC] + Array(repeating: 0xFF, count: 30) + [0x7F],  // y = p − 1: order 2
        [  // y₈: two points of order 8
            0x26, 0xE8, 0x95, 0x8F, 0xC2, 0xB2, 0x27, 0xB0, 0x45, 0xC3, 0xF4, 0x89, 0xF2, 0xEF, 0x98, 0xF0,
            0xD5, 0xDF, 0xAC, 0x05, 0xD3, 0xC6, 0x33, 0x39, 0xB1, 0x38, 0x02, 0x88, 0x6D, 0x53, 0xFC, 0x05,
        ],
        [  // p − y₈: the other two points of order 8
            0xC7, 0x17, 0x6A, 0x70, 0x3D, 0x4D, 0xD8, 0x4F, 0xBA, 0x3C, 0x0B, 0x76, 0x0D, 0x10, 0x67, 0x0F,
            0x2A, 0x20, 0x53, 0xFA, 0x2C, 0x39, 0xCC, 0xC6, 0x4E, 0xC7, 0xFD, 0x77, 0x92, 0xAC, 0x03, 0x7A,
        ],
    ]

    /// What is wrong with a 32-byte point encoding, or `nil` when it is acceptable.
    enum PointProblem: Sendable, Equatable {
        /// y ≥ p: the same point has a shorter, canonical encoding.
        case nonCanonical
        /// One of the eight points of small order.
        case smallOrder
    }

    /// Checks an encoded point (a public key, or R of a signature). `bytes` must hold 32 bytes.
    static func problem(withPoint bytes: some Collection<UInt8>) -> PointProblem? {
        var y = Array(bytes)
        guard y.count == 32 else { return .nonCanonical }
        y[31] &= 0x7F
        if !lessThan(y, p) { return .nonCanonical }
        if smallOrderY.contains(y) { return .smallOrder }
        return nil
    }

    /// Whether S (little endian, 32 bytes) is reduced modulo L.
    static func isReducedScalar(_ bytes: some Collection<UInt8>) -> Bool {
        let s = Array(bytes)
        return s.count == 32 && lessThan(s, order)
    }

    /// a < b for little-endian numbers of equal length.
    static func lessThan(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        for index in stride(from: a.count - 1, through: 0, by: -1) where a[index] != b[index] {
            return a[index] < b[index]
        }
        return false
    }
}
