import Foundation

/// A signed agreement as it arrived: the JSON object, its identity, and its parties.
///
/// The identity is the ``digest``: `sha256:` + hex of SHA-256 over the JCS of the document
/// without its `proof` member. It is the key everywhere — store, idempotency, provenance, receipts.
public struct Agreement: Sendable {
    /// The whole document, proofs included, members in the order received.
    public let document: JSONObject
    /// JCS bytes of the document without `proof`: what every proof-set member's signature covers.
    public let canonicalBody: [UInt8]
    /// The agreement's identity.
    public let digest: ContentDigest

    /// Wraps a JSON value. Throws only when the value is not an object.
    public init(_ value: JSONValue) throws(AgreementError) {
        guard case .object(let object) = value else {
            throw AgreementError(message: "an agreement must be a JSON object, not \(value.typeName)")
        }
        self.init(object)
    }

    /// Wraps a JSON object.
    public init(_ object: JSONObject) {
        document = object
        canonicalBody = JCS.canonicalize(.object(object.removing("proof")))
        digest = ContentDigest(of: canonicalBody)
    }

    /// Reads and wraps the bytes of an agreement with the strict I-JSON reader.
    public init(bytes: [UInt8], limits: JSONReader.Limits = .default) throws(AgreementReadError) {
        let value: JSONValue
        do {
            value = try JSONReader(limits: limits).read(bytes)
        } catch {
            throw .json(error)
        }
        do {
            try self.init(value)
        } catch {
            throw .notAnAgreement(error)
        }
    }

    /// The parties' own id for the deal (`id`), when it is a string.
    public var id: String? { document["id"]?.stringValue }

    /// The document type (`type`) when it is a string; for arrays (as in W3C credentials) the last entry.
    public var type: String? {
        switch document["type"] {
        case .string(let s): s
        case .array(let a): a.last?.stringValue
        default: nil
        }
    }

    /// The `proof` member as a list: one object, an array of them, or empty.
    public var proofs: [JSONValue] {
        switch document["proof"] {
        case nil: []
        case .array(let array)?: array
        case let single?: [single]
        }
    }

    /// The roles in `parties`, in document order.
    public var parties: [Party] {
        guard case .object(let parties)? = document["parties"] else { return [] }
        return parties.map { role, value in
            Party(role: role, id: value["id"]?.stringValue, name: value["name"]?.stringValue)
        }
    }

    /// Whether the document has a `parties` member at all.
    public var hasParties: Bool { document["parties"] != nil }
}

/// A role in an agreement and the DID that holds it.
public struct Party: Sendable, Hashable {
    public let role: String
    /// The party's DID, or `nil` when the document does not give a string `id`.
    public let id: String?
    public let name: String?

    public init(role: String, id: String?, name: String? = nil) {
        self.role = role
        self.id = id
        self.name = name
    }
}

/// The value was JSON but not an agreement-shaped object.
public struct AgreementError: Error, Sendable, Hashable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// Why bytes could not be read as an agreement.
public enum AgreementReadError: Error, Sendable, Hashable, CustomStringConvertible {
    case json(JSONReadError)
    case notAnAgreement(AgreementError)

    public var description: String {
        switch self {
        case .json(let error): error.description
        case .notAnAgreement(let error): error.description
        }
    }

    /// The stable code: the JSON reader's code, or `agreement.not_an_object`.
    public var code: String {
        switch self {
        case .json(let error): error.code.description
        case .notAnAgreement: "agreement.not_an_object"
        }
    }
}
