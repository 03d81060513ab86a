import ArgumentParser
import CausewayGateway
import Foundation
import Hummingbird

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the gateway: HTTP API, delivery workers and the receipt ledger, until SIGTERM or SIGINT.",
        discussion: "See Docs/configuration.md. Exit 2 when the configuration or a partner folder is unusable.")

    @Option(name: .long, help: "The configuration file.")
    var config: String = "causeway.yaml"

    func run() async throws {
        let configuration: GatewayConfiguration
        do {
            configuration = try ConfigurationLoader.load(path: config)
        } catch {
            throw CLIError("the configuration is not usable:\n" + error.description)
        }
        // Structured logs (logging: in causeway.yaml); the configuration's secrets are never written.
        StructuredLogging.bootstrap(configuration.logging, secrets: StructuredLogging.secrets(of: configuration, environment: ProcessInfo.processInfo.environment))
        // swift-metrics into the registry /metrics renders (Hummingbird's request metrics), once per process.
        GatewayMetrics.bootstrapSwiftMetrics()
        let application: any ApplicationProtocol
        do {
            // A live reload (SIGHUP, POST /v1/admin/reload) reads the same file and environment again.
            let path = config
            application = try await buildApplication(configuration: configuration) {
                do throws(ConfigurationLoader.Problems) { return try ConfigurationLoader.load(path: path) } catch { throw StartupError(problems: error.lines) }
            }
        } catch let error as StartupError {
            throw CLIError("the gateway cannot start:\n" + error.description)
        }
        try await application.runService()
    }
}
