import CausewayCore
import CausewayTesting
import Foundation
import Testing

/// The gateway under failure, with real processes and real PostgreSQL servers: crashes, a target
/// that goes away, and several instances sharing one store. In every case each accepted agreement
/// must end as exactly one set of legacy rows with exactly one receipt, and the ledger must verify.
@Suite("Reliability: crashes, outages and several instances", .serialized)
struct ReliabilityTests {
    static let schema = TestPaths.repository.appendingPathComponent("Deploy/examples/erp-staging.sql")

    /// A fresh database on the scripts/test cluster; returns its URL.
    static func database(_ prefix: String) throws -> String {
        guard let admin = ProcessInfo.processInfo.environment["CAUSEWAY_TEST_POSTGRES"] else {
            throw MissingTestInput(path: "CAUSEWAY_TEST_POSTGRES", hint: "the reliability tests need the cluster that scripts/test starts")
        }
        let name = "\(prefix)_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(12)
        let created = try CommandRunner.run("/usr/bin/psql", [admin, "-v", "ON_ERROR_STOP=1", "-qc", "CREATE DATABASE \(name)"])
        guard created.status == 0 else { throw MissingTestInput(path: "psql", hint: created.description) }
        return admin.replacingOccurrences(of: "/postgres", with: "/\(name)")
    }

    static func psql(_ url: String, _ sql: String) throws -> String {
        let result = try CommandRunner.run("/usr/bin/psql", [url, "-v", "ON_ERROR_STOP=1", "-qAtX", "-c", sql])
        guard result.status == 0 else { throw MissingTestInput(path: "psql", hint: result.description) }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func staging(_ url: String) throws {
        let result = try CommandRunner.run("/usr/bin/psql", [url, "-v", "ON_ERROR_STOP=1", "-qX", "-f", schema.path])
        guard result.status == 0 else { throw MissingTestInput(path: "staging schema", hint: result.description) }
    }

    /// A gateway on a fresh PostgreSQL store delivering into a fresh staging database; returns
    /// the gateway (started, not yet ready) and both databases' URLs.
    static func stagingGateway(_ prefix: String, _ work: GeneratedAgreements, delivery: String? = "  lease_seconds: 2") throws
        -> (gateway: RunningGateway, store: String, target: String)
    {
        let store = try database("\(prefix)_store")
        let target = try database("\(prefix)_erp")
        try staging(target)
        let targets = "  erp-staging: {adapter: postgresql, url: \"\(target)\"}"
        return (try RunningGateway(store: store, targets: targets, partners: work.partners, delivery: delivery), store, target)
    }

    /// The legacy side holds exactly one purchase order per accepted agreement, with all its lines.
    static func expectExactlyOnce(target: String, accepted: Set<String>, work: GeneratedAgreements,
                                  sourceLocation: SourceLocation = #_sourceLocation) throws {
        let counts = try psql(target, "SELECT count(*) || ' ' || count(DISTINCT agreement_digest) FROM erp_purchase_order")
        #expect(counts == "\(accepted.count) \(accepted.count)", sourceLocation: sourceLocation)
        let written = Set(try psql(target, "SELECT agreement_digest FROM erp_purchase_order").split(separator: "\n").map(String.init))
        #expect(written == accepted, sourceLocation: sourceLocation)
        #expect(try psql(target, "SELECT count(*) FROM erp_purchase_order_line") == String(work.lineCount), sourceLocation: sourceLocation)
        // Every row carries the provenance of its own agreement.
        #expect(try psql(target, "SELECT count(*) FROM erp_purchase_order WHERE provenance->'agreement'->>'digest' <> agreement_digest") == "0",
                sourceLocation: sourceLocation)
    }

    @Test("kill -9 at random points while delivering a few hundred agreements: exactly one set of rows and one receipt each")
    func crashes() async throws {
        let work = try GeneratedAgreements(count: 300, seed: 11)
        let (gateway, store, target) = try Self.stagingGateway("causeway_crash", work)
        defer { _ = gateway.stop() }
        try await gateway.waitUntilReady()

        // Crash the gateway three times at random moments while the agreements arrive and are delivered.
        async let submitted = submitUntilAccepted(work.documents, to: [gateway])
        var crashes = 0
        for _ in 0..<3 {
            try await Task.sleep(for: .milliseconds(Int.random(in: 300...1_500)))
            gateway.crash()
            crashes += 1
            try gateway.start()
            try await gateway.waitUntilReady()
        }
        let accepted = try await submitted
        #expect(accepted == Set(work.digests))
        #expect(crashes == 3)

        // One more crash after intake, in the middle of delivery.
        try await Task.sleep(for: .milliseconds(Int.random(in: 100...800)))
        gateway.crash()
        try gateway.start()
        try await gateway.waitUntilReady()

        let settled = try await eventually(seconds: 180) {
            try Self.psql(store, "SELECT count(*) FROM ledger") == String(accepted.count)
                && Self.psql(store, "SELECT count(*) FROM outbox WHERE state <> 'delivered'") == "0"
        }
        let states = try Self.psql(store, "SELECT state, count(*) FROM outbox GROUP BY state")
        #expect(settled, "\(states)\n\(gateway.log.suffix(3000))")
        try Self.expectExactlyOnce(target: target, accepted: accepted, work: work)
        // One receipt per agreement (the stahlteile mapping has one action), each for its own entry.
        #expect(try Self.psql(store, "SELECT count(DISTINCT digest) || ' ' || count(*) FROM ledger") == "\(accepted.count) \(accepted.count)")
        #expect(try Self.psql(store, "SELECT count(*) FROM agreements WHERE status <> 'delivered'") == "0")
        #expect(gateway.stop() == 0)
        let verified = try CommandRunner.causeway(["ledger", "verify", "--config", gateway.configFile], in: gateway.directory)
        #expect(verified.status == 0, "\(verified)")
    }

    @Test("kill -9 during group commits at intake: every acknowledged agreement is stored whole, none half-stored, each delivered once")
    func crashDuringGroupCommit() async throws {
        let work = try GeneratedAgreements(count: 480, seed: 12)
        let (gateway, store, target) = try Self.stagingGateway("causeway_group", work)
        defer { _ = gateway.stop() }
        try await gateway.waitUntilReady()

        // Three rounds: 160 agreements from 32 clients at once (so that they share transactions),
        // each sent once, and the gateway killed while they are being written.
        var acknowledged = Set<String>()
        for round in 0..<3 {
            let documents = Array(work.documents[(round * 160)..<((round + 1) * 160)])
            async let answers = withTaskGroup(of: String?.self) { group in
                for lane in 0..<32 {
                    group.addTask {
                        var digests: [String] = []
                        for index in stride(from: lane, to: documents.count, by: 32) {
                            if let (status, body) = try? await gateway.request("POST", "/v1/agreements", body: documents[index]),
                                status == 202 || status == 200, let digest = body?["digest"]?.stringValue {
                                digests.append(digest)
                            }
                        }
                        return digests.joined(separator: " ")
                    }
                }
                var all: [String] = []
                for await digests in group { all += (digests ?? "").split(separator: " ").map(String.init) }
                return all
            }
            try await Task.sleep(for: .milliseconds(Int.random(in: 100...300)))
            gateway.crash()
            acknowledged.formUnion(await answers)
            try gateway.start()
            try await gateway.waitUntilReady()
        }
        #expect(acknowledged.count > 0 && acknowledged.count < 480, "the crashes came during intake (acknowledged \(acknowledged.count))")
        // Acknowledged means stored, and stored means whole: every agreement has its outbox entry.
        let stored = Set(try Self.psql(store, "SELECT digest FROM agreements").split(separator: "\n").map(String.init))
        #expect(acknowledged.isSubset(of: stored), "acknowledged but not stored: \(acknowledged.subtracting(stored).count)")
        #expect(try Self.psql(store, "SELECT count(*) FROM agreements a WHERE NOT EXISTS (SELECT 1 FROM outbox o WHERE o.digest = a.digest)") == "0")
        // Everything stored is delivered exactly once, with one receipt each.
        let settled = try await eventually(seconds: 180) {
            try Self.psql(store, "SELECT count(*) FROM ledger") == String(stored.count)
                && Self.psql(store, "SELECT count(*) FROM outbox WHERE state <> 'delivered'") == "0"
        }
        let states = try Self.psql(store, "SELECT state, count(*) FROM outbox GROUP BY state")
        #expect(settled, "\(states)")
        let written = try Self.psql(target, "SELECT count(*) || ' ' || count(DISTINCT agreement_digest) FROM erp_purchase_order")
        #expect(written == "\(stored.count) \(stored.count)")
        #expect(gateway.stop() == 0)
        let verified = try CommandRunner.causeway(["ledger", "verify", "--config", gateway.configFile], in: gateway.directory)
        #expect(verified.status == 0, "\(verified)")
    }

    @Test("the target PostgreSQL stops mid-run and starts again: deliveries resume, nothing lost or doubled")
    func targetOutage() async throws {
        let work = try GeneratedAgreements(count: 120, seed: 12)
        let cluster = try PostgresCluster()
        defer { cluster.destroy() }
        try cluster.psql("CREATE DATABASE erp")
        let target = cluster.url(database: "erp")
        try Self.staging(target)
        let gateway = try RunningGateway(targets: "  erp-staging: {adapter: postgresql, url: \"\(target)\", timeout: \"2\"}",
                                         partners: work.partners, delivery: "  lease_seconds: 2")
        defer { _ = gateway.stop() }
        try await gateway.waitUntilReady()

        async let submitted = submitUntilAccepted(work.documents, to: [gateway], concurrency: 4)
        // Stop the target once part of the work is in, as abruptly as a crash.
        _ = try await eventually(seconds: 60) { Int(try Self.psql(target, "SELECT count(*) FROM erp_purchase_order")) ?? 0 >= 10 }
        try cluster.stop(immediate: true)
        let accepted = try await submitted
        try await Task.sleep(for: .seconds(2))
        let (_, listing) = try await gateway.request("GET", "/v1/agreements?status=retrying", token: gateway.viewerToken)
        let waiting = listing?["agreements"]?.arrayValue?.count ?? 0
        try cluster.start()

        let settled = try await eventually(seconds: 180) {
            try Self.psql(target, "SELECT count(*) FROM erp_purchase_order") == String(accepted.count)
        }
        #expect(settled, "\(gateway.log.suffix(3000))")
        #expect(accepted == Set(work.digests))
        #expect(waiting > 0, "while the target was down, agreements should show as retrying")
        try Self.expectExactlyOnce(target: target, accepted: accepted, work: work)
        // Every agreement receipted: the SQLite store's ledger holds one entry each.
        let storeFile = gateway.directory.appendingPathComponent("causeway.sqlite").path
        let receipted = try await eventually(seconds: 30) {
            try CommandRunner.run("/usr/bin/sqlite3", [storeFile, "SELECT count(*) FROM ledger"]).stdout == "\(accepted.count)\n"
        }
        #expect(receipted)
        #expect(gateway.stop() == 0)
        let verified = try CommandRunner.causeway(["ledger", "verify", "--config", gateway.configFile], in: gateway.directory)
        #expect(verified.status == 0, "\(verified)")
        #expect(verified.stdout.contains("ledger intact: \(accepted.count) entries"), "\(verified)")
    }

    @Test("two serve processes on one PostgreSQL store divide the work with no duplicate legacy write")
    func twoInstances() async throws {
        let work = try GeneratedAgreements(count: 200, seed: 13)
        let store = try Self.database("causeway_pair_store")
        let target = try Self.database("causeway_pair_erp")
        try Self.staging(target)
        let targets = "  erp-staging: {adapter: postgresql, url: \"\(target)\"}"
        let first = try RunningGateway(store: store, targets: targets, partners: work.partners)
        defer { _ = first.stop() }
        try await first.waitUntilReady()
        let second = try RunningGateway(store: store, targets: targets, sharing: first)
        defer { _ = second.stop() }
        try await second.waitUntilReady()

        let accepted = try await submitUntilAccepted(work.documents, to: [first, second])
        #expect(accepted == Set(work.digests))
        let settled = try await eventually(seconds: 120) { try Self.psql(store, "SELECT count(*) FROM ledger") == String(accepted.count) }
        #expect(settled, "\(first.log.suffix(2000))\n\(second.log.suffix(2000))")
        try Self.expectExactlyOnce(target: target, accepted: accepted, work: work)
        // Each outbox entry was attempted once, by one of the two, and both took part.
        #expect(try Self.psql(store, "SELECT count(*) FROM (SELECT outbox_id FROM attempts GROUP BY outbox_id HAVING count(*) > 1) AS twice") == "0")
        #expect(try Self.psql(store, "SELECT count(DISTINCT worker) FROM attempts") == "2")
        #expect(first.stop() == 0)
        #expect(second.stop() == 0)
        let verified = try CommandRunner.causeway(["ledger", "verify", "--config", first.configFile], in: first.directory)
        #expect(verified.status == 0, "\(verified)")
    }
}
