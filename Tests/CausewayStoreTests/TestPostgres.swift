@_spi(Testing) import CausewayStore
import CausewayTesting
import Foundation
import Logging
import PostgresNIO

/// Databases on the test PostgreSQL cluster: each test gets its own, so tests never share state.
enum TestPostgres {
    /// The admin URL of the cluster (`CAUSEWAY_TEST_POSTGRES`, set by scripts/test).
    static func adminURL() throws -> String {
        guard let url = ProcessInfo.processInfo.environment["CAUSEWAY_TEST_POSTGRES"] else {
            throw MissingTestInput(path: "CAUSEWAY_TEST_POSTGRES",
                                   hint: "the PostgreSQL tests need the cluster that scripts/test starts; run them through scripts/test")
        }
        return url
    }

    /// A store on a new, empty database. Its connection pool runs for the rest of the test process.
    static func freshStore() async throws -> PostgresStore {
        let admin = try adminURL()
        let name = "causeway_test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let adminStore = try PostgresStore(url: admin)
        let runner = Task { await adminStore.run() }
        defer { runner.cancel() }
        try await adminStore.execute(unsafeSQL: "CREATE DATABASE \(name)")
        let url = admin.replacingOccurrences(of: "/postgres", with: "/\(name)")
        let store = try PostgresStore(url: url)
        Task { await store.run() }
        return store
    }
}
