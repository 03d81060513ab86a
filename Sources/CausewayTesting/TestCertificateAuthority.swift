public import Foundation

/// Certificates for listener TLS tests, made with the `openssl` command in a folder of their own:
/// a CA, and leaves it signs on demand (server certificates for loopback, client certificates with
/// a DNS name, expired ones). All files PEM, EC P-256, named `NAME.crt` / `NAME.key`.
public final class TestCertificateAuthority: Sendable {
    /// The folder of every file made.
    public let folder: URL
    /// This CA's name in the folder (`NAME.crt`, `NAME.key`).
    public let name: String

    /// Makes a CA `name` in `folder` (created), valid for two days.
    public init(name: String = "ca", commonName: String = "Causeway Listener Test CA", in folder: URL) throws {
        self.folder = folder
        self.name = name
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Self.openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", path("\(name).key"),
                          "-out", path("\(name).crt"), "-days", "2", "-subj", "/CN=\(commonName)",
                          "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
    }

    /// The path of a file in ``folder``.
    public func path(_ file: String) -> String { folder.appendingPathComponent(file).path }

    /// The CA certificate's path.
    public var certificate: String { path("\(name).crt") }

    /// A server certificate for 127.0.0.1 and localhost: `NAME.crt`, `NAME.key`.
    public func server(_ leaf: String) throws {
        try issue(leaf, subject: "/CN=\(leaf)", extensions: "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth")
    }

    /// A client certificate, with `dnsName` in its subjectAltName when given.
    public func client(_ leaf: String, dnsName: String? = nil) throws {
        try issue(leaf, subject: "/CN=\(leaf)", extensions: (dnsName.map { "subjectAltName=DNS:\($0)\n" } ?? "") + "extendedKeyUsage=clientAuth")
    }

    /// A server certificate whose validity ended in 2020 (`openssl ca` sets past dates; `x509 -req` cannot).
    public func expiredServer(_ leaf: String) throws {
        let database = folder.appendingPathComponent("\(name)-db")
        try FileManager.default.createDirectory(at: database, withIntermediateDirectories: true)
        try Data().write(to: database.appendingPathComponent("index"))
        try Data("1000\n".utf8).write(to: database.appendingPathComponent("serial"))
        let configuration = """
            [ca]
            default_ca = test
            [test]
            database = \(database.path)/index
            new_certs_dir = \(database.path)
            serial = \(database.path)/serial
            default_md = sha256
            policy = anything
            unique_subject = no
            [anything]
            commonName = supplied

            """
        try Data(configuration.utf8).write(to: database.appendingPathComponent("ca.cnf"))
        try Self.openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", path("\(leaf).key"),
                          "-out", path("\(leaf).csr"), "-subj", "/CN=\(leaf)"])
        try Self.openssl(["ca", "-batch", "-notext", "-config", database.appendingPathComponent("ca.cnf").path, "-cert", certificate,
                          "-keyfile", path("\(name).key"), "-in", path("\(leaf).csr"), "-out", path("\(leaf).crt"),
                          "-startdate", "20200101000000Z", "-enddate", "20200201000000Z"])
    }

    /// The SHA-256 fingerprint of a PEM certificate file, lower-case hex without colons.
    public static func fingerprint(ofCertificate file: String) throws -> String {
        let result = try CommandRunner.run("/usr/bin/openssl", ["x509", "-in", file, "-noout", "-fingerprint", "-sha256"])
        guard result.status == 0, let value = result.stdout.split(separator: "=").last else {
            throw MissingTestInput(path: file, hint: result.description)
        }
        return value.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: ":", with: "").lowercased()
    }

    /// The SHA-256 fingerprint of the certificate a TLS server on 127.0.0.1:`port` presents to a
    /// new connection, or nil when no handshake completes.
    public static func servedFingerprint(port: Int) throws -> String? {
        let script = "openssl s_client -connect 127.0.0.1:\(port) -servername localhost </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256"
        let result = try CommandRunner.run("/bin/sh", ["-c", script])
        guard result.status == 0, result.stdout.contains("="), let value = result.stdout.split(separator: "=").last else { return nil }
        return value.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: ":", with: "").lowercased()
    }

    func issue(_ leaf: String, subject: String, extensions: String) throws {
        try Self.openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", path("\(leaf).key"),
                          "-out", path("\(leaf).csr"), "-subj", subject])
        let extensionFile = path("\(leaf).ext")
        try Data("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n\(extensions)\n".utf8).write(to: URL(fileURLWithPath: extensionFile))
        try Self.openssl(["x509", "-req", "-in", path("\(leaf).csr"), "-CA", certificate, "-CAkey", path("\(name).key"), "-CAcreateserial",
                          "-out", path("\(leaf).crt"), "-days", "2", "-extfile", extensionFile])
    }

    static func openssl(_ arguments: [String]) throws {
        let result = try CommandRunner.run("/usr/bin/openssl", arguments)
        guard result.status == 0 else { throw MissingTestInput(path: "/usr/bin/openssl", hint: result.description) }
    }
}
