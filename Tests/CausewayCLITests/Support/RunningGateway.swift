import CausewayCore
import CausewayTesting
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A real `causeway serve` process on loopback. By default: SQLite store, the SQLite twin of the
/// staging schema as its target, the stahlteile partner. A second instance can share the first's
/// folder (key, partners, store) with a port and a configuration file of its own.
final class RunningGateway: @unchecked Sendable {  // the process handle is only touched from the test
    let directory: URL
    let port: Int
    let configFile: String
    private(set) var process = Process()
    let token = "test-operator-token-0123456789abcdef0123"
    let viewerToken = "test-viewer-token-0123456789abcdef01234"

    /// `store`: nil for SQLite, or a PostgreSQL URL. `targets`: YAML lines under `targets:`
    /// (default: the SQLite staging twin). `partners`: a folder of partner folders to use instead
    /// of stahlteile. `delivery`: YAML lines under `delivery:`. `extra`: more top-level YAML. `sharing`: another instance whose
    /// folder this one uses.
    init(store: String? = nil, targets: String? = nil, partners: URL? = nil, delivery: String? = nil, extra: String? = nil,
         sharing other: RunningGateway? = nil, start: Bool = true) throws {
        port = TestPorts.free(in: 20_000...32_000)
        if let other {
            directory = other.directory
        } else {
            directory = try CommandRunner.temporaryDirectory("serve")
            _ = try CommandRunner.causeway(["keys", "new", "--out", "key.json"], in: directory)
            if let partners {
                try FileManager.default.copyItem(at: partners, to: directory.appendingPathComponent("partners"))
            } else {
                try FileManager.default.createDirectory(at: directory.appendingPathComponent("partners"), withIntermediateDirectories: true)
                try FileManager.default.copyItem(at: TestPaths.repository.appendingPathComponent("Mappings/stahlteile"),
                                                 to: directory.appendingPathComponent("partners/stahlteile"))
            }
            if targets == nil {
                let schema = try String(contentsOf: TestPaths.repository.appendingPathComponent("Deploy/examples/erp-staging.sqlite.sql"),
                                        encoding: .utf8)
                let created = try CommandRunner.run("/usr/bin/sqlite3", [directory.appendingPathComponent("erp.sqlite").path], stdin: schema)
                guard created.status == 0 else { throw MissingTestInput(path: "sqlite3", hint: created.stderr) }
            }
        }
        configFile = "causeway-\(port).yaml"
        try Data("""
            listen: 127.0.0.1:\(port)
            store: \(store ?? "sqlite:causeway.sqlite")
            identity: key.json
            partners: partners
            allow_fixture_keys: true
            targets:
            \(targets ?? "  erp-staging: {adapter: sqlite, path: erp.sqlite}")
            tokens:
              - {name: ops, role: operator, secret: env:TEST_OPS_TOKEN}
              - {name: viewer, role: viewer, secret: env:TEST_VIEWER_TOKEN}
            \(delivery.map { "delivery:\n\($0)" } ?? "")
            \(extra ?? "")
            """.utf8).write(to: directory.appendingPathComponent(configFile))
        if start { try self.start() }
    }

    /// Starts (or restarts) the process on the same port, folder and configuration.
    func start() throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: CommandRunner.causewayBinary)
        process.arguments = ["serve", "--config", configFile]
        process.currentDirectoryURL = directory
        var environment = ProcessInfo.processInfo.environment
        environment["TEST_OPS_TOKEN"] = token
        environment["TEST_VIEWER_TOKEN"] = viewerToken
        process.environment = environment
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        let log = directory.appendingPathComponent("serve-\(port).log")
        if !FileManager.default.fileExists(atPath: log.path) { _ = FileManager.default.createFile(atPath: log.path, contents: nil) }
        let handle = try FileHandle(forWritingTo: log)
        handle.seekToEndOfFile()
        process.standardError = handle
        try process.run()
    }

    var log: String { (try? String(contentsOf: directory.appendingPathComponent("serve-\(port).log"), encoding: .utf8)) ?? "" }

    func request(_ method: String, _ path: String, body: [UInt8]? = nil, token: String? = nil) async throws -> (Int, JSONValue?) {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.httpMethod = method
        request.timeoutInterval = 20
        if let body { request.httpBody = Data(body) }
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        let (data, response) = try await URLSession.shared.data(for: request)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        return (status, data.isEmpty ? nil : try? JSONReader().read(Array(data)))
    }

    /// A plain-text endpoint (`/metrics`).
    func text(_ path: String) async throws -> (Int, String) {
        let (data, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    func waitUntilReady() async throws {
        for _ in 0..<300 {
            if let (status, _) = try? await request("GET", "/readyz"), status == 200 { return }
            guard process.isRunning else { throw MissingTestInput(path: "causeway serve", hint: "exited early:\n\(log)") }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw MissingTestInput(path: "causeway serve", hint: "not ready after 30 s:\n\(log)")
    }

    /// Kills the process without warning (SIGKILL): nothing of it runs after this.
    func crash() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    func stop() -> Int32 {
        if process.isRunning {
            kill(process.processIdentifier, SIGTERM)
            process.waitUntilExit()
        }
        return process.terminationStatus
    }
}

