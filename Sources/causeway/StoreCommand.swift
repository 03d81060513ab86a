import ArgumentParser
import CausewayCore
import CausewayGateway
import CausewayStore
import Foundation
import PostgresTLS

/// `causeway store`: retention and backups of the store (Docs/store.md, Retention; Backup and restore).
struct StoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store", abstract: "Prune, back up and restore the store.", subcommands: [Prune.self, Backup.self, Restore.self])

    static func load(_ path: String) throws -> GatewayConfiguration {
        do { return try ConfigurationLoader.load(path: path) } catch { throw CLIError(error.description) }
    }

    struct Prune: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Archive and remove the bodies and attempts of finished agreements older than the retention period.",
            discussion: """
                Finished: delivered with every receipt issued, or dead-lettered; nothing pending or in flight. Their documents and \
                attempts are written to a new archive file (JSON lines, mode 0600) in retention.archive and fsynced, then removed \
                from the store; the agreements' rows, actions, receipts, ledger and Merkle tree stay (ledger verify still passes). \
                Safe while the gateway runs. Exit 0 on success, 2 when the store or the archive folder cannot be used.
                """)

        @Option(name: .long, help: "The gateway configuration (for the store and retention:).")
        var config: String = "causeway.yaml"

        @Option(name: .long, help: "Keep this many days instead of retention.days.")
        var days: Int?

        @Option(name: .long, help: "Write the archive file here instead of retention.archive.")
        var archive: String?

        @Flag(name: .long, help: "Count what would be archived; change nothing.")
        var dryRun = false

        func run() async throws {
            let configuration = try StoreCommand.load(config)
            guard let days = days ?? configuration.retention?.days else {
                throw CLIError("retention.days: not set in \(config); add retention: {days: N, archive: FOLDER} or pass --days N")
            }
            guard days >= 1 else { throw CLIError("--days: must be 1 or more") }
            let folder = archive ?? configuration.retention?.archive
            if !dryRun {
                guard let folder else {
                    throw CLIError("retention.archive: not set in \(config); add retention: {days: N, archive: FOLDER} or pass --archive FOLDER")
                }
                var isFolder: ObjCBool = false
                guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue,
                    FileManager.default.isWritableFile(atPath: folder)
                else {
                    throw CLIError("retention.archive: \(folder) is not a writable folder; create it (mkdir -m 700 \(folder)) for the gateway's user")
                }
            }
            let now = WallClock.milliseconds()
            let summary: RetentionRun.Summary
            do {
                summary = try await withStore(configuration.store) { store in
                    guard let retention = store as? any RetentionStore else { throw CLIError("this store does not support retention") }
                    return try await RetentionRun.prune(store: retention, days: days, archiveFolder: folder ?? "", now: now, dryRun: dryRun)
                }
            } catch let error as CLIError {
                throw error
            } catch {
                throw CLIError("prune failed, nothing more was removed: \(error)")
            }
            if dryRun {
                print("would archive \(summary.digests.count)\(summary.truncated ? "+" : "") agreements (\(summary.attempts) attempts) older than \(days) days")
                for digest in summary.digests.prefix(50) { print("  \(digest)") }
                if summary.digests.count > 50 { print("  …") }
            } else if let file = summary.file {
                print("archived \(summary.digests.count) agreements (\(summary.attempts) attempts) older than \(days) days to \(file)")
            } else {
                print("nothing to archive: no finished agreement is older than \(days) days")
            }
        }
    }

    struct Backup: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy the whole store into a file while the gateway runs.",
            discussion: """
                SQLite: SQLite's online backup API, a consistent copy as of one read transaction (a SQLite file). \
                PostgreSQL: pg_dump --format=custom, one consistent snapshot (decision 0020); needs pg_dump of the server's major \
                version or newer on PATH. The file is created with mode 0600 and must not exist. Restore with causeway store restore.
                """)

        @Option(name: .long, help: "The gateway configuration (for the store).")
        var config: String = "causeway.yaml"

        @Option(name: .long, help: "The backup file to create.")
        var to: String

        func run() async throws {
            let configuration = try StoreCommand.load(config)
            guard !FileManager.default.fileExists(atPath: to) else { throw CLIError("--to: \(to) exists; give a new file name") }
            switch configuration.store {
            case .sqlite(let path):
                guard FileManager.default.fileExists(atPath: path) else { throw CLIError("store: \(path) does not exist; nothing to back up") }
                do {
                    try await SQLiteStore(path: path).backup(to: to)
                } catch {
                    throw CLIError("\(error)")
                }
            case .postgres(let url, let password):
                let environment = try PostgresTools.environment(url: url, password: password)
                let descriptor = open(to, O_WRONLY | O_CREAT | O_EXCL, 0o600)
                guard descriptor >= 0 else { throw CLIError("--to: cannot create \(to): \(String(cString: strerror(errno)))") }
                close(descriptor)
                do {
                    try PostgresTools.run("pg_dump", ["--format=custom", "--no-owner", "--no-privileges", "--file=\(to)"], environment: environment)
                    let handle = try FileHandle(forUpdating: URL(fileURLWithPath: to))
                    try handle.synchronize()
                    try handle.close()
                } catch {
                    try? FileManager.default.removeItem(atPath: to)
                    throw error
                }
            }
            print("backed up \(configuration.store.redacted) to \(to)")
        }
    }

    struct Restore: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Restore a backup made by causeway store backup into a new, empty store.",
            discussion: """
                Every gateway using the store must be stopped. SQLite: the store file named by store: must not exist; the backup \
                is copied there (mode 0600). PostgreSQL: the database named by store: must exist and be empty; pg_restore loads \
                the dump in one transaction. Then the schema is migrated; run causeway ledger verify before starting the gateway.
                """)

        @Option(name: .long, help: "The gateway configuration (its store: is where the backup goes).")
        var config: String = "causeway.yaml"

        @Option(name: .long, help: "The backup file (from causeway store backup).")
        var from: String

        func run() async throws {
            let configuration = try StoreCommand.load(config)
            guard FileManager.default.isReadableFile(atPath: from) else { throw CLIError("--from: cannot read \(from)") }
            switch configuration.store {
            case .sqlite(let path):
                guard !FileManager.default.fileExists(atPath: path) else {
                    throw CLIError("store: \(path) exists; restore into a new file (move the old store and its -wal and -shm files aside first)")
                }
                let temporary = path + ".restoring"
                try? FileManager.default.removeItem(atPath: temporary)
                do {
                    let source = try FileHandle(forReadingFrom: URL(fileURLWithPath: from))
                    defer { try? source.close() }
                    let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o600)
                    guard descriptor >= 0 else { throw CLIError("store: cannot create \(temporary): \(String(cString: strerror(errno)))") }
                    let target = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
                    while let chunk = try source.read(upToCount: 1 << 20), !chunk.isEmpty { try target.write(contentsOf: chunk) }
                    try target.synchronize()
                    try target.close()
                    guard rename(temporary, path) == 0 else { throw CLIError("store: cannot move the copy to \(path): \(String(cString: strerror(errno)))") }
                } catch {
                    try? FileManager.default.removeItem(atPath: temporary)
                    throw error as? CLIError ?? CLIError("restore failed: \(error)")
                }
            case .postgres(let url, let password):
                let environment = try PostgresTools.environment(url: url, password: password)
                let tables = try PostgresTools.run(
                    "psql", ["--no-psqlrc", "--tuples-only", "--no-align", "--command",
                             "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"],
                    environment: environment).trimmingCharacters(in: .whitespacesAndNewlines)
                guard tables == "0" else {
                    throw CLIError("store: the database holds \(tables) tables; restore into a new, empty database (createdb) and point store: at it")
                }
                try PostgresTools.run("pg_restore", ["--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
                                                     "--dbname=\(environment["PGDATABASE"] ?? "")", from], environment: environment)
            }
            do {
                try await withStore(configuration.store) { _ in }
            } catch {
                throw CLIError("the restored store cannot be opened: \(error)")
            }
            print("restored \(from) into \(configuration.store.redacted); run causeway ledger verify --config \(config) before starting the gateway")
        }
    }
}

/// PostgreSQL's own tools (pg_dump, pg_restore, psql) pointed at the store: the URL's host, port,
/// user, database and TLS settings as libpq environment variables, the password as `PGPASSWORD`
/// (never on the command line, where `ps` shows it).
enum PostgresTools {
    static func environment(url: String, password: SecretReference?) throws -> [String: String] {
        let endpoint: PostgresEndpoint
        do { endpoint = try PostgresEndpoint(url: url) } catch { throw CLIError("store: \(error.message)") }
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("PG") }
        environment["PGHOST"] = endpoint.host
        environment["PGPORT"] = String(endpoint.port)
        environment["PGUSER"] = endpoint.username
        environment["PGDATABASE"] = endpoint.database ?? endpoint.username
        environment["PGSSLMODE"] = endpoint.tls.mode.rawValue
        if let root = endpoint.tls.rootCertificate { environment["PGSSLROOTCERT"] = root }
        if let certificate = endpoint.tls.certificate { environment["PGSSLCERT"] = certificate }
        if let key = endpoint.tls.key { environment["PGSSLKEY"] = key }
        do {
            if let secret = try password?.resolve() ?? endpoint.password { environment["PGPASSWORD"] = secret }
        } catch {
            throw CLIError("store password: \(error)")
        }
        return environment
    }

    /// Runs a PostgreSQL tool to its end; its standard output, or a CLIError with its message.
    @discardableResult
    static func run(_ tool: String, _ arguments: [String], environment: [String: String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        process.environment = environment
        let output = Pipe()
        let errorFile = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("causeway-\(tool)-\(UUID().uuidString).err")
        FileManager.default.createFile(atPath: errorFile.path, contents: nil, attributes: [.posixPermissions: 0o600])
        defer { try? FileManager.default.removeItem(at: errorFile) }
        let errors = try FileHandle(forWritingTo: errorFile)
        defer { try? errors.close() }
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch { throw CLIError("cannot start \(tool): \(error) (install the PostgreSQL client tools)") }
        let text = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let message = ((try? String(contentsOf: errorFile, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            if process.terminationStatus == 127 { throw CLIError("\(tool) is not installed (Debian: apt-get install postgresql-client)") }
            throw CLIError("\(tool) failed (exit \(process.terminationStatus)): \(message.suffix(2000))")
        }
        return String(decoding: text, as: UTF8.self)
    }
}
