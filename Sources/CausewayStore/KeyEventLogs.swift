public import CausewayCore

/// The latest validated key event log (KEL) of one KERI AID, as the gateway first saw it and
/// then extended it. The store keeps bytes and the SAIDs by sequence number; validating the
/// events is the caller's (CausewayTrust's) job, done before ``AgreementStore/offerKeyEventLog(_:)``.
public struct StoredKEL: Sendable, Hashable {
    /// The AID.
    public let aid: String
    /// The KEL as a CESR v1 stream.
    public let cesr: [UInt8]
    /// The SAID of each event, index = sequence number.
    public let saids: [String]
    /// Where the KEL came from: `partner:<name>`, `push`, `did:webs`, `self`.
    public let source: String
    /// When the AID was first seen (milliseconds since 1970); kept across updates.
    public let firstSeen: Int64
    /// When the KEL was last extended (milliseconds since 1970).
    public let updatedAt: Int64

    public init(aid: String, cesr: [UInt8], saids: [String], source: String, firstSeen: Int64, updatedAt: Int64) {
        self.aid = aid
        self.cesr = cesr
        self.saids = saids
        self.source = source
        self.firstSeen = firstSeen
        self.updatedAt = updatedAt
    }

    /// The last event's sequence number.
    public var lastSN: Int { saids.count - 1 }
}

/// What the store did with an offered KEL.
public enum KELUpdateOutcome: Sendable, Hashable {
    /// The first KEL of this AID (first seen).
    case stored
    /// It extends the stored KEL by this many events; stored.
    case extended(by: Int)
    /// The same events; nothing changed.
    case identical
    /// A strict prefix of the stored KEL (stale or withheld rotations); refused.
    case regressed(by: Int)
    /// A different event at this sequence number (duplicity); refused and recorded.
    case forked(atSN: Int)

    /// Whether the store now holds the offered events.
    public var isAccepted: Bool {
        switch self {
        case .stored, .extended, .identical: true
        case .regressed, .forked: false
        }
    }
}

/// A recorded duplicity: an AID offered with a different event at a sequence number already known.
public struct KELDuplicity: Sendable, Hashable {
    public let aid: String
    public let sn: Int
    /// The SAID the store holds at `sn`.
    public let knownSAID: String
    /// The SAID of the offered event at `sn`.
    public let offeredSAID: String
    public let source: String
    public let seenAt: Int64

    public init(aid: String, sn: Int, knownSAID: String, offeredSAID: String, source: String, seenAt: Int64) {
        self.aid = aid
        self.sn = sn
        self.knownSAID = knownSAID
        self.offeredSAID = offeredSAID
        self.source = source
        self.seenAt = seenAt
    }
}

/// The one rule both stores apply, inside their transaction: an update must extend what is held.
enum KELUpdateRule {
    static func outcome(stored: [String], offered: [String]) -> KELUpdateOutcome {
        for (sn, (mine, theirs)) in zip(stored, offered).enumerated() where mine != theirs { return .forked(atSN: sn) }
        if offered.count == stored.count { return .identical }
        return offered.count > stored.count ? .extended(by: offered.count - stored.count) : .regressed(by: stored.count - offered.count)
    }

    /// The SAIDs as stored: one text column, space-separated (SAIDs are base64url, no spaces).
    static func join(_ saids: [String]) -> String { saids.joined(separator: " ") }
    static func split(_ text: String) -> [String] { text.split(separator: " ").map(String.init) }
}
