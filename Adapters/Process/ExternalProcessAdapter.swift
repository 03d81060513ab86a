public import AdapterKit
public import CausewayCore
import Foundation

/// An adapter written in any language: Causeway starts a configured program and speaks JSON
/// lines with it on standard input and output (protocol 1, `Docs/adapters/process.md`).
///
/// The program answers `describe` when it starts, then `deliver` and `lookup` requests, which
/// may be pipelined and are matched by `id`. The adapter supervises it: a program that exits,
/// does not answer within `timeout`, or writes a line that is not a protocol message is killed
/// and restarted with backoff, and every request it had in flight becomes `unknown`, so the
/// gateway looks the key up before any retry. The program's standard error goes to the log.
///
/// ```swift
/// let adapter = try ExternalProcessAdapter(settings: settings, secret: secrets["secret"], target: "ledger")
/// Task { await adapter.run() }       // starts the program and keeps it running
/// let outcome = await adapter.deliver(delivery)
/// ```
public final class ExternalProcessAdapter: Adapter {
    /// A target's settings, typed.
    public struct Configuration: Sendable {
        /// The program: a path to an executable file.
        public var command: String
        public var arguments: [String]
        /// How long one request (and the start-up describe) may take.
        public var timeout: Duration
        /// Extra environment variables for the program (not secret; they may be logged).
        public var environment: [String: String]
        /// The resolved secret, passed to the program only in `secretVariable`; never logged.
        public var secret: String?
        /// The environment variable that carries ``secret``.
        public var secretVariable: String
        public var workingDirectory: String?
        /// Variables the program inherits from the gateway's environment; nothing else is passed on.
        public var inheritedVariables: [String]

        public init(command: String, arguments: [String] = [], timeout: Duration = .seconds(10), environment: [String: String] = [:],
                    secret: String? = nil, secretVariable: String = "CAUSEWAY_SECRET", workingDirectory: String? = nil,
                    inheritedVariables: [String] = ["PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR"]) {
            self.command = command
            self.arguments = arguments
            self.timeout = timeout
            self.environment = environment
            self.secret = secret
            self.secretVariable = secretVariable
            self.workingDirectory = workingDirectory
            self.inheritedVariables = inheritedVariables
        }

        /// The program's whole environment: the inherited variables, `env`, and the secret.
        var childEnvironment: [String: String] {
            let parent = ProcessInfo.processInfo.environment
            var result: [String: String] = [:]
            for name in inheritedVariables { if let value = parent[name] { result[name] = value } }
            for (name, value) in environment { result[name] = value }
            if let secret { result[secretVariable] = secret }
            return result
        }
    }

    /// The kind `process`, every action kind (the program says which it performs), and the settings.
    public static let descriptor = AdapterDescriptor(
        kind: "process",
        summary: "Any program speaking Causeway's JSON-lines protocol on stdin/stdout, started and supervised by the gateway.",
        actionKinds: Set(LegacyAction.Kind.allCases),
        schema: ConfigurationSchema([
            .init("command", .string, required: true, help: "path of the program to start"),
            .init("args", .string, help: "its arguments, separated by spaces, or a JSON array of strings"),
            .init("timeout", .duration, default: "10", help: "seconds the program may take to answer one request"),
            .init("env", .string, help: "extra environment variables: NAME=value NAME2=value (not secret)"),
            .init("secret", .secret, help: "env:NAME or file:PATH; passed to the program in the variable secret_env names"),
            .init("secret_env", .string, default: "CAUSEWAY_SECRET", help: "the variable that carries the secret"),
            .init("working_directory", .string, help: "the program's working directory"),
        ]))

    public var descriptor: AdapterDescriptor { Self.descriptor }
    public let configuration: Configuration
    let supervisor: ProcessSupervisor

    /// An adapter for a configuration. `log` receives one line per event (start, exit, malformed
    /// output, each line of the program's standard error); it never contains the secret.
    public init(configuration: Configuration, target: String = "process",
                log: (@Sendable (String) -> Void)? = nil) {
        self.configuration = configuration
        let sink = log ?? { line in
            FileHandle.standardError.write(Data("causeway.adapter.process[\(target)]: \(line)\n".utf8))
        }
        supervisor = ProcessSupervisor(configuration: configuration, log: sink)
    }

    /// From a target's validated settings; `secret` is the resolved value of the `secret` setting.
    public convenience init(settings: AdapterSettings, secret: String?, target: String = "process",
                            log: (@Sendable (String) -> Void)? = nil) throws(AdapterConfigurationError) {
        var problems: [String] = []
        let command = settings["command"] ?? ""
        if !command.contains("/") {
            problems.append("command: give the program's path, such as /usr/local/bin/ledger-adapter or ./adapters/ledger.py")
        } else if !FileManager.default.isExecutableFile(atPath: command) {
            problems.append("command: \(command) is not an executable file; check the path and its execute permission")
        }
        var arguments: [String] = []
        if let raw = settings["args"] {
            if raw.hasPrefix("[") {
                let items = (try? JSONReader().read(raw))?.arrayValue
                let strings = items?.compactMap(\.stringValue)
                if let strings, strings.count == items?.count { arguments = strings } else {
                    problems.append("args: a JSON array must hold strings only, such as [\"--ledger\", \"/var/lib/ledger.jsonl\"]")
                }
            } else {
                arguments = raw.split(whereSeparator: \.isWhitespace).map(String.init)
            }
        }
        let timeoutText = settings["timeout"] ?? "10"
        let seconds = Double(timeoutText) ?? 0
        if !(seconds > 0 && seconds <= 3600) { problems.append("timeout: must be a number of seconds above 0, at most 3600") }
        let secretVariable = settings["secret_env"] ?? "CAUSEWAY_SECRET"
        if !Self.isVariableName(secretVariable) { problems.append("secret_env: must be a variable name such as LEDGER_TOKEN") }
        var environment: [String: String] = [:]
        for entry in (settings["env"] ?? "").split(whereSeparator: \.isWhitespace) {
            let parts = entry.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, Self.isVariableName(String(parts[0])) else {
                problems.append("env: each entry is NAME=value, separated by spaces; '\(parts[0])' is not one")
                continue
            }
            if String(parts[0]) == secretVariable, settings["secret"] != nil {
                problems.append("env: \(parts[0]) is the secret's variable; set it through secret only")
            }
            environment[String(parts[0])] = String(parts[1])
        }
        if settings["secret"] != nil, secret == nil {
            problems.append("secret: the reference was not resolved; set the environment variable or file it names")
        }
        let workingDirectory = settings["working_directory"]
        if let workingDirectory {
            var isDirectory: ObjCBool = false
            if !FileManager.default.fileExists(atPath: workingDirectory, isDirectory: &isDirectory) || !isDirectory.boolValue {
                problems.append("working_directory: \(workingDirectory) is not a folder")
            }
        }
        guard problems.isEmpty else { throw AdapterConfigurationError(problems: problems) }
        self.init(configuration: Configuration(command: command, arguments: arguments, timeout: .milliseconds(Int64(seconds * 1000)),
                                               environment: environment, secret: secret, secretVariable: secretVariable,
                                               workingDirectory: workingDirectory),
                  target: target, log: log)
    }

    static func isVariableName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first == "_" || (first.isASCII && first.properties.isAlphabetic) else { return false }
        return name.unicodeScalars.allSatisfy { $0 == "_" || ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) }
    }

    /// Starts the program and keeps it running (restarting it with backoff when it ends) until the
    /// surrounding task is cancelled; then asks it to stop. Without `run()`, the first request
    /// starts the program and a later request restarts it.
    public func run() async {
        while !Task.isCancelled {
            _ = await supervisor.child(maxWait: nil)
            try? await Task.sleep(for: .milliseconds(200))
        }
        supervisor.shutdown()
    }

    /// Stops the program for good (the end of ``run()`` does this too).
    public func shutdown() { supervisor.shutdown() }

    deinit { supervisor.shutdown() }

    /// What is running now.
    public struct Status: Sendable {
        /// The running program's process id, once it has answered describe.
        public let processID: Int32?
        /// What the program last said about itself.
        public let program: ProgramInfo?
        /// How many times a program was started and answered describe.
        public let starts: Int
    }

    public var status: Status {
        let status = supervisor.status
        return Status(processID: status.processID, program: status.program, starts: status.starts)
    }

    // MARK: Adapter

    public func deliver(_ delivery: Delivery) async -> DeliveryOutcome {
        let agreement: JSONValue = [
            "id": .string(delivery.agreementID), "digest": .string(delivery.agreementDigest.description),
            "signed_base64": .string(Data(delivery.signedAgreement).base64EncodedString()),
        ]
        var fields: [(String, JSONValue)] = [
            ("idempotency_key", .string(delivery.idempotencyKey)), ("attempt", .number(Double(delivery.attempt))),
            ("action", delivery.action.json), ("provenance", delivery.provenance.json), ("agreement", agreement),
        ]
        // A change's or cancellation's action says so: the program updates or cancels what the original's delivery made.
        if let revision = delivery.revisionJSON { fields.append(("revision", revision)) }
        let reply = await supervisor.request(.deliver, actionKind: delivery.action.kind, fields: fields)
        switch reply {
        case .answer(.outcome(let outcome)): return outcome
        case .answer(.lookup): return .unknown("the program answered a deliver request with a lookup answer")
        case .lost(let reason): return .unknown(reason + "; look the key up before retrying")
        case .notSent(let reason, let after): return .retryable(reason, after: after)
        case .unsupported(let program):
            return .rejected("the program \(program.name) performs \(program.kinds.map(\.rawValue).sorted().joined(separator: ", ")), "
                + "not \(delivery.action.kind.rawValue) actions; route action '\(delivery.action.name)' to another target")
        }
    }

    public func lookup(_ delivery: Delivery) async -> LookupResult {
        let reply = await supervisor.request(.lookup, actionKind: delivery.action.kind, fields: [
            ("idempotency_key", .string(delivery.idempotencyKey)), ("kind", .string(delivery.action.kind.rawValue)),
        ])
        switch reply {
        case .answer(.lookup(let result)): return result
        case .answer(.outcome): return .unavailable("the program answered a lookup request with a deliver answer")
        case .lost(let reason), .notSent(let reason, _): return .unavailable(reason)
        case .unsupported(let program): return .unavailable("the program \(program.name) does not perform this action kind")
        }
    }
}

/// What a program said about itself in answer to `describe`.
public struct ProgramInfo: Sendable, Hashable {
    public let name: String
    public let version: String
    /// The action kinds it performs.
    public let kinds: Set<LegacyAction.Kind>
}
