import ArgumentParser
import CausewayGateway
import CausewayTrust
import Foundation
import Logging
import PostgresTLS

struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config", abstract: "Check a gateway configuration.", subcommands: [Check.self])

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read causeway.yaml and the environment, and print the effective settings (secrets as references only).",
            discussion: """
                Exit 0 when the configuration is usable, 1 with every problem named by key otherwise. With --connect, also \
                resolve every secret, build every target and connect to it (Tryton login, PostgreSQL and SQLite databases, \
                HTTP reachability of base_url, the file folder writable, the process adapter's program started), reach the \
                store and read the gateway's key; each failure names the setting and the fix.
                """)

        @Option(name: .long, help: "The configuration file.")
        var config: String = "causeway.yaml"

        @Flag(name: .long, help: "Also connect to the store and every target, and resolve every secret.")
        var connect = false

        @Option(name: .long, help: "Seconds one connection check may take (with --connect).")
        var timeout: Int = 10

        func run() async throws {
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
            print("logging     \(configuration.logging.format?.rawValue ?? "json off a terminal, logfmt on one"), level \(configuration.logging.level.rawValue)")
            if let tls = configuration.listenerTLS, let summary = try? ListenerTLS.describe(tls) { print("tls         \(summary)") }
            if let retention = configuration.retention {
                print("retention   \(retention.days) days, archive \(retention.archive), every \(retention.everySeconds) s")
            }
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
                if (try? token.secret.resolve()) == nil, !connect {
                    CLIInput.printError("note: tokens.\(token.name).secret: \(token.secret) is not readable here, so its length was not checked")
                } else {
                    problems += tokenProblems
                }
            }
            if connect { problems += await Self.connect(configuration, timeout: timeout) }
            if !problems.isEmpty {
                CLIInput.printError(problems.joined(separator: "\n"))
                throw ExitCode(1)
            }
        }

        /// `--connect`: the gateway's key, the store and every target, each printed as `ok` or
        /// `FAILED` with its problems (which are also returned).
        static func connect(_ configuration: GatewayConfiguration, timeout seconds: Int) async -> [String] {
            let environment = ProcessInfo.processInfo.environment
            let timeout = Duration.seconds(max(1, seconds))
            var problems: [String] = []
            func report(_ part: String, _ summary: String, _ found: [String]) {
                print("\(found.isEmpty ? "ok    " : "FAILED") \(part) (\(summary))")
                problems += found
            }
            do { _ = try SigningIdentity(contentsOfKeyFile: configuration.identity) } catch {
                report("identity", configuration.identity, ["identity: \(configuration.identity): \(error.message) "
                    + "(make one with causeway keys new --out FILE, readable by the gateway's user)"])
            }
            if !problems.contains(where: { $0.hasPrefix("identity:") }) { report("identity", configuration.identity, []) }
            let store = await Self.store(configuration, environment: environment, timeout: timeout)
            report("store", configuration.store.redacted, store)
            for result in await ConnectionCheck.targets(configuration, environment: environment, timeout: timeout) {
                report(result.part, result.summary, result.problems)
            }
            return problems
        }

        /// Reaches the store: a PostgreSQL store by one connection (TLS and login as `serve` makes
        /// them, the password secret resolved); a SQLite file, or its folder when the file does not
        /// exist yet, must be writable. Nothing is created or migrated.
        static func store(_ configuration: GatewayConfiguration, environment: [String: String], timeout: Duration) async -> [String] {
            switch configuration.store {
            case .sqlite(let path):
                let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
                if FileManager.default.fileExists(atPath: path) {
                    if access(path, R_OK | W_OK) != 0 {
                        return ["store: \(path) is not readable and writable by this user (\(String(cString: strerror(errno)))); fix its owner or mode"]
                    }
                } else if access(folder, W_OK | X_OK) != 0 {
                    return ["store: \(path) does not exist and its folder \(folder) is not writable; create the folder for the gateway's user"]
                }
                return []
            case .postgres(let url, let reference):
                let password: String?
                do { password = try reference?.resolve(environment: environment) } catch {
                    return ["store password (CAUSEWAY_STORE_PASSWORD = \(reference?.description ?? "")): \(error.message)"]
                }
                let endpoint: PostgresEndpoint
                do { endpoint = try PostgresEndpoint(url: url) } catch { return ["store: \(error.message)"] }
                let check = Task { () -> String? in
                    do throws(PostgresEndpointError) { try await endpoint.checkConnection(password: password, logger: Logger(label: "causeway.config.check")) } catch {
                        return "store: \(error.message)"
                    }
                    return nil
                }
                let timer = Task {
                    try? await Task.sleep(for: timeout)
                    check.cancel()
                }
                defer { timer.cancel() }
                if let problem = await check.value { return [problem] }
                return []
            }
        }
    }
}
