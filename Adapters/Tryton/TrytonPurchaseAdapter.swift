public import AdapterKit
import CausewayCore
import Foundation

/// Creates purchase orders in the Tryton ERP over its JSON-RPC interface, attaches the signed
/// agreement and the provenance record to them, and takes them through `quote` and `confirm`
/// as the action's workflow asks.
///
/// Idempotent by ``Delivery/idempotencyKey``, which becomes the purchase's `reference`: every
/// delivery searches for a purchase with that reference before creating one, and deliveries of
/// one key are serialised within the process (Tryton has no unique constraint on `reference`).
/// A purchase found half-way (created, not yet attached, quoted or confirmed) is continued, so
/// a retry after any failure never creates a second purchase. The legacy reference is the
/// purchase `number` Tryton assigns at `quote` (the record id for draft-only workflows).
///
/// Codes are resolved by search — the party by `code`, products by `code`, units by `symbol`
/// (then name), the currency by ISO `code` — and cached for `cache_seconds`.
public final class TrytonPurchaseAdapter: Adapter {
    public static let descriptor = AdapterDescriptor(
        kind: "tryton",
        summary: "Purchase orders in the Tryton ERP (JSON-RPC), with the agreement and provenance attached.",
        actionKinds: [.erpPurchaseOrder],
        schema: ConfigurationSchema([
            .init("url", .url, required: true, help: "the Tryton server and database, http://host:8000/DATABASE/"),
            .init("user", .string, required: true, help: "the Tryton login, a user in the Purchase group"),
            .init("password", .secret, required: true, help: "env:NAME or file:PATH with the user's password"),
            .init("company", .integer, help: "the company id in Tryton; default: the user's current company"),
            .init("timeout", .duration, default: "30", help: "seconds to wait for each call's answer"),
            .init("cache_seconds", .integer, default: "300", help: "seconds to keep resolved party, product, unit and currency codes"),
        ]))

    public var descriptor: AdapterDescriptor { Self.descriptor }

    /// The `system` in legacy references.
    static let system = "tryton"
    static let model = "purchase.purchase"
    /// Deliveries of one key, one at a time, across every Tryton adapter of the process.
    static let serializer = KeyedSerializer()

    let connection: TrytonConnection
    let parties: CodeCache<Party>
    let products: CodeCache<Product>
    let units: CodeCache<Unit>
    let currencies: CodeCache<Int>

    struct Party: Sendable { let id: Int, address: Int }
    struct Product: Sendable { let id: Int, unitCategory: Int, unitSymbol: String }
    struct Unit: Sendable { let id: Int, category: Int }

    /// - Parameters:
    ///   - url: the server and database, `http://127.0.0.1:8000/DATABASE/`.
    ///   - company: the company id; `nil` takes the user's current company.
    ///   - cacheLifetime: how long resolved codes are kept.
    public init(url: String, user: String, password: String, company: Int? = nil, timeout: Duration = .seconds(30),
                cacheLifetime: Duration = .seconds(300)) {
        connection = TrytonConnection(url: url, user: user, password: password, company: company, timeout: timeout)
        parties = CodeCache(lifetime: cacheLifetime)
        products = CodeCache(lifetime: cacheLifetime)
        units = CodeCache(lifetime: cacheLifetime)
        currencies = CodeCache(lifetime: cacheLifetime)
    }

    /// From a target's validated settings; `password` is the resolved secret.
    public convenience init(settings: AdapterSettings, password: String?) throws(AdapterConfigurationError) {
        var problems: [String] = []
        let url = settings["url"] ?? ""
        if !(url.hasPrefix("http://") || url.hasPrefix("https://")) || url.split(separator: "/").count < 3 {
            problems.append("url: expected the server and database, http://host:8000/DATABASE/")
        }
        if (settings["user"] ?? "").isEmpty { problems.append("user: required (the Tryton login)") }
        if (password ?? "").isEmpty { problems.append("password: required (env:NAME or file:PATH with the user's password)") }
        let company = settings["company"].flatMap { Int($0) }
        if settings["company"] != nil, company == nil { problems.append("company: must be a whole number (the company id)") }
        let timeout = DecimalText.parse(settings["timeout"] ?? "30").map { NSDecimalNumber(decimal: $0).doubleValue } ?? 30
        if timeout <= 0 { problems.append("timeout: must be more than 0 seconds") }
        let cache = Int(settings["cache_seconds"] ?? "300") ?? 300
        if cache < 0 { problems.append("cache_seconds: must not be negative") }
        guard problems.isEmpty else { throw AdapterConfigurationError(problems: problems) }
        self.init(url: url, user: settings["user"]!, password: password!, company: company,
                  timeout: .milliseconds(Int64(timeout * 1000)), cacheLifetime: .seconds(cache))
    }

    // MARK: Deliver

    public func deliver(_ delivery: Delivery) async -> DeliveryOutcome {
        guard case .erpPurchaseOrder(let order) = delivery.action.payload else {
            return .rejected("the tryton adapter performs erp-purchase-order actions, not \(delivery.action.kind.rawValue)")
        }
        if let problem = Self.validate(order) { return .rejected(problem) }
        guard order.operation != .create else {
            let key = connection.endpoint + " " + delivery.idempotencyKey
            return await Self.serializer.run(key) { await self.perform(order, delivery) }
        }
        // A change or cancellation: serialised with every delivery to the same purchase (the first version's key).
        guard let originalKey = Self.originalKey(delivery) else {
            return .rejected("an \(order.operation.rawValue) action needs the provenance's revision (the original's digest) "
                + "to find the purchase; deliver it through the gateway's change or cancellation intake")
        }
        return await Self.serializer.run(connection.endpoint + " " + originalKey) {
            await self.performRevision(order, delivery, originalKey: originalKey)
        }
    }

    /// Where a delivery is: while only reading, any failure leaves Tryton unchanged.
    enum Step: Sendable {
        case reading
        case writing(String)
    }

    func perform(_ order: ERPPurchaseOrderAction, _ delivery: Delivery) async -> DeliveryOutcome {
        var step = Step.reading
        do throws(TrytonFailure) {
            var purchase: PurchaseState
            if let existing = try await find(delivery.idempotencyKey) {
                if existing.state == "cancelled" {
                    return .rejected("purchase.purchase \(existing.number ?? String(existing.id)) with reference \(delivery.idempotencyKey) "
                        + "was cancelled in Tryton; reset it to draft there, or dead-letter this delivery")
                }
                purchase = existing
            } else {
                let values = try await purchaseValues(order, delivery)
                step = .writing("model.purchase.purchase.create")
                let created = try await connection.call("model.purchase.purchase.create", [.array([values])])
                guard let id = created[0]?.exactInt else { throw TrytonFailure.malformed("create answered without an id") }
                purchase = PurchaseState(id: id, state: "draft", number: nil)
            }

            // The documents, then the workflow; each step is skipped when already done.
            step = .writing("model.ir.attachment.create")
            try await attach(order, delivery, to: purchase.id)
            if order.workflow != .draft, purchase.state == "draft" {
                step = .writing("model.purchase.purchase.quote")
                _ = try await connection.call("model.purchase.purchase.quote", [[.number(Double(purchase.id))]])
                purchase = try await read(purchase.id)
            }
            if order.workflow == .confirm, purchase.state == "quotation" {
                step = .writing("model.purchase.purchase.confirm")
                _ = try await connection.call("model.purchase.purchase.confirm", [[.number(Double(purchase.id))]])
                purchase = try await read(purchase.id)
            }
            guard Self.reached(order.workflow, purchase.state) else {
                return .rejected("purchase.purchase \(purchase.number ?? String(purchase.id)) is in state '\(purchase.state)', "
                    + "which the \(order.workflow.rawValue) workflow cannot continue from")
            }
            return .delivered(Self.reference(purchase, order.workflow))
        } catch {
            return Self.outcome(error, step)
        }
    }

    /// The outcome of a failure at `step`.
    static func outcome(_ failure: TrytonFailure, _ step: Step) -> DeliveryOutcome {
        let writing: String? = if case .writing(let method) = step { method } else { nil }
        switch failure {
        case .invalid(let reason):
            return .rejected(reason)
        case .userError(let message):
            return .rejected("Tryton refused \(writing ?? "the request"): \(message)")
        case .notSent(let reason):
            return .retryable(reason + "; nothing was sent")
        case .noAnswer(let reason):
            guard writing != nil else { return .retryable(reason + "; nothing had been written yet") }
            return .unknown(reason + "; Tryton may have performed it, so the reference is looked up before any retry")
        case .loginRefused(let reason):
            return .retryable(reason + "; check the target's user and password settings")
        case .status(let code, let reason):
            switch code {
            case 429, 503: return .retryable(reason)
            case 500..<600: return writing == nil ? .retryable(reason) : .unknown(reason + "; the reference is looked up before any retry")
            case 401, 403: return .retryable(reason + "; check that the target's user is in the Purchase group and may use this company")
            default: return .rejected(reason + "; check the target's url")
            }
        case .serverError(let message):
            // Tryton rolled the call back. Lock and concurrency conflicts pass; other errors repeat.
            let transient = ["ConcurrencyException", "database is locked", "could not serialize", "deadlock", "TimeOut"]
            if transient.contains(where: message.contains) { return .retryable("Tryton: \(message)") }
            return .rejected("Tryton failed on \(writing ?? "a read"): \(message)")
        case .malformed(let reason):
            return writing == nil ? .retryable(reason) : .unknown(reason + "; the reference is looked up before any retry")
        }
    }

    // MARK: Lookup

    public func lookup(_ delivery: Delivery) async -> LookupResult {
        guard case .erpPurchaseOrder(let order) = delivery.action.payload else { return .notFound }
        guard order.operation == .create else { return await lookupRevision(order, delivery) }
        do throws(TrytonFailure) {
            guard let purchase = try await find(delivery.idempotencyKey) else { return .notFound }
            // A purchase left half-way is not the performed action: delivering again continues it.
            guard Self.reached(order.workflow, purchase.state),
                  try await missingAttachments(order, delivery, purchase.id).isEmpty
            else { return .notFound }
            return .found(Self.reference(purchase, order.workflow))
        } catch {
            return .unavailable(Self.outcome(error, .reading).reason ?? "Tryton cannot be asked")
        }
    }

    // MARK: Purchases

    struct PurchaseState: Sendable {
        let id: Int
        let state: String
        let number: String?
    }

    static let quoted: Set<String> = ["quotation", "confirmed", "processing", "done"]
    static let confirmed: Set<String> = ["confirmed", "processing", "done"]

    /// Whether a purchase in `state` has gone as far as `workflow` asks. Tryton moves a confirmed
    /// purchase on to `processing` at once, so `processing` and `done` count as confirmed.
    static func reached(_ workflow: ERPPurchaseOrderAction.Workflow, _ state: String) -> Bool {
        switch workflow {
        case .draft: state != "cancelled"
        case .quote: quoted.contains(state)
        case .confirm: confirmed.contains(state)
        }
    }

    static func reference(_ purchase: PurchaseState, _ workflow: ERPPurchaseOrderAction.Workflow) -> LegacyReference {
        let id = workflow == .draft ? String(purchase.id) : (purchase.number ?? String(purchase.id))
        return LegacyReference(system: system, kind: model, id: id)
    }

    /// The oldest purchase whose reference is `key`.
    func find(_ key: String) async throws(TrytonFailure) -> PurchaseState? {
        let found = try await connection.call("model.purchase.purchase.search_read", [
            [["reference", "=", .string(key)]], 0, 1, [["id", "ASC"]], ["id", "state", "number"],
        ])
        guard let record = found[0] else { return nil }
        return try Self.purchaseState(record)
    }

    func read(_ id: Int) async throws(TrytonFailure) -> PurchaseState {
        let records = try await connection.call("model.purchase.purchase.read", [[.number(Double(id))], ["id", "state", "number"]])
        guard let record = records[0] else { throw .malformed("purchase.purchase \(id) cannot be read back") }
        return try Self.purchaseState(record)
    }

    static func purchaseState(_ record: JSONValue) throws(TrytonFailure) -> PurchaseState {
        guard let id = record["id"]?.exactInt, let state = record["state"]?.stringValue else {
            throw .malformed("purchase.purchase answered without id and state")
        }
        return PurchaseState(id: id, state: state, number: record["number"]?.stringValue)
    }

    /// The `create` values: the resolved codes, Decimal prices, the key as reference.
    func purchaseValues(_ order: ERPPurchaseOrderAction, _ delivery: Delivery) async throws(TrytonFailure) -> JSONValue {
        let party = try await resolveParty(order.supplier)
        let products = try await resolveProducts(Set(order.lines.map(\.product)))
        let units = try await resolveUnits(Set(order.lines.map(\.unit)))
        var lines: [JSONValue] = []
        for (number, line) in order.lines.enumerated() {
            let product = products[line.product]!, unit = units[line.unit]!
            try Self.checkUnit(product, unit, line: number + 1, code: line.product, unitName: line.unit)
            var values: JSONObject = [
                "product": .number(Double(product.id)),
                // Tryton keeps quantities as floats; prices are Decimals and travel as Decimal objects.
                "quantity": .number(Double(line.quantity)!),
                "unit": .number(Double(unit.id)),
                "unit_price": Self.decimal(line.unitPrice),
            ]
            if let description = line.description { values["description"] = .string(description) }
            lines.append(.object(values))
        }
        var purchase: JSONObject = [
            "company": try await connection.context()["company"]!,
            "party": .number(Double(party.id)),
            "invoice_address": .number(Double(party.address)),
            "reference": .string(delivery.idempotencyKey),
            "description": .string(order.reference),
        ]
        if let code = order.currency { purchase["currency"] = .number(Double(try await resolveCurrency(code))) }
        if let date = order.orderDate.flatMap(CalendarDate.init) {
            purchase["purchase_date"] = ["__class__": "date", "year": .number(Double(date.year)), "month": .number(Double(date.month)),
                                         "day": .number(Double(date.day))]
        }
        purchase["lines"] = [["create", .array(lines)]]
        return .object(purchase)
    }

    /// A line's unit must be of the category of the product's purchase unit.
    static func checkUnit(_ product: Product, _ unit: Unit, line: Int, code: String, unitName: String) throws(TrytonFailure) {
        guard product.unitCategory == unit.category else {
            throw .invalid("line \(line): product \(code) is bought in units like '\(product.unitSymbol)' in Tryton, "
                + "and '\(unitName)' is not of that kind; fix the unit crosswalk or the product's purchase unit")
        }
    }

    /// Tryton's JSON form of a Decimal.
    static func decimal(_ text: String) -> JSONValue { ["__class__": "Decimal", "decimal": .string(text)] }

    /// Checks that need no ERP: lines, decimals, the date.
    static func validate(_ order: ERPPurchaseOrderAction) -> String? {
        // A cancellation's lines, if the mapping gives any, are not used.
        if order.operation == .cancel { return nil }
        if order.supplier.isEmpty { return "supplier: empty party code" }
        if order.lines.isEmpty { return "lines: a purchase order needs at least one line" }
        for (index, line) in order.lines.enumerated() {
            let at = "line \(index + 1)"
            if line.product.isEmpty { return "\(at): empty product code" }
            if line.unit.isEmpty { return "\(at): empty unit" }
            guard let quantity = DecimalText.parse(line.quantity), quantity > 0, Double(line.quantity) != nil else {
                return "\(at): quantity must be a decimal number above 0"
            }
            guard let price = DecimalText.parse(line.unitPrice), price >= 0 else { return "\(at): unitPrice must be a decimal number, 0 or more" }
        }
        if let date = order.orderDate, CalendarDate(date) == nil { return "orderDate: expected YYYY-MM-DD" }
        return nil
    }

    // MARK: Attachments

    /// The attachment name of each document; a change's or cancellation's carry its version
    /// (`causeway-signed-agreement-v2.json`), so every version's documents sit beside the first's.
    static func attachmentName(_ attachment: ERPPurchaseOrderAction.Attachment, version: Int? = nil) -> String {
        let suffix = version.map { "-v\($0)" } ?? ""
        return switch attachment {
        case .agreement: "causeway-signed-agreement\(suffix).json"
        case .provenance: "causeway-provenance\(suffix).json"
        }
    }

    func missingAttachments(_ order: ERPPurchaseOrderAction, _ delivery: Delivery, _ id: Int, version: Int? = nil) async throws(TrytonFailure)
        -> [ERPPurchaseOrderAction.Attachment]
    {
        guard !order.attachments.isEmpty else { return [] }
        let existing = try await connection.call("model.ir.attachment.search_read", [
            [["resource", "=", .string("\(Self.model),\(id)")]], 0, .null, .null, ["name"],
        ])
        let names = Set((existing.arrayValue ?? []).compactMap { $0["name"]?.stringValue })
        var missing: [ERPPurchaseOrderAction.Attachment] = []
        for attachment in order.attachments where !names.contains(Self.attachmentName(attachment, version: version)) && !missing.contains(attachment) {
            missing.append(attachment)
        }
        return missing
    }

    /// Attaches the documents the purchase does not have yet, in one call; `version` for a change's or cancellation's.
    func attach(_ order: ERPPurchaseOrderAction, _ delivery: Delivery, version: Int? = nil, to id: Int) async throws(TrytonFailure) {
        let missing = try await missingAttachments(order, delivery, id, version: version)
        guard !missing.isEmpty else { return }
        let records: [JSONValue] = missing.map { attachment in
            let bytes = attachment == .agreement ? delivery.signedAgreement : delivery.provenance.canonicalBytes
            return [
                "name": .string(Self.attachmentName(attachment, version: version)),
                "type": "data",
                "resource": .string("\(Self.model),\(id)"),
                "description": .string(attachment == .agreement
                    ? "Signed \(version.map { "\(delivery.operation) v\($0) of agreement" } ?? "agreement") \(delivery.agreementID) (\(delivery.agreementDigest))"
                    : "Causeway provenance record for \(delivery.idempotencyKey)"),
                "data": ["__class__": "bytes", "base64": .string(Data(bytes).base64EncodedString())],
            ]
        }
        _ = try await connection.call("model.ir.attachment.create", [.array(records)])
    }

    // MARK: Codes

    func resolveParty(_ code: String) async throws(TrytonFailure) -> Party {
        if let cached = parties[code] { return cached }
        let found = try await connection.call("model.party.party.search_read", [
            [["code", "=", .string(code)]], 0, 1, .null, ["id", "addresses"],
        ])
        guard let record = found[0], let id = record["id"]?.exactInt else {
            throw .invalid("supplier: no party with the code '\(code)' in Tryton; create it there or fix the mapping's supplier code")
        }
        guard let address = record["addresses"]?[0]?.exactInt else {
            throw .invalid("supplier: the party '\(code)' has no address in Tryton; add an invoice address there")
        }
        let party = Party(id: id, address: address)
        parties.store(party, for: code)
        return party
    }

    func resolveProducts(_ codes: Set<String>) async throws(TrytonFailure) -> [String: Product] {
        var resolved: [String: Product] = [:]
        var wanted: [String] = []
        for code in codes.sorted() {
            if let cached = products[code] { resolved[code] = cached } else { wanted.append(code) }
        }
        if !wanted.isEmpty {
            let found = try await connection.call("model.product.product.search_read", [
                [["code", "in", .array(wanted.map(JSONValue.string))]], 0, .null, .null,
                ["id", "code", "purchasable", "purchase_uom.category", "purchase_uom.symbol"],
            ])
            for record in found.arrayValue ?? [] {
                guard let code = record["code"]?.stringValue, let id = record["id"]?.exactInt else { continue }
                guard record["purchasable"]?.boolValue == true else {
                    throw .invalid("product \(code) is not purchasable in Tryton; mark it purchasable there")
                }
                guard let category = record["purchase_uom."]?["category"]?.exactInt else {
                    throw .invalid("product \(code) has no purchase unit in Tryton")
                }
                let product = Product(id: id, unitCategory: category,
                                      unitSymbol: record["purchase_uom."]?["symbol"]?.stringValue ?? "?")
                products.store(product, for: code)
                resolved[code] = product
            }
        }
        let unknown = codes.filter { resolved[$0] == nil }.sorted()
        if !unknown.isEmpty {
            throw .invalid("no product with the code \(unknown.map { "'\($0)'" }.joined(separator: ", ")) in Tryton; "
                + "create it there or fix the mapping's product crosswalk")
        }
        return resolved
    }

    func resolveUnits(_ names: Set<String>) async throws(TrytonFailure) -> [String: Unit] {
        var resolved: [String: Unit] = [:]
        for name in names.sorted() {
            if let cached = units[name] {
                resolved[name] = cached
                continue
            }
            let found = try await connection.call("model.product.uom.search_read", [
                ["OR", ["symbol", "=", .string(name)], ["name", "=", .string(name)]], 0, .null, [["id", "ASC"]],
                ["id", "symbol", "category"],
            ])
            let records = found.arrayValue ?? []
            // A symbol match wins over a name match.
            guard let record = records.first(where: { $0["symbol"]?.stringValue == name }) ?? records.first,
                  let id = record["id"]?.exactInt, let category = record["category"]?.exactInt
            else {
                throw .invalid("no unit with the symbol or name '\(name)' in Tryton; fix the mapping's unit crosswalk")
            }
            let unit = Unit(id: id, category: category)
            units.store(unit, for: name)
            resolved[name] = unit
        }
        return resolved
    }

    func resolveCurrency(_ code: String) async throws(TrytonFailure) -> Int {
        if let cached = currencies[code] { return cached }
        let found = try await connection.call("model.currency.currency.search", [[["code", "=", .string(code)]], 0, 1, .null])
        guard let id = found[0]?.exactInt else {
            throw .invalid("currency: no currency with the code '\(code)' in Tryton; activate it there")
        }
        currencies.store(id, for: code)
        return id
    }
}
