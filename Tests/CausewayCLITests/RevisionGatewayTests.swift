import CausewayCore
import CausewayTesting
import Foundation
import Testing

/// Two parties' keys, a partners folder whose stahlteile partner trusts them, and a signed original
/// (the bundled example, re-signed by these keys, delivery far in the future) for changes and
/// cancellations to follow, built and signed with `causeway amend` / `causeway cancel`.
struct RevisionParties {
    let directory: URL
    let sellerKey: String
    let buyerKey: String
    let partners: URL

    init() throws {
        directory = try CommandRunner.temporaryDirectory("revisions")
        sellerKey = directory.appendingPathComponent("seller-key.json").path
        buyerKey = directory.appendingPathComponent("buyer-key.json").path
        for file in [sellerKey, buyerKey] {
            let made = try CommandRunner.causeway(["keys", "new", "--out", file])
            try #require(made.status == 0, "\(made)")
        }
        let seller = try #require(try Self.read(sellerKey)["did"]?.stringValue)
        let buyer = try #require(try Self.read(buyerKey)["did"]?.stringValue)
        partners = directory.appendingPathComponent("partners")
        let folder = partners.appendingPathComponent("stahlteile")
        try FileManager.default.createDirectory(at: partners, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: TestPaths.repository.appendingPathComponent("Mappings/stahlteile"), to: folder)
        let yaml = folder.appendingPathComponent("partner.yaml")
        var text = try String(contentsOf: yaml, encoding: .utf8)
        text = text.replacingOccurrences(of: "did:key:z6Mko12SmkNyyRjr4TXqooiUtAWrExSipaUDVgNBnVzEit1Q", with: seller)
            .replacingOccurrences(of: "did:key:z6Mko1omFks17fyYuRDs5Hvzm9dnyCSrx8sxtdZHC5QMYJaV", with: buyer)
        try Data(text.utf8).write(to: yaml)
    }

    static func read(_ path: String) throws -> JSONValue { try JSONReader().read(Array(try Data(contentsOf: URL(fileURLWithPath: path)))) }

    func file(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// A signed original (business id `id`) of the bundled example, delivery on `deliveryDate`.
    func original(_ id: String, deliveryDate: String = "2036-12-15") throws -> String {
        var example = try #require(try Self.read(TestPaths.repository.appendingPathComponent("Docs/examples/purchase-agreement.signed.json").path)
            .objectValue)
        example["proof"] = nil
        example["id"] = .string(id)
        var parties = try #require(example["parties"]?.objectValue)
        for (role, key) in [("seller", sellerKey), ("buyer", buyerKey)] {
            var party = try #require(parties[role]?.objectValue)
            party["id"] = try #require(try Self.read(key)["did"])
            parties[role] = .object(party)
        }
        example["parties"] = .object(parties)
        var delivery = try #require(example["delivery"]?.objectValue)
        delivery["date"] = .string(deliveryDate)
        example["delivery"] = .object(delivery)
        let unsigned = file("\(id).unsigned.json")
        try Data(JSONWriter.string(.object(example), style: .pretty).utf8).write(to: URL(fileURLWithPath: unsigned))
        let half = file("\(id).half.json")
        let signed = file("\(id).json")
        for (key, role, input, output) in [(sellerKey, "seller", unsigned, half), (buyerKey, "buyer", half, signed)] {
            let result = try CommandRunner.causeway(["sign", "--key", key, "--role", role, "--out", output, input])
            try #require(result.status == 0, "\(result)")
        }
        return signed
    }

    /// A change of `previous` with new terms, signed by `keys` (both parties by default).
    func amend(_ previous: String, terms: String, name: String, keys: [String]? = nil) throws -> String {
        let termsFile = file("\(name).terms.json")
        try Data(terms.utf8).write(to: URL(fileURLWithPath: termsFile))
        let out = file("\(name).json")
        let result = try CommandRunner.causeway(["amend", previous, "--terms", termsFile, "-o", out]
            + (keys ?? [sellerKey, buyerKey]).flatMap { ["--key", $0] })
        try #require(result.status == 0, "\(result)")
        return out
    }

    /// A cancellation of `previous`, signed by `keys`.
    func cancel(_ previous: String, name: String, keys: [String]) throws -> String {
        let out = file("\(name).json")
        let result = try CommandRunner.causeway(["cancel", previous, "--reason", "project stopped", "-o", out] + keys.flatMap { ["--key", $0] })
        try #require(result.status == 0, "\(result)")
        return out
    }

    static func bytes(_ path: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path))) }
    static func digest(_ path: String) throws -> String { try Agreement(bytes: bytes(path)).digest.description }
}

/// The legacy staging tables of a gateway's target, read with the database's own client.
enum StagingTarget: String, CaseIterable, CustomStringConvertible {
    case sqlite
    case postgresql

    var description: String { rawValue }

    /// A gateway (store and target of this kind) trusting `parties`, and the query function for its target.
    /// `delivery`: YAML lines under `delivery:`.
    func gateway(_ parties: RevisionParties, prefix: String, delivery: String = "  max_attempts: 3") throws
        -> (RunningGateway, (String) throws -> String)
    {
        switch self {
        case .sqlite:
            let gateway = try RunningGateway(partners: parties.partners, delivery: delivery)
            let path = gateway.directory.appendingPathComponent("erp.sqlite").path
            return (gateway, { sql in
                let result = try CommandRunner.run("/usr/bin/sqlite3", [path, sql])
                guard result.status == 0 else { throw MissingTestInput(path: "sqlite3", hint: result.description) }
                return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            })
        case .postgresql:
            let store = try ReliabilityTests.database("\(prefix)_store")
            let target = try ReliabilityTests.database("\(prefix)_erp")
            try ReliabilityTests.staging(target)
            let gateway = try RunningGateway(store: store, targets: "  erp-staging: {adapter: postgresql, url: \"\(target)\"}",
                                             partners: parties.partners, delivery: delivery)
            return (gateway, { sql in try ReliabilityTests.psql(target, sql) })
        }
    }
}

/// Issue 13 through a real `causeway serve`: an agreement is created, changed twice and cancelled;
/// the staging rows, receipts and refusals are checked at each step, on both stores and targets.
@Suite("Agreement changes and cancellations through a real gateway", .serialized)
struct RevisionGatewayTests {
    /// Waits until the agreement has `status`; returns its JSON.
    static func wait(_ gateway: RunningGateway, _ digest: String, for status: String, sourceLocation: SourceLocation = #_sourceLocation)
        async throws -> JSONValue
    {
        var last: JSONValue?
        for _ in 0..<200 {
            let (code, body) = try await gateway.request("GET", "/v1/agreements/\(digest)", token: gateway.token)
            last = body
            if code == 200, body?["status"]?.stringValue == status, status != "delivered" && status != "cancelled"
                || (body?["receipts"]?.arrayValue?.count ?? 0) == (body?["actions"]?.arrayValue?.count ?? -1) {
                return try #require(body)
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("\(digest) never reached \(status): \(last.map { JSONWriter.string($0) } ?? "nothing")\n\(gateway.log)",
                     sourceLocation: sourceLocation)
        throw MissingTestInput(path: digest, hint: "not \(status)")
    }

    static func submit(_ gateway: RunningGateway, _ path: String) async throws -> (Int, JSONValue?) {
        try await gateway.request("POST", "/v1/agreements", body: try RevisionParties.bytes(path))
    }

    @Test("create → change quantity and price → change lines → cancel: rows updated in place, lines replaced, provenance appended, receipts linked; stale, unsigned and late revisions refused",
          arguments: StagingTarget.allCases)
    func life(target: StagingTarget) async throws {
        let parties = try RevisionParties()
        let (gateway, query) = try target.gateway(parties, prefix: "life")
        defer { _ = gateway.stop() }
        try await gateway.waitUntilReady()

        // Version 1.
        let v1 = try parties.original("urn:uuid:life-1")
        let v1Digest = try RevisionParties.digest(v1)
        #expect(try await Self.submit(gateway, v1).0 == 202)
        let first = try await Self.wait(gateway, v1Digest, for: "delivered")
        let firstReceipt = try #require(first["receipts"]?.arrayValue?.first?["id"]?.stringValue)
        let row = "SELECT coalesce(version, 1) || ' ' || status || ' ' || total_amount FROM erp_purchase_order WHERE agreement_digest = '\(v1Digest)'"
        #expect(try query(row) == "1 open 3048.00")
        let lines = "SELECT group_concat(item_code || ':' || quantity || '@' || unit_price, ',') FROM (SELECT * FROM erp_purchase_order_line ORDER BY line_no)"
        let pgLines = "SELECT string_agg(item_code || ':' || quantity || '@' || unit_price, ',' ORDER BY line_no) FROM erp_purchase_order_line"
        let linesSQL = target == .sqlite ? lines : pgLines
        #expect(try query(linesSQL) == "BRG-6205:200.000@7.8500,BRG-NU205:40.000@31.2000,BRG-22205:12.500@18.4000")

        // Version 2: more bearings at a lower price.
        let v2 = try parties.amend(v1, terms: """
            {"lines": [
              {"sku": "STL-6205-2RS", "description": "Rillenkugellager 6205-2RS, abgedichtet", "quantity": "250", "unit": "pcs", "unitPrice": "7.60"},
              {"sku": "STL-NU205", "description": "Zylinderrollenlager NU205", "quantity": "40", "unit": "pcs", "unitPrice": "31.20"},
              {"sku": "STL-22205-E", "description": "Pendelrollenlager 22205-E", "quantity": "12.5", "unit": "kg", "unitPrice": "18.40"}]}
            """, name: "v2")
        let v2Digest = try RevisionParties.digest(v2)
        let (accepted, answer) = try await Self.submit(gateway, v2)
        #expect(accepted == 202, "\(answer.map { JSONWriter.string($0) } ?? "")")
        let second = try await Self.wait(gateway, v2Digest, for: "delivered")
        #expect(try query(row) == "2 open 3378.00")
        #expect(try query(linesSQL) == "BRG-6205:250.000@7.6000,BRG-NU205:40.000@31.2000,BRG-22205:12.500@18.4000")
        let provenanceCount = target == .sqlite
            ? "SELECT json_array_length(provenance) FROM erp_purchase_order" : "SELECT jsonb_array_length(provenance) FROM erp_purchase_order"
        #expect(try query(provenanceCount) == "2", "the change's provenance is appended to the original's, never over it")
        let receipt = try #require(second["receipts"]?.arrayValue?.first)
        #expect(receipt["agreement"]?["version"]?.exactInt == 2)
        #expect(receipt["agreement"]?["amends"]?.stringValue == v1Digest)
        #expect(receipt["previousReceipt"]?.stringValue == firstReceipt)

        // Someone else's version 2, built from v1 after v2 was accepted: stale, naming the current version.
        let late = try parties.amend(v1, terms: #"{"payment": {"terms": "NET60"}}"#, name: "v2-late")
        let (staleStatus, stale) = try await Self.submit(gateway, late)
        #expect(staleStatus == 409)
        #expect(stale?["code"]?.stringValue == "intake.stale_version")
        #expect(stale?["current"]?.stringValue == v2Digest)

        // A change the seller did not sign: the partner requires both.
        let unsigned = try parties.amend(v2, terms: #"{"payment": {"terms": "NET45"}}"#, name: "v3-buyer-only", keys: [parties.buyerKey])
        let (refusedStatus, refused) = try await Self.submit(gateway, unsigned)
        #expect(refusedStatus == 422)
        #expect(JSONWriter.string(refused ?? .null).contains("policy.revision_signers_missing"))

        // Version 3: a line dropped, one added.
        let v3 = try parties.amend(v2, terms: """
            {"lines": [
              {"sku": "STL-6205-2RS", "description": "Rillenkugellager 6205-2RS, abgedichtet", "quantity": "250", "unit": "pcs", "unitPrice": "7.60"},
              {"sku": "STL-51105", "description": "Axial-Rillenkugellager 51105", "quantity": "30", "unit": "pcs", "unitPrice": "4.10"}]}
            """, name: "v3")
        let v3Digest = try RevisionParties.digest(v3)
        #expect(try await Self.submit(gateway, v3).0 == 202)
        _ = try await Self.wait(gateway, v3Digest, for: "delivered")
        #expect(try query(row) == "3 open 2023.00")
        #expect(try query(linesSQL) == "BRG-6205:250.000@7.6000,BRG-51105:30.000@4.1000")

        // The seller alone may not cancel; the buyer alone may (more than 7 days before delivery).
        let bySeller = try parties.cancel(v3, name: "cancel-seller", keys: [parties.sellerKey])
        #expect(try await Self.submit(gateway, bySeller).0 == 422)
        let cancel = try parties.cancel(v3, name: "cancel", keys: [parties.buyerKey])
        let cancelDigest = try RevisionParties.digest(cancel)
        #expect(try await Self.submit(gateway, cancel).0 == 202)
        let cancelled = try await Self.wait(gateway, cancelDigest, for: "cancelled")
        #expect(cancelled["receipts"]?.arrayValue?.first?["agreement"]?["version"]?.exactInt == 4)
        #expect(try query(row) == "4 cancelled 2023.00", "a cancellation marks the order; the rest of the row stays")
        #expect(try query(linesSQL) == "BRG-6205:250.000@7.6000,BRG-51105:30.000@4.1000")
        #expect(try query(provenanceCount) == "4")

        // The API and `causeway status` show the chain from any version.
        let shown = try #require(try await gateway.request("GET", "/v1/agreements/\(v2Digest)", token: gateway.viewerToken).1)
        #expect(shown["versions"]?.arrayValue?.map { $0["version"]?.exactInt ?? 0 } == [1, 2, 3, 4])
        #expect(shown["versions"]?.arrayValue?.compactMap { $0["status"]?.stringValue } == ["delivered", "delivered", "delivered", "cancelled"])
        #expect(shown["supersededBy"]?.stringValue == v3Digest)
        let status = try CommandRunner.causeway(["status", "--gateway", "http://127.0.0.1:\(gateway.port)", v2Digest],
                                                environment: ["CAUSEWAY_TOKEN": gateway.viewerToken])
        #expect(status.status == 0, "\(status)")
        #expect(status.stdout.contains("version 2 (change); superseded by \(v3Digest)"), "\(status.stdout)")
        #expect(status.stdout.contains("v4 cancellation   cancelled  \(cancelDigest)"), "\(status.stdout)")
        #expect(status.stdout.contains("\(v2Digest)  ← this"))

        // Nothing follows a cancellation.
        let after = try parties.amend(v3, terms: #"{"payment": {"terms": "NET10"}}"#, name: "after")
        let (closedStatus, closed) = try await Self.submit(gateway, after)
        #expect(closedStatus == 409)
        #expect(closed?["code"]?.stringValue == "intake.agreement_cancelled" || closed?["code"]?.stringValue == "intake.stale_version")
        // Exactly one order row, whatever happened.
        #expect(try query("SELECT count(*) FROM erp_purchase_order") == "1")
    }

    @Test("two changes of one version at once: one is accepted, the other is answered 409 naming the winner", arguments: StagingTarget.allCases)
    func concurrentChanges(target: StagingTarget) async throws {
        let parties = try RevisionParties()
        let (gateway, query) = try target.gateway(parties, prefix: "race")
        defer { _ = gateway.stop() }
        try await gateway.waitUntilReady()
        let v1 = try parties.original("urn:uuid:race-1")
        #expect(try await Self.submit(gateway, v1).0 == 202)
        let a = try parties.amend(v1, terms: #"{"payment": {"terms": "NET45"}}"#, name: "a")
        let b = try parties.amend(v1, terms: #"{"payment": {"terms": "NET60"}}"#, name: "b")
        async let first = Self.submit(gateway, a)
        async let second = Self.submit(gateway, b)
        let answers = [try await first, try await second]
        #expect(answers.map(\.0).sorted() == [202, 409])
        let winner = try #require(answers.first { $0.0 == 202 }?.1?["digest"]?.stringValue)
        #expect(answers.first { $0.0 == 409 }?.1?["current"]?.stringValue == winner)
        _ = try await Self.wait(gateway, winner, for: "delivered")
        let terms = winner == (try RevisionParties.digest(a)) ? "NET45" : "NET60"
        #expect(try query("SELECT payment_terms || ' ' || version FROM erp_purchase_order") == "\(terms) 2")

        // The loser rebases on what the gateway stored: `causeway amend DIGEST` follows the chain's current version.
        let termsFile = parties.file("rebase.terms.json")
        try Data(#"{"payment": {"terms": "NET90"}}"#.utf8).write(to: URL(fileURLWithPath: termsFile))
        let rebased = parties.file("rebased.json")
        let built = try CommandRunner.causeway(["amend", try RevisionParties.digest(v1), "--gateway", "http://127.0.0.1:\(gateway.port)",
                                                "--terms", termsFile, "--key", parties.sellerKey, "--key", parties.buyerKey, "-o", rebased],
                                               environment: ["CAUSEWAY_TOKEN": gateway.viewerToken])
        #expect(built.status == 0, "\(built)")
        let document = try RevisionParties.read(rebased)
        #expect(document["supersedes"]?.stringValue == winner)
        #expect(document["version"]?.exactInt == 3)
        #expect(try await Self.submit(gateway, rebased).0 == 202)
        _ = try await Self.wait(gateway, try RevisionParties.digest(rebased), for: "delivered")
        #expect(try query("SELECT payment_terms || ' ' || version FROM erp_purchase_order") == "NET90 3")
        // The document endpoint serves the exact bytes received.
        let (_, served) = try await gateway.request("GET", "/v1/agreements/\(winner)/document", token: gateway.viewerToken)
        #expect(served?.objectValue.map { Agreement($0).digest.description } == winner)
    }

    @Test("a change submitted before its original is delivered is delivered after it", arguments: [StagingTarget.sqlite])
    func inOrder(target: StagingTarget) async throws {
        let parties = try RevisionParties()
        let (gateway, query) = try target.gateway(parties, prefix: "order")
        defer { _ = gateway.stop() }
        try await gateway.waitUntilReady()
        let v1 = try parties.original("urn:uuid:order-1")
        let v2 = try parties.amend(v1, terms: #"{"payment": {"terms": "NET45"}}"#, name: "v2")
        let v3 = try parties.amend(v2, terms: #"{"payment": {"terms": "NET60"}}"#, name: "v3")
        for file in [v1, v2, v3] { #expect(try await Self.submit(gateway, file).0 == 202) }
        let last = try await Self.wait(gateway, try RevisionParties.digest(v3), for: "delivered")
        var finished: [Int64] = []
        for file in [v1, v2] {
            let body = try await Self.wait(gateway, try RevisionParties.digest(file), for: "delivered")
            finished.append(try #require(body["attempts"]?.arrayValue?.last?["finishedAt"]?.exactInt).int64)
        }
        let started = try #require(last["attempts"]?.arrayValue?.first?["startedAt"]?.exactInt).int64
        #expect(finished[0] <= finished[1] && finished[1] <= started, "versions committed in order: \(finished) then \(started)")
        #expect(try query("SELECT payment_terms || ' ' || version FROM erp_purchase_order") == "NET60 3")
    }
}

extension RevisionGatewayTests {
    @Test("kill -9 between and during versions: every acknowledged version is applied once, in order, with one receipt each")
    func crashBetweenVersions() async throws {
        let parties = try RevisionParties()
        // A short lease: a version in flight when the gateway died is looked up and finished 2 s later.
        let (gateway, query) = try StagingTarget.postgresql.gateway(parties, prefix: "revcrash", delivery: "  max_attempts: 3\n  lease_seconds: 2")
        defer { _ = gateway.stop() }
        try await gateway.waitUntilReady()
        var files = [try parties.original("urn:uuid:crash-1")]
        for version in 2...6 {
            files.append(try parties.amend(files[version - 2], terms: """
                {"lines": [{"sku": "STL-6205-2RS", "description": "Rillenkugellager 6205-2RS", "quantity": "\(100 * version)", "unit": "pcs", "unitPrice": "7.85"}]}
                """, name: "v\(version)"))
        }
        var generator = SeededGenerator(seed: 13)
        for (index, file) in files.enumerated() {
            // Submit until acknowledged: a crash may cut the answer off; resubmitting is harmless (200 known).
            var answered = 0
            for _ in 0..<20 {
                if let (status, _) = try? await Self.submit(gateway, file), status == 202 || status == 200 {
                    answered = status
                    break
                }
                try await gateway.waitUntilReady()
            }
            #expect(answered == 202 || answered == 200, "version \(index + 1) acknowledged")
            // Crash at a random moment after most submissions: while delivering, or between versions.
            if index < files.count - 1, Int.random(in: 0..<3, using: &generator) > 0 {
                try await Task.sleep(for: .milliseconds(Int.random(in: 0..<150, using: &generator)))
                gateway.crash()
                try gateway.start()
                try await gateway.waitUntilReady()
            }
        }
        let last = try RevisionParties.digest(files[5])
        _ = try await Self.wait(gateway, last, for: "delivered")
        #expect(try query("SELECT count(*) || ' ' || version || ' ' || total_amount FROM erp_purchase_order GROUP BY version, total_amount") == "1 6 4710.00")
        #expect(try query("SELECT jsonb_array_length(provenance) FROM erp_purchase_order") == "6", "each version's provenance appended exactly once")
        #expect(try query("SELECT string_agg(p->'revision'->>'version', ',' ORDER BY n) FROM erp_purchase_order, jsonb_array_elements(provenance) WITH ORDINALITY AS e(p, n)")
                == "2,3,4,5,6", "in version order (the original's record has no revision)")
        #expect(try query("SELECT string_agg(quantity::text, ',') FROM erp_purchase_order_line") == "600.000")
        for file in files {
            let body = try #require(try await gateway.request("GET", "/v1/agreements/\(try RevisionParties.digest(file))", token: gateway.token).1)
            #expect(body["receipts"]?.arrayValue?.count == 1, "one receipt for \(file)")
        }
        let verified = try CommandRunner.causeway(["ledger", "verify", "--config", gateway.configFile], in: gateway.directory)
        #expect(verified.status == 0, "\(verified)")
    }
}

extension RevisionGatewayTests {
    @Test("a change of an agreement whose versions retention archived is refused by name; a cancelled chain is archived like a delivered one")
    func archived() async throws {
        let parties = try RevisionParties()
        let gateway = try RunningGateway(partners: parties.partners, extra: "retention:\n  days: 30\n  archive: archive", start: false)
        try FileManager.default.createDirectory(at: gateway.directory.appendingPathComponent("archive"), withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        try gateway.start()
        defer { _ = gateway.stop() }
        try await gateway.waitUntilReady()
        let kept = try parties.original("urn:uuid:archived-1")
        let cancelled = try parties.original("urn:uuid:archived-2")
        for file in [kept, cancelled] { #expect(try await Self.submit(gateway, file).0 == 202) }
        for file in [kept, cancelled] { _ = try await Self.wait(gateway, try RevisionParties.digest(file), for: "delivered") }
        let cancel = try parties.cancel(cancelled, name: "archived-2-cancel", keys: [parties.buyerKey, parties.sellerKey])
        #expect(try await Self.submit(gateway, cancel).0 == 202)
        _ = try await Self.wait(gateway, try RevisionParties.digest(cancel), for: "cancelled")
        // Age everything by 100 days, then prune.
        let digests = try [kept, cancelled, cancel].map(RevisionParties.digest)
        try StoreRetentionTests.age(gateway, nil, digests)
        let pruned = try CommandRunner.causeway(["store", "prune", "--config", gateway.configFile], in: gateway.directory)
        #expect(pruned.status == 0, "\(pruned)")
        #expect(pruned.stdout.contains("archived 3 agreements"), "\(pruned)")
        let late = try parties.amend(kept, terms: #"{"payment": {"terms": "NET60"}}"#, name: "archived-1-v2")
        let (status, body) = try await Self.submit(gateway, late)
        #expect(status == 422)
        #expect(body?["code"]?.stringValue == "intake.agreement_archived", "\(body.map { JSONWriter.string($0) } ?? "")")
        let (gone, problem) = try await gateway.request("GET", "/v1/agreements/\(try RevisionParties.digest(kept))/document", token: gateway.viewerToken)
        #expect(gone == 410)
        #expect(problem?["code"]?.stringValue == "agreement.archived")
    }
}

extension RevisionGatewayTests {
    @Test("on_cancel reads legacy: the reference the original's delivery produced (here the row's po_id, written into the row)")
    func legacyReference() async throws {
        let parties = try RevisionParties()
        let mappingFile = parties.partners.appendingPathComponent("stahlteile/purchase-order.yaml")
        let mapping = try String(contentsOf: mappingFile, encoding: .utf8)
        let marked = "status:           {const: cancelled}"
        #expect(mapping.contains(marked))
        try Data(mapping.replacingOccurrences(of: marked, with: marked + "\n          payment_terms:    {legacy: \"$['purchase-order'].id\"}").utf8)
            .write(to: mappingFile)
        let (gateway, query) = try StagingTarget.sqlite.gateway(parties, prefix: "legacy")
        defer { _ = gateway.stop() }
        try await gateway.waitUntilReady()
        let v1 = try parties.original("urn:uuid:legacy-1")
        #expect(try await Self.submit(gateway, v1).0 == 202)
        let delivered = try await Self.wait(gateway, try RevisionParties.digest(v1), for: "delivered")
        let reference = try #require(delivered["actions"]?[0]?["legacyRef"]?["id"]?.stringValue)
        #expect(try query("SELECT po_id FROM erp_purchase_order") == reference)
        let cancel = try parties.cancel(v1, name: "legacy-cancel", keys: [parties.buyerKey])
        #expect(try await Self.submit(gateway, cancel).0 == 202)
        _ = try await Self.wait(gateway, try RevisionParties.digest(cancel), for: "cancelled")
        #expect(try query("SELECT payment_terms || ' ' || status FROM erp_purchase_order") == "\(reference) cancelled")
    }
}

extension RevisionGatewayTests {
    @Test("the ERP refused the original (dead letter); the parties cancel: the chain is voided — nothing more is sent, no receipt, status cancelled")
    func cancellationVoidsRefusedOriginal() async throws {
        let parties = try RevisionParties()
        // A target database without the staging tables: every insert is refused.
        let gateway = try RunningGateway(targets: "  erp-staging: {adapter: sqlite, path: empty.sqlite}", partners: parties.partners,
                                         delivery: "  max_attempts: 1", start: false)
        let created = try CommandRunner.run("/usr/bin/sqlite3", [gateway.directory.appendingPathComponent("empty.sqlite").path, "CREATE TABLE unrelated (x INTEGER)"])
        try #require(created.status == 0, "\(created)")
        try gateway.start()
        defer { _ = gateway.stop() }
        try await gateway.waitUntilReady()
        let v1 = try parties.original("urn:uuid:void-1")
        let v1Digest = try RevisionParties.digest(v1)
        #expect(try await Self.submit(gateway, v1).0 == 202)
        let refused = try await Self.wait(gateway, v1Digest, for: "dead_letter")
        #expect(refused["attempts"]?.arrayValue?.first?["outcome"]?.stringValue == "rejected", "\(JSONWriter.string(refused))")
        let cancel = try parties.cancel(v1, name: "void-cancel", keys: [parties.buyerKey])
        let (status, answer) = try await Self.submit(gateway, cancel)
        #expect(status == 202)
        #expect(answer?["status"]?.stringValue == "cancelled", "\(answer.map { JSONWriter.string($0) } ?? "")")
        for digest in [v1Digest, try RevisionParties.digest(cancel)] {
            let body = try #require(try await gateway.request("GET", "/v1/agreements/\(digest)", token: gateway.token).1)
            #expect(body["status"]?.stringValue == "cancelled")
            #expect(body["actions"]?.arrayValue?.allSatisfy { $0["state"]?.stringValue == "void" } == true)
            #expect(body["receipts"]?.arrayValue?.isEmpty == true)
        }
        // Nothing is retried or sent afterwards: still one attempt, on the original.
        try await Task.sleep(for: .milliseconds(500))
        let after = try #require(try await gateway.request("GET", "/v1/agreements/\(v1Digest)", token: gateway.token).1)
        #expect(after["attempts"]?.arrayValue?.count == 1)
    }
}

extension Int {
    fileprivate var int64: Int64 { Int64(self) }
}
