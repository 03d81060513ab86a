import ArgumentParser
import CausewayCore
import CausewayTrust
import Foundation

struct DelegateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delegate",
        abstract: "Issue a delegation credential that lets an agent sign for your organisation within a scope.",
        discussion: "The credential is signed with the organisation's key; the agent passes it to 'causeway sign --delegation'.")

    @Option(name: .long, help: "The organisation's key file (the issuer).")
    var key: String

    @Option(name: .long, help: "The agent's DID.")
    var agent: String

    @Option(name: .long, help: "A role the agent may sign (repeatable; default: any).")
    var role: [String] = []

    @Option(name: .long, help: "A counterparty DID the agent may deal with (repeatable; default: any).")
    var counterparty: [String] = []

    @Option(name: .long, help: "An agreement type the agent may sign (repeatable; default: PurchaseAgreement).")
    var type: [String] = []

    @Option(name: .long, help: "Largest total per agreement, a decimal string (needs --currency).")
    var maxTotal: String?

    @Option(name: .long, help: "The ISO 4217 currency of --max-total.")
    var currency: String?

    @Option(name: .long, help: "Start of validity (RFC 3339). Default: now.")
    var validFrom: String?

    @Option(name: .long, help: "End of validity (RFC 3339). Default: one year after the start.")
    var validUntil: String?

    @Option(name: .long, help: "Write the credential here instead of standard output.")
    var out: String?

    func run() throws {
        let identity = try CLIInput.signingIdentity(keyFile: key)
        do { _ = try DIDKey(parsing: agent) } catch { throw CLIError("--agent: \(error.message)") }
        let from = validFrom ?? CLIInput.now()
        guard let start = Timestamp(rfc3339: from) else { throw CLIError("--valid-from must be an RFC 3339 date-time") }
        let until = validUntil ?? Timestamp(epochSeconds: start.epochSeconds + 365 * 86_400).text
        guard Timestamp(rfc3339: until) != nil else { throw CLIError("--valid-until must be an RFC 3339 date-time") }
        var scope = JSONObject()
        if !role.isEmpty { scope["roles"] = .array(role.map(JSONValue.string)) }
        scope["agreementTypes"] = .array((type.isEmpty ? ["PurchaseAgreement"] : type).map(JSONValue.string))
        if !counterparty.isEmpty { scope["counterparties"] = .array(counterparty.map(JSONValue.string)) }
        switch (maxTotal, currency) {
        case (let amount?, let currency?):
            guard DecimalText.parse(amount) != nil else { throw CLIError("--max-total must be a decimal string such as 50000.00") }
            guard CurrencyCode(currency) != nil else { throw CLIError("--currency must be an ISO 4217 code such as EUR") }
            scope["maxTotal"] = ["amount": .string(amount), "currency": .string(currency)]
        case (nil, nil): break
        default: throw CLIError("--max-total and --currency go together")
        }
        let credential: JSONObject = [
            "type": "DelegationCredential", "v": 1, "id": .string(RandomUUID.urn()),
            "issuer": .string(identity.didKey.did), "agent": .string(agent),
            "validFrom": .string(from), "validUntil": .string(until), "scope": .object(scope),
        ]
        let signed: JSONObject
        do {
            signed = try EddsaJcs2022.addProof(to: credential, signer: identity, options: .init(created: CLIInput.now()))
        } catch {
            throw CLIError(error.message)
        }
        try CLIInput.write(JSONWriter.string(.object(signed), style: .pretty) + "\n", to: out)
    }
}
