import ArgumentParser
import CausewayCore
import CausewayTrust
import Foundation

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify signed agreements: proofs, parties, delegations, content rules and partner policy.",
        discussion: """
            Exit 0 when every file is verified, 1 when any is not, 2 when a file cannot be read or parsed.
            Without --partner, every role in 'parties' must carry a valid proof from its own DID or from a \
            delegated agent; a document without 'parties' is verified on its proofs alone.
            """)

    @Option(name: .long, help: "A partner folder (Mappings/<partner>): apply its roles and limits.")
    var partner: String?

    @Flag(name: .long, help: "Print the verification report as JSON (an array when several files are given).")
    var json = false

    @Option(name: .long, help: "The key event log (CESR) of a KERI signer (repeatable): did:keri / did:webs parties are checked against it.")
    var kel: [String] = []

    @Option(name: .long, help: "Largest accepted file in bytes.")
    var maxBytes: Int = JSONReader.Limits.default.maxBytes

    @Argument(help: "Agreement files, or - for standard input.")
    var files: [String]

    func validate() throws {
        if files.isEmpty { throw ValidationError("give at least one agreement file") }
    }

    func run() throws {
        let policy = try partner.map(PartnerPolicyLoader.policy(forPartnerAt:)) ?? .default
        let logs = try kel.map { path throws(CLIError) in try CLIInput.keyEventLog(path) }
        let verifier = AgreementVerifier(policy: policy, keyStates: logs.isEmpty ? nil : KERIKeyStates(logs))
        var reports: [JSONValue] = []
        var anyUnreadable = false
        var anyUnverified = false
        for file in files {
            let agreement: Agreement
            do {
                agreement = try Agreement(bytes: try CLIInput.bytes(file), limits: .init(maxBytes: maxBytes))
            } catch let error as CLIError {
                anyUnreadable = true
                CLIInput.printError("causeway: \(error.message)")
                reports.append(["file": .string(file), "error": .string(error.message)])
                continue
            } catch let error as AgreementReadError {
                anyUnreadable = true
                if case .json(let json) = error {
                    CLIInput.printError("causeway: \(file):\(json.line):\(json.column): \(json.message) (\(json.code))")
                } else {
                    CLIInput.printError("causeway: \(file): \(error) (\(error.code))")
                }
                reports.append(["file": .string(file), "error": .string(error.description), "code": .string(error.code)])
                continue
            }
            let report = verifier.verify(agreement)
            if !report.verified { anyUnverified = true }
            if json {
                var object = report.json.objectValue!
                object["file"] = .string(file)
                reports.append(.object(object))
            } else {
                printHuman(report, file: file)
            }
        }
        if json {
            let output = files.count == 1 ? reports[0] : .array(reports)
            print(JSONWriter.string(output, style: .pretty))
        }
        if anyUnreadable { throw ExitCode(2) }
        if anyUnverified { throw ExitCode(1) }
    }

    func printHuman(_ report: VerificationReport, file: String) {
        print("\(file): \(report.verified ? "verified" : "NOT VERIFIED")")
        print("  digest  \(report.digest)")
        if let id = report.agreementID { print("  id      \(id)") }
        for signer in report.signers {
            let role = signer.role.isEmpty ? "signer" : signer.role
            var line = "  \(role): \(signer.did)"
            if let delegation = signer.delegation { line += " via agent \(delegation.agent)" }
            if let keri = signer.keri { line += " (KERI key state sn \(keri.sn), \(keri.said))" }
            print(line)
        }
        for finding in report.findings { print("  \(finding)") }
    }
}
