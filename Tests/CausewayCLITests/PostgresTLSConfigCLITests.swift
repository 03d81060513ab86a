import CausewayTesting
import Foundation
import Testing

@Suite("causeway config check: PostgreSQL TLS parameters")
struct PostgresTLSConfigCLITests {
    static let example = TestPaths.repository.appendingPathComponent("Deploy/causeway.postgres.yaml").path

    @Test("a bad sslmode in the store URL and a bare path in a target's url are each named with the fix")
    func badValues() throws {
        let r = try CommandRunner.causeway(
            ["config", "check", "--config", Self.example],
            environment: ["CAUSEWAY_STORE": "postgresql://causeway@db.internal:5432/causeway?sslmode=verify",
                          "CAUSEWAY_TARGET_ERP_STAGING_URL": "postgresql://erp_loader@erp-db.internal/erp?sslrootcert=/etc/ca.pem"])
        #expect(r.status == 1, "\(r)")
        #expect(r.stderr.contains("store: sslmode 'verify' is not one of disable, require, verify-ca, verify-full"), "\(r)")
        #expect(r.stderr.contains("targets.erp-staging.url: sslrootcert must be file:PATH (a PEM file), not '/etc/ca.pem'"), "\(r)")
    }

    @Test("the PostgreSQL example checks the servers' certificates (verify-full with a CA file) for the store and the target")
    func exampleVerifiesFully() throws {
        let r = try CommandRunner.causeway(["config", "check", "--config", Self.example], in: TestPaths.repository)
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains("store       postgresql://causeway@db.internal:5432/causeway?sslmode=verify-full&sslrootcert=file:/etc/causeway/tls/db-ca.pem"),
                "\(r)")
        #expect(r.stdout.contains("sslmode=verify-full&sslrootcert=file:/etc/causeway/tls/erp-db-ca.pem"), "\(r)")
    }
}
