import CausewayCore
import Foundation

/// What a `PurchaseAgreementChange` changed against the version it supersedes, computed from the
/// two stored documents for an order's timeline (Docs/dashboard.md).
///
/// Lines are matched by `sku` (the first line of a SKU in one version with the first of that SKU in
/// the other, the second with the second, …); a line only in the new version is *added*, one only
/// in the old is *removed*. Quantities, prices and totals are decimal strings compared as decimals
/// (`7.5` equals `7.50`), never as binary floating point; text is compared exactly.
struct TermsDiff: Sendable, Equatable {
    /// One difference of a field: its name in words and both values as written (nil: absent).
    struct Field: Sendable, Equatable {
        let name: String
        let was: String?
        let now: String?
    }

    /// One line's difference.
    enum Line: Sendable, Equatable {
        /// A line only in the new version.
        case added(sku: String, description: String, quantity: String, unit: String, unitPrice: String)
        /// A line only in the old version.
        case removed(sku: String, description: String, quantity: String, unit: String, unitPrice: String)
        /// A line in both whose fields differ.
        case changed(sku: String, description: String, fields: [Field])
    }

    var lines: [Line] = []
    /// Differences outside the lines: currency, total, delivery date, place and incoterm, payment terms.
    var terms: [Field] = []

    var isEmpty: Bool { lines.isEmpty && terms.isEmpty }

    /// The differences from `old` to `new` (two agreement documents).
    init(from old: JSONValue, to new: JSONValue) {
        let oldLines = old["lines"]?.arrayValue ?? []
        let newLines = new["lines"]?.arrayValue ?? []
        // The k-th line of a SKU in one version matches the k-th line of that SKU in the other.
        func keyed(_ lines: [JSONValue]) -> [(key: String, line: JSONValue)] {
            var seen: [String: Int] = [:]
            return lines.map { line in
                let sku = Self.text(line["sku"]) ?? ""
                seen[sku, default: 0] += 1
                return ("\(sku)\u{0}\(seen[sku]!)", line)
            }
        }
        let before = keyed(oldLines), after = keyed(newLines)
        let beforeByKey = Dictionary(before.map { ($0.key, $0.line) }, uniquingKeysWith: { a, _ in a })
        let afterKeys = Set(after.map(\.key))
        for (key, line) in after {
            guard let previous = beforeByKey[key] else {
                lines.append(.added(sku: Self.text(line["sku"]) ?? "", description: Self.text(line["description"]) ?? "",
                                    quantity: Self.text(line["quantity"]) ?? "", unit: Self.text(line["unit"]) ?? "",
                                    unitPrice: Self.text(line["unitPrice"]) ?? ""))
                continue
            }
            var fields: [Field] = []
            for (member, name, decimal) in [("quantity", "quantity", true), ("unit", "unit", false), ("unitPrice", "unit price", true),
                                            ("description", "description", false)] {
                if let field = Self.compare(name, previous[member], line[member], decimal: decimal) { fields.append(field) }
            }
            if !fields.isEmpty {
                lines.append(.changed(sku: Self.text(line["sku"]) ?? "", description: Self.text(line["description"]) ?? "", fields: fields))
            }
        }
        for (key, line) in before where !afterKeys.contains(key) {
            lines.append(.removed(sku: Self.text(line["sku"]) ?? "", description: Self.text(line["description"]) ?? "",
                                  quantity: Self.text(line["quantity"]) ?? "", unit: Self.text(line["unit"]) ?? "",
                                  unitPrice: Self.text(line["unitPrice"]) ?? ""))
        }
        let pairs: [(String, JSONValue?, JSONValue?, Bool)] = [
            ("currency", old["currency"], new["currency"], false),
            ("total", old["total"], new["total"], true),
            ("delivery date", old["delivery"]?["date"], new["delivery"]?["date"], false),
            ("delivery place", old["delivery"]?["place"], new["delivery"]?["place"], false),
            ("incoterm", old["delivery"]?["incoterm"], new["delivery"]?["incoterm"], false),
            ("payment terms", old["payment"]?["terms"], new["payment"]?["terms"], false),
        ]
        for (name, was, now, decimal) in pairs {
            if let field = Self.compare(name, was, now, decimal: decimal) { terms.append(field) }
        }
    }

    /// A member's value as text: a string as written, a number or boolean as JSON writes it.
    static func text(_ value: JSONValue?) -> String? {
        switch value {
        case nil, .null?: nil
        case .string(let text)?: text
        case let other?: JSONWriter.string(other)
        }
    }

    /// A field's difference, or nil when both are the same (as decimals, when `decimal` and both parse).
    static func compare(_ name: String, _ was: JSONValue?, _ now: JSONValue?, decimal: Bool) -> Field? {
        let a = text(was), b = text(now)
        if a == b { return nil }
        if decimal, let a, let b, let x = DecimalText.parse(a), let y = DecimalText.parse(b), x == y { return nil }
        return Field(name: name, was: a, now: b)
    }
}
