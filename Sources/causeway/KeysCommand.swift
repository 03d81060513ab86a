import ArgumentParser
import CausewayTrust

struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "Create and inspect Ed25519 key files.",
        subcommands: [New.self, Show.self])

    struct New: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a new Ed25519 private key file (mode 0600) and print its did:key.",
            discussion: "The file format is described in Docs/agreement-format.md (\"Key files\"). An existing file is never overwritten.")

        @Option(name: .long, help: "Where to write the key file.")
        var out: String = "causeway-key.json"

        func run() throws {
            let identity = SigningIdentity()
            do {
                try identity.writeKeyFile(to: out)
            } catch {
                throw CLIError(error.message)
            }
            print(identity.didKey.did)
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the did:key and verification method of a key file.")

        @Argument(help: "A key file made by 'causeway keys new'.")
        var file: String

        func run() throws {
            let identity = try CLIInput.signingIdentity(keyFile: file)
            print(identity.didKey.did)
            print(identity.didKey.verificationMethod)
        }
    }
}
