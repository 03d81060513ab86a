import ArgumentParser
import CausewayGateway
import CausewayTrust

/// `causeway ledger witness-key`: the verifier keys a gateway's partners configure.
struct LedgerWitnessKey: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "witness-key",
        abstract: "Print this gateway's witness key (for partner.yaml ledger.witnesses[].key), or with --log its checkpoint key.",
        discussion: """
            The witness key is a C2SP vkey of type 0x04 (cosignature/v1) named witness.name (default ledger.origin); \
            the checkpoint key is of type 0x01 named ledger.origin (for witness.logs[].key or causeway ledger watch --key). \
            Both are the gateway identity's Ed25519 key, the one its did:key names.
            """)

    @Option(name: .long, help: "The gateway configuration (for the identity, ledger.origin and witness.name).")
    var config: String = "causeway.yaml"

    @Flag(name: .long, help: "Print the key that signs this gateway's checkpoints instead.")
    var log = false

    func run() async throws {
        let configuration: GatewayConfiguration
        do { configuration = try ConfigurationLoader.load(path: config) } catch { throw CLIError(error.description) }
        let identity = try CLIInput.signingIdentity(keyFile: configuration.identity)
        do {
            let key = log ? try NoteKey(name: configuration.ledgerOrigin, didKey: identity.didKey)
                : try NoteKey(name: configuration.witnessName, didKey: identity.didKey, kind: .cosignatureV1)
            print(key.vkey)
        } catch {
            throw CLIError("\(log ? "ledger.origin" : "witness.name"): \(error.message)")
        }
    }
}
