import CausewayCore
import CausewayTesting
import Foundation
import Testing

/// `causeway serve` with its store and its target on a PostgreSQL cluster with `ssl = on` and a
/// CA made by the test, both with `sslmode=verify-full`.
@Suite("causeway serve with PostgreSQL over TLS")
struct PostgresTLSServeTests {
    @Test("store and target over verify-full: an agreement is delivered and receipted, every gateway connection encrypted")
    func verifyFull() async throws {
        let tls = try PostgresTLSCluster()
        defer { tls.destroy() }
        try tls.cluster.psql("CREATE DATABASE causeway")
        try tls.cluster.psql("CREATE DATABASE erp")
        let schema = try String(contentsOf: TestPaths.repository.appendingPathComponent("Deploy/examples/erp-staging.sql"), encoding: .utf8)
        try tls.cluster.psql(schema, database: "erp")
        let verify = "sslmode=verify-full&sslrootcert=file:\(tls.file("ca.crt"))"
        let gateway = try RunningGateway(store: tls.url(database: "causeway", query: verify),
                                         targets: "  erp-staging: {adapter: postgresql, url: \"\(tls.url(database: "erp", query: verify))\"}")
        defer { _ = gateway.stop() }
        try await gateway.waitUntilReady()

        let bytes = Array(try Data(contentsOf: TestPaths.repository.appendingPathComponent("Mappings/stahlteile/fixtures/agreements/kilograms.json")))
        let (accepted, answer) = try await gateway.request("POST", "/v1/agreements", body: bytes)
        #expect(accepted == 202, "\(String(describing: answer)) \(gateway.log)")
        let digest = try #require(answer?["digest"]?.stringValue)
        // The receipt reaches the store's ledger, written over TLS.
        let receipted = try await eventually(seconds: 30) {
            try tls.cluster.psql("SELECT count(*) FROM ledger WHERE digest = '\(digest)'", database: "causeway") == "1\n"
        }
        #expect(receipted, "\(gateway.log)")
        let (_, agreement) = try await gateway.request("GET", "/v1/agreements/\(digest)", token: gateway.viewerToken)
        #expect(agreement?["status"]?.stringValue == "delivered", "\(gateway.log)")
        #expect(try tls.cluster.psql("SELECT agreement_digest FROM erp_purchase_order", database: "erp") == "\(digest)\n")
        let connections = try tls.cluster.psql("""
            SELECT a.datname || ':' || s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
            WHERE a.datname IN ('causeway', 'erp') AND a.pid <> pg_backend_pid() GROUP BY 1 ORDER BY 1
            """)
        #expect(connections == "causeway:true\nerp:true\n", "\(connections)")
        #expect(gateway.stop() == 0, "\(gateway.log)")
    }

    @Test("a store whose certificate another CA signed stops start-up, naming the certificate problem")
    func wrongCA() async throws {
        let tls = try PostgresTLSCluster()
        defer { tls.destroy() }
        let gateway = try RunningGateway(store: tls.url(query: "sslmode=verify-full&sslrootcert=file:\(tls.file("other-ca.crt"))"))
        defer { _ = gateway.stop() }
        let exited = try await eventually(seconds: 60) { !gateway.process.isRunning }
        #expect(exited)
        #expect(gateway.process.terminationStatus != 0)
        #expect(gateway.log.contains("store: cannot connect to 127.0.0.1:\(tls.cluster.port) (sslmode=verify-full): the server's certificate is not trusted"),
                "\(gateway.log)")
    }
}
