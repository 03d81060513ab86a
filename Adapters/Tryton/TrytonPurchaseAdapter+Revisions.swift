import AdapterKit
import CausewayCore
import Foundation

/// Changes and cancellations: the `amend` and `cancel` operations of ``ERPPurchaseOrderAction``,
/// applied to the purchase the first version created.
///
/// - The purchase is found by the **first version's idempotency key** — `revision.amends` of the
///   delivery's provenance and the action's index, `sha256:<original digest>/N` — which the create
///   path wrote into the purchase's `reference`. The action's own `reference` (the agreement id)
///   is not used: it is not unique (a re-signed agreement keeps its id) and it is only the
///   purchase's `description`.
/// - A confirmed purchase (`processing` or `done`) is changed by one `purchase.amendment`
///   (Tryton's purchase_amendment module) whose `description` is **this delivery's idempotency
///   key**: every delivery looks that amendment up first (validated: done; draft: validate it).
/// - A cancellation of a `processing` purchase is one amendment setting every line to quantity 0
///   (Tryton then shows the purchase `done` with total 0); a purchase in `draft` or `quotation` is
///   cancelled through Tryton's `cancel`, and marked with an attachment whose `description` is the key.
/// - Tryton accepts amendments after goods were received or invoiced and then breaks its own
///   documents, so the adapter refuses first when a move is done or on a supplier shipment, or an
///   invoice is no longer draft.
/// - Tryton 8.2 cannot add a line to a confirmed purchase: a change naming a product the purchase
///   does not have is refused.
extension TrytonPurchaseAdapter {
    /// The purchase a change or cancellation applies to, with what decides whether Tryton can still take it.
    struct PurchaseDetails: Sendable {
        let state: PurchaseState
        let reference: String?
        let shipmentState: String
        let total: Decimal?
        let lines: [Int]
        let moves: [Int]
        let invoices: [Int]

        /// How messages name it: its number, or `id N` before it has one.
        var name: String { state.number ?? "id \(state.id)" }
        /// Already cancelled for Causeway's purposes: Tryton's `cancelled`, or `done` with a total of 0
        /// (what the all-zero amendment leaves).
        var isCancelled: Bool { state.state == "cancelled" || (state.state == "done" && total == 0) }
    }

    /// A `purchase.amendment` found by its `description`.
    struct Amendment: Sendable {
        let id: Int
        let state: String
        let purchase: Int
    }

    /// A purchase line as Tryton has it: every field an amendment line restates.
    struct ExistingLine: Sendable {
        let id: Int
        let product: Int
        let productSupplier: JSONValue
        let quantity: Double
        let unit: Int
        let unitPrice: JSONValue
        let description: JSONValue
    }

    /// A line of the new terms with its codes resolved.
    struct WantedLine: Sendable {
        let productCode: String
        let product: Int
        let unit: Int
        let quantity: Double
        let unitPrice: String
        let description: String?
    }

    // MARK: Deliver

    /// The first version's idempotency key, which is the purchase's `reference`.
    static func originalKey(_ delivery: Delivery) -> String? {
        delivery.provenance.revision.map { delivery.action.idempotencyKey(for: $0.amends) }
    }

    /// The version a change or cancellation applies, for attachment names and the marker.
    static func version(_ order: ERPPurchaseOrderAction, _ delivery: Delivery) -> Int {
        order.version ?? delivery.provenance.revision?.version ?? 2
    }

    func performRevision(_ order: ERPPurchaseOrderAction, _ delivery: Delivery, originalKey: String) async -> DeliveryOutcome {
        let key = delivery.idempotencyKey
        let what = order.operation == .cancel ? "cancellation" : "change"
        var step = Step.reading
        do throws(TrytonFailure) {
            // 1. Already applied, or half-way (created, not validated)?
            if let amendment = try await findAmendment(key) {
                let purchase = try await details(amendment.purchase)
                guard purchase.reference == originalKey else {
                    return .rejected("purchase.amendment \(amendment.id) marked \(key) amends purchase \(purchase.name), whose reference is not "
                        + "\(originalKey); correct it in Tryton, or dead-letter this delivery")
                }
                if amendment.state == "validated" { return .delivered(Self.revisionReference(purchase.state)) }
                if let refusal = try await settledInERP(purchase, what) { return .rejected(refusal) }
                step = .writing("model.purchase.amendment.validate_amendment")
                return try await validate(amendment.id, purchase: purchase.state.id)
            }

            // 2. The purchase the first version created.
            guard let found = try await find(originalKey) else {
                return .rejected("no purchase.purchase with reference \(originalKey) (the first version's purchase) in Tryton; "
                    + "it was deleted or never created — apply this \(what) in the ERP, or dead-letter this delivery")
            }
            let purchase = try await details(found.id)
            let version = Self.version(order, delivery)

            if order.operation == .cancel {
                if purchase.isCancelled {
                    step = .writing("model.ir.attachment.create")
                    try await attach(order, delivery, version: version, to: purchase.state.id)
                    try await mark(delivery, .cancel, version: version, state: purchase.state.state, purchase: purchase.state.id)
                    return .delivered(Self.revisionReference(purchase.state))
                }
                switch purchase.state.state {
                case "draft", "quotation", "confirmed":
                    step = .writing("model.ir.attachment.create")
                    try await attach(order, delivery, version: version, to: purchase.state.id)
                    // `cancel` exists only from draft and quotation; `confirmed` goes back to draft first.
                    if purchase.state.state == "confirmed" { try await call("draft", on: purchase.state.id, step: &step) }
                    try await call("cancel", on: purchase.state.id, step: &step)
                    step = .writing("model.ir.attachment.create")
                    try await mark(delivery, .cancel, version: version, state: "cancelled", purchase: purchase.state.id)
                    return .delivered(Self.revisionReference(try await read(purchase.state.id)))
                case "processing", "done":
                    break
                default:
                    return .rejected("purchase \(purchase.name) is in state '\(purchase.state.state)' in Tryton, "
                        + "from which the adapter cannot cancel it; cancel it in the ERP, or dead-letter this delivery")
                }
            } else if ["draft", "quotation"].contains(purchase.state.state) {
                // Not confirmed yet: Tryton takes the new lines directly (added products too); the marker says it was done.
                if try await marker(key, purchase: purchase.state.id) { return .delivered(Self.revisionReference(purchase.state)) }
                let operations = Self.draftLineOperations(existing: try await existingLines(purchase.lines), wanted: try await wantedLines(order))
                step = .writing("model.ir.attachment.create")
                try await attach(order, delivery, version: version, to: purchase.state.id)
                if purchase.state.state == "quotation" { try await call("draft", on: purchase.state.id, step: &step) }
                if !operations.isEmpty { try await call("write", on: purchase.state.id, ["lines": .array(operations)], step: &step) }
                // A purchase that was quoted keeps its number in draft: quoted again (also after an interrupted try).
                if purchase.state.number != nil { try await call("quote", on: purchase.state.id, step: &step) }
                let after = try await read(purchase.state.id)
                step = .writing("model.ir.attachment.create")
                try await mark(delivery, .amend, version: version, state: after.state, purchase: purchase.state.id)
                return .delivered(Self.revisionReference(after))
            } else if !["processing", "done"].contains(purchase.state.state) {
                return .rejected("purchase \(purchase.name) is in state '\(purchase.state.state)' in Tryton, "
                    + "from which the adapter cannot amend it — change it in the ERP, or dead-letter this delivery")
            }

            // 3. A confirmed purchase: refuse what Tryton would take but could not honour.
            if let refusal = try await settledInERP(purchase, what) { return .rejected(refusal) }
            let existing = try await existingLines(purchase.lines)
            let lines: [JSONValue]
            if order.operation == .cancel {
                lines = existing.filter { $0.quantity != 0 }.map { Self.amendmentLine($0, quantity: 0) }
            } else {
                let wanted = try await wantedLines(order)
                lines = try Self.amendmentLines(existing: existing, wanted: wanted)
            }

            // 4. The documents, then one amendment marked with the key, then its validation.
            step = .writing("model.ir.attachment.create")
            try await attach(order, delivery, version: version, to: purchase.state.id)
            step = .writing("model.purchase.amendment.create")
            let created = try await connection.call("model.purchase.amendment.create", [[[
                "purchase": .number(Double(purchase.state.id)), "description": .string(key),
                "lines": [["create", .array(lines)]],
            ]]])
            guard let amendment = created[0]?.exactInt else { throw .malformed("purchase.amendment.create answered without an id") }
            step = .writing("model.purchase.amendment.validate_amendment")
            return try await validate(amendment, purchase: purchase.state.id)
        } catch {
            return Self.outcome(Self.explained(error), step)
        }
    }

    /// Tryton's answers when the ERP is not set up for amendments, turned into reasons that say the fix.
    static func explained(_ failure: TrytonFailure) -> TrytonFailure {
        switch failure {
        case .serverError(let message) where message.contains("purchase.amendment"):
            // An unknown model: Tryton answers with its name only.
            .invalid("Tryton has no purchase.amendment model: activate the purchase_amendment module (trytond-purchase-amendment 8.2) "
                + "in the ERP, then re-drive this delivery")
        case .userError(let message) where message.contains("validate_amendment") && message.contains("not allowed"):
            .invalid("Tryton refused to validate the amendment (\(message)); put the target's user in the Purchase Amendment group, "
                + "then re-drive this delivery")
        default:
            failure
        }
    }

    /// The purchase's reference as the first delivery gave it: its number, or the record id of a
    /// purchase that never got one (a draft workflow). The section's own `workflow` is not used:
    /// a change does not move the purchase through the workflow again.
    static func revisionReference(_ purchase: PurchaseState) -> LegacyReference {
        LegacyReference(system: system, kind: model, id: purchase.number ?? String(purchase.id))
    }

    /// Calls `model.purchase.purchase.METHOD` on one purchase (with `values` for `write`), noting
    /// the step first: a lost answer is then `unknown`.
    func call(_ method: String, on id: Int, _ values: JSONValue? = nil, step: inout Step) async throws(TrytonFailure) {
        step = .writing("model.purchase.purchase.\(method)")
        _ = try await connection.call("model.purchase.purchase.\(method)", [[.number(Double(id))]] + (values.map { [$0] } ?? []))
    }

    /// Validates a draft amendment and answers with the purchase's reference.
    func validate(_ amendment: Int, purchase: Int) async throws(TrytonFailure) -> DeliveryOutcome {
        _ = try await connection.call("model.purchase.amendment.validate_amendment", [[.number(Double(amendment))]])
        return .delivered(Self.revisionReference(try await read(purchase)))
    }

    // MARK: Lookup

    /// Found when an amendment marked with the key is validated, or (a purchase that never reached
    /// processing) when the purchase carries the marker attachment and is cancelled (a
    /// cancellation) or not (a change).
    func lookupRevision(_ order: ERPPurchaseOrderAction, _ delivery: Delivery) async -> LookupResult {
        guard let originalKey = Self.originalKey(delivery) else { return .notFound }
        do throws(TrytonFailure) {
            if let amendment = try await findAmendment(delivery.idempotencyKey) {
                guard amendment.state == "validated" else { return .notFound }
                let purchase = try await read(amendment.purchase)
                return .found(Self.revisionReference(purchase))
            }
            guard let found = try await find(originalKey) else { return .notFound }
            let purchase = try await details(found.id)
            // A cancellation leaves the purchase cancelled; a change of a draft or quotation leaves it open.
            guard order.operation == .cancel ? purchase.isCancelled : purchase.state.state != "cancelled",
                  try await marker(delivery.idempotencyKey, purchase: found.id)
            else { return .notFound }
            return .found(Self.revisionReference(purchase.state))
        } catch {
            return .unavailable(Self.outcome(Self.explained(error), .reading).reason ?? "Tryton cannot be asked")
        }
    }

    // MARK: Reading

    /// The amendment whose `description` is `key`: a validated one if there is one, else the oldest.
    func findAmendment(_ key: String) async throws(TrytonFailure) -> Amendment? {
        let found = try await connection.call("model.purchase.amendment.search_read", [
            [["description", "=", .string(key)]], 0, 10, [["id", "ASC"]], ["id", "state", "purchase"],
        ])
        let amendments = (found.arrayValue ?? []).compactMap { record -> Amendment? in
            guard let id = record["id"]?.exactInt, let state = record["state"]?.stringValue, let purchase = record["purchase"]?.exactInt
            else { return nil }
            return Amendment(id: id, state: state, purchase: purchase)
        }
        return amendments.first { $0.state == "validated" } ?? amendments.first
    }

    func details(_ id: Int) async throws(TrytonFailure) -> PurchaseDetails {
        let records = try await connection.call("model.purchase.purchase.read", [
            [.number(Double(id))], ["id", "state", "number", "reference", "shipment_state", "total_amount", "lines", "moves", "invoices"],
        ])
        guard let record = records[0] else { throw .malformed("purchase.purchase \(id) cannot be read") }
        let ids = { (field: String) in (record[field]?.arrayValue ?? []).compactMap(\.exactInt) }
        return PurchaseDetails(state: try Self.purchaseState(record), reference: record["reference"]?.stringValue,
                               shipmentState: record["shipment_state"]?.stringValue ?? "none",
                               total: (record["total_amount"]?["decimal"]?.stringValue).flatMap(DecimalText.parse),
                               lines: ids("lines"), moves: ids("moves"), invoices: ids("invoices"))
    }

    /// Why Tryton can no longer take a change or cancellation of `purchase`, or nil: a stock move
    /// done (goods received) or on a supplier shipment, a supplier invoice no longer draft, or a
    /// shipment state other than none/waiting.
    func settledInERP(_ purchase: PurchaseDetails, _ what: String) async throws(TrytonFailure) -> String? {
        var findings: [String] = []
        if !purchase.moves.isEmpty {
            let moves = try await connection.call("model.stock.move.read", [
                .array(purchase.moves.map { .number(Double($0)) }), ["id", "state", "shipment"],
            ]).arrayValue ?? []
            let done = moves.filter { $0["state"]?.stringValue == "done" }.compactMap { $0["id"]?.exactInt }.sorted()
            let shipped = moves.filter { move in
                !["done", "cancelled"].contains(move["state"]?.stringValue ?? "") && move["shipment"]?.stringValue != nil
            }
            if !done.isEmpty { findings.append("goods already received (\(Self.list("move", done)) done)") }
            if !shipped.isEmpty {
                let shipments = Set(shipped.compactMap { $0["shipment"]?.stringValue }).sorted()
                findings.append("goods on a supplier shipment (\(Self.list("move", shipped.compactMap { $0["id"]?.exactInt }.sorted())) "
                    + "in \(shipments.prefix(3).joined(separator: ", ")))")
            }
        }
        if findings.isEmpty, !["none", "waiting"].contains(purchase.shipmentState) {
            findings.append("shipment state '\(purchase.shipmentState)'")
        }
        if !purchase.invoices.isEmpty {
            let invoices = try await connection.call("model.account.invoice.read", [
                .array(purchase.invoices.map { .number(Double($0)) }), ["id", "state", "number"],
            ]).arrayValue ?? []
            for invoice in invoices where invoice["state"]?.stringValue != "draft" {
                let name = invoice["number"]?.stringValue ?? invoice["id"]?.exactInt.map { "id \($0)" } ?? "?"
                findings.append("supplier invoice \(name) is \(invoice["state"]?.stringValue ?? "not draft")")
            }
        }
        guard !findings.isEmpty else { return nil }
        return "purchase \(purchase.name): \(findings.joined(separator: "; ")); Tryton cannot take this \(what) — settle it in the ERP"
    }

    /// `move 12, 13` — at most five ids, then how many more.
    static func list(_ noun: String, _ ids: [Int]) -> String {
        let shown = ids.prefix(5).map(String.init).joined(separator: ", ")
        return "\(noun) \(shown)" + (ids.count > 5 ? " and \(ids.count - 5) more" : "")
    }

    /// The purchase's product lines (comments and subtotals left out).
    func existingLines(_ ids: [Int]) async throws(TrytonFailure) -> [ExistingLine] {
        guard !ids.isEmpty else { return [] }
        let records = try await connection.call("model.purchase.line.read", [
            .array(ids.map { .number(Double($0)) }),
            ["id", "type", "product", "product_supplier", "quantity", "unit", "unit_price", "description"],
        ]).arrayValue ?? []
        return try records.filter { ($0["type"]?.stringValue ?? "line") == "line" }.map { (record) throws(TrytonFailure) in
            guard let id = record["id"]?.exactInt, let product = record["product"]?.exactInt, let unit = record["unit"]?.exactInt else {
                throw .malformed("purchase.line answered without id, product and unit")
            }
            return ExistingLine(id: id, product: product, productSupplier: record["product_supplier"] ?? .null,
                                quantity: record["quantity"]?.numberValue ?? 0, unit: unit, unitPrice: record["unit_price"] ?? .null,
                                description: record["description"] ?? .null)
        }.sorted { $0.id < $1.id }
    }

    /// The new terms' lines, resolved by the create path's code (same crosswalk results, same unit check).
    func wantedLines(_ order: ERPPurchaseOrderAction) async throws(TrytonFailure) -> [WantedLine] {
        let products = try await resolveProducts(Set(order.lines.map(\.product)))
        let units = try await resolveUnits(Set(order.lines.map(\.unit)))
        var wanted: [WantedLine] = []
        for (number, line) in order.lines.enumerated() {
            let product = products[line.product]!, unit = units[line.unit]!
            try Self.checkUnit(product, unit, line: number + 1, code: line.product, unitName: line.unit)
            // `validate` checked that the quantity is a number.
            wanted.append(WantedLine(productCode: line.product, product: product.id, unit: unit.id, quantity: Double(line.quantity) ?? 0,
                                     unitPrice: line.unitPrice, description: line.description))
        }
        return wanted
    }

    // MARK: The amendment

    /// An amendment line of action `line` for `line`: Tryton copies product, product_supplier,
    /// quantity, unit, unit_price and description onto the purchase line — all of them, an absent
    /// one as empty — so the unchanged fields are restated as read.
    static func amendmentLine(_ line: ExistingLine, quantity: Double? = nil, unit: Int? = nil, unitPrice: JSONValue? = nil,
                              description: JSONValue? = nil) -> JSONValue {
        [
            "action": "line", "line": .number(Double(line.id)), "product": .number(Double(line.product)),
            "product_supplier": line.productSupplier, "quantity": .number(quantity ?? line.quantity),
            "unit": .number(Double(unit ?? line.unit)), "unit_price": unitPrice ?? line.unitPrice,
            "description": description ?? line.description,
        ]
    }

    /// The amendment lines that take `existing` to `wanted`: each wanted line is matched to an
    /// existing line of the same product (and unit, preferably), in order; a changed quantity,
    /// unit, unit price or description becomes a line of the amendment; an existing line no
    /// wanted line matched is set to quantity 0. A wanted product the purchase does not have
    /// cannot be added in Tryton 8.2 and is refused.
    static func amendmentLines(existing: [ExistingLine], wanted: [WantedLine]) throws(TrytonFailure) -> [JSONValue] {
        let matching = match(existing: existing, wanted: wanted)
        let added = matching.added.map { wanted[$0].productCode }
        if !added.isEmpty {
            let products = added.reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }.joined(separator: ", ")
            throw .invalid("Tryton 8.2 cannot add a line to a confirmed purchase (product \(products)); cancel and re-order, or add it in the ERP")
        }
        var lines: [JSONValue] = []
        for (current, line) in matching.pairs {
            guard let change = change(current, line) else { continue }
            lines.append(amendmentLine(current, quantity: line.quantity, unit: line.unit, unitPrice: change.unitPrice, description: change.description))
        }
        for line in matching.unused where line.quantity != 0 {
            lines.append(amendmentLine(line, quantity: 0))
        }
        return lines
    }

    /// Wanted lines paired with existing lines of the same product — the same unit first, then
    /// any unit — in order, each existing line at most once; the wanted lines left (`added`, their
    /// indexes) and the existing lines left (`unused`).
    static func match(existing: [ExistingLine], wanted: [WantedLine])
        -> (pairs: [(existing: ExistingLine, wanted: WantedLine)], added: [Int], unused: [ExistingLine])
    {
        var match: [Int?] = Array(repeating: nil, count: wanted.count)
        var used: Set<Int> = []
        for sameUnit in [true, false] {
            for (index, line) in wanted.enumerated() where match[index] == nil {
                if let found = existing.firstIndex(where: { !used.contains($0.id) && $0.product == line.product && (!sameUnit || $0.unit == line.unit) }) {
                    match[index] = found
                    used.insert(existing[found].id)
                }
            }
        }
        let pairs = wanted.indices.compactMap { index in match[index].map { (existing: existing[$0], wanted: wanted[index]) } }
        return (pairs, wanted.indices.filter { match[$0] == nil }, existing.filter { !used.contains($0.id) })
    }

    /// What changes from `current` to `line`, or nil when nothing does: the unit price to write
    /// (restated when equal by value) and the description (kept when the new line has none).
    static func change(_ current: ExistingLine, _ line: WantedLine) -> (unitPrice: JSONValue, description: JSONValue)? {
        let currentPrice = (current.unitPrice["decimal"]?.stringValue).flatMap(DecimalText.parse)
        let priceChanged = currentPrice == nil || currentPrice != DecimalText.parse(line.unitPrice)
        let description: JSONValue = line.description.map(JSONValue.string) ?? current.description
        guard current.quantity != line.quantity || current.unit != line.unit || priceChanged || description != current.description else {
            return nil
        }
        return (priceChanged ? decimal(line.unitPrice) : current.unitPrice, description)
    }

    /// The `lines` operations that take a purchase still in draft to `wanted` in one `write`:
    /// changed lines written, lines no longer wanted deleted, new products created — a purchase
    /// in draft takes all three.
    static func draftLineOperations(existing: [ExistingLine], wanted: [WantedLine]) -> [JSONValue] {
        let matching = match(existing: existing, wanted: wanted)
        var operations: [JSONValue] = []
        for (current, line) in matching.pairs {
            guard let change = change(current, line) else { continue }
            operations.append(["write", [.number(Double(current.id))], [
                "quantity": .number(line.quantity), "unit": .number(Double(line.unit)), "unit_price": change.unitPrice,
                "description": change.description,
            ]])
        }
        if !matching.unused.isEmpty { operations.append(["delete", .array(matching.unused.map { .number(Double($0.id)) })]) }
        let created: [JSONValue] = matching.added.map { index in
            let line = wanted[index]
            var values: JSONObject = ["product": .number(Double(line.product)), "quantity": .number(line.quantity),
                                      "unit": .number(Double(line.unit)), "unit_price": decimal(line.unitPrice)]
            if let description = line.description { values["description"] = .string(description) }
            return .object(values)
        }
        if !created.isEmpty { operations.append(["create", .array(created)]) }
        return operations
    }

    // MARK: Marker

    /// The name of the marker attachment of a change or cancellation Tryton took without an
    /// amendment (a purchase in draft or quotation).
    static func markerName(_ operation: ERPPurchaseOrderAction.Operation, version: Int) -> String {
        "causeway-\(operation == .cancel ? "cancellation" : "change")-v\(version).json"
    }

    /// Whether the purchase carries an attachment whose description is `key`.
    func marker(_ key: String, purchase: Int) async throws(TrytonFailure) -> Bool {
        let found = try await connection.call("model.ir.attachment.search_read", [
            [["resource", "=", .string("\(Self.model),\(purchase)")], ["description", "=", .string(key)]], 0, 1, .null, ["id"],
        ])
        return found[0] != nil
    }

    /// Attaches the marker (unless there): `causeway-cancellation-vN.json` or `causeway-change-vN.json`,
    /// description = the key, content = the revision and the key (no terms).
    func mark(_ delivery: Delivery, _ operation: ERPPurchaseOrderAction.Operation, version: Int, state: String, purchase: Int)
        async throws(TrytonFailure)
    {
        guard try await !marker(delivery.idempotencyKey, purchase: purchase) else { return }
        var content: JSONObject = ["idempotencyKey": .string(delivery.idempotencyKey), "purchaseState": .string(state)]
        if let revision = delivery.revisionJSON { content["revision"] = revision }
        var bytes: [UInt8] = []
        JSONWriter.write(.object(content), to: &bytes, style: .compact)
        _ = try await connection.call("model.ir.attachment.create", [[[
            "name": .string(Self.markerName(operation, version: version)), "type": "data", "resource": .string("\(Self.model),\(purchase)"),
            "description": .string(delivery.idempotencyKey),
            "data": ["__class__": "bytes", "base64": .string(Data(bytes).base64EncodedString())],
        ]]])
    }
}
