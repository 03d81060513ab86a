import CausewayCore
import CausewayTesting
import Foundation
import Testing

/// `retention:`, `causeway store prune` and the gateway's scheduled prune, on both stores, with a
/// real `causeway serve` that took and delivered the agreements. Agreements are made "old" by
/// editing their timestamps in the store with the gateway stopped (`received_at` and their
/// attempts' `started_at`/`finished_at` moved 100 days back) — no clock is injected.
@Suite("Store retention", .serialized)
struct StoreRetentionTests {
    static let day: Int64 = 86_400_000

    /// Runs SQL on the gateway's store: sqlite3 on its file, or psql on its URL.
    static func sql(_ gateway: RunningGateway, _ postgres: String?, _ statement: String) throws -> String {
        if let postgres { return try ReliabilityTests.psql(postgres, statement) }
        let result = try CommandRunner.run("/usr/bin/sqlite3", [gateway.directory.appendingPathComponent("causeway.sqlite").path, statement])
        guard result.status == 0 else { throw MissingTestInput(path: "sqlite3", hint: result.description) }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Moves agreements (and their attempts) 100 days into the past.
    static func age(_ gateway: RunningGateway, _ postgres: String?, _ digests: [String]) throws {
        let list = digests.map { "'\($0)'" }.joined(separator: ", ")
        _ = try sql(gateway, postgres, "UPDATE agreements SET received_at = received_at - \(100 * day) WHERE digest IN (\(list))")
        _ = try sql(gateway, postgres, """
            UPDATE attempts SET started_at = started_at - \(100 * day), finished_at = finished_at - \(100 * day)
            WHERE outbox_id IN (SELECT id FROM outbox WHERE digest IN (\(list)))
            """)
    }

    static func archives(_ gateway: RunningGateway) throws -> [URL] {
        try FileManager.default.contentsOfDirectory(at: gateway.directory.appendingPathComponent("archive"), includingPropertiesForKeys: nil)
            .filter { $0.lastPathComponent.hasPrefix("causeway-archive-") }.sorted { $0.path < $1.path }
    }

    @Test("prune archives finished old agreements (delivered, dead-lettered) to a 0600 JSON-lines file, keeps in-flight and recent ones, ledger verify passes; the gateway prunes on schedule and the dashboard shows archived",
          arguments: ["sqlite", "postgresql"])
    func pruneAndSchedule(store kind: String) async throws {
        let work = try GeneratedAgreements(count: 12, seed: 41)
        let postgres = kind == "postgresql" ? try ReliabilityTests.database("causeway_retention") : nil
        let gateway = try RunningGateway(store: postgres, partners: work.partners,
                                         extra: "retention:\n  days: 30\n  archive: archive\n  every_seconds: 1")
        defer { _ = gateway.stop() }
        try FileManager.default.createDirectory(at: gateway.directory.appendingPathComponent("archive"), withIntermediateDirectories: true)
        try await gateway.waitUntilReady()
        let accepted = try await submitUntilAccepted(work.documents, to: [gateway])
        #expect(accepted == Set(work.digests))
        let settled = try await eventually(seconds: 120) {
            try Self.sql(gateway, postgres, "SELECT count(*) FROM ledger") == "12"
                && Self.sql(gateway, postgres, "SELECT count(*) FROM outbox WHERE state <> 'delivered'") == "0"
        }
        #expect(settled, "\(gateway.log.suffix(2000))")
        // Running with retention on, nothing recent was archived.
        #expect(try Self.archives(gateway).isEmpty)
        #expect(gateway.stop() == 0)

        // Group A: 7 old and finished (one made a dead letter by hand); one old but held in flight; the rest recent.
        let digests = work.digests
        let groupA = Array(digests[0..<7])
        let inFlight = digests[7]
        let groupB = Array(digests[8...])
        try Self.age(gateway, postgres, groupA + [inFlight])
        _ = try Self.sql(gateway, postgres, "UPDATE outbox SET state = 'dead_letter', last_error = 'test' WHERE digest = '\(groupA[6])'")
        _ = try Self.sql(gateway, postgres, "UPDATE agreements SET status = 'dead_letter' WHERE digest = '\(groupA[6])'")
        let leaseUntil = Int64(Date().timeIntervalSince1970 * 1000) + 2 * Self.day
        _ = try Self.sql(gateway, postgres, """
            UPDATE outbox SET state = 'in_flight', claimed_by = 'test-worker', lease_until = \(leaseUntil) WHERE digest = '\(inFlight)'
            """)
        _ = try Self.sql(gateway, postgres, "UPDATE agreements SET status = 'delivering' WHERE digest = '\(inFlight)'")
        let attemptsA = try Self.sql(gateway, postgres, """
            SELECT count(*) FROM attempts WHERE outbox_id IN (SELECT id FROM outbox WHERE digest IN (\(groupA.map { "'\($0)'" }.joined(separator: ", "))))
            """)
        #expect((Int(attemptsA) ?? 0) >= 7)
        // Trace contexts (as a traced gateway keeps them) for every agreement: pruned with group A only.
        for digest in digests {
            _ = try Self.sql(gateway, postgres, """
                INSERT INTO agreement_traces (digest, traceparent, tracestate)
                VALUES ('\(digest)', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', '')
                """)
        }

        // A dry run counts and changes nothing.
        let dry = try CommandRunner.causeway(["store", "prune", "--config", gateway.configFile, "--dry-run"], in: gateway.directory)
        #expect(dry.status == 0, "\(dry)")
        #expect(dry.stdout.contains("would archive 7 agreements (\(attemptsA) attempts) older than 30 days"), "\(dry)")
        #expect(try Self.archives(gateway).isEmpty)
        #expect(try Self.sql(gateway, postgres, "SELECT count(*) FROM attempts") != "0")

        let pruned = try CommandRunner.causeway(["store", "prune", "--config", gateway.configFile], in: gateway.directory)
        #expect(pruned.status == 0, "\(pruned)")
        #expect(pruned.stdout.contains("archived 7 agreements (\(attemptsA) attempts)"), "\(pruned)")
        let files = try Self.archives(gateway)
        try #require(files.count == 1, "\(files)")
        let mode = try FileManager.default.attributesOfItem(atPath: files[0].path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let lines = try String(contentsOf: files[0], encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 7)
        var archived: [String: JSONValue] = [:]
        for line in lines {
            let record = try JSONReader().read(String(line))
            archived[record["digest"]?.stringValue ?? "?"] = record
        }
        #expect(Set(archived.keys) == Set(groupA))
        for (index, digest) in digests.enumerated() where groupA.contains(digest) {
            let record = try #require(archived[digest])
            // The signed bytes exactly as received, and every attempt.
            #expect(record["document"]?.stringValue.flatMap { Data(base64Encoded: $0) }.map(Array.init) == work.documents[index])
            #expect(record["format"]?.stringValue == "causeway-archive/1")
            #expect((record["attempts"]?.arrayValue?.count ?? 0) >= 1)
            #expect(record["entries"]?[0]?["receiptId"]?.stringValue != nil)
        }
        #expect(archived[groupA[6]]?["status"]?.stringValue == "dead_letter")
        // In the store: bodies and attempts gone for group A only; rows, receipts and tree kept.
        let list = groupA.map { "'\($0)'" }.joined(separator: ", ")
        #expect(try Self.sql(gateway, postgres, "SELECT count(*) FROM agreements WHERE length(document) = 0") == "7")
        #expect(try Self.sql(gateway, postgres, "SELECT count(*) FROM agreements WHERE length(document) = 0 AND digest IN (\(list))") == "7")
        #expect(try Self.sql(gateway, postgres, "SELECT count(*) FROM attempts WHERE outbox_id IN (SELECT id FROM outbox WHERE digest IN (\(list)))") == "0")
        #expect(try Self.sql(gateway, postgres, "SELECT count(*) FROM archived_agreements") == "7")
        #expect(try Self.sql(gateway, postgres, "SELECT count(*) FROM agreement_traces WHERE digest IN (\(list))") == "0")
        #expect(try Self.sql(gateway, postgres, "SELECT count(*) FROM agreement_traces") == "5")
        #expect(try Self.sql(gateway, postgres, "SELECT count(*) FROM agreements") == "12")
        #expect(try Self.sql(gateway, postgres, "SELECT count(*) FROM ledger") == "12")
        let verified = try CommandRunner.causeway(["ledger", "verify", "--config", gateway.configFile], in: gateway.directory)
        #expect(verified.status == 0, "\(verified)")
        // Nothing more is old: no second file.
        let again = try CommandRunner.causeway(["store", "prune", "--config", gateway.configFile], in: gateway.directory)
        #expect(again.stdout.contains("nothing to archive"), "\(again)")
        #expect(try Self.archives(gateway).count == 1)

        // Group B grows old; the gateway's scheduled prune (every second) archives it, not the one in flight.
        try Self.age(gateway, postgres, groupB)
        try gateway.start()
        try await gateway.waitUntilReady()
        let scheduled = try await eventually(seconds: 60) { try Self.sql(gateway, postgres, "SELECT count(*) FROM archived_agreements") == "11" }
        #expect(scheduled, "\(gateway.log.suffix(2000))")
        #expect(try Self.archives(gateway).count == 2)
        #expect(try Self.sql(gateway, postgres, "SELECT count(*) FROM archived_agreements WHERE digest = '\(inFlight)'") == "0")
        #expect(gateway.log.contains("retention: archived finished agreements"))

        // The API and the dashboard still show an archived agreement, as archived.
        let (status, detail) = try await gateway.request("GET", "/v1/agreements/\(groupA[0])", token: gateway.viewerToken)
        #expect(status == 200)
        #expect(detail?["receipts"]?.arrayValue?.count == 1)
        let (cookie, _) = try DashboardTests.signIn(gateway, token: gateway.viewerToken)
        let page = try DashboardTests.curl(gateway, "GET", "/orders/\(groupA[0])", cookie: cookie)
        #expect(page.status == 200)
        #expect(page.body.contains("id=\"archived\"") && page.body.contains("causeway-archive-"), "\(page.body.prefix(500))")
        #expect(gateway.stop() == 0)
        let verifiedAgain = try CommandRunner.causeway(["ledger", "verify", "--config", gateway.configFile], in: gateway.directory)
        #expect(verifiedAgain.status == 0, "\(verifiedAgain)")
    }

    @Test("retention settings are checked: days and archive required, each problem named")
    func settings() throws {
        let directory = try CommandRunner.temporaryDirectory("retention-config")
        _ = try CommandRunner.causeway(["keys", "new", "--out", "key.json"], in: directory)
        try Data("identity: key.json\npartners: \(TestPaths.repository.appendingPathComponent("Mappings").path)\nretention:\n  days: 0\n  extra: 1\n"
            .utf8).write(to: directory.appendingPathComponent("causeway.yaml"))
        let result = try CommandRunner.causeway(["config", "check", "--config", "causeway.yaml"], in: directory)
        #expect(result.status == 1)
        #expect(result.stderr.contains("retention.days: must be a whole number of days from 1"), "\(result)")
        #expect(result.stderr.contains("retention.extra: unknown setting"), "\(result)")
        #expect(result.stderr.contains("retention.archive: required"), "\(result)")
    }

    @Test("two prunes at once on one PostgreSQL store archive each of 600 old agreements exactly once, without deadlock")
    func concurrentPrunes() async throws {
        let store = try ReliabilityTests.database("causeway_prune_race")
        let directory = try CommandRunner.temporaryDirectory("prune-race")
        _ = try CommandRunner.causeway(["keys", "new", "--out", "key.json"], in: directory)
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("archive"), withIntermediateDirectories: true)
        try Data("""
            store: \(store)
            identity: key.json
            partners: \(TestPaths.repository.appendingPathComponent("Mappings").path)
            allow_fixture_keys: true
            retention: {days: 30, archive: archive, every_seconds: 0}
            """.utf8).write(to: directory.appendingPathComponent("causeway.yaml"))
        // Migrate, then write 600 finished agreements received 100 days ago, each with a delivered,
        // receipted action and one attempt (rows written directly: only their state matters here).
        let migrated = try CommandRunner.causeway(["store", "prune", "--config", "causeway.yaml", "--dry-run"], in: directory)
        #expect(migrated.stdout.contains("would archive 0 agreements"), "\(migrated)")
        let old = Int64(Date().timeIntervalSince1970 * 1000) - 100 * Self.day
        _ = try ReliabilityTests.psql(store, """
            INSERT INTO agreements (digest, agreement_id, partner, type, status, document, verification, mapping_id, mapping_version,
              mapping_digest, received_at)
            SELECT 'sha256:' || encode(sha256(i::text::bytea), 'hex'), 'PO-' || i, 'stahlteile', 'PurchaseAgreement', 'delivered',
              convert_to('{"n":' || i || '}', 'UTF8'), '{}', 'm', '1', 'sha256:' || repeat('0', 64), \(old)
            FROM generate_series(1, 600) AS i;
            INSERT INTO outbox (digest, action_index, name, target, kind, adapter, action, provenance, receipt_id, state, attempts,
              next_attempt_at, delivered_at, receipt_seq)
            SELECT 'sha256:' || encode(sha256(i::text::bytea), 'hex'), 0, 'a', 'erp', 'rows', 'sqlite', '{}', '{}', 'r-' || i, 'delivered', 1,
              \(old), \(old), i FROM generate_series(1, 600) AS i;
            INSERT INTO attempts (outbox_id, number, worker, started_at, finished_at, outcome)
            SELECT id, 1, 'w', \(old), \(old), 'delivered' FROM outbox;
            """)
        async let first = Task.detached { try CommandRunner.causeway(["store", "prune", "--config", "causeway.yaml"], in: directory) }.value
        async let second = Task.detached { try CommandRunner.causeway(["store", "prune", "--config", "causeway.yaml"], in: directory) }.value
        let (a, b) = try await (first, second)
        #expect(a.status == 0, "\(a)")
        #expect(b.status == 0, "\(b)")
        // Each run reports what it archived; together exactly the 600.
        let counts = [a, b].map { Int($0.stdout.firstMatch(of: /archived (\d+) agreements/)?.1 ?? "0") ?? 0 }
        #expect(counts.reduce(0, +) == 600, "\(a.stdout) \(b.stdout)")
        var seen: [String] = []
        for file in try FileManager.default.contentsOfDirectory(at: directory.appendingPathComponent("archive"), includingPropertiesForKeys: nil) {
            for line in try String(contentsOf: file, encoding: .utf8).split(separator: "\n") {
                seen.append(try JSONReader().read(String(line))["digest"]?.stringValue ?? "?")
            }
        }
        #expect(seen.count == 600)
        #expect(Set(seen).count == 600)
        #expect(try ReliabilityTests.psql(store, "SELECT count(*) FROM archived_agreements") == "600")
        #expect(try ReliabilityTests.psql(store, "SELECT count(*) FROM attempts") == "0")
        #expect(try ReliabilityTests.psql(store, "SELECT count(*) FROM agreements WHERE length(document) > 0") == "0")
    }
}
