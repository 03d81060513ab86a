import CausewayCore
import CausewayTesting
import Foundation
import Testing

/// `causeway reconcile` after a real `causeway serve` took agreements through changes and a
/// cancellation (built and signed with `causeway amend` / `causeway cancel`), on an SQLite store
/// and target and on a PostgreSQL store and target.
@Suite("Reconcile CLI across versions: a real gateway, changes, a row set back by hand, a cancellation", .serialized)
struct ReconcileVersionsCLITests {
    static func reconcile(_ gateway: RunningGateway, _ extra: [String] = []) throws -> (CommandRunner.Result, JSONValue?) {
        let result = try CommandRunner.causeway(["reconcile", "--config", gateway.configFile, "--json"] + extra, in: gateway.directory)
        return (result, try? JSONReader().read(Array(result.stdout.utf8)))
    }

    static func findings(_ report: JSONValue?, _ findingClass: String) -> [JSONValue] {
        (report?["findings"]?.arrayValue ?? []).filter { $0["class"]?.stringValue == findingClass }
    }

    static func digests(_ report: JSONValue?, _ findingClass: String) -> [String] {
        findings(report, findingClass).compactMap { $0["digest"]?.stringValue }.sorted()
    }

    /// Submits a signed file, expects 202 and waits for `status` (receipts included); returns its digest.
    static func deliver(_ gateway: RunningGateway, _ path: String, until status: String = "delivered",
                        sourceLocation: SourceLocation = #_sourceLocation) async throws -> String {
        let digest = try RevisionParties.digest(path)
        let (code, answer) = try await RevisionGatewayTests.submit(gateway, path)
        #expect(code == 202, "\(answer.map { JSONWriter.string($0) } ?? "")", sourceLocation: sourceLocation)
        _ = try await RevisionGatewayTests.wait(gateway, digest, for: status, sourceLocation: sourceLocation)
        return digest
    }

    /// Every finding class other than `matched` is absent.
    static func onlyMatched(_ report: JSONValue?) -> Bool {
        (report?["findings"]?.arrayValue ?? []).allSatisfy { $0["class"]?.stringValue == "matched" }
    }

    static let v2Terms = """
        {"lines": [
          {"sku": "STL-6205-2RS", "description": "Rillenkugellager 6205-2RS, abgedichtet", "quantity": "250", "unit": "pcs", "unitPrice": "7.60"},
          {"sku": "STL-NU205", "description": "Zylinderrollenlager NU205", "quantity": "40", "unit": "pcs", "unitPrice": "31.20"},
          {"sku": "STL-22205-E", "description": "Pendelrollenlager 22205-E", "quantity": "12.5", "unit": "kg", "unitPrice": "18.40"}]}
        """
    static let v3Terms = """
        {"lines": [
          {"sku": "STL-6205-2RS", "description": "Rillenkugellager 6205-2RS, abgedichtet", "quantity": "250", "unit": "pcs", "unitPrice": "7.60"},
          {"sku": "STL-51105", "description": "Axial-Rillenkugellager 51105", "quantity": "30", "unit": "pcs", "unitPrice": "4.10"}]}
        """

    @Test("v1→v2→v3 reconciles as matched (nothing for v1 and v2); the row set back to v2 is stale (held 2, expected 3); --repair re-applies v3; the cancelled chain is matched",
          arguments: StagingTarget.allCases)
    func chain(target: StagingTarget) async throws {
        let parties = try RevisionParties()
        let (gateway, query) = try target.gateway(parties, prefix: "recver")
        defer { _ = gateway.stop() }
        try await gateway.waitUntilReady()

        // A chain of three versions, and an original that is never changed beside it.
        let v1 = try parties.original("urn:uuid:recver-1")
        let v1Digest = try await Self.deliver(gateway, v1)
        let singleDigest = try await Self.deliver(gateway, try parties.original("urn:uuid:recver-2"))
        let v2 = try parties.amend(v1, terms: Self.v2Terms, name: "v2")
        let v2Digest = try await Self.deliver(gateway, v2)
        let v3 = try parties.amend(v2, terms: Self.v3Terms, name: "v3")
        let v3Digest = try await Self.deliver(gateway, v3)
        let row = "SELECT coalesce(version, 1) || ' ' || status || ' ' || total_amount FROM erp_purchase_order WHERE agreement_digest = '\(v1Digest)'"
        #expect(try query(row) == "3 open 2023.00")

        // 1. Everything matched: the chain once, as version 3; nothing missing or divergent for v1 and v2.
        let (clean, cleanReport) = try Self.reconcile(gateway)
        #expect(clean.status == 0, "\(clean)")
        #expect(Self.onlyMatched(cleanReport), "\(clean.stdout)")
        #expect(Self.digests(cleanReport, "matched") == [v3Digest, singleDigest].sorted())
        let matched = Self.findings(cleanReport, "matched").first { $0["digest"]?.stringValue == v3Digest }
        #expect(matched?["evidence"]?["version"]?.exactInt == 3)
        #expect(matched?["evidence"]?["chain"]?.stringValue == v1Digest)
        #expect(cleanReport?["summary"]?["counts"]?["stale"]?.numberValue == 0)
        #expect(cleanReport?["summary"]?["ledger_receipts"]?.numberValue == 4)

        // 2. By hand, the order goes back to version 2: its version column and its last provenance record.
        let setBack = target == .sqlite
            ? "UPDATE erp_purchase_order SET version = 2, total_amount = '3378.00', provenance = json_remove(provenance, '$[#-1]') WHERE agreement_digest = '\(v1Digest)'"
            : "UPDATE erp_purchase_order SET version = 2, total_amount = 3378.00, provenance = provenance - (-1) WHERE agreement_digest = '\(v1Digest)'"
        _ = try query(setBack)
        let lastRecord = target == .sqlite
            ? "SELECT json_extract(provenance, '$[#-1].agreement.digest') || ' ' || json_array_length(provenance) FROM erp_purchase_order WHERE agreement_digest = '\(v1Digest)'"
            : "SELECT (provenance->-1->'agreement'->>'digest') || ' ' || jsonb_array_length(provenance) FROM erp_purchase_order WHERE agreement_digest = '\(v1Digest)'"
        #expect(try query(lastRecord) == "\(v2Digest) 2")

        let (stale, staleReport) = try Self.reconcile(gateway)
        #expect(stale.status == 1, "\(stale)")
        let staleFindings = Self.findings(staleReport, "stale")
        #expect(staleFindings.count == 1, "\(stale.stdout)")
        let evidence = staleFindings.first?["evidence"]
        #expect(staleFindings.first?["digest"]?.stringValue == v3Digest)
        #expect(staleFindings.first?["target"]?.stringValue == "erp-staging")
        #expect(evidence?["held_version"]?.exactInt == 2)
        #expect(evidence?["expected_version"]?.exactInt == 3)
        #expect(evidence?["held_digest"]?.stringValue == v2Digest)
        #expect(evidence?["expected_digest"]?.stringValue == v3Digest)
        #expect(evidence?["chain"]?.stringValue == v1Digest)
        #expect(Self.findings(staleReport, "missing").isEmpty && Self.findings(staleReport, "divergent").isEmpty, "\(stale.stdout)")
        #expect(Self.digests(staleReport, "matched") == [singleDigest])
        #expect(staleReport?["summary"]?["counts"]?["stale"]?.numberValue == 1)
        // The table names the class first.
        let table = try CommandRunner.causeway(["reconcile", "--config", gateway.configFile], in: gateway.directory)
        #expect(table.status == 1)
        #expect(table.stdout.split(separator: "\n").dropFirst().first?.hasPrefix("stale") == true, "\(table.stdout)")
        #expect(table.stdout.contains("still holds version 2"), "\(table.stdout)")

        // 3. --repair re-applies version 3 (lookup first: the row holds version 2, so not found).
        let (repaired, repairReport) = try Self.reconcile(gateway, ["--repair"])
        #expect(repaired.status == 1, "a repair run is not a clean run: \(repaired)")
        let repairs = repairReport?["repairs"]?.arrayValue ?? []
        #expect(repairs.count == 1, "\(repaired.stdout)")
        #expect(repairs.first?["finding"]?.stringValue == "stale")
        #expect(repairs.first?["action"]?.stringValue == "redelivered")
        #expect(repairs.first?["idempotency_key"]?.stringValue == "\(v3Digest)/0")
        #expect(try query(row) == "3 open 2023.00")
        #expect(try query(lastRecord) == "\(v3Digest) 3")
        let lines = "SELECT count(*) FROM erp_purchase_order_line WHERE po_id = (SELECT po_id FROM erp_purchase_order WHERE agreement_digest = '\(v1Digest)')"
        #expect(try query(lines) == "2", "version 3's two lines, replaced in place")

        let (after, afterReport) = try Self.reconcile(gateway, ["--repair"])
        #expect(after.status == 0, "\(after)")
        #expect(Self.onlyMatched(afterReport), "\(after.stdout)")
        #expect(Self.digests(afterReport, "matched") == [v3Digest, singleDigest].sorted())
        #expect(afterReport?["repairs"]?.arrayValue?.isEmpty == true, "nothing stale is left to repair: \(after.stdout)")

        // 4. The buyer cancels: the row shows the cancellation, and that is what it is compared with.
        let cancelDigest = try await Self.deliver(gateway, try parties.cancel(v3, name: "cancel", keys: [parties.buyerKey]), until: "cancelled")
        #expect(try query(row) == "4 cancelled 2023.00")
        let (cancelled, cancelledReport) = try Self.reconcile(gateway)
        #expect(cancelled.status == 0, "\(cancelled)")
        #expect(Self.onlyMatched(cancelledReport), "\(cancelled.stdout)")
        #expect(Self.digests(cancelledReport, "matched") == [cancelDigest, singleDigest].sorted())
        #expect(cancelledReport?["summary"]?["ledger_receipts"]?.numberValue == 5)
    }
}
