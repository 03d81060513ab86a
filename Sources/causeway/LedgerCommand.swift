import ArgumentParser
import CausewayCore
import CausewayGateway
import CausewayStore
import CausewayTrust
import Foundation

struct LedgerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ledger", abstract: "Inspect the receipt ledger.", subcommands: [Verify.self, LedgerWatch.self, LedgerWitnessKey.self])

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check the whole ledger: the hash chain (naming any edited, deleted or reordered entry) and every receipt's signature.",
            discussion: "Exit 0 when the ledger is intact, 1 when it is not, 2 when the store cannot be read.")

        @Option(name: .long, help: "The gateway configuration (for the store and the gateway's key).")
        var config: String = "causeway.yaml"

        func run() async throws {
            let configuration: GatewayConfiguration
            do { configuration = try ConfigurationLoader.load(path: config) } catch { throw CLIError(error.description) }
            let gateway = try CLIInput.signingIdentity(keyFile: configuration.identity).didKey.did
            let entries: [JSONObject]
            do {
                entries = try await withStore(configuration.store) { store in
                    var all: [JSONObject] = []
                    while true {
                        let page = try await store.ledger(from: all.count, limit: 1000)
                        all += page
                        if page.count < 1000 { return all }
                    }
                }
            } catch {
                throw CLIError("cannot read the ledger from \(configuration.store.redacted): \(error)")
            }
            var problems = LedgerChain.verify(entries).map(\.description)
            for (position, entry) in entries.enumerated() {
                for finding in ReceiptSigner.verify(entry, expectedIssuer: gateway) where finding.code.rawValue != "receipt.leaf_mismatch" {
                    problems.append("entry \(entry["ledger"]?["seq"]?.exactInt.map(String.init) ?? "#\(position)"): \(finding.code) — \(finding.message)")
                }
            }
            if problems.isEmpty {
                print("ledger intact: \(entries.count) entries, chain and signatures verified (issuer \(gateway))")
            } else {
                for problem in problems { print(problem) }
                throw ExitCode(1)
            }
        }
    }
}
