@_spi(Testing) import CausewayStore
import CausewayTesting
import Foundation
import PostgresTLS
import Testing

/// The store over TLS to a PostgreSQL cluster of the test's own with `ssl = on` and a test CA.
@Suite("PostgreSQL store over TLS")
struct PostgresTLSTests {
    /// Migrates a store on `url` and returns the error message, or nil when it worked; `whileOpen`
    /// runs after a migration that worked, while the store's connections are still open.
    static func migrate(_ url: String, whileOpen: () throws -> Void = {}) async throws -> String? {
        let store = try PostgresStore(url: url)
        let pool = Task { await store.run() }
        defer { pool.cancel() }
        do {
            try await store.migrate()
        } catch let error as StoreError {
            return error.message
        }
        try whileOpen()
        return nil
    }

    /// Connections of `user` to `database` seen by the server, as `ssl|client certificate CN` lines.
    static func sessions(_ tls: PostgresTLSCluster, user: String = "causeway", database: String) throws -> [String] {
        try tls.cluster.psql("""
            SELECT s.ssl, coalesce(s.client_dn, '') FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
            WHERE a.usename = '\(user)' AND a.datname = '\(database)'
            """).split(separator: "\n").map(String.init)
    }

    @Test("verify-full with the right CA: the store migrates over an encrypted connection")
    func verifyFull() async throws {
        let tls = try PostgresTLSCluster()
        defer { tls.destroy() }
        try tls.cluster.psql("CREATE DATABASE tls_store")
        var sessions: [String] = []
        let problem = try await Self.migrate(tls.url(database: "tls_store", query: "sslmode=verify-full&sslrootcert=file:\(tls.file("ca.crt"))")) {
            sessions = try Self.sessions(tls, database: "tls_store")
        }
        #expect(problem == nil)
        let applied = try tls.cluster.psql("SELECT count(*) FROM causeway_migrations", database: "tls_store")
        #expect((Int(applied.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) > 0, "\(applied)")
        #expect(!sessions.isEmpty && sessions.allSatisfy { $0.hasPrefix("t|") }, "\(sessions)")
    }

    @Test("verify-full with a CA that did not sign the server's certificate fails naming the certificate problem")
    func wrongCA() async throws {
        let tls = try PostgresTLSCluster()
        defer { tls.destroy() }
        let problem = try await Self.migrate(tls.url(query: "sslmode=verify-full&sslrootcert=file:\(tls.file("other-ca.crt"))"))
        let message = try #require(problem)
        #expect(message.hasPrefix("store: cannot connect to 127.0.0.1:\(tls.cluster.port) (sslmode=verify-full)"), "\(message)")
        #expect(message.contains("the server's certificate is not trusted: its chain does not lead to the CA in sslrootcert (\(tls.file("other-ca.crt")))")
                && message.contains("certificate verify failed"), "\(message)")
    }

    @Test("require encrypts without a CA; verify-full without one checks against the system's CAs, which do not know the test CA")
    func requireWithoutCA() async throws {
        let tls = try PostgresTLSCluster()
        defer { tls.destroy() }
        try tls.cluster.psql("CREATE DATABASE tls_require")
        var sessions: [String] = []
        #expect(try await Self.migrate(tls.url(database: "tls_require", query: "sslmode=require")) { sessions = try Self.sessions(tls, database: "tls_require") } == nil)
        #expect(!sessions.isEmpty && sessions.allSatisfy { $0.hasPrefix("t|") }, "\(sessions)")
        let problem = try await Self.migrate(tls.url(database: "tls_require", query: "sslmode=verify-full"))
        #expect(problem?.contains("a CA of the system's trust store (set sslrootcert=file:PATH)") == true, "\(problem ?? "connected")")
    }

    @Test("disable against a server that accepts TLS only is refused by the server, and the message says so")
    func disableRefused() async throws {
        let tls = try PostgresTLSCluster()
        defer { tls.destroy() }
        let message = try #require(try await Self.migrate(tls.url(query: "sslmode=disable")))
        #expect(message.contains("the server refused: no pg_hba.conf entry for host \"127.0.0.1\""), "\(message)")
        #expect(message.contains("no encryption") && message.contains("SQLSTATE 28000") && message.contains("set sslmode"), "\(message)")
        // A loopback host without sslmode means disable: refused the same way.
        let defaulted = try #require(try await Self.migrate(tls.url(query: "")))
        #expect(defaulted.contains("(sslmode=disable)") && defaulted.contains("no encryption"), "\(defaulted)")
    }

    @Test("verify-full to 127.0.0.1 when the certificate names another host fails naming the host; verify-ca accepts it")
    func hostMismatch() async throws {
        let tls = try PostgresTLSCluster(serverNames: "DNS:db.example.net")
        defer { tls.destroy() }
        let ca = "sslrootcert=file:\(tls.file("ca.crt"))"
        let message = try #require(try await Self.migrate(tls.url(query: "sslmode=verify-full&\(ca)")))
        #expect(message.contains("the server's certificate does not name the host 127.0.0.1 (sslmode=verify-full checks the host name)"), "\(message)")
        try tls.cluster.psql("CREATE DATABASE tls_ca")
        #expect(try await Self.migrate(tls.url(database: "tls_ca", query: "sslmode=verify-ca&\(ca)")) == nil)
    }

    @Test("a client certificate is sent when configured: the server's cert authentication accepts it, and refuses without it")
    func clientCertificate() async throws {
        let tls = try PostgresTLSCluster()
        defer { tls.destroy() }
        try tls.cluster.psql("CREATE DATABASE tls_cert OWNER certuser")
        let verify = "sslmode=verify-full&sslrootcert=file:\(tls.file("ca.crt"))"
        let withCertificate = "\(verify)&sslcert=file:\(tls.file("client.crt"))&sslkey=file:\(tls.file("client.key"))"
        var sessions: [String] = []
        let problem = try await Self.migrate(tls.url(user: "certuser", database: "tls_cert", query: withCertificate)) {
            sessions = try Self.sessions(tls, user: "certuser", database: "tls_cert")
        }
        #expect(problem == nil)
        #expect(!sessions.isEmpty && sessions.allSatisfy { $0 == "t|/CN=certuser" }, "\(sessions)")
        let message = try #require(try await Self.migrate(tls.url(user: "certuser", database: "tls_cert", query: verify)))
        #expect(message.contains("the server refused: connection requires a valid client certificate"), "\(message)")
        // A client certificate from a CA the server does not trust is refused in the handshake.
        let foreign = "\(verify)&sslcert=file:\(tls.file("other-client.crt"))&sslkey=file:\(tls.file("other-client.key"))"
        let refused = try #require(try await Self.migrate(tls.url(user: "certuser", database: "tls_cert", query: foreign)))
        #expect(refused.contains("the server did not accept the client certificate (sslcert): its CA is not in the server's ssl_ca_file"), "\(refused)")
    }

    @Test("a missing certificate file is named when the store is built")
    func missingFile() throws {
        #expect {
            try PostgresStore(url: "postgresql://gw@db.example.net/causeway?sslrootcert=file:/nonexistent/ca.pem")
        } throws: { error in
            "\(error)".hasPrefix("store: sslrootcert: cannot read the CA certificates in /nonexistent/ca.pem")
        }
    }
}

/// The URL's TLS parameters: defaults and every refusal, named.
@Suite("PostgreSQL URL TLS parameters")
struct PostgresEndpointTests {
    @Test("the default is disable on loopback and verify-full elsewhere",
          arguments: [("127.0.0.1", "disable"), ("127.8.0.3", "disable"), ("localhost", "disable"), ("[::1]", "disable"),
                      ("db.internal", "verify-full"), ("10.0.0.5", "verify-full"), ("[2001:db8::1]", "verify-full"), ("127.0.0.1.example", "verify-full")])
    func defaults(host: String, mode: String) throws {
        let endpoint = try PostgresEndpoint(url: "postgresql://gw@\(host):5432/causeway")
        #expect(endpoint.tls.mode.rawValue == mode)
    }

    @Test("the parameters are read by their libpq names")
    func parameters() throws {
        let endpoint = try PostgresEndpoint(url: "postgresql://gw@db:6432/erp?sslmode=verify-ca&sslrootcert=file:/etc/ca.pem&sslcert=file:/etc/c.pem&sslkey=file:/etc/k.pem")
        #expect(endpoint.host == "db" && endpoint.port == 6432 && endpoint.database == "erp")
        #expect(endpoint.tls == PostgresTLSSettings(mode: .verifyCA, rootCertificate: "/etc/ca.pem", certificate: "/etc/c.pem", key: "/etc/k.pem"))
    }

    @Test("a bad value is named with what would be right", arguments: [
        ("sslmode=verify", "sslmode 'verify' is not one of disable, require, verify-ca, verify-full"),
        ("sslmode=prefer", "sslmode 'prefer' is not one of disable, require, verify-ca, verify-full"),
        ("ssl_mode=require", "unknown URL parameter 'ssl_mode'; known: sslmode, sslrootcert, sslcert, sslkey"),
        ("sslrootcert=/etc/ca.pem", "sslrootcert must be file:PATH (a PEM file), not '/etc/ca.pem'"),
        ("sslcert=file:/c.pem", "sslcert and sslkey go together: set both or neither"),
        ("sslmode=require&sslrootcert=file:/ca.pem", "sslmode=require verifies nothing, so sslrootcert would be ignored; use verify-ca or verify-full"),
        ("sslmode=disable&sslrootcert=file:/ca.pem", "sslmode=disable uses no certificates; remove sslrootcert, sslcert and sslkey or choose another sslmode"),
        ("sslmode=require&sslmode=disable", "URL parameter 'sslmode' is given twice"),
    ])
    func refusals(query: String, message: String) {
        #expect {
            try PostgresEndpoint(url: "postgresql://gw@db.internal/causeway?\(query)")
        } throws: { error in
            (error as? PostgresEndpointError)?.message == message
        }
    }
}
