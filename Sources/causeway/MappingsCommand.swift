import ArgumentParser
import CausewayCore
import CausewayMapping
import CausewayTrust
import Foundation

struct MappingsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mappings",
        abstract: "Check, test and preview per-partner mappings.",
        subcommands: [Check.self, Test.self, Preview.self])

    /// The partner folders under a directory (a partner folder, or a folder of them).
    static func partners(_ directory: String) throws(CLIError) -> [URL] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CLIError("\(directory): no such folder")
        }
        let folders = PartnerConfiguration.folders(in: URL(fileURLWithPath: directory))
        if folders.isEmpty { throw CLIError("\(directory): no partner.yaml here or in its subfolders") }
        return folders
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Load and check every partner folder and mapping; print each mapping's id, version and digest.",
            discussion: "Problems are printed as file:line:column: message. Exit 1 when any mapping is not valid.")

        @Argument(help: "A partner folder or a folder of partner folders.")
        var directory: String = "Mappings"

        func run() throws {
            var failed = false
            for folder in try MappingsCommand.partners(directory) {
                do {
                    let partner = try PartnerConfiguration.load(folder: folder)
                    let mappings = try partner.loadMappings()
                    for mapping in mappings {
                        print("\(partner.name)/\(mapping.file): \(mapping.id) version \(mapping.version) \(mapping.digest)")
                        for (name, crosswalk) in mapping.crosswalks.sorted(by: { $0.key < $1.key }) {
                            print("  crosswalk \(name): \(crosswalk.file), \(crosswalk.count) rows")
                        }
                        print("  actions: " + zip(mapping.actionNames, mapping.targets).map { "\($0) → \($1)" }.joined(separator: ", "))
                    }
                } catch {
                    failed = true
                    CLIInput.printError(error.description)
                }
            }
            if failed { throw ExitCode(1) }
        }
    }

    struct Test: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run every partner's golden fixtures; show a readable diff on mismatch.",
            discussion: "Exit 1 when a fixture fails or a mapping is not valid.")

        @Flag(name: .long, help: "Rewrite golden files from the actual output (review the change before committing).")
        var update = false

        @Argument(help: "A partner folder or a folder of partner folders.")
        var directory: String = "Mappings"

        func run() throws {
            var passed = 0
            var failed = 0
            for folder in try MappingsCommand.partners(directory) {
                let partner: PartnerConfiguration
                let mappings: [Mapping]
                do {
                    partner = try PartnerConfiguration.load(folder: folder)
                    mappings = try partner.loadMappings()
                } catch {
                    failed += 1
                    CLIInput.printError(error.description)
                    continue
                }
                let verifier = AgreementVerifier(policy: PartnerPolicyLoader.policy(for: partner))
                let runner = FixtureRunner(partner: partner, mappings: mappings) { agreement in
                    // A change's or cancellation's signers are the partner's revision rules' business (intake), not the verifier's.
                    AgreementVerifier(policy: verifier.policy.applying(to: agreement)).verify(agreement).errors.map(\.code.rawValue)
                }
                let outcomes = runner.run(update: update)
                if outcomes.isEmpty {
                    failed += 1
                    print("FAIL \(partner.name): no fixtures in \(runner.fixturesFolder.path)")
                }
                for outcome in outcomes {
                    if outcome.passed {
                        passed += 1
                        print("ok   \(partner.name)/\(outcome.fixture)")
                    } else {
                        failed += 1
                        print("FAIL \(partner.name)/\(outcome.fixture)")
                    }
                    for line in outcome.details { print("     \(line)") }
                }
            }
            print("\(passed) passed, \(failed) failed")
            if failed > 0 { throw ExitCode(1) }
        }
    }

    struct Preview: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the actions a partner's mapping makes of an agreement, delivering nothing.",
            discussion: """
                Signatures are not checked, so any sample can be tried. Prints {"actions": […]} or {"errors": […]} with \
                the mapping's id, version and digest. Exit 0 when the mapping produces its actions, 1 when it fails on \
                this agreement (each failure also on standard error), 2 when the partner folder, the mapping or the \
                agreement cannot be read.
                """)

        @Option(name: .long, help: "The partner folder.")
        var partner: String

        @Option(name: .long, help: "The mapping file within the folder (default: the partner's first).")
        var mapping: String?

        @Argument(help: "The agreement (JSON), or - for standard input.")
        var agreement: String

        @Option(name: .long, help: "For a change or cancellation: the version it supersedes (JSON).")
        var previous: String?

        @Option(name: .long, help: "For a change or cancellation: the original agreement (default: --previous).")
        var original: String?

        @Option(name: .long, help: "For a change or cancellation: a JSON object of the legacy references legacy: reads (action name → {system, kind, id}).")
        var legacy: String?

        /// The agreement at `path`, or an error naming the file and the JSON problem.
        static func read(_ path: String) throws -> Agreement {
            do {
                return try Agreement(bytes: try CLIInput.bytes(path))
            } catch let error as AgreementReadError {
                if case .json(let json) = error {
                    throw CLIError("\(path):\(json.line):\(json.column): \(json.message) (\(json.code))")
                }
                throw CLIError("\(path): \(error) (\(error.code))")
            }
        }

        func run() throws {
            let configuration = try PartnerPolicyLoader.partner(at: partner)
            let mappings: [Mapping]
            do {
                mappings = try configuration.loadMappings()
            } catch {
                throw CLIError("the partner's mappings are not valid:\n" + error.description)
            }
            guard let selected = mapping.map({ name in mappings.first { $0.file == name } }) ?? mappings.first else {
                throw CLIError("the partner has no mapping file \(mapping ?? "")")
            }
            let document = try Self.read(agreement)
            var context = MappingContext(digest: document.digest, partner: configuration.name)
            if let kind = AgreementRevision.kind(ofType: document.type) {
                // A change or cancellation maps through on_change / on_cancel and reads the versions before it.
                guard let previous else {
                    throw CLIError("\(agreement) is a \(document.type ?? ""): give the version it supersedes with --previous FILE (and --original FILE unless that is version 1)")
                }
                let before = try Self.read(previous)
                let first = try original.map(Self.read) ?? before
                guard let revision = AgreementRevision.check(document.document, kind: kind).revision else {
                    throw CLIError("\(agreement) breaks the \(document.type ?? "") content rules; `causeway verify` names each finding")
                }
                guard revision.supersedes == before.digest else {
                    throw CLIError("'supersedes' is \(revision.supersedes), but --previous \(previous) has the digest \(before.digest)")
                }
                guard revision.amends == first.digest else {
                    throw CLIError("'amends' is \(revision.amends), but the original (\(original ?? previous)) has the digest \(first.digest)")
                }
                var references: JSONValue = [:]
                if let legacy {
                    references = .object(try CLIInput.jsonObject(legacy))
                }
                context.revision = .init(kind: kind, version: revision.version, amends: revision.amends, supersedes: revision.supersedes,
                                         previous: .object(before.document.removing("proof")), original: .object(first.document.removing("proof")),
                                         legacy: references)
            }
            let result = selected.map(.object(document.document), context: context)
            var output = result.json.objectValue!
            output["mapping"] = ["id": .string(selected.id), "version": .string(selected.version), "digest": .string(selected.digest.description)]
            output["agreement"] = ["digest": .string(document.digest.description), "id": document.id.map(JSONValue.string) ?? .null]
            print(JSONWriter.string(.object(output), style: .pretty))
            if !result.succeeded {
                for failure in result.failures { CLIInput.printError(failure.description) }
                throw ExitCode(1)
            }
        }
    }
}
