public import CausewayCore

/// What the evaluation of a mapping knows besides the agreement: pinned values only, no clock.
public struct MappingContext: Sendable {
    public let digest: ContentDigest
    public let partner: String
    /// For a change or cancellation: its place in the chain and the documents it follows.
    public var revision: Revision?

    /// What a change's or cancellation's mapping sees besides the document itself: the `on_change` /
    /// `on_cancel` sections read `previous:` (the version it follows) and `original:` (version 1).
    public struct Revision: Sendable {
        public let kind: AgreementRevision.Kind
        public let version: Int
        public let amends: ContentDigest
        public let supersedes: ContentDigest
        /// The version it follows, without its proofs.
        public let previous: JSONValue
        /// The original agreement, without its proofs.
        public let original: JSONValue
        /// What the legacy systems answered for the versions before it: action name → the legacy
        /// reference (`{system, kind, id}`) its latest delivered version produced, read as `legacy:`.
        /// An action not yet delivered is absent.
        public var legacy: JSONValue = [:]

        public init(kind: AgreementRevision.Kind, version: Int, amends: ContentDigest, supersedes: ContentDigest, previous: JSONValue,
                    original: JSONValue, legacy: JSONValue = [:]) {
            self.legacy = legacy
            self.kind = kind
            self.version = version
            self.amends = amends
            self.supersedes = supersedes
            self.previous = previous
            self.original = original
        }
    }

    public init(digest: ContentDigest, partner: String, revision: Revision? = nil) {
        self.digest = digest
        self.partner = partner
        self.revision = revision
    }
}

/// Why a mapping could not produce its actions for one agreement.
///
/// It points at three places: the mapping (file:line:column), the input (an RFC 9535 normalized
/// path into the agreement) and the output (action and field).
public struct MappingFailure: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable code: `mapping.value_missing`, `mapping.lookup_missing`, `mapping.assertion_failed`, …
    public let code: String
    public let message: String
    public let location: SourceLocation
    /// Where in the agreement, when known: `$['lines'][1]['sku']`.
    public let inputPath: String?
    /// The action and field being produced, e.g. `purchase-order.lines[2].item_code`.
    public let target: String?

    public var description: String {
        var text = "\(location): \(message) [\(code)]"
        if let inputPath { text += " input \(inputPath)" }
        if let target { text += " output \(target)" }
        return text
    }

    /// The failure as JSON (for `--json` and fixtures).
    public var json: JSONValue {
        var object: JSONObject = ["code": .string(code), "message": .string(message), "location": .string(location.description)]
        if let inputPath { object["path"] = .string(inputPath) }
        if let target { object["target"] = .string(target) }
        return .object(object)
    }
}

/// The actions a mapping produced for an agreement, or every reason it could not.
public struct MappingResult: Sendable {
    public let actions: [LegacyAction]
    public let failures: [MappingFailure]

    public var succeeded: Bool { failures.isEmpty }

    /// `{"actions": [...]}` or `{"errors": [...]}`.
    public var json: JSONValue {
        failures.isEmpty ? ["actions": .array(actions.map(\.json))] : ["errors": .array(failures.map(\.json))]
    }
}
