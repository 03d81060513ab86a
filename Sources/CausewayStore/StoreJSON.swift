import CausewayCore

/// JSON columns are stored as compact text and read back with the strict reader.
enum StoreJSON {
    static func text(_ value: JSONValue) -> String { JSONWriter.string(value, style: .compact) }

    static func value(_ text: String?) throws -> JSONValue? {
        guard let text else { return nil }
        do {
            return try JSONReader(limits: .init(maxBytes: 64 << 20, maxDepth: 128)).read(text)
        } catch {
            throw StoreError("a stored JSON column is unreadable: \(error)")
        }
    }

    static func object(_ text: String) throws -> JSONObject {
        guard let object = try value(text)?.objectValue else { throw StoreError("a stored JSON column is not an object") }
        return object
    }

    /// `system:kind:id` of a stored legacy reference, for listings.
    static func referenceLabel(_ reference: JSONValue) -> String? {
        guard let id = reference["id"]?.stringValue else { return nil }
        return [reference["system"]?.stringValue, reference["kind"]?.stringValue, id].compactMap { $0 }.joined(separator: ":")
    }

    static func digest(_ text: String) throws -> ContentDigest {
        guard let digest = ContentDigest(text) else { throw StoreError("a stored digest is unreadable") }
        return digest
    }
}
