public import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A ``PostgresCluster`` with `ssl = on` and certificates from a CA made for the test with the
/// `openssl` command (scripts/test installs it).
///
/// `pg_hba.conf` accepts TCP connections over TLS only: user `causeway` without a password
/// (`trust`), user `certuser` only with a client certificate the test CA signed (`cert`, which
/// implies `clientcert=verify-full`). Files, all PEM, in ``tls``: `ca.crt` (the CA), `other-ca.crt`
/// (an unrelated CA), `client.crt`/`client.key` (CN `certuser`), `other-client.crt`/`other-client.key`
/// (CN `certuser`, signed by the unrelated CA), `server.crt`/`server.key`.
public final class PostgresTLSCluster: Sendable {
    public let cluster: PostgresCluster
    /// The folder of the certificates and keys.
    public let tls: URL

    /// - Parameter serverNames: the server certificate's subjectAltName entries.
    public init(serverNames: String = "DNS:localhost,IP:127.0.0.1") throws {
        cluster = try PostgresCluster()
        tls = cluster.directory.deletingLastPathComponent().appendingPathComponent("\(cluster.directory.lastPathComponent)-tls")
        do {
            try FileManager.default.createDirectory(at: tls, withIntermediateDirectories: true)
            try cluster.psql("CREATE ROLE certuser LOGIN SUPERUSER")
            try makeCA("ca", "Causeway Test CA")
            try makeCA("other-ca", "Some Other CA")
            try makeLeaf("server", subject: "/CN=causeway-test-server", extensions: "subjectAltName=\(serverNames)\nextendedKeyUsage=serverAuth")
            try makeLeaf("client", subject: "/CN=certuser", extensions: "extendedKeyUsage=clientAuth")
            try makeLeaf("other-client", subject: "/CN=certuser", extensions: "extendedKeyUsage=clientAuth", ca: "other-ca")
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file("server.key"))
            if getuid() == 0 {
                // The server runs as `postgres` and refuses a key that others can read or that it cannot.
                try run("/bin/chown", ["postgres", tls.path, file("server.key"), file("server.crt"), file("ca.crt")])
            }
            let settings = """

                ssl = on
                ssl_cert_file = '\(file("server.crt"))'
                ssl_key_file = '\(file("server.key"))'
                ssl_ca_file = '\(file("ca.crt"))'

                """
            let conf = cluster.directory.appendingPathComponent("postgresql.conf")
            let handle = try FileHandle(forWritingTo: conf)
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(settings.utf8))
            try handle.close()
            let hba = """
                local   all  all                    trust
                hostssl all  certuser  127.0.0.1/32 cert
                hostssl all  all       127.0.0.1/32 trust

                """
            try Data(hba.utf8).write(to: cluster.directory.appendingPathComponent("pg_hba.conf"))
            try cluster.stop()
            try cluster.start()
        } catch {
            destroy()
            throw error
        }
    }

    /// The path of one of the files in ``tls``.
    public func file(_ name: String) -> String { tls.appendingPathComponent(name).path }

    /// `postgresql://USER@127.0.0.1:PORT/DATABASE?QUERY`.
    public func url(user: String = "causeway", database: String = "postgres", query: String) -> String {
        "postgresql://\(user)@127.0.0.1:\(cluster.port)/\(database)" + (query.isEmpty ? "" : "?\(query)")
    }

    /// Stops the server and removes its files and the certificates.
    public func destroy() {
        cluster.destroy()
        try? FileManager.default.removeItem(at: tls)
    }

    func makeCA(_ name: String, _ commonName: String) throws {
        try run("/usr/bin/openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                                     "-keyout", file("\(name).key"), "-out", file("\(name).crt"), "-days", "2", "-subj", "/CN=\(commonName)",
                                     "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
    }

    func makeLeaf(_ name: String, subject: String, extensions: String, ca: String = "ca") throws {
        try run("/usr/bin/openssl", ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                                     "-keyout", file("\(name).key"), "-out", file("\(name).csr"), "-subj", subject])
        let extensionFile = file("\(name).ext")
        try Data("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n\(extensions)\n".utf8)
            .write(to: URL(fileURLWithPath: extensionFile))
        try run("/usr/bin/openssl", ["x509", "-req", "-in", file("\(name).csr"), "-CA", file("\(ca).crt"), "-CAkey", file("\(ca).key"),
                                     "-CAcreateserial", "-out", file("\(name).crt"), "-days", "2", "-extfile", extensionFile])
    }

    func run(_ program: String, _ arguments: [String]) throws {
        let result = try CommandRunner.run(program, arguments)
        guard result.status == 0 else { throw MissingTestInput(path: program, hint: result.description) }
    }
}
