import ArgumentParser
import Foundation

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
    static func main() async {
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

/// Unusable input or usage: printed as `causeway: message` and exit code 2.
struct CLIError: Error, CustomStringConvertible {
    let message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}
