import AdapterKit
import CausewayCore
import Foundation
import Testing
@testable import TrytonAdapter

/// Changes and cancellations against the real Tryton (purchase_amendment 8.2 activated by
/// scripts/tryton-start): each test creates and confirms a purchase through the adapter, then
/// delivers the change or cancellation of the same action and reads the purchase back over JSON-RPC.
@Suite("Tryton amendments and cancellations against a real Tryton", .serialized)
struct TrytonAmendmentTests {
    typealias Line = ERPPurchaseOrderAction.Line

    /// The multi-line fixture's lines as mapped: FAST-M8X40 1000 × 1.3000, FAST-M10X60 400 × 4.8500, FAST-NUT-M10 400 × 0.9500.
    static func multiLine(_ adapter: TrytonPurchaseAdapter, workflow: ERPPurchaseOrderAction.Workflow = .confirm) async throws
        -> (Delivery, LegacyReference)
    {
        let original = try NordicDeliveries.delivery(fixture: "multi-line") { $0.with(workflow: workflow) }
        let outcome = await adapter.deliver(original)
        #expect(outcome.outcomeClass == .delivered, "\(outcome)")
        return (original, try #require(outcome.reference))
    }

    @Test("a change amends the confirmed purchase: quantity and price changed, a dropped line at 0, one amendment marked with the key")
    func amend() async throws {
        let adapter = try await TrytonTestServer.adapter()
        let (original, created) = try await Self.multiLine(adapter)
        let lines = try NordicDeliveries.order(original).lines
        let change = try Revisions.delivery(of: original, version: 2, lines: [
            Line(product: "FAST-M8X40", quantity: "1200.000", unit: "u", unitPrice: "1.2500", description: lines[0].description),
            lines[1],
        ])
        #expect(await adapter.lookup(change) == .notFound)
        let outcome = await adapter.deliver(change)
        #expect(outcome.outcomeClass == .delivered, "\(outcome)")
        #expect(outcome.reference == created)

        let purchase = try #require(try await TrytonTestServer.purchases(original.idempotencyKey).first)
        #expect(purchase["state"]?.stringValue == "processing")
        #expect(try await Revisions.lines(purchase) == [
            "FAST-M8X40 1200.0 1.2500 \(lines[0].description ?? "")",
            "FAST-M10X60 400.0 4.8500 \(lines[1].description ?? "")",
            "FAST-NUT-M10 0.0 0.9500 \(lines[2].description ?? "")",
        ])
        let amendments = try await Revisions.amendments(change.idempotencyKey)
        #expect(amendments.count == 1)
        #expect(amendments.first?["state"]?.stringValue == "validated")
        #expect(amendments.first?["purchase"]?.exactInt == purchase["id"]?.exactInt)

        // The same change again: delivered, no second amendment; lookup finds it.
        let again = await adapter.deliver(change)
        #expect(again.outcomeClass == .delivered && again.reference == created, "\(again)")
        #expect(try await Revisions.amendments(change.idempotencyKey).count == 1)
        #expect(await adapter.lookup(change) == .found(created))
        // The change's documents sit beside the first version's.
        let names = try await Revisions.attachmentNames(purchase)
        #expect(names.isSuperset(of: ["causeway-signed-agreement.json", "causeway-signed-agreement-v2.json", "causeway-provenance-v2.json"]),
                "\(names)")

        // Version 3 brings the dropped nuts back (the zeroed line is matched again) and changes a description.
        let third = try Revisions.delivery(of: original, version: 3, lines: [
            Line(product: "FAST-M8X40", quantity: "1200.000", unit: "u", unitPrice: "1.2500", description: lines[0].description),
            Line(product: "FAST-M10X60", quantity: "400.000", unit: "u", unitPrice: "4.8500", description: "M10x60 A4-80"),
            Line(product: "FAST-NUT-M10", quantity: "150.000", unit: "u", unitPrice: "0.9000", description: lines[2].description),
        ])
        let thirdOutcome = await adapter.deliver(third)
        #expect(thirdOutcome.outcomeClass == .delivered && thirdOutcome.reference == created, "\(thirdOutcome)")
        #expect(try await Revisions.lines(purchase) == [
            "FAST-M8X40 1200.0 1.2500 \(lines[0].description ?? "")",
            "FAST-M10X60 400.0 4.8500 M10x60 A4-80",
            "FAST-NUT-M10 150.0 0.9000 \(lines[2].description ?? "")",
        ])
        let revision = try await TrytonTestServer.inspector().call("model.purchase.purchase.read", [[purchase["id"] ?? .null], ["revision"]])
        #expect(revision[0]?["revision"]?.exactInt == 2)
    }

    @Test("a change of a purchase not yet confirmed: a draft's lines written (a product added, two deleted), a quotation drafted, written and quoted again; the marker makes it idempotent",
          arguments: [ERPPurchaseOrderAction.Workflow.draft, .quote])
    func amendBeforeConfirmation(workflow: ERPPurchaseOrderAction.Workflow) async throws {
        let adapter = try await TrytonTestServer.adapter()
        let (original, created) = try await Self.multiLine(adapter, workflow: workflow)
        let lines = try NordicDeliveries.order(original).lines
        let change = try Revisions.delivery(of: original, version: 2, lines: [
            Line(product: "FAST-M8X40", quantity: "900.000", unit: "u", unitPrice: "1.2000", description: lines[0].description),
            Line(product: "FAST-WASH-M8", quantity: "2.500", unit: "kg", unitPrice: "12.0000", description: "Washers"),
        ])
        #expect(await adapter.lookup(change) == .notFound)
        let outcome = await adapter.deliver(change)
        #expect(outcome.outcomeClass == .delivered && outcome.reference == created, "\(outcome)")
        let purchase = try #require(try await TrytonTestServer.purchases(original.idempotencyKey).first)
        #expect(purchase["state"]?.stringValue == (workflow == .draft ? "draft" : "quotation"))
        let expected = ["FAST-M8X40 900.0 1.2000 \(lines[0].description ?? "")", "FAST-WASH-M8 2.5 12.0000 Washers"]
        #expect(try await Revisions.lines(purchase) == expected)
        #expect(await adapter.lookup(change) == .found(created))

        let again = await adapter.deliver(change)
        #expect(again.outcomeClass == .delivered && again.reference == created, "\(again)")
        let after = try #require(try await TrytonTestServer.purchases(original.idempotencyKey).first)
        #expect(after["lines"] == purchase["lines"])
        #expect(try await Revisions.amendments(change.idempotencyKey).isEmpty)
        let markers = try await TrytonTestServer.inspector().call("model.ir.attachment.search_read", [
            [["resource", "=", .string("purchase.purchase,\(purchase["id"]?.exactInt ?? 0)")], ["description", "=", .string(change.idempotencyKey)]],
            0, .null, .null, ["name"],
        ])
        #expect(markers.arrayValue?.map { $0["name"]?.stringValue } == ["causeway-change-v2.json"])
    }

    @Test("a change of a quotation interrupted after 'draft' is quoted again on retry")
    func resumesDraftedQuotation() async throws {
        let adapter = try await TrytonTestServer.adapter()
        let (original, created) = try await Self.multiLine(adapter, workflow: .quote)
        let purchase = try #require(try await TrytonTestServer.purchases(original.idempotencyKey).first)
        // The first try set it back to draft, then lost the connection.
        _ = try await TrytonTestServer.inspector().call("model.purchase.purchase.draft", [[purchase["id"] ?? .null]])
        let lines = try NordicDeliveries.order(original).lines
        let change = try Revisions.delivery(of: original, version: 2, lines: [lines[0], lines[1]])
        #expect(await adapter.lookup(change) == .notFound)
        let outcome = await adapter.deliver(change)
        #expect(outcome.outcomeClass == .delivered && outcome.reference == created, "\(outcome)")
        let after = try #require(try await TrytonTestServer.purchases(original.idempotencyKey).first)
        #expect(after["state"]?.stringValue == "quotation" && after["number"] == purchase["number"])
        #expect(try await Revisions.lines(after).map { $0.split(separator: " ")[0] } == ["FAST-M8X40", "FAST-M10X60"])
    }

    @Test("a change that adds a product the purchase does not have is rejected naming it; nothing is amended")
    func addingAProduct() async throws {
        let adapter = try await TrytonTestServer.adapter()
        let original = try NordicDeliveries.delivery(fixture: "one-line")
        #expect(await adapter.deliver(original).outcomeClass == .delivered)
        let line = try #require(try NordicDeliveries.order(original).lines.first)
        let change = try Revisions.delivery(of: original, version: 2, lines: [
            line, Line(product: "FAST-NUT-M10", quantity: "50.000", unit: "u", unitPrice: "0.9500", description: nil),
        ])
        let outcome = await adapter.deliver(change)
        #expect(outcome.outcomeClass == .rejected)
        #expect(outcome.reason == "Tryton 8.2 cannot add a line to a confirmed purchase (product FAST-NUT-M10); "
            + "cancel and re-order, or add it in the ERP", "\(outcome)")
        #expect(try await Revisions.amendments(change.idempotencyKey).isEmpty)
        #expect(await adapter.lookup(change) == .notFound)
    }

    @Test("a cancellation of a confirmed purchase sets every line to 0 in one amendment (state done, total 0); again: delivered, nothing more")
    func cancelConfirmed() async throws {
        let adapter = try await TrytonTestServer.adapter()
        let (original, created) = try await Self.multiLine(adapter)
        let cancel = try Revisions.delivery(of: original, version: 2, lines: nil)
        #expect(await adapter.lookup(cancel) == .notFound)
        let outcome = await adapter.deliver(cancel)
        #expect(outcome.outcomeClass == .delivered && outcome.reference == created, "\(outcome)")

        let purchase = try #require(try await TrytonTestServer.purchases(original.idempotencyKey).first)
        #expect(purchase["state"]?.stringValue == "done")
        #expect(try await Revisions.lines(purchase).allSatisfy { $0.split(separator: " ")[1] == "0.0" })
        let read = try await TrytonTestServer.inspector().call("model.purchase.purchase.read", [[purchase["id"] ?? .null],
                                                                                               ["total_amount", "moves", "invoices"]])
        #expect(read[0]?["total_amount"]?["decimal"]?.stringValue.flatMap(DecimalText.parse) == 0)
        #expect(read[0]?["moves"]?.arrayValue?.isEmpty == true && read[0]?["invoices"]?.arrayValue?.isEmpty == true)
        let amendments = try await Revisions.amendments(cancel.idempotencyKey)
        #expect(amendments.count == 1 && amendments.first?["state"]?.stringValue == "validated")

        #expect(await adapter.deliver(cancel).reference == created)
        #expect(try await Revisions.amendments(cancel.idempotencyKey).count == 1)
        #expect(await adapter.lookup(cancel) == .found(created))
    }

    @Test("a cancellation of a purchase still in quotation goes through Tryton's cancel and leaves the marker attachment")
    func cancelQuotation() async throws {
        let adapter = try await TrytonTestServer.adapter()
        let (original, created) = try await Self.multiLine(adapter, workflow: .quote)
        let cancel = try Revisions.delivery(of: original, version: 2, lines: nil)
        let outcome = await adapter.deliver(cancel)
        #expect(outcome.outcomeClass == .delivered && outcome.reference == created, "\(outcome)")
        let purchase = try #require(try await TrytonTestServer.purchases(original.idempotencyKey).first)
        #expect(purchase["state"]?.stringValue == "cancelled")
        let markers = try await TrytonTestServer.inspector().call("model.ir.attachment.search_read", [
            [["resource", "=", .string("purchase.purchase,\(purchase["id"]?.exactInt ?? 0)")], ["description", "=", .string(cancel.idempotencyKey)]],
            0, .null, .null, ["name"],
        ])
        #expect(markers.arrayValue?.map { $0["name"]?.stringValue } == ["causeway-cancellation-v2.json"])
        #expect(await adapter.lookup(cancel) == .found(created))
        #expect(await adapter.deliver(cancel).reference == created)
        #expect(try await Revisions.amendments(cancel.idempotencyKey).isEmpty)
    }

    @Test("once goods were received, a change and a cancellation are rejected naming the receipt, and Tryton is left as it was")
    func receivedGoods() async throws {
        let adapter = try await TrytonTestServer.adapter()
        let (original, _) = try await Self.multiLine(adapter)
        let purchase = try #require(try await TrytonTestServer.purchases(original.idempotencyKey).first)
        let moves = try await Revisions.receive(purchase)
        let before = try await Revisions.lines(purchase)

        let lines = try NordicDeliveries.order(original).lines
        let change = try Revisions.delivery(of: original, version: 2, lines: [lines[0]])
        let cancel = try Revisions.delivery(of: original, version: 2, lines: nil)
        for delivery in [change, cancel] {
            let outcome = await adapter.deliver(delivery)
            #expect(outcome.outcomeClass == .rejected, "\(outcome)")
            let reason = outcome.reason ?? ""
            #expect(reason.hasPrefix("purchase \(purchase["number"]?.stringValue ?? "?"): goods already received (move \(moves[0])"), "\(reason)")
            #expect(reason.contains("Tryton cannot take this \(delivery.operation == "cancel" ? "cancellation" : "change") — settle it in the ERP"))
            #expect(try await Revisions.amendments(delivery.idempotencyKey).isEmpty)
            #expect(await adapter.lookup(delivery) == .notFound)
        }
        #expect(try await Revisions.lines(purchase) == before)
        let state = try await TrytonTestServer.inspector().call("model.purchase.purchase.read", [[purchase["id"] ?? .null], ["state"]])
        #expect(state[0]?["state"]?.stringValue == "processing")
    }

    @Test("a posted supplier invoice refuses a change, naming the invoice")
    func postedInvoice() async throws {
        let adapter = try await TrytonTestServer.adapter()
        let (original, _) = try await Self.multiLine(adapter)
        let purchase = try #require(try await TrytonTestServer.purchases(original.idempotencyKey).first)
        let admin = try Revisions.admin()
        let invoices = try await TrytonTestServer.inspector().call("model.purchase.purchase.read", [[purchase["id"] ?? .null], ["invoices"]])
        let ids = try #require(invoices[0]?["invoices"])
        _ = try await admin.call("model.account.invoice.write", [ids, ["invoice_date": ["__class__": "date", "year": 2026, "month": 12, "day": 4]]])
        _ = try await admin.call("model.account.invoice.post", [ids])

        let change = try Revisions.delivery(of: original, version: 2, lines: [try NordicDeliveries.order(original).lines[0]])
        let outcome = await adapter.deliver(change)
        #expect(outcome.outcomeClass == .rejected, "\(outcome)")
        #expect(outcome.reason?.contains("supplier invoice") == true && outcome.reason?.contains("is posted") == true, "\(outcome)")
        #expect(try await Revisions.amendments(change.idempotencyKey).isEmpty)
    }

    @Test("an amendment left in draft (created, then a crash before validate) is validated on retry, never made twice")
    func resumesDraftAmendment() async throws {
        let adapter = try await TrytonTestServer.adapter()
        let (original, created) = try await Self.multiLine(adapter)
        let purchase = try #require(try await TrytonTestServer.purchases(original.idempotencyKey).first)
        let lines = try NordicDeliveries.order(original).lines
        let change = try Revisions.delivery(of: original, version: 2, lines: [
            Line(product: "FAST-M8X40", quantity: "900.000", unit: "u", unitPrice: "1.3000", description: lines[0].description),
            lines[1], lines[2],
        ])
        // The first attempt created the amendment with its line and lost the answer to validate.
        let existing = try await adapter.existingLines((purchase["lines"]?.arrayValue ?? []).compactMap(\.exactInt))
        let planned = try TrytonPurchaseAdapter.amendmentLines(existing: existing, wanted: try await adapter.wantedLines(try NordicDeliveries.order(change)))
        #expect(planned.count == 1)
        _ = try await TrytonTestServer.inspector().call("model.purchase.amendment.create", [[[
            "purchase": purchase["id"] ?? .null, "description": .string(change.idempotencyKey), "lines": [["create", .array(planned)]],
        ]]])
        #expect(await adapter.lookup(change) == .notFound)
        let outcome = await adapter.deliver(change)
        #expect(outcome.outcomeClass == .delivered && outcome.reference == created, "\(outcome)")
        let amendments = try await Revisions.amendments(change.idempotencyKey)
        #expect(amendments.map { $0["state"]?.stringValue } == ["validated"])
        #expect(try await Revisions.lines(purchase).first?.hasPrefix("FAST-M8X40 900.0 1.3000") == true)
        #expect(await adapter.lookup(change) == .found(created))
    }

    @Test("lookup of a change never delivered is notFound; a change whose first version has no purchase is rejected naming the key")
    func neverDelivered() async throws {
        let adapter = try await TrytonTestServer.adapter()
        let (original, _) = try await Self.multiLine(adapter)
        let lines = try NordicDeliveries.order(original).lines
        #expect(await adapter.lookup(try Revisions.delivery(of: original, version: 2, lines: lines)) == .notFound)
        #expect(await adapter.lookup(try Revisions.delivery(of: original, version: 2, lines: nil)) == .notFound)

        let unknown = try NordicDeliveries.delivery(fixture: "multi-line")  // never delivered
        for change in [try Revisions.delivery(of: unknown, version: 2, lines: lines), try Revisions.delivery(of: unknown, version: 2, lines: nil)] {
            let outcome = await adapter.deliver(change)
            #expect(outcome.outcomeClass == .rejected, "\(outcome)")
            #expect(outcome.reason?.hasPrefix("no purchase.purchase with reference \(unknown.idempotencyKey) ") == true, "\(outcome)")
            #expect(await adapter.lookup(change) == .notFound)
        }
    }

    @Test("reconciliation: the inventory names the version a purchase holds (its latest amendment's key), and compares it with that version's action")
    func inventory() async throws {
        let adapter = try await TrytonTestServer.adapter()
        let (original, _) = try await Self.multiLine(adapter)
        let (untouched, _) = try await Self.multiLine(adapter)
        let lines = try NordicDeliveries.order(original).lines
        let change = try Revisions.delivery(of: original, version: 2, lines: [
            Line(product: "FAST-M8X40", quantity: "1100.000", unit: "u", unitPrice: "1.3000", description: lines[0].description), lines[1],
        ])
        let cancel = try Revisions.delivery(of: original, version: 3, lines: nil)
        let expected = [ExpectedDocument(agreementDigest: original.agreementDigest, action: original.action),
                        ExpectedDocument(agreementDigest: change.agreementDigest, action: change.action, chain: original.agreementDigest, version: 2),
                        ExpectedDocument(agreementDigest: cancel.agreementDigest, action: cancel.action, chain: original.agreementDigest, version: 3),
                        ExpectedDocument(agreementDigest: untouched.agreementDigest, action: untouched.action)]
        func document(_ delivery: Delivery) async throws -> LegacyDocument {
            try #require(try await adapter.inventory(expected: expected).first { $0.chain == delivery.agreementDigest.description })
        }

        #expect(await adapter.deliver(change).outcomeClass == .delivered)
        let amended = try await document(original)
        #expect(amended.version == 2 && amended.idempotencyKey == change.idempotencyKey)
        #expect(adapter.differences(amended, from: change.action).isEmpty, "\(adapter.differences(amended, from: change.action))")
        #expect(adapter.differences(amended, from: original.action).map(\.field).contains { $0.hasPrefix("lines") }, "the first version's lines differ")
        #expect(!adapter.differences(amended, from: cancel.action).isEmpty)

        #expect(await adapter.deliver(cancel).outcomeClass == .delivered)
        let cancelled = try await document(original)
        #expect(cancelled.version == 3 && cancelled.idempotencyKey == cancel.idempotencyKey)
        #expect(adapter.differences(cancelled, from: cancel.action).isEmpty, "\(adapter.differences(cancelled, from: cancel.action))")
        // Against the change, the zeroed purchase has none of its lines.
        #expect(adapter.differences(cancelled, from: change.action).contains { $0.field.hasPrefix("lines") },
                "\(adapter.differences(cancelled, from: change.action))")

        let plain = try await document(untouched)
        #expect(plain.version == 1 && plain.idempotencyKey == untouched.idempotencyKey)
        #expect(adapter.differences(plain, from: untouched.action).isEmpty)
    }

    @Test("matching without I/O: same product and unit first, unchanged lines left out, unmatched lines zeroed, added products refused")
    func matching() throws {
        func existing(_ id: Int, _ product: Int, _ quantity: Double, _ unit: Int = 1, _ price: String = "2.00") -> TrytonPurchaseAdapter.ExistingLine {
            .init(id: id, product: product, productSupplier: .null, quantity: quantity, unit: unit,
                  unitPrice: TrytonPurchaseAdapter.decimal(price), description: .string("d\(id)"))
        }
        func wanted(_ product: Int, _ quantity: Double, _ unit: Int = 1, _ price: String = "2.0000", _ description: String? = nil)
            -> TrytonPurchaseAdapter.WantedLine
        {
            .init(productCode: "P\(product)", product: product, unit: unit, quantity: quantity, unitPrice: price, description: description)
        }
        let lines = [existing(10, 1, 5), existing(11, 2, 3), existing(12, 3, 0), existing(13, 4, 2, 7)]
        let amendment = try TrytonPurchaseAdapter.amendmentLines(existing: lines, wanted: [
            wanted(1, 5), wanted(2, 4, 1, "2.50"), wanted(4, 2, 8),
        ])
        // Line 10 unchanged (2.00 == 2.0000) is left out; 11 changes quantity and price; 13 changes unit; 12 is already 0.
        #expect(amendment.map { $0["line"]?.exactInt } == [11, 13])
        #expect(amendment[0]["quantity"]?.numberValue == 4 && amendment[0]["unit_price"]?["decimal"]?.stringValue == "2.50")
        #expect(amendment[0]["description"]?.stringValue == "d11" && amendment[0]["action"]?.stringValue == "line")
        #expect(amendment[1]["unit"]?.exactInt == 8 && amendment[1]["unit_price"]?["decimal"]?.stringValue == "2.00")

        let dropped = try TrytonPurchaseAdapter.amendmentLines(existing: lines, wanted: [wanted(2, 3, 1, "2.00", "new")])
        #expect(dropped.map { $0["line"]?.exactInt } == [11, 10, 13])
        #expect(dropped.map { $0["quantity"]?.numberValue } == [3, 0, 0])
        #expect(dropped[0]["description"]?.stringValue == "new")

        #expect(throws: TrytonFailure.invalid("Tryton 8.2 cannot add a line to a confirmed purchase (product P9); cancel and re-order, or add it in the ERP")) {
            try TrytonPurchaseAdapter.amendmentLines(existing: lines, wanted: [wanted(1, 5), wanted(9, 1)])
        }
        // A draft takes it all in one write: line 10 unchanged, 11 written, 12 and 13 deleted, product 9 created.
        let draft = TrytonPurchaseAdapter.draftLineOperations(existing: lines, wanted: [wanted(1, 5), wanted(2, 4), wanted(9, 1, 1, "3.00", "new")])
        #expect(draft.map { $0[0]?.stringValue } == ["write", "delete", "create"])
        #expect(draft[0][1] == [11] && draft[0][2]?["quantity"]?.numberValue == 4 && draft[0][2]?["description"]?.stringValue == "d11")
        #expect(draft[1][1] == [12, 13])
        #expect(draft[2][1]?[0]?["product"]?.exactInt == 9 && draft[2][1]?[0]?["unit_price"]?["decimal"]?.stringValue == "3.00")
        #expect(TrytonPurchaseAdapter.draftLineOperations(existing: [existing(10, 1, 5)], wanted: [wanted(1, 5)]).isEmpty)

        // Tryton without the module, or a user outside the Purchase Amendment group: the reason says the fix.
        let noModule = TrytonPurchaseAdapter.outcome(TrytonPurchaseAdapter.explained(.serverError("'purchase.amendment'")), .reading)
        #expect(noModule.outcomeClass == .rejected && noModule.reason?.contains("activate the purchase_amendment module") == true)
        let button = #"Calling button "validate_amendment on "Purchase Amendment" is not allowed."#
        let noGroup = TrytonPurchaseAdapter.outcome(TrytonPurchaseAdapter.explained(.userError(button)), .writing("validate_amendment"))
        #expect(noGroup.outcomeClass == .rejected && noGroup.reason?.contains("Purchase Amendment group") == true)
        #expect(TrytonPurchaseAdapter.explained(.notSent("x")) == .notSent("x"))
        // A second line of one product is an added line too.
        #expect(throws: TrytonFailure.self) { try TrytonPurchaseAdapter.amendmentLines(existing: lines, wanted: [wanted(1, 5), wanted(1, 2)]) }
    }
}

/// Changes and cancellations of the nordic-fasteners purchase-order action, as intake makes them,
/// and what the tests read back from Tryton.
enum Revisions {
    /// Version `version` of `original`'s agreement: a change to `lines`, or (nil) a cancellation.
    /// A digest of its own (its own key), provenance carrying `revision` (amends = the original).
    static func delivery(of original: Delivery, version: Int, lines: [ERPPurchaseOrderAction.Line]?) throws -> Delivery {
        let order = try NordicDeliveries.order(original)
        let cancellation = lines == nil
        let revised = ERPPurchaseOrderAction(supplier: order.supplier, reference: order.reference, currency: order.currency,
                                             orderDate: order.orderDate, lines: lines ?? [], workflow: .draft,
                                             attachments: order.attachments, operation: cancellation ? .cancel : .amend, version: version)
        let action = LegacyAction(index: original.action.index, name: original.action.name, target: original.action.target,
                                  payload: .erpPurchaseOrder(revised))
        let type = cancellation ? AgreementRevision.cancellationType : AgreementRevision.changeType
        let digest = ContentDigest(of: Array("\(type) \(version) of \(original.agreementDigest) \(UUID().uuidString)".utf8))
        var provenance = ProvenanceRecord(
            receiptID: "urn:uuid:\(UUID().uuidString.lowercased())", generated: "2026-12-04T10:00:00.000Z", action: action,
            adapter: "tryton", agreementID: original.agreementID, agreementType: type, agreementDigest: digest, signers: [],
            plan: original.provenance.plan, gateway: "did:key:z6MkTest", software: "causeway-test")
        provenance.revision = .init(version: version, amends: original.agreementDigest, supersedes: original.agreementDigest, previousReceiptID: nil)
        let signed = Array(#"{"type":"\#(type)","version":\#(version),"amends":"\#(original.agreementDigest)"}"#.utf8)
        return Delivery(agreementDigest: digest, agreementID: original.agreementID, action: action, provenance: provenance, signedAgreement: signed)
    }

    /// The purchase's lines in id order as `PRODUCT QUANTITY PRICE DESCRIPTION`.
    static func lines(_ purchase: JSONValue) async throws -> [String] {
        let lines = try await TrytonTestServer.inspector().call("model.purchase.line.read", [
            purchase["lines"] ?? [], ["id", "product.code", "quantity", "unit_price", "description"],
        ])
        return (lines.arrayValue ?? []).sorted { ($0["id"]?.exactInt ?? 0) < ($1["id"]?.exactInt ?? 0) }.map { line in
            [line["product."]?["code"]?.stringValue ?? "?", line["quantity"]?.numberValue.map { "\($0)" } ?? "?",
             line["unit_price"]?["decimal"]?.stringValue ?? "?", line["description"]?.stringValue ?? ""].joined(separator: " ")
        }
    }

    /// Amendments whose description is `key`.
    static func amendments(_ key: String) async throws -> [JSONValue] {
        try await TrytonTestServer.inspector().call("model.purchase.amendment.search_read", [
            [["description", "=", .string(key)]], 0, .null, [["id", "ASC"]], ["id", "state", "purchase"],
        ]).arrayValue ?? []
    }

    static func attachmentNames(_ purchase: JSONValue) async throws -> Set<String> {
        let found = try await TrytonTestServer.inspector().call("model.ir.attachment.search_read", [
            [["resource", "=", .string("purchase.purchase,\(purchase["id"]?.exactInt ?? 0)")]], 0, .null, .null, ["name"],
        ])
        return Set((found.arrayValue ?? []).compactMap { $0["name"]?.stringValue })
    }

    /// The warehouse's session: `admin`, whose password scripts/tryton-start sets to the gateway's.
    static func admin() throws -> TrytonConnection {
        let env = try TrytonTestServer.environment()
        return TrytonConnection(url: env.url, user: "admin", password: env.password, company: nil, timeout: .seconds(30))
    }

    /// Receives every move of the purchase on one supplier shipment (create, receive, done), as the
    /// warehouse would; answers the move ids.
    static func receive(_ purchase: JSONValue) async throws -> [Int] {
        let admin = try admin()
        let read = try await admin.call("model.purchase.purchase.read", [[purchase["id"] ?? .null], ["moves", "party"]])
        let moves = try #require(read[0]?["moves"])
        let warehouse = try #require(try await admin.call("model.stock.location.search_read", [
            [["type", "=", "warehouse"]], 0, 1, .null, ["id", "input_location", "storage_location"],
        ])[0])
        let shipment = try await admin.call("model.stock.shipment.in.create", [[[
            "company": try await admin.context()["company"] ?? .null, "supplier": read[0]?["party"] ?? .null,
            "warehouse": warehouse["id"] ?? .null, "warehouse_input": warehouse["input_location"] ?? .null,
            "warehouse_storage": warehouse["storage_location"] ?? .null, "incoming_moves": [["add", moves]],
        ]]])
        let id = try #require(shipment[0])
        _ = try await admin.call("model.stock.shipment.in.receive", [[id]])
        _ = try await admin.call("model.stock.shipment.in.do", [[id]])
        return (moves.arrayValue ?? []).compactMap(\.exactInt).sorted()
    }
}
