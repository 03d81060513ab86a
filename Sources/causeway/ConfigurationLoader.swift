import CausewayGateway
import CausewayTrust
import Foundation
import PostgresTLS
import Yams

/// Reads `causeway.yaml` and the environment into a ``GatewayConfiguration``.
///
/// Every setting has a default and an environment override (`CAUSEWAY_LISTEN`, `CAUSEWAY_STORE`,
/// `CAUSEWAY_IDENTITY`, `CAUSEWAY_PARTNERS`, `CAUSEWAY_LEDGER_ORIGIN`, `CAUSEWAY_MAX_BYTES`,
/// `CAUSEWAY_TARGET_<NAME>_<SETTING>` with the name upper-cased and `-` as `_`). All problems are
/// reported together, each naming the key (and the file position when it comes from the file).
enum ConfigurationLoader {
    struct Problems: Error, CustomStringConvertible {
        let lines: [String]
        var description: String { lines.joined(separator: "\n") }
    }

    static let topKeys: Set<String> = ["listen", "store", "identity", "partners", "targets", "tokens", "ledger", "intake", "delivery", "reconcile", "http", "allow_fixture_keys", "witness", "keri", "tracing", "logging", "retention", "readiness"]

    /// The folder `causeway demo` works in by default, where its configuration is written.
    static let demoConfiguration = "causeway-demo/causeway.yaml"

    /// A configuration file that does not exist: says so, and when the demo's configuration is at
    /// hand (run from the repository after `scripts/demo`), names the option that uses it.
    static func missingFileMessage(_ path: String) -> String {
        var message = "\(path): no such configuration file (pass --config FILE"
        if path != demoConfiguration, FileManager.default.fileExists(atPath: demoConfiguration) {
            message += "; the demo's configuration is here: --config \(demoConfiguration)"
        }
        return message + ")"
    }

    static func load(path: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws(Problems)
        -> GatewayConfiguration
    {
        var problems: [String] = []
        var configuration = GatewayConfiguration()
        var root: Node.Mapping?
        let file = path ?? "causeway.yaml"
        if let path {
            guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
                throw Problems(lines: [FileManager.default.fileExists(atPath: path) ? "\(path): cannot read the configuration file" : missingFileMessage(path)])
            }
            do {
                guard let node = try Yams.compose(yaml: text) else { throw Problems(lines: ["\(path): the file is empty"]) }
                guard case .mapping(let mapping) = node else { throw Problems(lines: ["\(path): the configuration must be a mapping"]) }
                root = mapping
            } catch let error as Problems {
                throw error
            } catch {
                throw Problems(lines: ["\(path): YAML syntax: \(error)"])
            }
        }
        func at(_ node: Node?) -> String {
            guard let mark = node?.mark else { return file }
            return "\(file):\(mark.line):\(mark.column)"
        }
        func scalar(_ key: String) -> (String, Node)? {
            guard let node = root?[key] else { return nil }
            guard case .scalar(let s) = node else {
                problems.append("\(at(node)): \(key): must be a single value")
                return nil
            }
            return (s.string, node)
        }
        for (key, _) in root ?? Node.Mapping([]) {
            if let name = key.string, !topKeys.contains(name) {
                problems.append("\(at(key)): \(name): unknown setting; known: \(topKeys.sorted().joined(separator: ", "))")
            }
        }

        // listen
        let listen = environment["CAUSEWAY_LISTEN"] ?? scalar("listen")?.0
        if let listen {
            let parts = listen.split(separator: ":")
            if parts.count == 2, let port = Int(parts[1]), (1...65535).contains(port) {
                configuration.host = String(parts[0])
                configuration.port = port
            } else {
                problems.append("\(at(root?["listen"])): listen: must be host:port, such as 127.0.0.1:8080")
            }
        }
        // store
        if let store = environment["CAUSEWAY_STORE"] ?? scalar("store")?.0 {
            if store.hasPrefix("sqlite:"), store.count > 7 {
                configuration.store = .sqlite(path: String(store.dropFirst(7)))
            } else if store.hasPrefix("postgresql://") || store.hasPrefix("postgres://") {
                if let secret = SecretRedaction.literalSecret(inURL: store) {
                    problems.append("\(at(root?["store"])): store: put no password in the URL (it holds \(secret)); set CAUSEWAY_STORE_PASSWORD (env:NAME or file:PATH)")
                }
                // TLS parameters (sslmode, sslrootcert, sslcert, sslkey) are checked here, so that a bad one is named before serving.
                do { _ = try PostgresEndpoint(url: store) } catch { problems.append("\(at(root?["store"])): store: \(error.message)") }
                var password: SecretReference?
                if let reference = environment["CAUSEWAY_STORE_PASSWORD"] {
                    password = SecretReference(reference)
                    if password == nil { problems.append("CAUSEWAY_STORE_PASSWORD: must be env:NAME or file:PATH") }
                }
                configuration.store = .postgres(url: store, password: password)
            } else {
                problems.append("\(at(root?["store"])): store: must be sqlite:PATH or a postgresql:// URL")
            }
        }
        // identity, partners, ledger origin, intake limit
        if let identity = environment["CAUSEWAY_IDENTITY"] ?? scalar("identity")?.0 {
            configuration.identity = identity
        } else {
            problems.append("\(file): identity: required (the gateway's key file, made by 'causeway keys new')")
        }
        if let partners = environment["CAUSEWAY_PARTNERS"] ?? scalar("partners")?.0 { configuration.partners = partners }
        // allow_fixture_keys: partner folders may trust published keys (tests and demonstrations only).
        var allowFixtureKeys = false
        if let (text, node) = scalar("allow_fixture_keys") {
            switch text {
            case "true": allowFixtureKeys = true
            case "false": break
            default: problems.append("\(at(node)): allow_fixture_keys: must be true or false")
            }
        }
        if let text = environment["CAUSEWAY_ALLOW_FIXTURE_KEYS"] {
            switch text {
            case "true", "1": allowFixtureKeys = true
            case "false", "0", "": allowFixtureKeys = false
            default: problems.append("CAUSEWAY_ALLOW_FIXTURE_KEYS: must be true or false")
            }
        }
        if case .mapping(let ledger)? = root?["ledger"], case .scalar(let origin)? = ledger["origin"] { configuration.ledgerOrigin = origin.string }
        if let origin = environment["CAUSEWAY_LEDGER_ORIGIN"] { configuration.ledgerOrigin = origin }
        if case .mapping(let ledger)? = root?["ledger"] {
            if case .scalar(let interval)? = ledger["checkpoint_interval_seconds"] {
                if let value = Double(interval.string), value >= 0.05, value <= 3600 {
                    configuration.checkpointIntervalSeconds = value
                } else {
                    problems.append("\(at(ledger["checkpoint_interval_seconds"])): ledger.checkpoint_interval_seconds: must be a number of seconds from 0.05 to 3600")
                }
            }
            if case .scalar(let file)? = ledger["checkpoint_file"] { configuration.checkpointFile = file.string }
        }
        var maxBytes: String?
        if case .mapping(let intake)? = root?["intake"] {
            if case .scalar(let limit)? = intake["max_bytes"] { maxBytes = limit.string }
            parseVerificationLimits(intake, into: &configuration.verification, at: at, problems: &problems)
        }
        if let limit = environment["CAUSEWAY_MAX_BYTES"] ?? maxBytes {
            if let value = Int(limit), value > 0 { configuration.maxBytes = value } else { problems.append("intake.max_bytes: must be a positive whole number") }
        }
        if case .mapping(let delivery)? = root?["delivery"] {
            for (key, value) in delivery {
                guard let name = key.string, case .scalar(let s) = value, let number = Int(s.string), number > 0 else {
                    problems.append("\(at(key)): delivery.\(key.string ?? "?"): must be a positive whole number")
                    continue
                }
                switch name {
                case "partner_concurrency": configuration.delivery.partnerConcurrency = number
                case "max_attempts": configuration.delivery.maxAttempts = number
                case "lease_seconds": configuration.delivery.leaseMilliseconds = Int64(number) * 1000
                case "workers": configuration.delivery.workers = number
                default: problems.append("\(at(key)): delivery.\(name): unknown setting; known: workers, partner_concurrency, max_attempts, lease_seconds")
                }
            }
        }
        if case .mapping(let reconcile)? = root?["reconcile"] {
            for (key, value) in reconcile {
                guard key.string == "every_seconds" else {
                    problems.append("\(at(key)): reconcile.\(key.string ?? "?"): unknown setting; known: every_seconds")
                    continue
                }
                guard case .scalar(let s) = value, let number = Int(s.string), number >= 0 else {
                    problems.append("\(at(key)): reconcile.every_seconds: must be a whole number of seconds (0 turns scheduled reconciliation off)")
                    continue
                }
                configuration.reconcileIntervalSeconds = number
            }
        }
        if let node = root?["http"] {
            parseEdgeSettings(node, into: &configuration.http, at: at, problems: &problems)
        }
        // http.tls (ConfigurationLoader+TLS.swift): the listener's certificate, key and client CA, files checked.
        let tlsNode: Node? = if case .mapping(let http)? = root?["http"] { http["tls"] } else { nil }
        parseListenerTLS(tlsNode, environment: environment, into: &configuration.listenerTLS, at: at, problems: &problems)
        // targets
        if let node = root?["targets"] {
            if case .mapping(let targets) = node {
                for (key, value) in targets {
                    guard let name = key.string, case .mapping(let settings) = value else {
                        problems.append("\(at(key)): targets: each target is name: {adapter: KIND, …}")
                        continue
                    }
                    var raw: [String: String] = [:]
                    for (settingKey, settingValue) in settings {
                        guard let setting = settingKey.string, case .scalar(let s) = settingValue else {
                            problems.append("\(at(settingKey)): targets.\(name): settings are single values")
                            continue
                        }
                        raw[setting] = s.string
                    }
                    guard let adapter = raw.removeValue(forKey: "adapter") else {
                        problems.append("\(at(key)): targets.\(name).adapter: required (the adapter kind, such as postgresql)")
                        continue
                    }
                    configuration.targets[name] = .init(adapter: adapter, settings: raw)
                }
            } else {
                problems.append("\(at(node)): targets: must map target names to settings")
            }
        }
        for (variable, value) in environment where variable.hasPrefix("CAUSEWAY_TARGET_") {
            // CAUSEWAY_TARGET_<NAME>_<SETTING>: the longest matching target name wins.
            let rest = String(variable.dropFirst("CAUSEWAY_TARGET_".count))
            let match = configuration.targets.keys.sorted { $0.count > $1.count }.first { name in
                rest.hasPrefix(name.uppercased().replacingOccurrences(of: "-", with: "_") + "_")
            }
            guard let name = match else { continue }
            let setting = String(rest.dropFirst(name.count + 1)).lowercased()
            configuration.targets[name]?.settings[setting] = value
        }
        // No literal secret in a URL: passwords are references (password: env:NAME or file:PATH).
        for (name, target) in configuration.targets.sorted(by: { $0.key < $1.key }) {
            for (setting, value) in target.settings.sorted(by: { $0.key < $1.key }) {
                guard let secret = SecretRedaction.literalSecret(inURL: value) else { continue }
                problems.append("targets.\(name).\(setting): put no password in the URL (it holds \(secret)); remove it and set "
                    + "targets.\(name).password to env:NAME or file:PATH (Docs/configuration.md, Secrets)")
            }
            // A PostgreSQL target's URL carries its TLS parameters: named here like the store's.
            if target.adapter == "postgresql", let url = target.settings["url"] {
                do { _ = try PostgresEndpoint(url: url) } catch { problems.append("targets.\(name).url: \(error.message)") }
            }
        }
        if let node = root?["witness"] { parseWitness(node, into: &configuration.witness, at: at, problems: &problems) }
        if let node = root?["keri"] { parseKERI(node, into: &configuration.keri, at: at, problems: &problems) }
        if let node = root?["tracing"] { configuration.tracing = parseTracing(node, at: at, problems: &problems) }
        parseLogging(root?["logging"], environment: environment, into: &configuration.logging, at: at, problems: &problems)
        if let node = root?["retention"] { configuration.retention = parseRetention(node, at: at, problems: &problems) }
        if let node = root?["readiness"] { parseReadiness(node, into: &configuration.readiness, at: at, problems: &problems) }
        // tokens
        if let node = root?["tokens"] {
            if case .sequence(let tokens) = node {
                for token in tokens {
                    guard case .mapping(let fields) = token, case .scalar(let name)? = fields["name"], case .scalar(let role)? = fields["role"],
                        case .scalar(let secret)? = fields["secret"]
                    else {
                        problems.append("\(at(token)): tokens: each token is {name, role, secret}")
                        continue
                    }
                    guard let parsedRole = GatewayConfiguration.TokenConfiguration.Role(rawValue: role.string) else {
                        problems.append("\(at(fields["role"])): tokens.\(name.string).role: must be viewer or operator")
                        continue
                    }
                    guard let reference = SecretReference(secret.string) else {
                        problems.append("\(at(fields["secret"])): tokens.\(name.string).secret: secrets are never written in files; use env:NAME or file:PATH")
                        continue
                    }
                    configuration.tokens.append(.init(name: name.string, role: parsedRole, secret: reference))
                }
            } else {
                problems.append("\(at(node)): tokens: must be a list of {name, role, secret}")
            }
        }
        if !configuration.identity.isEmpty, let problem = KeyFilePermissions.problem(path: configuration.identity, setting: "identity") {
            problems.append(problem)
        }
        if !allowFixtureKeys {
            problems += PublishedKeys.trusted(inPartners: configuration.partners).map(\.description)
        }
        guard problems.isEmpty else { throw Problems(lines: problems) }
        return configuration
    }
}

extension ConfigurationLoader {
    /// The `http:` section: every key a positive whole number (Docs/security.md lists them).
    /// Key paths are immutable values; the table is never written after start-up.
    nonisolated(unsafe) static let edgeKeys: [String: WritableKeyPath<GatewayConfiguration.EdgeSettings, Int>] = [
        "max_connections": \.maxConnections, "header_timeout_seconds": \.headerTimeoutSeconds,
        "body_timeout_seconds": \.bodyTimeoutSeconds, "idle_timeout_seconds": \.idleTimeoutSeconds,
        "max_in_flight_intake": \.maxInFlightIntake, "drain_bytes": \.drainBytes,
        "auth_failures_per_address": \.authFailuresPerAddress, "auth_failures_global": \.authFailuresGlobal,
        "streams_per_session": \.streamsPerSession,
    ]

    /// The `intake:` keys beside `max_bytes`: bounds on verification work and the clock skew.
    nonisolated(unsafe) static let intakeKeys: [String: WritableKeyPath<VerificationLimits, Int>] = [
        "max_proofs": \.maxProofs, "max_previous_proofs": \.maxPreviousProofs, "max_delegations": \.maxDelegations,
        "max_delegation_proofs": \.maxDelegationProofs, "max_parties": \.maxParties, "max_context_entries": \.maxContextEntries,
        "max_context_bytes": \.maxContextBytes, "max_findings": \.maxFindings, "clock_skew_seconds": \.clockSkewSeconds,
    ]

    static func parseEdgeSettings(_ node: Node, into settings: inout GatewayConfiguration.EdgeSettings, at: (Node?) -> String,
                                  problems: inout [String]) {
        guard case .mapping(let http) = node else {
            problems.append("\(at(node)): http: must map settings to values, such as max_connections: 512")
            return
        }
        parsePositiveWholeNumbers(http, section: "http", keys: edgeKeys, skipping: ["tls"], into: &settings, at: at, problems: &problems)
    }

    static func parseVerificationLimits(_ intake: Node.Mapping, into limits: inout VerificationLimits, at: (Node?) -> String,
                                        problems: inout [String]) {
        parsePositiveWholeNumbers(intake, section: "intake", keys: intakeKeys, skipping: ["max_bytes"], into: &limits, at: at,
                                  problems: &problems)
    }

    /// Reads a section whose keys each set one positive whole number through `keys`; an unknown key
    /// or a bad value is a problem naming `section.key` (keys in `skipping` are read elsewhere).
    static func parsePositiveWholeNumbers<Settings>(_ mapping: Node.Mapping, section: String, keys: [String: WritableKeyPath<Settings, Int>],
                                                   skipping: Set<String> = [], into settings: inout Settings, at: (Node?) -> String,
                                                   problems: inout [String]) {
        for (key, value) in mapping {
            guard let name = key.string, !skipping.contains(name) else { continue }
            guard let path = keys[name] else {
                let known = (Array(skipping) + keys.keys).sorted().joined(separator: ", ")
                problems.append("\(at(key)): \(section).\(name): unknown setting; known: \(known)")
                continue
            }
            guard case .scalar(let s) = value, let number = Int(s.string), number > 0 else {
                problems.append("\(at(value)): \(section).\(name): must be a positive whole number")
                continue
            }
            settings[keyPath: path] = number
        }
    }
}
