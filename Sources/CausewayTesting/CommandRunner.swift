public import Foundation

/// Runs programs for tests: the built `causeway` binary, Python helpers.
public enum CommandRunner {
    /// What a finished process left behind.
    public struct Result: Sendable, CustomStringConvertible {
        public let status: Int32
        public let stdout: String
        public let stderr: String
        public var description: String { "exit \(status)\n--- stdout\n\(stdout)\n--- stderr\n\(stderr)" }
    }

    /// The `causeway` binary beside the test bundle (`CAUSEWAY_BIN` overrides).
    public static var causewayBinary: String {
        if let override = ProcessInfo.processInfo.environment["CAUSEWAY_BIN"] { return override }
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [bundle, bundle.deletingLastPathComponent()] {
            let path = candidate.appendingPathComponent("causeway").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return TestPaths.repository.appendingPathComponent(".build/debug/causeway").path
    }

    /// Runs `causeway` with arguments, optional standard input, in a working directory.
    public static func causeway(_ arguments: [String], stdin: String? = nil, in directory: URL? = nil,
                                environment: [String: String] = [:]) throws -> Result
    {
        try run(causewayBinary, arguments, stdin: stdin, in: directory, environment: environment)
    }

    /// Runs a program and waits for it.
    public static func run(_ executable: String, _ arguments: [String], stdin: String? = nil, in directory: URL? = nil,
                           environment: [String: String] = [:]) throws -> Result
    {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try? input.fileHandleForWriting.close()
        // Read both pipes concurrently so that a chatty process cannot block on a full pipe.
        let errData = LockedData()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            errData.set(err.fileHandleForReading.readDataToEndOfFile())
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData.get(), as: UTF8.self))
    }

    /// A fresh temporary directory.
    public static func temporaryDirectory(_ name: String = "causeway-test") throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

/// Data handed from a reader thread; the lock makes the hand-over safe.
private final class LockedData: @unchecked Sendable {  // guarded by `lock`
    private let lock = NSLock()
    private var data = Data()
    func set(_ value: Data) { lock.withLock { data = value } }
    func get() -> Data { lock.withLock { data } }
}
