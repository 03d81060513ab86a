import AdapterKit
import CausewayTesting
import Foundation
import PostgresAdapter
import Testing

/// The rows adapter over TLS to a PostgreSQL cluster of the test's own with `ssl = on` and a test CA.
@Suite("PostgreSQL rows adapter over TLS")
struct PostgresAdapterTLSTests {
    static func adapter(_ url: String) throws -> PostgresRowsAdapter {
        let settings = try PostgresRowsAdapter.descriptor.schema.validate(["url": url], prefix: "targets.erp-staging").get()
        return try PostgresRowsAdapter(settings: settings, password: nil)
    }

    @Test("verify-full with the right CA delivers the rows; with another CA the connection check names the certificate problem")
    func verifyFull() async throws {
        let tls = try PostgresTLSCluster()
        defer { tls.destroy() }
        try tls.cluster.psql("CREATE DATABASE erp_tls")
        let schema = try String(contentsOf: TestPaths.repository.appendingPathComponent("Deploy/examples/erp-staging.sql"), encoding: .utf8)
        try tls.cluster.psql(schema, database: "erp_tls")

        let adapter = try Self.adapter(tls.url(database: "erp_tls", query: "sslmode=verify-full&sslrootcert=file:\(tls.file("ca.crt"))"))
        let pool = Task { await adapter.run() }
        defer { pool.cancel() }
        try await adapter.checkConnection()
        let delivery = try StahlteileActions.action(fixture: "kilograms", nonce: "tls")
        let outcome = await adapter.deliver(delivery)
        #expect(outcome.outcomeClass == .delivered, "\(outcome)")
        let poID = try #require(outcome.reference?.id)
        let stored = try tls.cluster.psql("SELECT agreement_digest FROM erp_purchase_order WHERE po_id = \(poID)", database: "erp_tls")
        #expect(stored.trimmingCharacters(in: .whitespacesAndNewlines) == "\(delivery.agreementDigest)")
        let encrypted = try tls.cluster.psql("""
            SELECT bool_and(s.ssl) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.datname = 'erp_tls' AND a.pid <> pg_backend_pid()
            """)
        #expect(encrypted.trimmingCharacters(in: .whitespacesAndNewlines) == "t", "\(encrypted)")

        let wrong = try Self.adapter(tls.url(database: "erp_tls", query: "sslmode=verify-full&sslrootcert=file:\(tls.file("other-ca.crt"))"))
        await #expect {
            try await wrong.checkConnection()
        } throws: { error in
            let text = "\(error)"
            return text.hasPrefix("url: cannot connect to 127.0.0.1:\(tls.cluster.port) (sslmode=verify-full)")
                && text.contains("the server's certificate is not trusted")
        }
    }

    @Test("a bad TLS parameter in the target's url is named")
    func badParameter() throws {
        #expect {
            try Self.adapter("postgresql://gw@db.internal/erp?sslmode=verify")
        } throws: { error in
            "\(error)" == "url: sslmode 'verify' is not one of disable, require, verify-ca, verify-full"
        }
    }
}
