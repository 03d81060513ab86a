import AdapterKit
import AdapterKitTesting
import CausewayCore
import Foundation
import Testing
@testable import TrytonAdapter

/// Against the real Tryton that scripts/tryton-start runs. Serialized: one test stops and
/// starts the server, and Tryton serves one request at a time anyway.
@Suite("Tryton purchase adapter against a real Tryton", .serialized)
struct TrytonAdapterTests {
    @Test("passes the adapter conformance suite")
    func conformance() async throws {
        let adapter = try await TrytonTestServer.adapter()
        let run = UUID().uuidString
        var counter = 0
        let failures = await AdapterConformance.run(adapter) {
            counter += 1
            return try! NordicDeliveries.delivery(nonce: "conformance-\(run)-\(counter)")
        }
        #expect(failures.isEmpty, "\(failures)")
    }

    @Test("the nordic-fasteners fixtures become confirmed purchases with their lines, Decimal prices and descriptions",
          arguments: ["one-line", "multi-line", "kilograms", "delegated-agent"])
    func fixtures(fixture: String) async throws {
        let adapter = try await TrytonTestServer.adapter()
        let delivery = try NordicDeliveries.delivery(fixture: fixture)
        let order = try NordicDeliveries.order(delivery)
        let outcome = await adapter.deliver(delivery)
        #expect(outcome.outcomeClass == .delivered, "\(outcome)")
        let reference = try #require(outcome.reference)
        #expect(reference.system == "tryton" && reference.kind == "purchase.purchase")

        let purchases = try await TrytonTestServer.purchases(delivery.idempotencyKey)
        #expect(purchases.count == 1)
        let purchase = try #require(purchases.first)
        #expect(purchase["number"]?.stringValue == reference.id)
        #expect(TrytonPurchaseAdapter.confirmed.contains(purchase["state"]?.stringValue ?? ""), "state \(String(describing: purchase["state"]))")
        #expect(purchase["description"]?.stringValue == order.reference)

        let inspector = try TrytonTestServer.inspector()
        let lines = try await inspector.call("model.purchase.line.read", [
            purchase["lines"] ?? [], ["product.code", "quantity", "unit.symbol", "unit_price", "description"],
        ])
        let read = (lines.arrayValue ?? []).map { line in
            [line["product."]?["code"]?.stringValue ?? "", line["unit."]?["symbol"]?.stringValue ?? "",
             line["unit_price"]?["decimal"]?.stringValue ?? "", line["description"]?.stringValue ?? "",
             line["quantity"]?.numberValue.map { "\($0)" } ?? ""]
        }
        let expected = order.lines.map { line in
            [line.product, line.unit, line.unitPrice, line.description ?? "", "\(Double(line.quantity)!)"]
        }
        #expect(read.sorted { $0.joined() < $1.joined() } == expected.sorted { $0.joined() < $1.joined() })
    }

    @Test("washers ordered in pieces although Tryton buys them by weight are rejected naming product and unit, nothing written")
    func unitMismatch() async throws {
        let adapter = try await TrytonTestServer.adapter()
        let delivery = try NordicDeliveries.delivery(fixture: "unicode-descriptions")
        let outcome = await adapter.deliver(delivery)
        #expect(outcome.outcomeClass == .rejected)
        #expect(outcome.reason?.contains("FAST-WASH-M8") == true && outcome.reason?.contains("'u'") == true, "\(outcome)")
        #expect(try await TrytonTestServer.purchases(delivery.idempotencyKey).isEmpty)
    }

    @Test("duplicate submissions, sequential and concurrent, make one purchase")
    func duplicates() async throws {
        let adapter = try await TrytonTestServer.adapter()
        let other = try await TrytonTestServer.adapter()
        let delivery = try NordicDeliveries.delivery(fixture: "multi-line")
        async let a = adapter.deliver(delivery)
        async let b = adapter.deliver(delivery)
        async let c = other.deliver(delivery)
        let outcomes = await [a, b, c]
        let again = await adapter.deliver(delivery)
        for outcome in outcomes + [again] { #expect(outcome.outcomeClass == .delivered, "\(outcome)") }
        #expect(Set(outcomes.map(\.reference) + [again.reference]).count == 1)
        #expect(try await TrytonTestServer.purchases(delivery.idempotencyKey).count == 1)
    }

    @Test("an unknown product code is rejected naming the code, and nothing is written")
    func unknownProduct() async throws {
        let adapter = try await TrytonTestServer.adapter()
        let delivery = try NordicDeliveries.delivery { order in
            var lines = order.lines
            lines.append(.init(product: "FAST-NOPE-99", quantity: "1.000", unit: "u", unitPrice: "1.0000", description: nil))
            return order.with(lines: lines)
        }
        let outcome = await adapter.deliver(delivery)
        #expect(outcome.outcomeClass == .rejected)
        #expect(outcome.reason?.contains("FAST-NOPE-99") == true, "\(outcome)")
        #expect(await adapter.lookup(delivery) == .notFound)
        #expect(try await TrytonTestServer.purchases(delivery.idempotencyKey).isEmpty)
    }

    @Test("Tryton's own user errors come back as its message and are rejections")
    func userErrors() async throws {
        let inspector = try TrytonTestServer.inspector()
        // A purchase line in a unit of another category: Tryton's domain validation refuses it.
        var failure: TrytonFailure?
        do throws(TrytonFailure) {
            let products = try await inspector.call("model.product.product.search", [[["code", "=", "FAST-WASH-M8"]], 0, 1, .null])
            let party = try await inspector.call("model.party.party.search_read", [[["code", "=", "NF-SE-01"]], 0, 1, .null, ["addresses"]])
            let unit = try await inspector.call("model.product.uom.search", [[["symbol", "=", "u"]], 0, 1, .null])
            _ = try await inspector.call("model.purchase.purchase.create", [[[
                "party": party[0]?["id"] ?? .null, "invoice_address": party[0]?["addresses"]?[0] ?? .null,
                "reference": .string("user-error-\(UUID().uuidString)"),
                "lines": [["create", [["product": products[0] ?? .null, "quantity": 1, "unit": unit[0] ?? .null,
                                      "unit_price": TrytonPurchaseAdapter.decimal("1.00")]]]],
            ]]])
        } catch {
            failure = error
        }
        guard case .userError(let message)? = failure else { Issue.record("expected a user error, got \(String(describing: failure))"); return }
        #expect(message.contains("Unit"), "\(message)")
        let outcome = TrytonPurchaseAdapter.outcome(.userError(message), .writing("model.purchase.purchase.create"))
        #expect(outcome.outcomeClass == .rejected && outcome.reason?.contains(message) == true)
    }

    @Test("with Tryton stopped a delivery is retryable; started again, it is delivered once")
    func erpStopped() async throws {
        let adapter = try await TrytonTestServer.adapter(timeout: .seconds(10))
        let warmup = await adapter.deliver(try NordicDeliveries.delivery())
        #expect(warmup.outcomeClass == .delivered, "\(warmup)")
        let delivery = try NordicDeliveries.delivery(fixture: "multi-line")
        try TrytonTestServer.stop()
        let down = await adapter.deliver(delivery)
        let whileDown = await adapter.lookup(delivery)
        // Back up before any expectation can end the test, so that later tests find it running.
        try await TrytonTestServer.start()
        #expect(down.outcomeClass == .retryable, "\(down)")
        if case .unavailable = whileDown {} else { Issue.record("lookup must be unavailable while Tryton is down, got \(whileDown)") }
        #expect(await adapter.lookup(delivery) == .notFound)
        let up = await adapter.deliver(delivery)
        #expect(up.outcomeClass == .delivered, "\(up)")
        #expect(await adapter.deliver(delivery).reference == up.reference)
        #expect(try await TrytonTestServer.purchases(delivery.idempotencyKey).count == 1)
    }

    @Test("the workflows: draft keeps the id, quote and confirm give the number and the state")
    func workflows() async throws {
        let adapter = try await TrytonTestServer.adapter()
        for (workflow, states) in [(ERPPurchaseOrderAction.Workflow.draft, Set(["draft"])), (.quote, Set(["quotation"])),
                                   (.confirm, TrytonPurchaseAdapter.confirmed)] {
            let delivery = try NordicDeliveries.delivery { $0.with(workflow: workflow) }
            let outcome = await adapter.deliver(delivery)
            #expect(outcome.outcomeClass == .delivered, "\(workflow): \(outcome)")
            let purchase = try #require(try await TrytonTestServer.purchases(delivery.idempotencyKey).first)
            #expect(states.contains(purchase["state"]?.stringValue ?? ""), "\(workflow): \(String(describing: purchase["state"]))")
            let expectedID = workflow == .draft ? purchase["id"]?.numberValue.map { String(Int($0)) } : purchase["number"]?.stringValue
            #expect(outcome.reference?.id == expectedID, "\(workflow)")
        }
    }

    @Test("a purchase left half-way (created, not quoted) is continued on retry, never duplicated")
    func resumesHalfDoneWorkflow() async throws {
        let adapter = try await TrytonTestServer.adapter()
        let nonce = UUID().uuidString
        // The first attempt got as far as the draft (as if quote had failed) …
        let draft = try NordicDeliveries.delivery(nonce: nonce) { $0.with(workflow: .draft) }
        #expect(await adapter.deliver(draft).outcomeClass == .delivered)
        // … so for the full action, the key is not performed yet, and delivering continues it.
        let full = try NordicDeliveries.delivery(nonce: nonce)
        #expect(full.idempotencyKey == draft.idempotencyKey)
        #expect(await adapter.lookup(full) == .notFound)
        let outcome = await adapter.deliver(full)
        #expect(outcome.outcomeClass == .delivered, "\(outcome)")
        let purchases = try await TrytonTestServer.purchases(full.idempotencyKey)
        #expect(purchases.count == 1)
        #expect(TrytonPurchaseAdapter.confirmed.contains(purchases.first?["state"]?.stringValue ?? ""))
        #expect(await adapter.lookup(full) == .found(outcome.reference!))
    }

    @Test("the signed agreement and the provenance record are attached to the purchase as JSON")
    func attachments() async throws {
        let adapter = try await TrytonTestServer.adapter()
        let delivery = try NordicDeliveries.delivery(fixture: "kilograms")
        #expect(await adapter.deliver(delivery).outcomeClass == .delivered)
        let purchase = try #require(try await TrytonTestServer.purchases(delivery.idempotencyKey).first)
        let id = Int(purchase["id"]?.numberValue ?? 0)
        let found = try await TrytonTestServer.inspector().call("model.ir.attachment.search_read", [
            [["resource", "=", .string("purchase.purchase,\(id)")]], 0, .null, [["name", "ASC"]], ["name", "data"],
        ])
        var documents: [String: [UInt8]] = [:]
        for record in found.arrayValue ?? [] {
            let base64 = (record["data"]?["base64"]?.stringValue ?? "").replacingOccurrences(of: "\n", with: "")
            documents[record["name"]?.stringValue ?? ""] = Data(base64Encoded: base64).map(Array.init)
        }
        #expect(documents.keys.sorted() == ["causeway-provenance.json", "causeway-signed-agreement.json"])
        #expect(documents["causeway-signed-agreement.json"] == delivery.signedAgreement)
        #expect(documents["causeway-provenance.json"] == delivery.provenance.canonicalBytes)
        let provenance = try JSONReader().read(documents["causeway-provenance.json"] ?? [])
        #expect(provenance["idempotencyKey"]?.stringValue == delivery.idempotencyKey)
    }

    @Test("an expired session is replaced by a new login")
    func sessionExpiry() async throws {
        let adapter = try await TrytonTestServer.adapter()
        #expect(await adapter.deliver(try NordicDeliveries.delivery()).outcomeClass == .delivered)
        #expect(await adapter.connection.logins == 1)
        try await adapter.connection.revokeSessionOnServer()
        let outcome = await adapter.deliver(try NordicDeliveries.delivery())
        #expect(outcome.outcomeClass == .delivered, "\(outcome)")
        #expect(await adapter.connection.logins == 2)
    }

    @Test("configuration: the schema names what is missing, and reasons never carry the password")
    func configuration() async throws {
        let schema = TrytonPurchaseAdapter.descriptor.schema
        guard case .failure(let error) = schema.validate(["url": "http://127.0.0.1:1/x/", "password": "hunter2"], prefix: "targets.erp") else {
            Issue.record("a literal password and a missing user must fail"); return
        }
        #expect(error.problems.contains("targets.erp.user: required (the Tryton login, a user in the Purchase group)"))
        #expect(error.problems.contains { $0.hasPrefix("targets.erp.password: secrets are never written in files") })
        let settings = try schema.validate(["url": "http://127.0.0.1:1/causeway/", "user": "gateway", "password": "env:X"],
                                           prefix: "targets.erp").get()
        #expect(throws: AdapterConfigurationError.self) { try TrytonPurchaseAdapter(settings: settings, password: nil) }
        // Nothing listens on port 1: retryable, and the reason does not carry the password.
        let adapter = try TrytonPurchaseAdapter(settings: settings, password: "s3cret-pass")
        let outcome = await adapter.deliver(try NordicDeliveries.delivery())
        #expect(outcome.outcomeClass == .retryable, "\(outcome)")
        #expect(outcome.reason?.contains("s3cret-pass") == false)
        // Timeouts after sending are unknown; before any write they are retryable.
        #expect(TrytonPurchaseAdapter.outcome(.noAnswer("x"), .writing("model.purchase.purchase.create")).outcomeClass == .unknown)
        #expect(TrytonPurchaseAdapter.outcome(.noAnswer("x"), .reading).outcomeClass == .retryable)
        #expect(TrytonPurchaseAdapter.outcome(.status(503, "x"), .writing("create")).outcomeClass == .retryable)
    }
}
