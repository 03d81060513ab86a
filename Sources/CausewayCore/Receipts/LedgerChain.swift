/// The provenance ledger as a hash chain: every entry names the leaf hash of the one before.
///
/// A leaf is SHA-256(0x00 ‖ JCS(entry without proof and without `ledger.leaf`)), the RFC 6962
/// leaf hash, so that the chain can later become a Merkle log without changing any entry. The
/// first entry's `prev` is `sha256:` followed by 64 zeros.
public enum LedgerChain {
    /// `sha256:0000…0000`, the `prev` of entry 0.
    public static let genesis = ContentDigest(raw: [UInt8](repeating: 0, count: 32))!

    /// The RFC 6962 leaf hash of an entry (its `proof` and `ledger.leaf` are left out).
    public static func leafHash(of entry: JSONObject) -> ContentDigest {
        var preimage = entry.removing("proof")
        if var ledger = preimage["ledger"]?.objectValue {
            ledger["leaf"] = nil
            preimage["ledger"] = .object(ledger)
        }
        return ContentDigest(of: [0x00] + JCS.canonicalize(.object(preimage)))
    }

    /// A break in the chain, naming the entry.
    public struct Problem: Sendable, Hashable, CustomStringConvertible {
        public enum Kind: String, Sendable {
            /// The entry's content no longer matches its recorded leaf hash.
            case edited
            /// An entry is missing before this one (a gap in sequence numbers).
            case deleted
            /// The entry is out of order (its sequence or its `prev` belongs elsewhere).
            case reordered
            /// The entry lacks `ledger.seq`, `ledger.prev` or `ledger.leaf`.
            case malformed
        }

        public let kind: Kind
        /// Position in the list checked.
        public let position: Int
        /// The entry's own sequence number, when readable.
        public let sequence: Int?
        public let message: String

        public var description: String { "entry \(sequence.map(String.init) ?? "#\(position)"): \(kind.rawValue) — \(message)" }
    }

    /// Checks a list of entries in stored order and reports every break, naming the entry.
    public static func verify(_ entries: [JSONObject]) -> [Problem] {
        var problems: [Problem] = []
        let sequences = entries.map { $0["ledger"]?["seq"]?.exactInt }
        var previousLeaf = genesis
        var expectedSequence = 0
        for (position, entry) in entries.enumerated() {
            // A stored number is data, not a promise: `seq` may have been edited to 1e300, 1.5 or -1.
            if let stored = entry["ledger"]?["seq"], stored.exactInt.map({ $0 < 0 }) ?? true {
                let shown = stored.numberValue.map { ECMAScriptNumber.format($0) } ?? stored.typeName
                problems.append(Problem(kind: .malformed, position: position, sequence: nil,
                                        message: "receipt \(entry["id"]?.stringValue ?? "?"): field ledger.seq is \(shown), not a whole number from 0 to 2^53"))
                continue
            }
            guard let ledger = entry["ledger"]?.objectValue, let seq = ledger["seq"]?.exactInt,
                let prev = ledger["prev"]?.stringValue.flatMap(ContentDigest.init), let recorded = ledger["leaf"]?.stringValue.flatMap(ContentDigest.init)
            else {
                problems.append(Problem(kind: .malformed, position: position, sequence: nil, message: "the ledger fields are missing or unreadable"))
                continue
            }
            let actual = leafHash(of: entry)
            if actual != recorded {
                problems.append(Problem(kind: .edited, position: position, sequence: seq,
                                        message: "its content hashes to \(actual), not to its recorded leaf \(recorded)"))
            }
            if seq > expectedSequence {
                let later = Set(sequences[(position + 1)...].compactMap { $0 })
                // Only a gap the later entries could fill is a reordering; never materialise a huge one.
                let gap = seq - expectedSequence
                let missing = gap <= later.count ? Array(expectedSequence..<seq) : []
                if !missing.isEmpty, missing.allSatisfy(later.contains) {
                    problems.append(Problem(kind: .reordered, position: position, sequence: seq,
                                            message: "it comes before entries \(missing.map(String.init).joined(separator: ", ")), which follow it"))
                } else {
                    problems.append(Problem(kind: .deleted, position: position, sequence: seq,
                                            message: "entries \(expectedSequence)…\(seq - 1) are missing before it"))
                }
            } else if seq < expectedSequence {
                problems.append(Problem(kind: .reordered, position: position, sequence: seq,
                                        message: "it comes after entry \(expectedSequence - 1)"))
            } else if prev != previousLeaf {
                problems.append(Problem(kind: .reordered, position: position, sequence: seq,
                                        message: "its prev does not name the leaf of the entry before it"))
            }
            previousLeaf = recorded
            expectedSequence = max(expectedSequence, seq + 1)
        }
        return problems
    }
}
