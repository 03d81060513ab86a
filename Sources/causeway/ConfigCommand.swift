import ArgumentParser
import CausewayGateway
import Foundation

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config", abstract: "Check a gateway configuration.", subcommands: [Check.self])

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read causeway.yaml and the environment, and print the effective settings (secrets as references only).",
            discussion: "Exit 0 when the configuration is usable, 1 with every problem named by key otherwise.")

        @Option(name: .long, help: "The configuration file.")
        var config: String = "causeway.yaml"

        func run() throws {
            let configuration: GatewayConfiguration
            do {
                configuration = try ConfigurationLoader.load(path: config)
            } catch {
                CLIInput.printError(error.description)
                throw ExitCode(1)
            }
            print("listen      \(configuration.host):\(configuration.port)")
            print("store       \(configuration.store.redacted)")
            print("identity    \(configuration.identity)")
            print("partners    \(configuration.partners)")
            // Loading succeeded, so any trust in a published key was allowed (allow_fixture_keys): say so.
            for trust in PublishedKeys.trusted(inPartners: configuration.partners) {
                CLIInput.printError("warning: \(trust.folder): partner '\(trust.partner)', \(trust.role) trusts \(trust.did), \(trust.source) "
                    + "(allowed by allow_fixture_keys; never in production)")
            }
            print("ledger      \(configuration.ledgerOrigin)")
            print("max bytes   \(configuration.maxBytes)")
            for (name, target) in configuration.targets.sorted(by: { $0.key < $1.key }) {
                let settings = target.settings.sorted { $0.key < $1.key }.map { "\($0.key)=\(SecretRedaction.redacted(url: $0.value))" }.joined(separator: " ")
                print("target      \(name): \(target.adapter) \(settings)")
            }
            for token in configuration.tokens { print("token       \(token.name): \(token.role.rawValue) \(token.secret)") }
            // Tokens are checked as serve checks them: one whose secret is here must be long enough.
            var problems: [String] = []
            for token in configuration.tokens {
                let (_, tokenProblems) = resolveTokens([token], environment: ProcessInfo.processInfo.environment)
                if tokenProblems.isEmpty { continue }
                if (try? token.secret.resolve()) == nil {
                    CLIInput.printError("note: tokens.\(token.name).secret: \(token.secret) is not readable here, so its length was not checked")
                } else {
                    problems += tokenProblems
                }
            }
            if !problems.isEmpty {
                CLIInput.printError(problems.joined(separator: "\n"))
                throw ExitCode(1)
            }
        }
    }
}
