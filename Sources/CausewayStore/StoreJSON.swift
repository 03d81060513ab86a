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

    /// The ids a search text can name as a reference label (`system:kind:id` or `kind:id`): the text
    /// after each `:` (an id may itself hold a colon), at most 8. The search then compares the label.
    static func referenceIDs(labelled text: String) -> [String] {
        var ids: [String] = []
        var index = text.startIndex
        while ids.count < 8, let colon = text[index...].firstIndex(of: ":") {
            index = text.index(after: colon)
            if index < text.endIndex { ids.append(String(text[index...])) }
        }
        return ids
    }

    /// `delivery.date` of a stored agreement document, for listings; nil when it has none or is
    /// not JSON.
    static func deliveryDate(_ document: [UInt8]) -> String? {
        guard let value = try? JSONReader(limits: .init(maxBytes: 64 << 20, maxDepth: 128)).read(document) else { return nil }
        return value["delivery"]?["date"]?.stringValue
    }

    static func digest(_ text: String) throws -> ContentDigest {
        guard let digest = ContentDigest(text) else { throw StoreError("a stored digest is unreadable") }
        return digest
    }
}
