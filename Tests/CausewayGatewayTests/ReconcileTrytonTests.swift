import AdapterKit
import CausewayCore
import CausewayGateway
import CausewayStore
import CausewayTesting
import CausewayTrust
import Foundation
import Testing
import TrytonAdapter

/// Reconciliation against the real Tryton that scripts/tryton-start runs: purchases delivered by
/// the real worker through the Tryton adapter, then edited, deleted, copied and typed in by hand
/// over Tryton's own JSON-RPC interface.
@Suite("Reconcile against a real Tryton", .serialized)
struct ReconcileTrytonTests {
    static let hint = #"needs the Tryton ERP on loopback: run eval "$(scripts/tryton-start)" (scripts/test does it)"#

    /// The adapter built as `serve` builds it, and a session of our own for tampering.
    static func tryton() async throws -> (any Adapter, TrytonConnection) {
        let env = ProcessInfo.processInfo.environment
        guard let url = env["CAUSEWAY_TEST_TRYTON"], let user = env["CAUSEWAY_TEST_TRYTON_USER"], let password = env["CAUSEWAY_TEST_TRYTON_PASSWORD"]
        else { throw MissingTestInput(path: "CAUSEWAY_TEST_TRYTON", hint: hint) }
        let registration = try #require(AdapterRegistry.registration(kind: "tryton"))
        let settings = try registration.descriptor.schema.validate(["url": url, "user": user, "password": "env:CAUSEWAY_TEST_TRYTON_PASSWORD"],
                                                                    prefix: "targets.erp").get()
        let built = try registration.make("erp", settings, ["password": password], .init(partners: URL(fileURLWithPath: "/nonexistent")))
        let session = TrytonConnection(url: url, user: user, password: password, company: nil, timeout: .seconds(30))
        do { _ = try await session.context() } catch { throw MissingTestInput(path: url, hint: "Tryton does not answer (\(error)); \(hint)") }
        return (built.adapter, session)
    }

    /// A draft purchase order of two lines (drafts can still be edited and deleted in Tryton).
    static func incoming(_ n: Int, run: String, at time: Int64) -> IncomingAgreement {
        let digest = ContentDigest(of: Array("reconcile tryton \(run) \(n)".utf8))
        let action = LegacyAction(index: 0, name: "purchase-order", target: "erp", payload: .erpPurchaseOrder(ERPPurchaseOrderAction(
            supplier: "NF-SE-01", reference: "NF-\(n)", currency: "SEK", orderDate: "2026-11-2\(n)",
            lines: [.init(product: "FAST-M8X40", quantity: "250", unit: "u", unitPrice: "1.2500", description: "bolts"),
                    .init(product: "FAST-WASH-M8", quantity: "12.50", unit: "kg", unitPrice: "0.4000", description: nil)],
            workflow: .draft, attachments: [])))
        let receiptID = "urn:uuid:\(UUID().uuidString.lowercased())"
        let provenance = ProvenanceRecord(
            receiptID: receiptID, generated: "2026-11-22T10:00:00.000Z", action: action, adapter: "tryton", agreementID: "urn:nf:\(n)",
            agreementType: "PurchaseAgreement", agreementDigest: digest, signers: [],
            plan: .init(partner: "nordic-fasteners", mapping: "m", version: "1", digest: digest, actionIndex: 0),
            gateway: gatewayKey.didKey.did, software: "causeway-test")
        return IncomingAgreement(
            digest: digest, agreementID: "urn:nf:\(n)", partner: "nordic-fasteners", type: "PurchaseAgreement", document: Array("{}".utf8),
            verification: ["verified": true], mappingID: "m", mappingVersion: "1", mappingDigest: digest, total: "317.50", currency: "SEK",
            receivedAt: time, actions: [.init(index: 0, name: action.name, target: "erp", kind: action.kind.rawValue, adapter: "tryton",
                                              action: action.json, provenance: provenance.json, receiptID: receiptID)])
    }

    static func purchase(_ session: TrytonConnection, _ key: String) async throws -> (id: Double, lines: [JSONValue]) {
        let found = try await session.call("model.purchase.purchase.search_read", [[["reference", "=", .string(key)]], 0, 1, .null, ["id", "lines"]])
        let id = try #require(found[0]?["id"]?.numberValue, "no purchase with reference \(key)")
        return (id, found[0]?["lines"]?.arrayValue ?? [])
    }

    @Test("matched, divergent quantity and price, missing, duplicate and orphan purchases; repair re-creates the deleted one once")
    func findings() async throws {
        let (adapter, session) = try await Self.tryton()
        let clock = TestClock()
        let store = try SQLiteStore(path: try CommandRunner.temporaryDirectory("reconcile-tryton").appendingPathComponent("c.sqlite").path)
        try await store.migrate()
        let worker = DeliveryWorker(configuration: .init(worker: "w1"), store: store, adapters: ["erp": adapter], now: clock.now, jitter: { 0 })
        let issuer = ReceiptIssuer(store: store, identity: gatewayKey, origin: "test/causeway", now: clock.now)
        let run = UUID().uuidString
        var keys: [String] = []
        for n in 0..<4 {
            let agreement = Self.incoming(n, run: run, at: clock.now())
            #expect(try await store.accept(agreement) == .accepted)
            keys.append("\(agreement.digest)/0")
        }
        while try await worker.runOnce() > 0 {}
        let attempts = try await store.agreement(digest: try #require(ContentDigest(String(keys[0].prefix { $0 != "/" }))))?.attempts ?? []
        #expect(try await issuer.issuePending() == 4, "\(attempts.map { "\($0.outcome): \($0.detail ?? "")" })")
        let reconciler = Reconciler(store: store, adapters: ["erp": adapter], gateway: gatewayKey.didKey.did)
        func mine(_ report: ReconcileReport, _ findingClass: ReconcileFinding.Class) -> [String] {
            report.findings.filter { $0.findingClass == findingClass }.compactMap { $0.evidence["idempotency_key"]?.stringValue }
                .filter { keys.contains($0) }.sorted()
        }

        let clean = try await reconciler.run()
        #expect(mine(clean, .matched) == keys.sorted(), "\(clean.findings.filter { $0.findingClass != .orphan }.map(\.detail))")
        #expect(clean.targets.first?.state == .reconciled)

        // Edit line 1's quantity and line 2's price, delete the second purchase, copy the third
        // (same reference), and type in a purchase with a Causeway-shaped reference the store never had.
        let first = try await Self.purchase(session, keys[0])
        let lines = try await session.call("model.purchase.line.read", [.array(first.lines), ["id", "product.code"]])
        let bolts = try #require(lines.arrayValue?.first { $0["product."]?["code"]?.stringValue == "FAST-M8X40" }?["id"]?.numberValue)
        let washers = try #require(lines.arrayValue?.first { $0["product."]?["code"]?.stringValue == "FAST-WASH-M8" }?["id"]?.numberValue)
        _ = try await session.call("model.purchase.line.write", [[.number(bolts)], ["quantity": 260]])
        _ = try await session.call("model.purchase.line.write", [[.number(washers)], ["unit_price": ["__class__": "Decimal", "decimal": "0.45"]]])
        let second = try await Self.purchase(session, keys[1])
        _ = try await session.call("model.purchase.purchase.delete", [[.number(second.id)]])
        let third = try await Self.purchase(session, keys[2])
        _ = try await session.call("model.purchase.purchase.copy", [[.number(third.id)], ["reference": .string(keys[2])]])
        let stray = "sha256:\(String(repeating: "0", count: 32))\(run.replacingOccurrences(of: "-", with: "").lowercased())/0"
        _ = try await session.call("model.purchase.purchase.copy", [[.number(third.id)], ["reference": .string(stray)]])

        let report = try await reconciler.run()
        #expect(!report.isClean)
        let divergent = try #require(report.findings.first { $0.findingClass == .divergent && $0.evidence["idempotency_key"]?.stringValue == keys[0] })
        let differences = (divergent.evidence["differences"]?.arrayValue ?? []).map {
            "\($0["field"]?.stringValue ?? "") \($0["expected"]?.stringValue ?? "-") \($0["actual"]?.stringValue ?? "-")"
        }
        #expect(differences.sorted() == ["lines[1].quantity 250 260", "lines[2].unit_price 0.4000 0.45"], "\(differences)")
        #expect(mine(report, .missing) == [keys[1]])
        #expect(mine(report, .duplicate) == [keys[2]])
        #expect(mine(report, .matched) == [keys[3]])
        // 12.50 kg came back from Tryton as the float 12.5 and still matches by value.
        #expect(report.findings.contains { $0.findingClass == .orphan && $0.evidence["idempotency_key"]?.stringValue == stray })

        // Repair: the deleted purchase comes back, once.
        let repairs = try await reconciler.repair(report, now: clock.now())
        #expect(repairs.map(\.action) == [.redelivered], "\(repairs)")
        let again = try await reconciler.run()
        #expect(mine(again, .missing).isEmpty)
        #expect(mine(again, .matched) == [keys[1], keys[3]].sorted())
        #expect(try await reconciler.repair(again, now: clock.now()).isEmpty)
        let recreated = try await session.call("model.purchase.purchase.search_count", [[["reference", "=", .string(keys[1])]]])
        #expect(recreated.numberValue == 1)
    }
}
