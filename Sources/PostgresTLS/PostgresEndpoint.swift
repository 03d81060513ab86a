import Foundation
package import Logging
package import PostgresNIO

/// Where and how to reach one PostgreSQL database: what a `postgresql://` URL says, TLS included.
///
/// The store (`store:` in `causeway.yaml`) and the rows adapter (a target's `url`) both read their
/// URL here, so both take the same TLS settings, as libpq-named query parameters:
///
///     postgresql://causeway@db.internal:5432/causeway?sslmode=verify-full&sslrootcert=file:/etc/causeway/db-ca.pem
///
/// - `sslmode`: `disable`, `require` (encrypt, verify nothing), `verify-ca` (the server's chain
///   leads to a trusted CA), `verify-full` (and the certificate names the host). Default
///   `verify-full`, or `disable` when the host is loopback (`localhost`, 127.0.0.0/8, `::1`).
/// - `sslrootcert=file:PATH`: the CA certificates (PEM) trusted for the server; without it the
///   system's trust store. Only with `verify-ca` and `verify-full`.
/// - `sslcert=file:PATH` and `sslkey=file:PATH`: a client certificate (PEM) and its key, sent
///   when the server asks for one (`hostssl … cert` in `pg_hba.conf`); both or neither.
///
/// Any other query parameter is refused, so that a misspelling does not quietly turn TLS off.
package struct PostgresEndpoint: Sendable, Hashable {
    package var host: String
    package var port: Int
    package var username: String
    /// From the URL; for tests only (deployments pass the password as a secret reference).
    package var password: String?
    package var database: String?
    package var tls: PostgresTLSSettings

    /// Reads a `postgresql://user[:password]@host[:port]/database[?ssl…]` URL. Errors name the
    /// parameter and the values it takes, without the prefix of the setting (the caller adds it).
    package init(url: String) throws(PostgresEndpointError) {
        guard let components = URLComponents(string: url), ["postgresql", "postgres"].contains(components.scheme ?? ""),
            let host = components.host, !host.isEmpty, let user = components.user, !user.isEmpty
        else {
            throw PostgresEndpointError("expected postgresql://user@host:port/database")
        }
        self.host = host
        port = components.port ?? 5432
        username = user
        password = components.password
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        database = path.isEmpty ? nil : path
        var parameters: [String: String] = [:]
        for item in components.queryItems ?? [] {
            guard PostgresTLSSettings.parameterNames.contains(item.name) else {
                throw PostgresEndpointError("unknown URL parameter '\(item.name)'; known: \(PostgresTLSSettings.parameterNames.joined(separator: ", "))")
            }
            guard parameters[item.name] == nil else { throw PostgresEndpointError("URL parameter '\(item.name)' is given twice") }
            parameters[item.name] = item.value ?? ""
        }
        tls = try PostgresTLSSettings(parameters: parameters, host: host)
    }

    /// The pool's configuration. Reads the certificate files now, so that a missing or unreadable
    /// one is named at startup. `password` (a resolved secret) wins over one in the URL.
    package func clientConfiguration(password: String? = nil) throws(PostgresEndpointError) -> PostgresClient.Configuration {
        let tls: PostgresClient.Configuration.TLS = switch try self.tls.nioConfiguration() {
        case nil: .disable
        case let configuration?: .require(configuration)
        }
        return PostgresClient.Configuration(host: host, port: port, username: username, password: password ?? self.password,
                                            database: database, tls: tls)
    }

    /// Opens one connection outside any pool and closes it. A pool retries a refused connection
    /// for a minute and then reports only that it gave up; this says why, at once: the
    /// certificate problem, the server's refusal (`pg_hba.conf`), or that nothing answers.
    package func checkConnection(password: String? = nil, logger: Logger) async throws(PostgresEndpointError) {
        let tls: PostgresConnection.Configuration.TLS = switch try self.tls.nioConfiguration() {
        case nil: .disable
        case let configuration?: .require(try PostgresEndpointError.wrap { try NIOSSLContext(configuration: configuration) })
        }
        let configuration = PostgresConnection.Configuration(host: host, port: port, username: username, password: password ?? self.password,
                                                             database: database, tls: tls)
        do {
            let connection = try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
            try? await connection.close()
        } catch {
            throw PostgresEndpointError("cannot connect to \(host):\(port) (sslmode=\(self.tls.mode.rawValue)): \(reason(error))")
        }
    }

    /// Why a connection failed, in words an operator can act on; never a query or its values.
    package func reason(_ error: any Error) -> String {
        if let psql = error as? PSQLError {
            if psql.code == .server, let message = psql.serverInfo?[.message] {
                let state = psql.serverInfo?[.sqlState].map { " (SQLSTATE \($0))" } ?? ""
                var text = "the server refused: \(message)\(state)"
                if message.contains("no encryption") { text += "; the server accepts only TLS here: set sslmode" }
                if message.contains("certificate") { text += "; set sslcert and sslkey to a certificate the server trusts" }
                return text
            }
            if psql.code == .sslUnsupported { return "the server does not offer TLS (ssl = off); set sslmode=disable or turn ssl on" }
            if let underlying = psql.underlying { return reason(underlying) }
            return "\(psql.code)"
        }
        if let extra = error as? NIOSSLExtraError, extra == .failedToValidateHostname {
            return "the server's certificate does not name the host \(host) (sslmode=verify-full checks the host name): "
                + "connect by a name or address the certificate lists, or use verify-ca"
        }
        let text = String(describing: error)
        if text.contains("CERTIFICATE_VERIFY_FAILED") {
            let roots = tls.rootCertificate.map { "the CA in sslrootcert (\($0))" } ?? "a CA of the system's trust store (set sslrootcert=file:PATH)"
            return "the server's certificate is not trusted: its chain does not lead to \(roots), or it is expired "
                + "(certificate verify failed)"
        }
        for (alert, meaning) in [("TLSV1_ALERT_UNKNOWN_CA", "its CA is not in the server's ssl_ca_file"),
                                 ("SSLV3_ALERT_CERTIFICATE_EXPIRED", "it is expired"),
                                 ("SSLV3_ALERT_BAD_CERTIFICATE", "the server calls it bad"),
                                 ("CERTIFICATE_REQUIRED", "the server requires one")]
            where text.contains(alert) {
            return "the server did not accept the client certificate (sslcert): \(meaning) (TLS alert \(alert))"
        }
        return text
    }
}

/// The TLS part of a PostgreSQL URL.
package struct PostgresTLSSettings: Sendable, Hashable {
    /// libpq's names, in the order documentation lists them.
    package static let parameterNames = ["sslmode", "sslrootcert", "sslcert", "sslkey"]

    /// libpq's `sslmode`, without `allow` and `prefer` (which fall back to plain text).
    package enum Mode: String, Sendable, CaseIterable {
        case disable
        case require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }

    package var mode: Mode
    /// PEM file of the CA certificates trusted for the server; nil: the system's trust store.
    package var rootCertificate: String?
    /// PEM files of the client certificate (chain) and its private key.
    package var certificate: String?
    package var key: String?

    package init(mode: Mode, rootCertificate: String? = nil, certificate: String? = nil, key: String? = nil) {
        self.mode = mode
        self.rootCertificate = rootCertificate
        self.certificate = certificate
        self.key = key
    }

    /// From the URL's query parameters; `host` decides the default mode.
    init(parameters: [String: String], host: String) throws(PostgresEndpointError) {
        if let text = parameters["sslmode"] {
            guard let mode = Mode(rawValue: text) else {
                throw PostgresEndpointError("sslmode '\(text)' is not one of \(Mode.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            self.mode = mode
        } else {
            mode = Self.isLoopback(host) ? .disable : .verifyFull
        }
        func file(_ name: String) throws(PostgresEndpointError) -> String? {
            guard let value = parameters[name] else { return nil }
            guard value.hasPrefix("file:"), value.count > 5 else {
                throw PostgresEndpointError("\(name) must be file:PATH (a PEM file), not '\(value)'")
            }
            return String(value.dropFirst(5))
        }
        rootCertificate = try file("sslrootcert")
        certificate = try file("sslcert")
        key = try file("sslkey")
        if (certificate == nil) != (key == nil) { throw PostgresEndpointError("sslcert and sslkey go together: set both or neither") }
        switch mode {
        case .disable where rootCertificate != nil || certificate != nil:
            throw PostgresEndpointError("sslmode=disable uses no certificates; remove sslrootcert, sslcert and sslkey or choose another sslmode")
        case .require where rootCertificate != nil:
            throw PostgresEndpointError("sslmode=require verifies nothing, so sslrootcert would be ignored; use verify-ca or verify-full")
        default: break
        }
    }

    /// `localhost`, 127.0.0.0/8, `::1` and unix socket folders: traffic that never leaves the host.
    package static func isLoopback(_ host: String) -> Bool {
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        if bare == "localhost" || bare == "::1" || bare.hasPrefix("/") { return true }
        let octets = bare.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
    }

    /// NIOSSL's client configuration, or nil for `disable`. Certificate files are read here.
    package func nioConfiguration() throws(PostgresEndpointError) -> TLSConfiguration? {
        var configuration = TLSConfiguration.makeClientConfiguration()
        switch mode {
        case .disable: return nil
        case .require: configuration.certificateVerification = .none
        case .verifyCA: configuration.certificateVerification = .noHostnameVerification
        case .verifyFull: configuration.certificateVerification = .fullVerification
        }
        if let path = rootCertificate {
            let roots = try PostgresEndpointError.wrap("sslrootcert: cannot read the CA certificates in \(path)") {
                try NIOSSLCertificate.fromPEMFile(path)
            }
            guard !roots.isEmpty else { throw PostgresEndpointError("sslrootcert: no certificate in \(path)") }
            configuration.trustRoots = .certificates(roots)
        }
        if let certificatePath = certificate, let keyPath = key {
            let chain = try PostgresEndpointError.wrap("sslcert: cannot read the client certificate in \(certificatePath)") {
                try NIOSSLCertificate.fromPEMFile(certificatePath)
            }
            guard !chain.isEmpty else { throw PostgresEndpointError("sslcert: no certificate in \(certificatePath)") }
            configuration.certificateChain = chain.map { .certificate($0) }
            configuration.privateKey = .privateKey(try PostgresEndpointError.wrap("sslkey: cannot read the private key in \(keyPath)") {
                try NIOSSLPrivateKey(file: keyPath, format: .pem)
            })
        }
        return configuration
    }
}

/// A PostgreSQL URL that cannot be used, or a connection that failed; the message names the
/// parameter or the reason, never a password.
package struct PostgresEndpointError: Error, Sendable, CustomStringConvertible {
    package let message: String
    package init(_ message: String) { self.message = message }
    package var description: String { message }

    static func wrap<T>(_ context: String = "TLS", _ body: () throws -> T) throws(PostgresEndpointError) -> T {
        do { return try body() } catch { throw PostgresEndpointError("\(context) (\(error))") }
    }
}
