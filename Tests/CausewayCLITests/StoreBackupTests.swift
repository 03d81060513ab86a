import CausewayCore
import CausewayTesting
import Foundation
import Testing

/// `causeway store backup` while a real gateway takes submissions, then `causeway store restore`
/// into a fresh store: the ledger verifies and every agreement acknowledged before the backup
/// started is in the restored store. SQLite (online backup API) and PostgreSQL (pg_dump).
@Suite("Store backup and restore", .serialized)
struct StoreBackupTests {
    @Test("an online backup during intake restores into a fresh store that verifies and holds every agreement acknowledged before it",
          arguments: ["sqlite", "postgresql"])
    func backupDuringIntake(store kind: String) async throws {
        let work = try GeneratedAgreements(count: 60, seed: 43)
        let postgres = kind == "postgresql" ? try ReliabilityTests.database("causeway_backup") : nil
        let gateway = try RunningGateway(store: postgres, partners: work.partners)
        defer { _ = gateway.stop() }
        try await gateway.waitUntilReady()
        let before = try await submitUntilAccepted(Array(work.documents[0..<30]), to: [gateway])
        #expect(before.count == 30)

        // The rest arrive while the backup runs.
        async let during = submitUntilAccepted(Array(work.documents[30...]), to: [gateway], concurrency: 4)
        let backup = gateway.directory.appendingPathComponent("backup-\(kind).bak")
        let made = try CommandRunner.causeway(["store", "backup", "--config", gateway.configFile, "--to", backup.path], in: gateway.directory)
        let after = try await during
        #expect(made.status == 0, "\(made)")
        #expect(after.count == 30)
        #expect(try FileManager.default.attributesOfItem(atPath: backup.path)[.posixPermissions] as? Int == 0o600)
        // An existing file is never overwritten.
        let twice = try CommandRunner.causeway(["store", "backup", "--config", gateway.configFile, "--to", backup.path], in: gateway.directory)
        #expect(twice.status == 2 && twice.stderr.contains("exists"), "\(twice)")
        #expect(gateway.stop() == 0)

        // Restore into a fresh store named by a second configuration (its own checkpoint file).
        let config = try String(contentsOf: gateway.directory.appendingPathComponent(gateway.configFile), encoding: .utf8)
        let fresh = try postgres.map { _ in try ReliabilityTests.database("causeway_restored") } ?? "sqlite:restored.sqlite"
        let restoredConfig = config.replacingOccurrences(of: "store: \(postgres ?? "sqlite:causeway.sqlite")", with: "store: \(fresh)")
            + "\nledger:\n  checkpoint_file: restored.checkpoint\n"
        #expect(restoredConfig.contains("store: \(fresh)"))
        try Data(restoredConfig.utf8).write(to: gateway.directory.appendingPathComponent("restored.yaml"))
        let restored = try CommandRunner.causeway(["store", "restore", "--config", "restored.yaml", "--from", backup.path], in: gateway.directory)
        #expect(restored.status == 0, "\(restored)")
        let verified = try CommandRunner.causeway(["ledger", "verify", "--config", "restored.yaml"], in: gateway.directory)
        #expect(verified.status == 0, "\(verified)")

        let digests: Set<String>
        if let fresh = postgres.map({ _ in fresh }) {
            digests = Set(try ReliabilityTests.psql(fresh, "SELECT digest FROM agreements").split(separator: "\n").map(String.init))
        } else {
            let listed = try CommandRunner.run("/usr/bin/sqlite3", [gateway.directory.appendingPathComponent("restored.sqlite").path,
                                                                    "SELECT digest FROM agreements"])
            digests = Set(listed.stdout.split(separator: "\n").map(String.init))
        }
        #expect(before.isSubset(of: digests), "missing: \(before.subtracting(digests))")
        #expect(digests.isSubset(of: before.union(after)))

        // A store that is not empty is refused.
        let again = try CommandRunner.causeway(["store", "restore", "--config", "restored.yaml", "--from", backup.path], in: gateway.directory)
        #expect(again.status == 2, "\(again)")
        #expect(again.stderr.contains(postgres == nil ? "exists" : "empty"), "\(again)")
    }
}
