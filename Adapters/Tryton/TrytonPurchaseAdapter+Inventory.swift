public import AdapterKit
public import CausewayCore

/// Reconciliation: the purchases this adapter created (their `reference` is a Causeway
/// idempotency key, `sha256:…/N`), read back with their lines.
extension TrytonPurchaseAdapter: LegacyInventory {
    /// Every purchase whose reference has the shape of a Causeway key — also those of keys the
    /// store does not hold (orphans) and second purchases of one key (duplicates). Purchases
    /// typed in by hand with other references are not Causeway's and are not listed.
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
                return LegacyDocument(idempotencyKey: key, agreementDigest: String(key.prefix { $0 != "/" }),
                                      reference: Self.reference(state, state.number == nil ? .draft : .quote),
                                      fields: ["row": .object(row), "children": ["lines": .array(lineObjects)]])
            }
        } catch {
            throw InventoryError(Self.outcome(error, .reading).reason ?? "Tryton cannot be asked")
        }
    }

    /// Compared: the supplier, the description (the order's reference), the currency and order
    /// date where the action sets them, the workflow state reached, and each line's product,
    /// quantity and unit price (by value). Units are not compared: the mapping may name a unit
    /// by its name where Tryton answers with its symbol.
    public func differences(_ document: LegacyDocument, from action: LegacyAction) -> [FieldDifference] {
        guard case .erpPurchaseOrder(let order) = action.payload else {
            return [FieldDifference(field: "kind", expected: action.kind.rawValue, actual: LegacyAction.Kind.erpPurchaseOrder.rawValue)]
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
        var differences = RowsComparison.differences(document.fields, from: shape)
        let state = document.fields["row"]?["state"]?.stringValue ?? "?"
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
