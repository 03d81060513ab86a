public import Foundation
import CausewayMapping
import Crypto
import Dispatch
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOSSL
import ServiceLifecycle
import Synchronization

/// Why the listener's TLS files cannot be used: every problem, each naming its `http.tls` setting
/// and the fix. Paths are named; file contents (the private key) never are.
public struct ListenerTLSError: Error, CustomStringConvertible {
    public let problems: [String]
    public var description: String { problems.joined(separator: "\n") }
}

/// TLS on the HTTP listener, reloadable while the gateway runs (Docs/decisions/0016).
///
/// The certificate chain, key and client CA are read from their files into one `NIOSSLContext`
/// kept behind a lock. Every new connection takes the context current when it is accepted, so
/// ``reload()`` (SIGHUP, or an operator's reload) changes what new connections see and never
/// disturbs open ones. A replacement that fails any check is refused, logged with every problem,
/// and the previous context keeps serving.
public final class ListenerTLS: Sendable {
    /// The files, as configured (`http.tls`).
    public let settings: GatewayConfiguration.ListenerTLSSettings
    private let current: Mutex<Material>
    private let logger: Logger

    /// One loaded set of files.
    struct Material: Sendable {
        let context: NIOSSLContext
        /// Lower-case hex SHA-256 of the server certificate (DER).
        let fingerprint: String
        let notAfter: Date
        let clientCertificates: GatewayConfiguration.ListenerTLSSettings.ClientCertificates

        var summary: String {
            "certificate sha256 \(fingerprint), valid until \(ISO8601DateFormatter().string(from: notAfter)), "
                + "client certificates \(clientCertificates.rawValue)"
        }
    }

    /// Reads and checks the files; throws with every problem when they cannot serve.
    init(settings: GatewayConfiguration.ListenerTLSSettings, logger: Logger) throws(ListenerTLSError) {
        self.settings = settings
        self.logger = logger
        current = Mutex(try Self.load(settings))
    }

    /// What is served now: the certificate's SHA-256 fingerprint, its expiry and the client certificate mode.
    public var summary: String { current.withLock { $0.summary } }

    /// The server certificate's SHA-256 fingerprint (lower-case hex) served to new connections.
    public var fingerprint: String { current.withLock { $0.fingerprint } }

    /// The context a connection accepted now is set up with.
    var context: NIOSSLContext { current.withLock { $0.context } }

    /// Reads the certificate, key and client CA from their files again. On success new
    /// connections are served with them and the new ``summary`` is returned; otherwise the error
    /// lists every problem, it is logged, and the previous files keep serving.
    @discardableResult
    public func reload() throws(ListenerTLSError) -> String {
        let material: Material
        do {
            material = try Self.load(settings)
        } catch {
            logger.error("listener TLS: the replacement certificate is refused; the previous one keeps serving",
                         metadata: ["problems": .string(error.problems.joined(separator: "; ")), "tls.fingerprint": .string(fingerprint)])
            throw error
        }
        let previous = current.withLock { current in
            defer { current = material }
            return current.fingerprint
        }
        logger.notice("listener TLS reloaded: new connections get the certificate read now",
                      metadata: ["tls.fingerprint": .string(material.fingerprint), "tls.previous_fingerprint": .string(previous),
                                 "tls.not_after": .string(ISO8601DateFormatter().string(from: material.notAfter))])
        return material.summary
    }

    /// Checks the files as start-up would, without keeping anything: every problem, or none.
    public static func problems(_ settings: GatewayConfiguration.ListenerTLSSettings, now: Date = Date()) -> [String] {
        do {
            _ = try load(settings, now: now)
            return []
        } catch {
            return error.problems
        }
    }

    /// A Hummingbird server builder for HTTP/1.1 over TLS whose connections each take the
    /// context current when they are accepted.
    func server(_ http: HTTP1Channel.Configuration) -> HTTPServerBuilder {
        HTTPServerBuilder { [self] responder in
            ReloadingTLSChannel(base: HTTP1Channel(responder: responder, configuration: http), tls: self)
        }
    }

    /// Reloads on every SIGHUP from now on (installed at once, so a SIGHUP right after start-up
    /// does not end the process); the returned service stops listening at shutdown.
    func reloadOnHangup() -> some Service {
        // Until a dispatch source is registered, SIGHUP would end the process: ignore it meanwhile.
        HangupSignal.ignoreUntilHandled()
        let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
        source.setEventHandler { [self] in _ = try? reload() }  // reload() logs the outcome
        source.resume()
        return HangupService(source: SignalSource(source: source))
    }

    // MARK: Loading

    static func load(_ settings: GatewayConfiguration.ListenerTLSSettings, now: Date = Date()) throws(ListenerTLSError) -> Material {
        var problems: [String] = []
        var chain: [NIOSSLCertificate] = []
        if readable(settings.certificate, setting: "http.tls.certificate", what: "the PEM certificate chain (server certificate first)", &problems) {
            chain = (try? NIOSSLCertificate.fromPEMFile(settings.certificate)) ?? []
            if chain.isEmpty {
                problems.append("http.tls.certificate: file:\(settings.certificate) holds no PEM certificate (-----BEGIN CERTIFICATE-----); "
                    + "point it at the server certificate, followed by any intermediate certificates")
            }
        }
        if let leaf = chain.first {
            let notAfter = Date(timeIntervalSince1970: TimeInterval(leaf.notValidAfter))
            let notBefore = Date(timeIntervalSince1970: TimeInterval(leaf.notValidBefore))
            if notAfter <= now {
                problems.append("http.tls.certificate: file:\(settings.certificate) expired on \(ISO8601DateFormatter().string(from: notAfter)); "
                    + "install a renewed certificate and key, then send SIGHUP (or restart)")
            } else if notBefore > now {
                problems.append("http.tls.certificate: file:\(settings.certificate) is not valid before \(ISO8601DateFormatter().string(from: notBefore)); "
                    + "check this host's clock or the certificate's dates")
            }
        }
        var key: NIOSSLPrivateKey?
        if readable(settings.key, setting: "http.tls.key", what: "the PEM private key of the certificate", &problems) {
            key = try? NIOSSLPrivateKey(file: settings.key, format: .pem)
            if key == nil {
                problems.append("http.tls.key: file:\(settings.key) holds no unencrypted PEM private key (-----BEGIN PRIVATE KEY-----, "
                    + "EC or RSA); an encrypted key must be decrypted first (openssl pkey -in KEY -out PLAIN.key)")
            }
        }
        var roots: [NIOSSLCertificate] = []
        if let clientCA = settings.clientCA {
            if readable(clientCA, setting: "http.tls.client_ca", what: "the PEM certificate(s) of the CA that signs partners' client certificates",
                        &problems) {
                roots = (try? NIOSSLCertificate.fromPEMFile(clientCA)) ?? []
                if roots.isEmpty {
                    problems.append("http.tls.client_ca: file:\(clientCA) holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
                }
            }
        } else if settings.clientCertificates != .none {
            problems.append("http.tls.client_certificates: '\(settings.clientCertificates.rawValue)' needs http.tls.client_ca "
                + "(file:PATH of the CA that signs partners' client certificates), or set it to none")
        }
        guard problems.isEmpty, let leaf = chain.first, let key else { throw ListenerTLSError(problems: problems) }

        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        switch settings.clientCertificates {
        case .none: configuration.certificateVerification = .none
        case .optional: configuration.certificateVerification = .optionalVerification
        case .required: configuration.certificateVerification = .noHostnameVerification
        }
        if !roots.isEmpty {
            configuration.trustRoots = .certificates(roots)
            configuration.sendCANameList = true
        }
        let context: NIOSSLContext
        do {
            context = try NIOSSLContext(configuration: configuration)
        } catch {
            throw ListenerTLSError(problems: [
                "http.tls.key: file:\(settings.key) is not the private key of the certificate in file:\(settings.certificate) "
                    + "(\(error)); configure the key the certificate was issued for"
            ])
        }
        guard let der = try? leaf.toDERBytes() else {
            throw ListenerTLSError(problems: ["http.tls.certificate: file:\(settings.certificate): the certificate cannot be encoded"])
        }
        return Material(context: context, fingerprint: hex(SHA256.hash(data: der)),
                        notAfter: Date(timeIntervalSince1970: TimeInterval(leaf.notValidAfter)), clientCertificates: settings.clientCertificates)
    }

    /// Whether `path` is a readable file; otherwise a problem naming the setting and the fix.
    private static func readable(_ path: String, setting: String, what: String, _ problems: inout [String]) -> Bool {
        var directory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &directory), !directory.boolValue else {
            problems.append("\(setting): file:\(path): no such file; put \(what) there or correct the path")
            return false
        }
        guard FileManager.default.isReadableFile(atPath: path) else {
            problems.append("\(setting): file:\(path) cannot be read by this user; let the gateway's user read it (chmod/chown)")
            return false
        }
        return true
    }

    static func hex<D: Sequence>(_ bytes: D) -> String where D.Element == UInt8 {
        bytes.map { String(format: "%02x", $0) }.joined()
    }
}

/// HTTP/1.1 over TLS where each connection's `NIOSSLServerHandler` is made with the context
/// ``ListenerTLS`` holds when the connection is accepted (HummingbirdTLS's `TLSChannel` fixes
/// one context for the server's life).
struct ReloadingTLSChannel: ServerChildChannel, HTTPChannelHandler {
    typealias Value = HTTP1Channel.Value
    let base: HTTP1Channel
    let tls: ListenerTLS

    var responder: HTTPChannelHandler.Responder { base.responder }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let context = tls.context
        return channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
        }.flatMap { [base] in
            base.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

/// A dispatch signal source, which corelibs Dispatch does not mark Sendable. It is only resumed
/// (before sharing) and cancelled, both thread-safe operations of Dispatch.
private final class SignalSource: @unchecked Sendable {
    let source: any DispatchSourceSignal
    init(source: any DispatchSourceSignal) { self.source = source }
}

/// Keeps the SIGHUP source alive while the gateway runs; cancels it at shutdown.
private struct HangupService: Service {
    let source: SignalSource
    func run() async throws {
        try? await gracefulShutdown()
        source.source.cancel()
    }
}

// MARK: - Client certificates at intake

/// The client certificate a connection presented (and the listener's client CA verified), as
/// intake compares it with a partner's `intake.client_certificate`.
public struct PresentedClientCertificate: Sendable, Hashable {
    /// Lower-case hex SHA-256 of the DER certificate.
    public let sha256: String
    /// The DNS names of its subjectAltName, lower-cased.
    public let dnsNames: [String]

    public init(sha256: String, dnsNames: [String]) {
        self.sha256 = sha256
        self.dnsNames = dnsNames
    }

    init?(_ certificate: NIOSSLCertificate) {
        guard let der = try? certificate.toDERBytes() else { return nil }
        sha256 = ListenerTLS.hex(SHA256.hash(data: der))
        dnsNames = certificate._subjectAlternativeNames().compactMap { name in
            name.nameType == .dnsName ? String(decoding: name.contents, as: UTF8.self).lowercased() : nil
        }
    }
}

extension GatewayRequestContext {
    /// The verified client certificate of the request's connection; nil on plain HTTP or when
    /// the client presented none. (Asked of the connection's TLS handler on its event loop.)
    func presentedClientCertificate() async -> PresentedClientCertificate? {
        guard let channel else { return nil }
        return try? await channel.nioSSL_peerCertificate().map { $0.flatMap(PresentedClientCertificate.init) }.get()
    }
}

extension IntakeRefusal {
    /// The partner requires a client certificate and the connection presented none (403).
    public static let clientCertificateRequired = IntakeRefusal(code: "intake.client_certificate_required", httpStatus: 403,
                                                                title: "Client certificate required")
    /// The connection's client certificate is not one the partner lists (403).
    public static let clientCertificateMismatch = IntakeRefusal(code: "intake.client_certificate_mismatch", httpStatus: 403,
                                                                title: "Client certificate not accepted for this partner")
}

extension PartnerRegistry.Partner {
    /// Why this partner's agreement may not be taken from a connection that presented
    /// `presented` (partner.yaml `intake.client_certificate`); nil when it may. `presented` is
    /// asked only when the partner requires a certificate.
    func clientCertificateRefusal(_ presented: @Sendable () async -> PresentedClientCertificate?) async -> (IntakeRefusal, String)? {
        guard let required = configuration.intake.clientCertificate else { return nil }
        guard let certificate = await presented() else {
            return (.clientCertificateRequired, "partner \(name) sends agreements over TLS with a client certificate; the connection presented none")
        }
        if required.sha256.contains(certificate.sha256) || certificate.dnsNames.contains(where: required.dnsNames.contains) { return nil }
        return (.clientCertificateMismatch,
                "the connection's client certificate (sha256 \(certificate.sha256)) is not one partner \(name) lists in intake.client_certificate")
    }
}

extension ListenerTLS {
    /// Problems of partners that require client certificates the listener cannot ask for.
    static func partnerProblems(_ partners: PartnerRegistry, settings: GatewayConfiguration.ListenerTLSSettings?) -> [String] {
        partners.partners.filter { $0.configuration.intake.clientCertificate != nil }.compactMap { partner in
            guard let settings else {
                return "partners: \(partner.name) requires a client certificate (intake.client_certificate) but the listener has no TLS; "
                    + "configure http.tls with client_ca"
            }
            guard settings.clientCertificates != .none else {
                return "partners: \(partner.name) requires a client certificate (intake.client_certificate) but http.tls.client_certificates is none; "
                    + "set http.tls.client_ca and client_certificates: optional or required"
            }
            return nil
        }
    }
}

extension ListenerTLS {
    /// The listener's TLS for `buildApplication`: nil without `http.tls`, and every problem of
    /// the files and of partners requiring client certificates the listener cannot ask for.
    static func prepare(configuration: GatewayConfiguration, partners: PartnerRegistry, logger: Logger) -> (ListenerTLS?, [String]) {
        var problems = partnerProblems(partners, settings: configuration.listenerTLS)
        guard let settings = configuration.listenerTLS else { return (nil, problems) }
        do {
            let tls = try ListenerTLS(settings: settings, logger: logger)
            logger.info("listener TLS", metadata: ["tls.fingerprint": .string(tls.fingerprint),
                                                   "tls.client_certificates": .string(settings.clientCertificates.rawValue)])
            return (tls, problems)
        } catch {
            problems += error.problems
            return (nil, problems)
        }
    }

    /// HTTP/1.1 over reloadable TLS when `tls` is set, plain HTTP/1.1 otherwise.
    static func server(_ tls: ListenerTLS?, http: HTTP1Channel.Configuration) -> HTTPServerBuilder {
        tls?.server(http) ?? .http1(configuration: http)
    }
}

extension ListenerTLS {
    /// What `causeway config check` prints for `http.tls`: the files, the certificate's
    /// fingerprint and expiry, the client certificate mode (never anything of the key but its path).
    public static func describe(_ settings: GatewayConfiguration.ListenerTLSSettings, now: Date = Date()) throws(ListenerTLSError) -> String {
        let material = try load(settings, now: now)
        return "certificate file:\(settings.certificate), key file:\(settings.key)"
            + (settings.clientCA.map { ", client_ca file:\($0)" } ?? "") + "; \(material.summary)"
    }
}
