import CausewayCore
import CausewayTesting
import CausewayTrust
import Foundation
import Testing

/// A gateway folder (`key.json` 0600, `partners/stahlteile` copied from Mappings, which trusts
/// the published fixture keys) and a configuration file in it.
struct GatewayFolder {
    let directory: URL
    let config: URL

    init(extra: String = "", partnerDIDs: [String: String]? = nil) throws {
        directory = try CommandRunner.temporaryDirectory("gateway-folder")
        let keys = try CommandRunner.causeway(["keys", "new", "--out", "key.json"], in: directory)
        try #require(keys.status == 0, "\(keys)")
        let partner = directory.appendingPathComponent("partners/stahlteile")
        try FileManager.default.createDirectory(at: partner.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: TestPaths.repository.appendingPathComponent("Mappings/stahlteile"), to: partner)
        if let partnerDIDs {
            let file = partner.appendingPathComponent("partner.yaml")
            var text = try String(contentsOf: file, encoding: .utf8)
            for (fixture, own) in partnerDIDs { text = text.replacingOccurrences(of: fixture, with: own) }
            try Data(text.utf8).write(to: file)
        }
        config = directory.appendingPathComponent("causeway.yaml")
        try Data("""
            listen: 127.0.0.1:\(TestPorts.free(in: 20_000...32_000))
            store: sqlite:causeway.sqlite
            identity: key.json
            partners: partners
            \(extra)
            """.utf8).write(to: config)
    }

    /// Runs `causeway serve`; a serve that starts after all is stopped after a generous 60 s
    /// and reported (status nil) instead of hanging the suite.
    /// Runs `causeway config check` in the folder (relative paths are relative to the working directory).
    func check(environment: [String: String] = [:]) throws -> CommandRunner.Result {
        try CommandRunner.causeway(["config", "check", "--config", config.path], in: directory, environment: environment)
    }

    func serve(environment: [String: String] = [:]) throws -> (status: Int32?, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandRunner.causewayBinary)
        process.arguments = ["serve", "--config", config.path]
        process.currentDirectoryURL = directory
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let log = directory.appendingPathComponent("serve.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        process.standardError = try FileHandle(forWritingTo: log)
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        for _ in 0..<600 where process.isRunning { Thread.sleep(forTimeInterval: 0.1) }
        let stderr = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        guard !process.isRunning else {
            process.terminate()
            process.waitUntilExit()
            return (nil, stderr)
        }
        return (process.terminationStatus, stderr)
    }
}

@Suite("Published fixture keys are not trusted by default")
struct FixtureTrustCLITests {
    static let fixtureSeller = "did:key:z6Mko12SmkNyyRjr4TXqooiUtAWrExSipaUDVgNBnVzEit1Q"
    static let fixtureBuyer = "did:key:z6Mko1omFks17fyYuRDs5Hvzm9dnyCSrx8sxtdZHC5QMYJaV"

    @Test("serve refuses to start (exit 2) naming the partner, the role, the DID and the setting")
    func serveRefuses() throws {
        let folder = try GatewayFolder()
        let (status, stderr) = try folder.serve()
        #expect(status == 2, "\(stderr)")
        for expected in ["partner 'stahlteile', role seller trusts \(Self.fixtureSeller)", "role buyer trusts \(Self.fixtureBuyer)",
                         "stahlteile/seller", "allow_fixture_keys: true", "CAUSEWAY_ALLOW_FIXTURE_KEYS"] {
            #expect(stderr.contains(expected), "missing '\(expected)' in \(stderr)")
        }
    }

    @Test("config check reports the same and exits 1; the setting or the variable allows it (tests, demos)")
    func configCheck() throws {
        let refused = try GatewayFolder().check()
        #expect(refused.status == 1, "\(refused)")
        #expect(refused.stderr.contains("role seller trusts \(Self.fixtureSeller)"), "\(refused)")
        let allowed = try GatewayFolder(extra: "allow_fixture_keys: true").check()
        #expect(allowed.status == 0, "\(allowed)")
        #expect(allowed.stderr.contains("warning: ") && allowed.stderr.contains("role seller trusts \(Self.fixtureSeller)")
                    && allowed.stderr.contains("allowed by allow_fixture_keys"), "\(allowed)")
        let byVariable = try GatewayFolder().check(environment: ["CAUSEWAY_ALLOW_FIXTURE_KEYS": "true"])
        #expect(byVariable.status == 0, "\(byVariable)")
        let bad = try GatewayFolder(extra: "allow_fixture_keys: maybe").check()
        #expect(bad.status == 1 && bad.stderr.contains("allow_fixture_keys: must be true or false"), "\(bad)")
    }

    @Test("a partner folder with its own keys needs no setting")
    func ownKeys() throws {
        let folder = try GatewayFolder(partnerDIDs: [Self.fixtureSeller: SigningIdentity().didKey.did, Self.fixtureBuyer: SigningIdentity().didKey.did])
        let r = try folder.check()
        #expect(r.status == 0, "\(r)")
    }
}

@Suite("Secrets: no passwords in URLs, private key and store files")
struct SecretsCLITests {
    static let password = "hunter2-Zq8"

    @Test("a literal password in a target URL or the store URL is refused, pointing at env:/file:, and never printed",
          arguments: [("targets:\n  erp: {adapter: postgresql, url: \"postgresql://u:\(password)@127.0.0.1/db\"}", "targets.erp.url", "password to env:NAME or file:PATH"),
                      ("targets:\n  erp: {adapter: http, base_url: \"http://127.0.0.1/x?token=\(password)\"}", "targets.erp.base_url", "query parameter 'token'"),
                      ("store: \"postgresql://gw@127.0.0.1/causeway?password=\(password)\"", "store: put no password in the URL", "CAUSEWAY_STORE_PASSWORD")])
    func passwordInURL(yaml: String, names: String, fix: String) throws {
        let folder = try GatewayFolder(extra: "allow_fixture_keys: true")
        var text = try String(contentsOf: folder.config, encoding: .utf8)
        if yaml.hasPrefix("store:") { text = text.replacingOccurrences(of: "store: sqlite:causeway.sqlite", with: yaml) } else { text += "\n" + yaml + "\n" }
        try Data(text.utf8).write(to: folder.config)
        let r = try folder.check()
        #expect(r.status == 1, "\(r)")
        #expect(r.stderr.contains(names) && r.stderr.contains(fix), "\(r)")
        #expect(!r.stdout.contains(Self.password) && !r.stderr.contains(Self.password), "\(r)")
        let (status, stderr) = try folder.serve()
        #expect(status == 2)
        #expect(!stderr.contains(Self.password), "\(stderr)")
    }

    @Test("an identity key file readable by group or others is refused naming the file and chmod 600")
    func keyFileMode() throws {
        let folder = try GatewayFolder(extra: "allow_fixture_keys: true")
        let key = folder.directory.appendingPathComponent("key.json").path
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: key)
        let r = try folder.check()
        #expect(r.status == 1, "\(r)")
        #expect(r.stderr.contains("identity: the key file key.json is readable or writable by group or others (mode 644); run chmod 600 key.json"), "\(r)")
        let (status, stderr) = try folder.serve()
        #expect(status == 2 && stderr.contains("chmod 600"), "\(stderr)")
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: key)
        #expect(try folder.check().status == 0)
    }

    @Test("the SQLite store file and its -wal and -shm files are created 0600")
    func storeMode() async throws {
        let gateway = try RunningGateway()
        defer { _ = gateway.stop() }
        try await gateway.waitUntilReady()
        for name in ["causeway.sqlite", "causeway.sqlite-wal", "causeway.sqlite-shm"] {
            let path = gateway.directory.appendingPathComponent(name).path
            let mode = try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber, "\(name)")
            #expect(mode.intValue & 0o777 == 0o600, "\(name): \(String(mode.intValue, radix: 8))")
        }
    }
}
