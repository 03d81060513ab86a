import ArgumentParser
import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// The `causeway` command-line tool. Flags, environment and files are read here and nowhere deeper.
///
/// Exit codes everywhere: 0 success; 1 the thing checked is not valid; 2 unusable input or usage.
struct Causeway: AsyncParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "causeway",
        abstract: "Verify signed agreements and turn them into legacy actions.",
        discussion: "Exit codes: 0 success, 1 not valid / not verified, 2 unusable input or usage.",
        version: version,
        subcommands: [
            KeysCommand.self, SignCommand.self, VerifyCommand.self, DelegateCommand.self,
            AmendCommand.self, CancelCommand.self,
            PathCommand.self, MappingsCommand.self, ConfigCommand.self, ServeCommand.self, SubmitCommand.self, StatusCommand.self,
            LedgerCommand.self, DemoCommand.self, BenchCommand.self,
            ReconcileCommand.self, ReceiptsCommand.self,
            KeriCommand.self, AuditCommand.self, StoreCommand.self,
        ]
    )
}

@main
enum Main {
    /// Synchronous, so that `serve` can hand Swift concurrency to NIO's event loops
    /// (``ServeExecutor``) before the first task is made; every command then runs in a task.
    static func main() {
        do {
            if try ServeExecutor.choice(arguments: CommandLine.arguments, environment: ProcessInfo.processInfo.environment) == .eventLoops {
                ServeExecutor.installed.store(NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor(),
                                              ordering: .relaxed)
            }
        } catch {
            FileHandle.standardError.write(Data("causeway: \(error.message)\n".utf8))
            Foundation.exit(2)
        }
        Task {
            await run()
            Foundation.exit(0)
        }
        dispatchMain()
    }

    static func run() async {
        do {
            var command = try Causeway.parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let exit as ExitCode {
            Foundation.exit(exit.rawValue)
        } catch let error as CLIError {
            FileHandle.standardError.write(Data("causeway: \(error.message)\n".utf8))
            Foundation.exit(2)
        } catch {
            if Causeway.exitCode(for: error) == .success { Causeway.exit(withError: error) }
            // Usage errors exit 2, not ArgumentParser's 64, so every command keeps one exit-code contract.
            FileHandle.standardError.write(Data((Causeway.fullMessage(for: error) + "\n").utf8))
            Foundation.exit(2)
        }
    }
}

/// Where `causeway serve` runs Swift concurrency's jobs (decision 29). By default on NIO's event
/// loops, the threads that already do the HTTP server's and the store drivers' I/O: an awaited
/// query or response then resumes on the thread that received it instead of waking a thread of
/// Swift's own pool (16 → 7 context switches per agreement in `causeway bench gateway`).
/// `CAUSEWAY_EXECUTOR=dispatch` keeps Swift's default pool; other commands always keep it.
enum ServeExecutor: String, Equatable {
    case eventLoops = "event-loops"
    case dispatch

    static let variable = "CAUSEWAY_EXECUTOR"
    /// Whether this process handed Swift concurrency to the event loops (set once, in `main`).
    static let installed = Atomic<Bool>(false)

    /// The executor for this command line; throws when ``variable`` names none.
    static func choice(arguments: [String], environment: [String: String]) throws(CLIError) -> ServeExecutor {
        guard arguments.dropFirst().first == "serve" else { return .dispatch }
        guard let value = environment[variable], !value.isEmpty else { return .eventLoops }
        guard let executor = ServeExecutor(rawValue: value) else {
            throw CLIError("\(variable) is '\(value)'; it must be event-loops (the default) or dispatch")
        }
        return executor
    }
}

/// Unusable input or usage: printed as `causeway: message` and exit code 2.
struct CLIError: Error, CustomStringConvertible {
    let message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}
