public import AdapterKit
import AsyncHTTPClient
import CausewayCore
public import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import Synchronization

/// Performs `http` actions (REST calls with a JSON body) and `xml` actions (XML documents,
/// optionally in a SOAP 1.1 or 1.2 envelope, validated against the partner's XSD before sending)
/// against one HTTP target.
///
/// Every request carries an `Idempotency-Key` header (the delivery's key, `sha256:…/N`) and the
/// provenance headers (`Causeway-Agreement-Digest`, `Causeway-Provenance-Digest`,
/// `Causeway-Provenance`, the record's canonical JSON in base64url). Idempotency rests on the
/// target: either it honours `Idempotency-Key` (setting `honours_idempotency_key`), or it offers
/// a lookup by key (setting `lookup_path`), which is then asked before every send; both may be
/// set. See `Docs/adapters/http.md` for the outcome classes.
///
/// One `HTTPClient` serves the adapter; call ``run()`` (it shuts the client down when its task
/// is cancelled) or ``shutdown()`` when done.
public final class HTTPTargetAdapter: Adapter {
    public static let descriptor = AdapterDescriptor(
        kind: "http",
        summary: "REST calls with a JSON body, and XML/SOAP documents validated against their XSD, over HTTP(S).",
        actionKinds: [.http, .xml],
        schema: ConfigurationSchema([
            .init("base_url", .url, required: true, help: "http(s)://host:port/prefix; each action's path is appended"),
            .init("auth", .string, default: "none", help: "none, bearer (with token) or basic (with username and password)"),
            .init("token", .secret, help: "the bearer token, env:NAME or file:PATH"),
            .init("username", .string, help: "the user for basic authentication"),
            .init("password", .secret, help: "the basic authentication password, env:NAME or file:PATH"),
            .init("client_certificate", .string, help: "PEM file of the client certificate (chain) for mutual TLS"),
            .init("client_key", .secret, help: "the client certificate's PEM private key, file:PATH (or env:NAME)"),
            .init("ca_certificate", .string, help: "PEM file of the CA certificates to trust for the target; default the system's"),
            .init("connect_timeout", .duration, default: "5", help: "seconds to establish the connection (and TLS)"),
            .init("timeout", .duration, default: "30", help: "seconds for the whole call, from connecting to the last byte of the answer"),
            .init("lookup_path", .string, help: "GET path that finds a delivery by key, with {key}: /orders?idempotency_key={key}"),
            .init("honours_idempotency_key", .boolean, default: "false",
                  help: "true when the target answers a repeated Idempotency-Key with the first result instead of acting again"),
            .init("partners", .string, default: "Mappings", help: "the folder of partner folders, where xml actions' schemas are found"),
        ]))

    public var descriptor: AdapterDescriptor { Self.descriptor }

    /// A target's typed configuration.
    public struct Configuration: Sendable {
        /// How requests authenticate. The secrets never appear in descriptions, logs or reasons.
        public enum Authentication: Sendable, CustomStringConvertible {
            case none
            case bearer(token: String)
            case basic(username: String, password: String)

            public var description: String {
                switch self {
                case .none: "none"
                case .bearer: "bearer"
                case .basic(let username, _): "basic (\(username))"
                }
            }
        }

        /// `http(s)://host:port/prefix`, without a trailing slash.
        public var baseURL: String
        public var authentication: Authentication
        /// PEM file of the client certificate chain, for mutual TLS.
        public var clientCertificateFile: String?
        /// The client certificate's private key, PEM text.
        public var clientKeyPEM: String?
        /// PEM file of trusted CA certificates; nil trusts the system's roots.
        public var trustedCAFile: String?
        /// Time to connect (TCP and TLS). Default 5 seconds.
        public var connectTimeout: Duration
        /// Time for one whole call. Default 30 seconds.
        public var timeout: Duration
        /// GET path template with `{key}` that finds a delivery by its idempotency key.
        public var lookupPath: String?
        /// Whether the target answers a repeated `Idempotency-Key` with the first result.
        public var honoursIdempotencyKey: Bool
        /// The folder of partner folders; an xml action's `schema` is relative to its partner's folder.
        public var partnersFolder: URL
        /// The largest answer body read (capture, error messages, SOAP faults). Default 1 MiB.
        public var maxResponseBytes: Int

        public init(baseURL: String, authentication: Authentication = .none, clientCertificateFile: String? = nil,
                    clientKeyPEM: String? = nil, trustedCAFile: String? = nil, connectTimeout: Duration = .seconds(5),
                    timeout: Duration = .seconds(30), lookupPath: String? = nil, honoursIdempotencyKey: Bool = false,
                    partnersFolder: URL = URL(fileURLWithPath: "Mappings"), maxResponseBytes: Int = 1 << 20) {
            var base = baseURL
            while base.hasSuffix("/") { base.removeLast() }
            self.baseURL = base
            self.authentication = authentication
            self.clientCertificateFile = clientCertificateFile
            self.clientKeyPEM = clientKeyPEM
            self.trustedCAFile = trustedCAFile
            self.connectTimeout = connectTimeout
            self.timeout = timeout
            self.lookupPath = lookupPath
            self.honoursIdempotencyKey = honoursIdempotencyKey
            self.partnersFolder = partnersFolder
            self.maxResponseBytes = maxResponseBytes
        }
    }

    let configuration: Configuration
    let client: HTTPClient
    let validator = XMLSchemaValidator()
    /// Deliveries in flight in this process, by idempotency key: a concurrent delivery of the
    /// same key waits for the first one's outcome instead of sending again.
    let inFlight = Mutex<[String: Task<DeliveryOutcome, Never>]>([:])
    /// Strings that must never leave the adapter in a reason (token, password, their encodings).
    let secrets: [String]

    /// An adapter for one target. Throws when the TLS material cannot be read (naming the
    /// setting, never the secret).
    public init(configuration: Configuration) throws(AdapterConfigurationError) {
        var problems: [String] = []
        if !(configuration.baseURL.hasPrefix("http://") || configuration.baseURL.hasPrefix("https://")) {
            problems.append("base_url: must start with http:// or https://")
        }
        if let lookup = configuration.lookupPath, !lookup.hasPrefix("/") || !lookup.contains("{key}") {
            problems.append("lookup_path: must start with / and contain {key}, e.g. /orders?idempotency_key={key}")
        }
        var tls: TLSConfiguration?
        if configuration.baseURL.hasPrefix("https://") {
            var t = TLSConfiguration.makeClientConfiguration()
            if let file = configuration.trustedCAFile {
                do { t.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(file)) } catch {
                    problems.append("ca_certificate: cannot read PEM certificates from \(file)")
                }
            }
            switch (configuration.clientCertificateFile, configuration.clientKeyPEM) {
            case (let file?, let key?):
                do { t.certificateChain = try NIOSSLCertificate.fromPEMFile(file).map { .certificate($0) } } catch {
                    problems.append("client_certificate: cannot read a PEM certificate from \(file)")
                }
                do { t.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: Array(key.utf8), format: .pem)) } catch {
                    problems.append("client_key: not a readable PEM private key (an encrypted key is not supported)")
                }
            case (nil, nil): break
            case (nil, _?): problems.append("client_key: set client_certificate too (mutual TLS needs both)")
            case (_?, nil): problems.append("client_certificate: set client_key too (mutual TLS needs both)")
            }
            tls = t
        } else if configuration.clientCertificateFile != nil || configuration.trustedCAFile != nil {
            problems.append("client_certificate/ca_certificate: TLS settings need an https:// base_url")
        }
        guard problems.isEmpty else { throw AdapterConfigurationError(problems: problems) }

        var secrets: [String] = []
        switch configuration.authentication {
        case .none: break
        case .bearer(let token): secrets.append(token)
        case .basic(let username, let password):
            secrets += [password, Data("\(username):\(password)".utf8).base64EncodedString()]
        }
        self.secrets = secrets.filter { !$0.isEmpty }
        self.configuration = configuration

        var clientConfiguration = HTTPClient.Configuration(
            tlsConfiguration: tls, redirectConfiguration: .disallow,
            timeout: .init(connect: .nanoseconds(Self.nanoseconds(configuration.connectTimeout))))
        // A refused connection fails the call at once (retryable) instead of being retried until the deadline.
        clientConfiguration.connectionPool.retryConnectionEstablishment = false
        client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: clientConfiguration)
    }

    /// From a target's validated settings and its resolved secrets (`token`, `password`,
    /// `client_key`). `partnersFolder` overrides the `partners` setting (the gateway passes its own).
    public convenience init(settings: AdapterSettings, secrets: [String: String], partnersFolder: URL? = nil) throws(AdapterConfigurationError) {
        var problems: [String] = []
        let authentication: Configuration.Authentication
        switch settings["auth"] ?? "none" {
        case "none": authentication = .none
        case "bearer":
            if let token = secrets["token"] { authentication = .bearer(token: token) } else {
                problems.append("token: required with auth: bearer (env:NAME or file:PATH)")
                authentication = .none
            }
        case "basic":
            if let username = settings["username"], let password = secrets["password"] {
                authentication = .basic(username: username, password: password)
            } else {
                problems.append("username, password: both required with auth: basic")
                authentication = .none
            }
        case let other:
            problems.append("auth: '\(other)' is not none, bearer or basic")
            authentication = .none
        }
        func seconds(_ key: String, _ fallback: Duration) -> Duration {
            guard let text = settings[key], let value = DecimalText.parse(text), value > 0 else { return fallback }
            return .nanoseconds(Int64(truncating: NSDecimalNumber(decimal: value * 1_000_000_000)))
        }
        guard problems.isEmpty, let base = settings["base_url"] else {
            throw AdapterConfigurationError(problems: problems.isEmpty ? ["base_url: required"] : problems)
        }
        try self.init(configuration: Configuration(
            baseURL: base, authentication: authentication, clientCertificateFile: settings["client_certificate"],
            clientKeyPEM: secrets["client_key"], trustedCAFile: settings["ca_certificate"],
            connectTimeout: seconds("connect_timeout", .seconds(5)), timeout: seconds("timeout", .seconds(30)),
            lookupPath: settings["lookup_path"], honoursIdempotencyKey: settings["honours_idempotency_key"] == "true",
            partnersFolder: partnersFolder ?? URL(fileURLWithPath: settings["partners"] ?? "Mappings")))
    }

    /// Keeps the adapter until the surrounding task is cancelled, then shuts its HTTP client down.
    public func run() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(3600))
        }
        await shutdown()
    }

    /// Shuts the HTTP client down; calls after it are answered as retryable. Safe to call twice.
    public func shutdown() async {
        try? await client.shutdown()
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    // MARK: Deliver

    public func deliver(_ delivery: Delivery) async -> DeliveryOutcome {
        let key = delivery.idempotencyKey
        let (task, owner) = inFlight.withLock { running -> (Task<DeliveryOutcome, Never>, Bool) in
            if let existing = running[key] { return (existing, false) }
            let task = Task { await self.perform(delivery) }
            running[key] = task
            return (task, true)
        }
        let outcome = await task.value
        if owner { _ = inFlight.withLock { $0.removeValue(forKey: key) } }
        return outcome
    }

    func perform(_ delivery: Delivery) async -> DeliveryOutcome {
        let request: PreparedRequest
        switch prepare(delivery) {
        case .success(let prepared): request = prepared
        case .failure(let problem): return .rejected(problem.reason)
        }
        // A target that cannot deduplicate by itself is asked first (a narrow race remains
        // between two gateways; honours_idempotency_key closes it).
        if configuration.lookupPath != nil, !configuration.honoursIdempotencyKey {
            switch await lookup(delivery) {
            case .found(let reference): return .delivered(reference)
            case .notFound: break
            case .unavailable(let reason): return .retryable("not sent: the lookup before sending failed (\(reason))")
            }
        }
        return await send(request, delivery)
    }

    func send(_ prepared: PreparedRequest, _ delivery: Delivery) async -> DeliveryOutcome {
        let what = "\(prepared.method) \(prepared.displayPath)"
        let answer: Answer
        do {
            answer = try await execute(prepared)
        } catch {
            return classify(error, what: what)
        }
        return classify(answer, prepared: prepared, delivery: delivery)
    }

    // MARK: Lookup

    public func lookup(_ delivery: Delivery) async -> LookupResult {
        guard let template = configuration.lookupPath else {
            if configuration.honoursIdempotencyKey {
                // Not "absent": sending again with the same Idempotency-Key is safe, because the
                // target answers a repeated key with its first result.
                return .notFound
            }
            return .unavailable("the target has neither a lookup_path nor honours_idempotency_key: true, so whether "
                + "\(delivery.idempotencyKey) was performed cannot be asked; check the target and settle the delivery by hand")
        }
        let encodedKey = delivery.idempotencyKey.addingPercentEncoding(withAllowedCharacters: Self.unreserved) ?? delivery.idempotencyKey
        let path = template.replacingOccurrences(of: "{key}", with: encodedKey)
        var headers = HTTPHeaders()
        headers.add(name: "Accept", value: "application/json, application/xml;q=0.9, */*;q=0.5")
        addCommonHeaders(to: &headers, delivery)
        let prepared = PreparedRequest(method: "GET", url: configuration.baseURL + path, displayPath: template, headers: headers, body: nil,
                                       capture: Self.capture(of: delivery.action), kind: Self.referenceKind(of: delivery.action), isSOAP: false)
        let answer: Answer
        do {
            answer = try await execute(prepared)
        } catch {
            return .unavailable(classify(error, what: "lookup GET \(template)").reason ?? "the lookup failed")
        }
        switch answer.status {
        case 200 where !answer.body.isEmpty:
            return .found(reference(from: answer, prepared: prepared, key: delivery.idempotencyKey))
        case 200: return .unavailable("lookup GET \(template) answered 200 without a body")
        case 404, 410: return .notFound
        default:
            return .unavailable("lookup GET \(template) answered \(answer.status)\(excerpt(answer).map { ": \($0)" } ?? "")")
        }
    }

    /// RFC 3986 unreserved characters: what a key may keep unencoded in a path or query.
    static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    // MARK: Transport

    /// A response: status, headers and the body (up to the configured limit; empty when it could not be read).
    struct Answer: Sendable {
        let status: Int
        let headers: HTTPHeaders
        let body: [UInt8]
    }

    func execute(_ prepared: PreparedRequest) async throws -> Answer {
        var request = HTTPClientRequest(url: prepared.url)
        request.method = .init(rawValue: prepared.method)
        request.headers = prepared.headers
        if let body = prepared.body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let deadline = NIODeadline.now() + .nanoseconds(Self.nanoseconds(configuration.timeout))
        let response = try await client.execute(request, deadline: deadline)
        // The status is in: whatever happens to the body, the target has answered.
        let body: [UInt8]
        do {
            var buffer = try await response.body.collect(upTo: configuration.maxResponseBytes)
            body = buffer.readBytes(length: buffer.readableBytes) ?? []
        } catch {
            body = []
        }
        return Answer(status: Int(response.status.code), headers: response.headers, body: body)
    }
}
