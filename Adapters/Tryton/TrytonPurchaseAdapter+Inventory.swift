public import AdapterKit
public import CausewayCore
import Foundation

/// Reconciliation: the purchases this adapter created (their `reference` is a Causeway
/// idempotency key, `sha256:…/N`), read back with their lines, each with the version of its
/// agreement's chain it holds.
extension TrytonPurchaseAdapter: LegacyInventory {
    /// Every purchase whose reference has the shape of a Causeway key — also those of keys the
    /// store does not hold (orphans) and second purchases of one key (duplicates). Purchases
    /// typed in by hand with other references are not Causeway's and are not listed.
    ///
    /// The version a purchase holds comes from the changes applied to it: its validated
    /// amendments whose description is a Causeway key, and the cancellation marker attachments
    /// (`causeway-cancellation-vN.json`, `causeway-change-vN.json`), each key's version read from `expected`. The document's
    /// key is the latest version's key (the purchase's reference when none), its chain the
    /// original digest in the reference.
    public func inventory(expected: [ExpectedDocument]) async throws(InventoryError) -> [LegacyDocument] {
        guard expected.contains(where: { $0.action.kind == .erpPurchaseOrder }) else { return [] }
        do throws(TrytonFailure) {
            let purchases = try await connection.call("model.purchase.purchase.search_read", [
                [["reference", "like", "sha256:%"]], 0, .null, [["id", "ASC"]],
                ["id", "state", "number", "reference", "description", "party.code", "currency.code", "purchase_date", "lines"],
            ]).arrayValue ?? []
            let lineIDs = purchases.flatMap { $0["lines"]?.arrayValue ?? [] }
            let lines = lineIDs.isEmpty ? [] : try await connection.call("model.purchase.line.read", [
                .array(lineIDs), ["id", "purchase", "product.code", "quantity", "unit.symbol", "unit_price", "description"],
            ]).arrayValue ?? []
            let applied = try await appliedRevisions(purchases.compactMap { $0["id"]?.exactInt })
            let versions = Dictionary(expected.map { ($0.idempotencyKey, $0.version) }, uniquingKeysWith: max)
            let byPurchase = Dictionary(grouping: lines.sorted { ($0["id"]?.numberValue ?? 0) < ($1["id"]?.numberValue ?? 0) }) {
                $0["purchase"]?.exactInt ?? -1
            }
            return purchases.compactMap { purchase -> LegacyDocument? in
                guard let id = purchase["id"]?.exactInt, let key = purchase["reference"]?.stringValue else { return nil }
                var row: JSONObject = [
                    "supplier": Self.text(purchase["party."]?["code"]), "description": Self.text(purchase["description"]),
                    "currency": Self.text(purchase["currency."]?["code"]), "purchase_date": Self.dateText(purchase["purchase_date"]),
                    "state": Self.text(purchase["state"]),
                ]
                row["number"] = Self.text(purchase["number"])
                let lineObjects: [JSONValue] = (byPurchase[id] ?? []).map { line in
                    ["product": Self.text(line["product."]?["code"]), "quantity": line["quantity"]?.numberValue.map { .string(JSONWriter.string(.number($0))) } ?? .null,
                     "unit": Self.text(line["unit."]?["symbol"]), "unit_price": Self.text(line["unit_price"]?["decimal"] ?? line["unit_price"]),
                     "description": Self.text(line["description"])]
                }
                let state = PurchaseState(id: id, state: purchase["state"]?.stringValue ?? "?", number: purchase["number"]?.stringValue)
                // The latest version applied that the store knows; the original (1) when none.
                let latest = (applied[id] ?? []).compactMap { key in versions[key].map { (key: key, version: $0) } }.max { $0.version < $1.version }
                let held = latest ?? (key: key, version: 1)
                return LegacyDocument(idempotencyKey: held.key, agreementDigest: String(held.key.prefix { $0 != "/" }),
                                      reference: Self.reference(state, state.number == nil ? .draft : .quote),
                                      fields: ["row": .object(row), "children": ["lines": .array(lineObjects)]],
                                      chain: String(key.prefix { $0 != "/" }), version: held.version)
            }
        } catch {
            throw InventoryError(Self.outcome(error, .reading).reason ?? "Tryton cannot be asked")
        }
    }

    /// The Causeway keys of the changes applied to each purchase: validated amendments described
    /// with a key, and cancellation markers.
    func appliedRevisions(_ purchases: [Int]) async throws(TrytonFailure) -> [Int: [String]] {
        guard !purchases.isEmpty else { return [:] }
        var applied: [Int: [String]] = [:]
        let amendments: [JSONValue]
        do throws(TrytonFailure) {
            amendments = try await connection.call("model.purchase.amendment.search_read", [
                [["purchase", "in", .array(purchases.map { .number(Double($0)) })], ["state", "=", "validated"],
                 ["description", "like", "sha256:%"]], 0, .null, [["id", "ASC"]], ["purchase", "description"],
            ]).arrayValue ?? []
        } catch .serverError(let message) where message.contains("purchase.amendment") {
            amendments = []  // purchase_amendment is not activated: nothing was amended
        }
        for amendment in amendments {
            guard let purchase = amendment["purchase"]?.exactInt, let key = amendment["description"]?.stringValue else { continue }
            applied[purchase, default: []].append(key)
        }
        let markers = try await connection.call("model.ir.attachment.search_read", [
            [["resource", "in", .array(purchases.map { .string("\(Self.model),\($0)") })], ["OR", ["name", "like", "causeway-cancellation-v%"], ["name", "like", "causeway-change-v%"]],
             ["description", "like", "sha256:%"]], 0, .null, [["id", "ASC"]], ["resource", "description"],
        ]).arrayValue ?? []
        for marker in markers {
            guard let resource = marker["resource"]?.stringValue, let purchase = Int(resource.split(separator: ",").last ?? ""),
                  let key = marker["description"]?.stringValue
            else { continue }
            applied[purchase, default: []].append(key)
        }
        return applied
    }

    /// Compared: the supplier, the description (the order's reference), the currency and order
    /// date where the action sets them, the workflow state reached, and each line's product,
    /// quantity and unit price (by value). Units are not compared: the mapping may name a unit
    /// by its name where Tryton answers with its symbol.
    ///
    /// For a change (`amend`): the same, over the lines with a quantity (a dropped line stays at
    /// 0 in Tryton), the state against the `on_change` section's workflow. For a cancellation:
    /// the supplier, and the purchase cancelled or done with every line at 0.
    public func differences(_ document: LegacyDocument, from action: LegacyAction) -> [FieldDifference] {
        guard case .erpPurchaseOrder(let order) = action.payload else {
            return [FieldDifference(field: "kind", expected: action.kind.rawValue, actual: LegacyAction.Kind.erpPurchaseOrder.rawValue)]
        }
        let state = document.fields["row"]?["state"]?.stringValue ?? "?"
        var fields = document.fields
        if order.operation != .create, case .object(var object) = fields, case .object(var children)? = object["children"] {
            // Lines at quantity 0 are the dropped ones: not part of the terms in force.
            let lines = children["lines"]?.arrayValue ?? []
            children["lines"] = .array(lines.filter { line in (line["quantity"]?.stringValue).flatMap(DecimalText.parse).map { $0 != 0 } ?? true })
            object["children"] = .object(children)
            fields = .object(object)
        }
        if order.operation == .cancel {
            let supplier = document.fields["row"]?["supplier"]?.stringValue
            var differences: [FieldDifference] = []
            if supplier != order.supplier { differences.append(FieldDifference(field: "purchase.supplier", expected: order.supplier, actual: supplier)) }
            let open = fields["children"]?["lines"]?.arrayValue?.count ?? 0
            if !(state == "cancelled" || (state == "done" && open == 0)) {
                differences.append(FieldDifference(field: "purchase.state", expected: "cancelled, or done with every line at 0",
                                                   actual: open == 0 ? state : "\(state), \(open) line(s) with a quantity"))
            }
            return differences
        }
        var cells: [(column: String, value: CellValue)] = [("supplier", .text(order.supplier)), ("description", .text(order.reference))]
        if let currency = order.currency { cells.append(("currency", .text(currency))) }
        if let date = order.orderDate { cells.append(("purchase_date", .text(date, .date))) }
        let lines = order.lines.map { line in
            Row([("product", .text(line.product)), ("quantity", .text(line.quantity, .decimal(precision: 38, scale: 10))),
                 ("unit_price", .text(line.unitPrice, .decimal(precision: 38, scale: 10)))])
        }
        let shape = RowsAction(table: "purchase", key: [], returning: [], row: Row(cells),
                               children: [ChildRows(table: "lines", links: [], rows: lines)])
        var differences = RowsComparison.differences(fields, from: shape)
        if !Self.reached(order.workflow, state) {
            differences.append(FieldDifference(field: "purchase.state", expected: Self.wanted(order.workflow), actual: state))
        }
        return differences
    }

    static func wanted(_ workflow: ERPPurchaseOrderAction.Workflow) -> String {
        switch workflow {
        case .draft: "draft or later"
        case .quote: "quotation or later"
        case .confirm: "confirmed or later"
        }
    }

    static func text(_ value: JSONValue?) -> JSONValue {
        switch value {
        case .string(let s): .string(s)
        case .number(let n): .string(JSONWriter.string(.number(n)))
        default: .null
        }
    }

    /// Tryton's `{"__class__": "date", "year": …}` as `YYYY-MM-DD`.
    static func dateText(_ value: JSONValue?) -> JSONValue {
        guard let year = value?["year"]?.exactInt, let month = value?["month"]?.exactInt, let day = value?["day"]?.exactInt else { return .null }
        return .string(CalendarDate((year: year, month: month, day: day)).description)
    }
}
