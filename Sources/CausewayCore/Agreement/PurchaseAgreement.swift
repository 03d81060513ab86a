public import Foundation

/// The typed content of a `PurchaseAgreement`, version 1 (see Docs/agreement-format.md).
///
/// Build it with ``check(_:)``, which validates every rule and returns all findings; the value
/// is present when the rules that give it a shape hold (it may still carry findings such as a
/// total mismatch).
public struct PurchaseAgreement: Sendable, Hashable {
    public struct Line: Sendable, Hashable {
        public let sku: String
        public let description: String
        public let quantity: Decimal
        public let unit: String
        public let unitPrice: Decimal
    }

    public struct Delivery: Sendable, Hashable {
        public let incoterm: String?
        public let place: String?
        public let date: CalendarDate?
    }

    /// The type name in `type`.
    public static let typeName = "PurchaseAgreement"

    public let id: String
    public let issued: Timestamp
    public let currency: CurrencyCode
    public let lines: [Line]
    public let total: Decimal
    public let delivery: Delivery?
    public let paymentTerms: String?

    /// Checks the PurchaseAgreement v1 rules and returns the typed agreement with every finding.
    ///
    /// Rules: `id` a non-empty string; `issued` RFC 3339; `currency` ISO 4217; `lines` a non-empty
    /// array whose entries have string `sku`, `description`, `unit` and decimal strings
    /// `quantity` (> 0) and `unitPrice` (≥ 0); `total` a decimal string equal to the sum of
    /// quantity × unitPrice; optional `delivery` {`incoterm`, `place`, `date` (full-date)} and
    /// `payment` {`terms`}.
    public static func check(_ document: JSONObject) -> (agreement: PurchaseAgreement?, findings: [Finding]) {
        var findings: [Finding] = []
        func path(_ parts: String...) -> String { "$" + parts.map { "['\($0)']" }.joined() }

        // Paths are built only when a finding is reported: the happy path allocates no strings.
        func requiredString(_ key: String, in object: JSONObject, at prefix: @autoclosure () -> String) -> String? {
            switch object[key] {
            case nil:
                findings.append(Finding(.agreementFieldMissing, "'\(key)' is required", path: prefix() + "['\(key)']"))
            case .string(let s)? where !s.isEmpty:
                return s
            case let other?:
                findings.append(Finding(.agreementFieldInvalid, "'\(key)' must be a non-empty string, not \(other.typeName)",
                                        path: prefix() + "['\(key)']"))
            }
            return nil
        }

        func requiredDecimal(_ key: String, in object: JSONObject, at prefix: @autoclosure () -> String) -> Decimal? {
            var at: String { prefix() + "['\(key)']" }
            switch object[key] {
            case nil:
                findings.append(Finding(.agreementFieldMissing, "'\(key)' is required", path: at))
            case .string(let s)?:
                if let value = DecimalText.parse(s) { return value }
                findings.append(Finding(.agreementDecimalInvalid,
                                        "'\(key)' must be a plain decimal string such as \"7.85\" (no exponent, no leading zeros)",
                                        path: at))
            case .number?:
                findings.append(Finding(.agreementDecimalInvalid,
                                        "'\(key)' is a JSON number; money and quantities must be decimal strings such as \"7.85\"",
                                        path: at))
            case let other?:
                findings.append(Finding(.agreementDecimalInvalid, "'\(key)' must be a decimal string, not \(other.typeName)", path: at))
            }
            return nil
        }

        let id = requiredString("id", in: document, at: "$")
        var issued: Timestamp?
        if let text = requiredString("issued", in: document, at: "$") {
            issued = Timestamp(rfc3339: text)
            if issued == nil {
                findings.append(Finding(.agreementTimestampInvalid,
                                        "'issued' must be an RFC 3339 date-time such as 2026-11-23T10:15:02Z", path: path("issued")))
            }
        }
        var currency: CurrencyCode?
        if let text = requiredString("currency", in: document, at: "$") {
            currency = CurrencyCode(text)
            if currency == nil {
                findings.append(Finding(.agreementCurrencyInvalid, "'currency' must be an ISO 4217 code such as EUR",
                                        path: path("currency")))
            }
        }

        var lines: [Line] = []
        var linesComplete = true
        switch document["lines"] {
        case nil:
            findings.append(Finding(.agreementFieldMissing, "'lines' is required", path: path("lines")))
            linesComplete = false
        case .array(let array)? where !array.isEmpty:
            for (index, element) in array.enumerated() {
                var at: String { "$['lines'][\(index)]" }
                guard case .object(let line) = element else {
                    findings.append(Finding(.agreementFieldInvalid, "each line must be an object", path: at))
                    linesComplete = false
                    continue
                }
                let sku = requiredString("sku", in: line, at: at)
                let text = requiredString("description", in: line, at: at)
                let unit = requiredString("unit", in: line, at: at)
                let quantity = requiredDecimal("quantity", in: line, at: at)
                let unitPrice = requiredDecimal("unitPrice", in: line, at: at)
                if let quantity, quantity <= 0 {
                    findings.append(Finding(.agreementFieldInvalid, "'quantity' must be greater than zero", path: at + "['quantity']"))
                }
                if let unitPrice, unitPrice < 0 {
                    findings.append(Finding(.agreementFieldInvalid, "'unitPrice' must not be negative", path: at + "['unitPrice']"))
                }
                if let sku, let text, let unit, let quantity, let unitPrice {
                    lines.append(Line(sku: sku, description: text, quantity: quantity, unit: unit, unitPrice: unitPrice))
                } else {
                    linesComplete = false
                }
            }
        case .array?:
            findings.append(Finding(.agreementFieldInvalid, "'lines' must hold at least one line", path: path("lines")))
            linesComplete = false
        case let other?:
            findings.append(Finding(.agreementFieldInvalid, "'lines' must be an array, not \(other.typeName)", path: path("lines")))
            linesComplete = false
        }

        let total = requiredDecimal("total", in: document, at: "$")
        if let total, linesComplete {
            var sum = Decimal(0)
            for line in lines { sum += line.quantity * line.unitPrice }
            if sum != total {
                let scale = document["total"]?.stringValue.map(DecimalText.scale(of:)) ?? 2
                findings.append(Finding(.agreementTotalMismatch,
                                        "'total' is \(DecimalText.plain(total, minimumScale: scale)) but the lines' quantity × unitPrice add up to \(DecimalText.plain(sum, minimumScale: scale))",
                                        path: path("total")))
            }
        }

        var delivery: Delivery?
        switch document["delivery"] {
        case nil: break
        case .object(let object)?:
            var date: CalendarDate?
            for key in ["incoterm", "place"] {
                if let value = object[key], value.stringValue == nil {
                    findings.append(Finding(.agreementFieldInvalid, "'\(key)' must be a string", path: path("delivery", key)))
                }
            }
            if let value = object["date"] {
                date = value.stringValue.flatMap(CalendarDate.init)
                if date == nil {
                    findings.append(Finding(.agreementTimestampInvalid, "'date' must be an RFC 3339 full-date such as 2026-12-01",
                                            path: path("delivery", "date")))
                }
            }
            delivery = Delivery(incoterm: object["incoterm"]?.stringValue, place: object["place"]?.stringValue, date: date)
        case let other?:
            findings.append(Finding(.agreementFieldInvalid, "'delivery' must be an object, not \(other.typeName)", path: path("delivery")))
        }

        var terms: String?
        switch document["payment"] {
        case nil: break
        case .object(let object)?:
            if let value = object["terms"] {
                terms = value.stringValue
                if terms == nil {
                    findings.append(Finding(.agreementFieldInvalid, "'terms' must be a string", path: path("payment", "terms")))
                }
            }
        case let other?:
            findings.append(Finding(.agreementFieldInvalid, "'payment' must be an object, not \(other.typeName)", path: path("payment")))
        }

        guard let id, let issued, let currency, let total, linesComplete, !lines.isEmpty else { return (nil, findings) }
        let agreement = PurchaseAgreement(id: id, issued: issued, currency: currency, lines: lines, total: total,
                                          delivery: delivery, paymentTerms: terms)
        return (agreement, findings)
    }
}
