import CausewayCore
import CausewayTesting
import Foundation
import Testing

/// TLS on `causeway serve`'s listener, with a CA made by the test: HTTPS, client certificates per
/// partner at intake, reload on SIGHUP, and the configuration errors that name the setting. The
/// client is `curl` (and `openssl s_client` to read the served certificate).
@Suite("causeway serve over TLS (listener certificates, mTLS per partner, SIGHUP reload)")
struct ListenerTLSTests {
    /// One curl call: its exit code, the HTTP status (0 when there was none) and the body.
    struct Answer: CustomStringConvertible {
        let exit: Int32
        let status: Int
        let body: String
        let stderr: String
        var description: String { "curl exit \(exit), HTTP \(status): \(body) \(stderr)" }
        var json: JSONValue? { try? JSONReader().read(Array(body.utf8)) }
    }

    static func curl(_ url: String, ca: String? = nil, client: (crt: String, key: String)? = nil, post file: String? = nil,
                     token: String? = nil) throws -> Answer {
        var arguments = ["-s", "-S", "--max-time", "20", "-w", "\n%{http_code}"]
        if let ca { arguments += ["--cacert", ca] }
        if let client { arguments += ["--cert", client.crt, "--key", client.key] }
        if let file { arguments += ["-X", "POST", "-H", "Content-Type: application/json", "--data-binary", "@\(file)"] }
        if let token { arguments += ["-H", "Authorization: Bearer \(token)"] }
        let result = try CommandRunner.run("/usr/bin/curl", arguments + [url])
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        return Answer(exit: result.status, status: Int(lines.last ?? "") ?? 0, body: lines.dropLast().joined(separator: "\n"), stderr: result.stderr)
    }

    static let agreement = TestPaths.repository.appendingPathComponent("Mappings/stahlteile/fixtures/agreements/kilograms.json").path

    /// Waits until `/readyz` answers 200 over HTTPS (RunningGateway's own wait speaks plain HTTP).
    static func waitUntilReady(_ gateway: RunningGateway, ca: String, client: (crt: String, key: String)? = nil) async throws {
        for _ in 0..<300 {
            if let answer = try? curl("https://127.0.0.1:\(gateway.port)/readyz", ca: ca, client: client), answer.status == 200 { return }
            guard gateway.process.isRunning else { throw MissingTestInput(path: "causeway serve", hint: "exited early:\n\(gateway.log)") }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw MissingTestInput(path: "causeway serve", hint: "not ready over HTTPS after 30 s:\n\(gateway.log)")
    }

    static func tlsSection(_ ca: TestCertificateAuthority, server: String = "server", clientCA: String? = nil, mode: String? = nil) -> String {
        var lines = "http:\n  tls:\n    certificate: file:\(ca.path("\(server).crt"))\n    key: file:\(ca.path("\(server).key"))\n"
        if let clientCA { lines += "    client_ca: file:\(clientCA)\n" }
        if let mode { lines += "    client_certificates: \(mode)\n" }
        return lines
    }

    @Test("HTTPS serves intake and the API; plain HTTP to the TLS port and a client trusting another CA get nothing")
    func https() async throws {
        let folder = try CommandRunner.temporaryDirectory("listener-tls")
        let ca = try TestCertificateAuthority(in: folder)
        try ca.server("server")
        let other = try TestCertificateAuthority(name: "other-ca", commonName: "Some Other CA", in: folder)
        let gateway = try RunningGateway(extra: Self.tlsSection(ca))
        defer { _ = gateway.stop() }
        try await Self.waitUntilReady(gateway, ca: ca.certificate)

        // A partner without intake.client_certificate: an agreement over HTTPS without a client certificate is taken.
        let accepted = try Self.curl("https://127.0.0.1:\(gateway.port)/v1/agreements", ca: ca.certificate, post: Self.agreement)
        #expect(accepted.status == 202, "\(accepted) \(gateway.log)")
        let digest = try #require(accepted.json?["digest"]?.stringValue)
        let delivered = try await eventually(seconds: 30) {
            try Self.curl("https://127.0.0.1:\(gateway.port)/v1/agreements/\(digest)", ca: ca.certificate, token: gateway.viewerToken)
                .json?["status"]?.stringValue == "delivered"
        }
        #expect(delivered, "\(gateway.log)")

        // Plain HTTP to the TLS port: no HTTP answer at all.
        let plain = try Self.curl("http://127.0.0.1:\(gateway.port)/readyz")
        #expect(plain.status == 0 && plain.exit != 0, "\(plain)")
        // A client that trusts only another CA refuses the server's certificate (curl 60: peer certificate cannot be authenticated).
        let untrusted = try Self.curl("https://127.0.0.1:\(gateway.port)/readyz", ca: other.certificate)
        #expect(untrusted.exit == 60 && untrusted.status == 0, "\(untrusted)")
        // The served certificate is the configured one.
        #expect(try TestCertificateAuthority.servedFingerprint(port: gateway.port) == TestCertificateAuthority.fingerprint(ofCertificate: ca.path("server.crt")))
        #expect(gateway.stop() == 0, "\(gateway.log)")
    }

    @Test("a partner with intake.client_certificate: no certificate, another certificate and another CA's are refused and nothing is stored; its own is delivered")
    func mutualTLSPerPartner() async throws {
        let folder = try CommandRunner.temporaryDirectory("listener-mtls")
        let ca = try TestCertificateAuthority(in: folder)
        try ca.server("server")
        try ca.client("erp-client")                                     // pinned by fingerprint
        try ca.client("named-client", dnsName: "erp.stahlteile.example")  // matched by DNS name
        try ca.client("stranger", dnsName: "erp.someone-else.example")   // same CA, not the partner's
        let other = try TestCertificateAuthority(name: "other-ca", commonName: "Some Other CA", in: folder)
        try other.client("forged", dnsName: "erp.stahlteile.example")
        let pinned = try TestCertificateAuthority.fingerprint(ofCertificate: ca.path("erp-client.crt"))

        let gateway = try RunningGateway(extra: Self.tlsSection(ca, clientCA: ca.certificate, mode: "optional"), start: false)
        defer { _ = gateway.stop() }
        let partnerFile = gateway.directory.appendingPathComponent("partners/stahlteile/partner.yaml")
        var partner = try String(contentsOf: partnerFile, encoding: .utf8)
        // The pin as openssl prints it (upper case with colons): the partner file accepts that form.
        let printed = stride(from: 0, to: pinned.count, by: 2).map { i in
            String(pinned[pinned.index(pinned.startIndex, offsetBy: i)...].prefix(2)).uppercased()
        }.joined(separator: ":")
        partner += "\nintake:\n  client_certificate:\n    sha256: [\"\(printed)\"]\n    dns_names: [erp.stahlteile.example]\n"
        try Data(partner.utf8).write(to: partnerFile)
        try gateway.start()
        try await Self.waitUntilReady(gateway, ca: ca.certificate)
        let url = "https://127.0.0.1:\(gateway.port)/v1/agreements"

        let none = try Self.curl(url, ca: ca.certificate, post: Self.agreement)
        #expect(none.status == 403 && none.json?["code"]?.stringValue == "intake.client_certificate_required", "\(none)")
        let digest = try #require(none.json?["digest"]?.stringValue)
        let stranger = try Self.curl(url, ca: ca.certificate, client: (ca.path("stranger.crt"), ca.path("stranger.key")), post: Self.agreement)
        #expect(stranger.status == 403 && stranger.json?["code"]?.stringValue == "intake.client_certificate_mismatch", "\(stranger)")
        // A certificate another CA signed does not get past the handshake (client_ca verifies what is presented).
        let forged = try Self.curl(url, ca: ca.certificate, client: (other.path("forged.crt"), other.path("forged.key")), post: Self.agreement)
        #expect(forged.status == 0 && forged.exit != 0, "\(forged)")
        // Nothing of the refused submissions was stored.
        let before = try Self.curl("https://127.0.0.1:\(gateway.port)/v1/agreements/\(digest)", ca: ca.certificate, token: gateway.viewerToken)
        #expect(before.status == 404, "\(before)")

        let own = try Self.curl(url, ca: ca.certificate, client: (ca.path("erp-client.crt"), ca.path("erp-client.key")), post: Self.agreement)
        #expect(own.status == 202 && own.json?["digest"]?.stringValue == digest, "\(own) \(gateway.log)")
        let delivered = try await eventually(seconds: 30) {
            try Self.curl("https://127.0.0.1:\(gateway.port)/v1/agreements/\(digest)", ca: ca.certificate, token: gateway.viewerToken)
                .json?["status"]?.stringValue == "delivered"
        }
        #expect(delivered, "\(gateway.log)")
        // The partner's name in a certificate its CA signed passes too (a resubmission: 200, the stored status).
        let named = try Self.curl(url, ca: ca.certificate, client: (ca.path("named-client.crt"), ca.path("named-client.key")), post: Self.agreement)
        #expect(named.status == 200, "\(named)")
        #expect(gateway.stop() == 0, "\(gateway.log)")
    }

    @Test("SIGHUP: new connections get the replaced certificate; a broken replacement is refused, logged, and the previous one keeps serving")
    func reloadOnHangup() async throws {
        let folder = try CommandRunner.temporaryDirectory("listener-reload")
        let ca = try TestCertificateAuthority(in: folder)
        try ca.server("first")
        try ca.server("second")
        try ca.expiredServer("expired")
        // The gateway reads these two paths; the test replaces their contents.
        let live = folder.appendingPathComponent("live")
        try FileManager.default.createDirectory(at: live, withIntermediateDirectories: true)
        func install(_ name: String) throws {
            for ext in ["crt", "key"] {
                let target = live.appendingPathComponent("server.\(ext)")
                try? FileManager.default.removeItem(at: target)
                try FileManager.default.copyItem(atPath: ca.path("\(name).\(ext)"), toPath: target.path)
            }
        }
        try install("first")
        let section = "http:\n  tls:\n    certificate: file:\(live.appendingPathComponent("server.crt").path)\n"
            + "    key: file:\(live.appendingPathComponent("server.key").path)\n"
        let gateway = try RunningGateway(extra: section)
        defer { _ = gateway.stop() }
        try await Self.waitUntilReady(gateway, ca: ca.certificate)
        let first = try TestCertificateAuthority.fingerprint(ofCertificate: ca.path("first.crt"))
        let second = try TestCertificateAuthority.fingerprint(ofCertificate: ca.path("second.crt"))
        #expect(try TestCertificateAuthority.servedFingerprint(port: gateway.port) == first)

        try install("second")
        kill(gateway.process.processIdentifier, SIGHUP)
        let replaced = try await eventually(seconds: 20) { try TestCertificateAuthority.servedFingerprint(port: gateway.port) == second }
        #expect(replaced, "\(gateway.log)")
        #expect(gateway.log.contains("listener TLS reloaded"), "\(gateway.log)")
        // The same SIGHUP reloads the partners too (Reload.swift listens for it as well).
        #expect(try await eventually(seconds: 20) { gateway.log.contains("configuration reloaded") }, "\(gateway.log)")

        // An expired replacement: refused with the reason in the log, the second certificate keeps serving.
        try install("expired")
        kill(gateway.process.processIdentifier, SIGHUP)
        let logged = try await eventually(seconds: 20) { gateway.log.contains("the replacement certificate is refused") }
        #expect(logged, "\(gateway.log)")
        #expect(gateway.log.contains("http.tls.certificate: file:\(live.appendingPathComponent("server.crt").path) expired on 2020-02-01T00:00:00Z"),
                "\(gateway.log)")
        #expect(try TestCertificateAuthority.servedFingerprint(port: gateway.port) == second)
        #expect(gateway.process.isRunning)
        let ready = try Self.curl("https://127.0.0.1:\(gateway.port)/readyz", ca: ca.certificate)
        #expect(ready.status == 200, "\(ready)")
        // The private keys never reach the log.
        for name in ["first", "second", "expired"] {
            let key = try String(contentsOfFile: ca.path("\(name).key"), encoding: .utf8)
            let body = key.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
            #expect(!gateway.log.contains(String(body.prefix(40))))
        }
        #expect(!gateway.log.contains("PRIVATE KEY-----"))
        #expect(gateway.stop() == 0, "\(gateway.log)")
    }

    @Test("config check and serve name every http.tls problem and its fix")
    func configurationErrors() async throws {
        let folder = try CommandRunner.temporaryDirectory("listener-config")
        let ca = try TestCertificateAuthority(in: folder)
        try ca.server("server")
        try ca.server("unrelated")
        try ca.expiredServer("expired")
        let gateway = try RunningGateway(start: false)
        let base = try String(contentsOf: gateway.directory.appendingPathComponent(gateway.configFile), encoding: .utf8)
        func check(_ tls: String) throws -> CommandRunner.Result {
            try Data((base + "\n" + tls).utf8).write(to: gateway.directory.appendingPathComponent("tls-check.yaml"))
            return try CommandRunner.causeway(["config", "check", "--config", "tls-check.yaml"], in: gateway.directory,
                                              environment: ["TEST_OPS_TOKEN": gateway.token, "TEST_VIEWER_TOKEN": gateway.viewerToken])
        }
        let missing = try check("http:\n  tls: {certificate: file:\(folder.path)/nope.crt, key: file:\(ca.path("server.key"))}\n")
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("http.tls.certificate: file:\(folder.path)/nope.crt: no such file; put the PEM certificate chain"), "\(missing)")

        let mismatched = try check("http:\n  tls: {certificate: file:\(ca.path("server.crt")), key: file:\(ca.path("unrelated.key"))}\n")
        #expect(mismatched.status == 1)
        #expect(mismatched.stderr.contains("http.tls.key: file:\(ca.path("unrelated.key")) is not the private key of the certificate"), "\(mismatched)")

        let expired = try check("http:\n  tls: {certificate: file:\(ca.path("expired.crt")), key: file:\(ca.path("expired.key"))}\n")
        #expect(expired.status == 1)
        #expect(expired.stderr.contains("expired on 2020-02-01T00:00:00Z; install a renewed certificate"), "\(expired)")

        let envKey = try check("http:\n  tls: {certificate: file:\(ca.path("server.crt")), key: env:TLS_KEY}\n")
        #expect(envKey.stderr.contains("http.tls.key: the private key is given only as file:PATH"), "\(envKey)")

        let noCA = try check("http:\n  tls: {certificate: file:\(ca.path("server.crt")), key: file:\(ca.path("server.key")), client_certificates: required}\n")
        #expect(noCA.stderr.contains("http.tls.client_certificates: 'required' needs http.tls.client_ca"), "\(noCA)")

        let unknown = try check("http:\n  tls: {certificate: file:\(ca.path("server.crt")), key: file:\(ca.path("server.key")), ca: x}\n")
        #expect(unknown.stderr.contains("http.tls.ca: unknown setting; known: certificate, client_ca, client_certificates, key"), "\(unknown)")

        let good = try check("http:\n  tls: {certificate: file:\(ca.path("server.crt")), key: file:\(ca.path("server.key"))}\n")
        #expect(good.status == 0, "\(good)")
        let served = try TestCertificateAuthority.fingerprint(ofCertificate: ca.path("server.crt"))
        #expect(good.stdout.contains("tls         certificate file:\(ca.path("server.crt")), key file:\(ca.path("server.key")); certificate sha256 \(served)"),
                "\(good)")

        // A partner's intake.client_certificate with a value that is no fingerprint is named at its line.
        let partnerFile = gateway.directory.appendingPathComponent("partners/stahlteile/partner.yaml")
        let partner = try String(contentsOf: partnerFile, encoding: .utf8)
        try Data((partner + "\nintake: {client_certificate: {sha256: [abc123]}}\n").utf8).write(to: partnerFile)
        try Data((base + "\nhttp:\n  tls: {certificate: file:\(ca.path("server.crt")), key: file:\(ca.path("server.key")), client_ca: file:\(ca.certificate)}\n").utf8)
            .write(to: gateway.directory.appendingPathComponent(gateway.configFile))
        try gateway.start()
        #expect(try await eventually(seconds: 30) { !gateway.process.isRunning })
        #expect(gateway.log.contains("'abc123' in 'intake.client_certificate.sha256' is not a SHA-256 fingerprint"), "\(gateway.log)")

        // A partner requiring a client certificate on a listener that cannot ask for one stops start-up.
        try Data((partner + "\nintake: {client_certificate: {dns_names: [erp.stahlteile.example]}}\n").utf8).write(to: partnerFile)
        try Data((base + "\nhttp:\n  tls: {certificate: file:\(ca.path("server.crt")), key: file:\(ca.path("server.key"))}\n").utf8)
            .write(to: gateway.directory.appendingPathComponent(gateway.configFile))
        try gateway.start()
        let exited = try await eventually(seconds: 30) { !gateway.process.isRunning }
        #expect(exited)
        #expect(gateway.process.terminationStatus != 0)
        #expect(gateway.log.contains("partners: stahlteile requires a client certificate (intake.client_certificate) but http.tls.client_certificates is none"),
                "\(gateway.log)")
    }
}
