public import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A PostgreSQL cluster of a test's own, on loopback, that the test may stop and start (the
/// shared cluster of `scripts/test` serves the other tests and must stay up).
///
/// Needs `CAUSEWAY_TEST_PG_BIN` (the server's bin folder, exported by `scripts/test`). When the
/// tests run as root, the server runs as the `postgres` user, as PostgreSQL requires.
public final class PostgresCluster: Sendable {
    public let directory: URL
    public let port: Int
    let bin: String
    let asRoot: Bool

    /// Creates and starts the cluster (trust authentication, user `causeway`, test data only).
    public init() throws {
        guard let bin = ProcessInfo.processInfo.environment["CAUSEWAY_TEST_PG_BIN"] else {
            throw MissingTestInput(path: "CAUSEWAY_TEST_PG_BIN",
                                   hint: "this test starts and stops a PostgreSQL cluster of its own; scripts/test exports the server's bin folder")
        }
        self.bin = bin
        asRoot = getuid() == 0
        directory = URL(fileURLWithPath: "/tmp/causeway-cluster-\(UUID().uuidString.prefix(8))")
        port = TestPorts.free(in: 15_000...19_999)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        if asRoot { try check(CommandRunner.run("/bin/chown", ["postgres", directory.path]), "chown") }
        try check(server("initdb", ["-D", directory.path, "-U", "causeway", "-A", "trust", "--no-sync"]), "initdb")
        try start()
    }

    /// The URL of database `name` on this cluster.
    public func url(database: String = "postgres") -> String { "postgresql://causeway@127.0.0.1:\(port)/\(database)" }

    public func start() throws {
        try check(server("pg_ctl", ["-D", directory.path, "-l", directory.appendingPathComponent("server.log").path, "-w",
                                    "-o", "-p \(port) -k \(directory.path) -c listen_addresses=127.0.0.1 -c fsync=off", "start"]),
                  "pg_ctl start")
    }

    /// Stops the server; `immediate` is a crash as far as clients can tell.
    public func stop(immediate: Bool = false) throws {
        try check(server("pg_ctl", ["-D", directory.path, "-m", immediate ? "immediate" : "fast", "-w", "stop"]), "pg_ctl stop")
    }

    /// Runs SQL through psql, failing on the first error; returns psql's unaligned output.
    @discardableResult
    public func psql(_ sql: String, database: String = "postgres") throws -> String {
        let result = try CommandRunner.run("\(bin)/psql", [url(database: database), "-v", "ON_ERROR_STOP=1", "-qAtX", "-c", sql])
        try check(result, "psql")
        return result.stdout
    }

    /// Stops the server and removes its files.
    public func destroy() {
        try? stop()
        try? FileManager.default.removeItem(at: directory)
    }

    /// Runs a server program with its output in a file, never a pipe, and waits for it with a
    /// plain `waitpid`. Foundation's `Process` is not used here: after `pg_ctl start` exits, leaving
    /// the server behind as a daemon, its exit went unnoticed (the child stayed a zombie and
    /// `waitUntilExit` never returned) when other tests were running processes at the same time.
    func server(_ program: String, _ arguments: [String]) throws -> CommandRunner.Result {
        let output = directory.deletingLastPathComponent().appendingPathComponent("\(directory.lastPathComponent)-\(program).out")
        defer { try? FileManager.default.removeItem(at: output) }
        let argv = asRoot ? ["/usr/sbin/runuser", "-u", "postgres", "--", "\(bin)/\(program)"] + arguments : ["\(bin)/\(program)"] + arguments
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var cArguments = argv.map { strdup($0) } + [nil]
        defer { for argument in cArguments { free(argument) } }
        var pid = pid_t()
        let spawned = posix_spawn(&pid, argv[0], &actions, nil, &cArguments, environ)
        guard spawned == 0 else { throw MissingTestInput(path: argv[0], hint: "cannot start: \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 {
            guard errno == EINTR else { throw MissingTestInput(path: argv[0], hint: "waitpid: \(String(cString: strerror(errno)))") }
        }
        let exitCode: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        return CommandRunner.Result(status: exitCode, stdout: text, stderr: "")
    }

    func check(_ result: CommandRunner.Result, _ what: String) throws {
        guard result.status == 0 else { throw MissingTestInput(path: "PostgreSQL (\(what))", hint: result.description) }
    }
}
