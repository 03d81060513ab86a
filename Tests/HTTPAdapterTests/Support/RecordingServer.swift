import CausewayCore
import CausewayTesting
import Foundation

/// The Python recording server (Support/recording_server.py) on a free loopback port, for one test.
/// It is stopped when this object goes away (and stops by itself when the test process dies).
final class RecordingServer: @unchecked Sendable {
    // @unchecked: the fields are set once in init; Process is only terminated in deinit.

    /// One request as the server received it.
    struct Request: Sendable {
        let method: String
        let path: String
        let headers: [String: String]
        let body: String
        /// The client certificate's subject fields (`commonName` …), for TLS with client certificates.
        let clientSubject: [String: String]?

        func header(_ name: String) -> String? { headers[name.lowercased()] }
    }

    /// TLS material for an HTTPS server.
    struct TLS {
        let certificate: String
        let key: String
        /// Require a client certificate signed by this CA.
        let clientCA: String?
    }

    static let python = "/usr/bin/python3"
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("recording_server.py")

    let process: Process
    let port: Int
    let folder: URL
    let log: URL
    let scheme: String

    var baseURL: String { "\(scheme)://127.0.0.1:\(port)" }

    /// Starts a server; `paths` is the per-path behaviour (see the script's docstring).
    init(paths: [String: JSONValue] = [:], tls: TLS? = nil) throws {
        guard FileManager.default.isExecutableFile(atPath: Self.python) else {
            throw MissingTestInput(path: Self.python, hint: "the HTTP adapter tests need Python 3 (apt-get install python3)")
        }
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("causeway-http-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        log = folder.appendingPathComponent("requests.jsonl")
        let portFile = folder.appendingPathComponent("port")
        let config = folder.appendingPathComponent("config.json")
        let members = paths.map { ($0.key, $0.value) }
        try Data(JSONWriter.string(["paths": .object(JSONObject(members))]).utf8).write(to: config)
        var arguments = [Self.script.path, "--port-file", portFile.path, "--log", log.path, "--config", config.path]
        if let tls {
            arguments += ["--cert", tls.certificate, "--key", tls.key]
            if let ca = tls.clientCA { arguments += ["--client-ca", ca] }
        }
        scheme = tls == nil ? "http" : "https"
        process = Process()
        process.executableURL = URL(fileURLWithPath: Self.python)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let started = Date()
        while true {
            if let text = try? String(contentsOf: portFile, encoding: .utf8), let port = Int(text) {
                self.port = port
                break
            }
            if !process.isRunning || Date().timeIntervalSince(started) > 15 {
                process.terminate()
                throw MissingTestInput(path: Self.script.path, hint: "the recording server did not start")
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
    }

    deinit {
        if process.isRunning { process.terminate() }
        try? FileManager.default.removeItem(at: folder)
    }

    /// Every request received so far, in order.
    func requests() throws -> [Request] {
        let text = try String(contentsOf: log, encoding: .utf8)
        return try text.split(separator: "\n").map { line in
            let json = try JSONReader().read(String(line))
            var headers: [String: String] = [:]
            for (name, value) in json["headers"]?.objectValue ?? JSONObject() { headers[name] = value.stringValue }
            var subject: [String: String]?
            if let object = json["client_subject"]?.objectValue {
                subject = [:]
                for (name, value) in object { subject?[name] = value.stringValue }
            }
            return Request(method: json["method"]?.stringValue ?? "", path: json["path"]?.stringValue ?? "", headers: headers,
                           body: json["body"]?.stringValue ?? "", clientSubject: subject)
        }
    }

    /// Requests other than lookups.
    func deliveries() throws -> [Request] { try requests().filter { !$0.path.hasPrefix("/lookup") } }
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, made with /usr/bin/openssl.
struct TestCertificates {
    let folder: URL
    var caCertificate: String { folder.appendingPathComponent("ca.pem").path }
    var serverCertificate: String { folder.appendingPathComponent("server.pem").path }
    var serverKey: String { folder.appendingPathComponent("server.key").path }
    var clientCertificate: String { folder.appendingPathComponent("client.pem").path }
    var clientKey: String { folder.appendingPathComponent("client.key").path }

    static let openssl = "/usr/bin/openssl"

    static func make() throws -> TestCertificates {
        guard FileManager.default.isExecutableFile(atPath: openssl) else {
            throw MissingTestInput(path: openssl, hint: "the mutual TLS test needs OpenSSL (apt-get install openssl)")
        }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("causeway-certs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        func run(_ arguments: [String]) throws {
            let result = try CommandRunner.run(openssl, arguments, in: folder)
            guard result.status == 0 else { throw MissingTestInput(path: openssl, hint: "openssl \(arguments.first ?? ""): \(result)") }
        }
        try Data("subjectAltName=IP:127.0.0.1,DNS:localhost\n".utf8).write(to: folder.appendingPathComponent("server.ext"))
        try Data("extendedKeyUsage=clientAuth\n".utf8).write(to: folder.appendingPathComponent("client.ext"))
        try run(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=Causeway Test CA"])
        for (name, subject) in [("server", "/CN=127.0.0.1"), ("client", "/CN=causeway-gateway")] {
            try run(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "\(name).key", "-out", "\(name).csr", "-subj", subject])
            try run(["x509", "-req", "-in", "\(name).csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "\(name).pem",
                     "-days", "2", "-extfile", "\(name).ext"])
        }
        return TestCertificates(folder: folder)
    }
}
