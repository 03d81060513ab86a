/// Exact comparison of identifiers: DIDs, verification methods, roles, proof ids.
///
/// Swift's `String ==` and `String` hashing use Unicode canonical equivalence, so a DID spelled
/// with U+212A KELVIN SIGN equals one spelled with `K`, and a precomposed `é` equals `e` + U+0301.
/// An identifier is the sequence of code points that was signed, so the trust core compares
/// UTF-8 bytes (which is code-point equality) and never `==` on `String`.
extension String {
    /// Whether both strings hold exactly the same code points.
    func isExactly(_ other: String) -> Bool { utf8.elementsEqual(other.utf8) }

    /// Whether `other` is exactly one of `candidates`.
    func isExactlyOne(of candidates: [String]) -> Bool { candidates.contains { $0.isExactly(self) } }
}

extension Optional where Wrapped == String {
    /// Exact comparison where either side may be missing: two missing values are equal.
    func isExactly(_ other: String?) -> Bool {
        switch (self, other) {
        case (nil, nil): true
        case (let a?, let b?): a.isExactly(b)
        default: false
        }
    }
}

/// A `String` used as a dictionary key or set element by its exact code points.
struct ExactKey: Hashable, Sendable {
    let text: String

    init(_ text: String) { self.text = text }

    static func == (lhs: ExactKey, rhs: ExactKey) -> Bool { lhs.text.isExactly(rhs.text) }

    func hash(into hasher: inout Hasher) {
        hasher.combine(text.utf8.count)
        for byte in text.utf8 { hasher.combine(byte) }
    }
}
