import ArgumentParser
import CausewayCore
import CausewayGateway
import CausewayTrust
import Foundation

struct SignCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sign",
        abstract: "Add an eddsa-jcs-2022 proof to an agreement.",
        discussion: """
            Each party adds its own proof; together they form a proof set. With --previous-proof the new proof \
            endorses earlier ones (a proof chain). With --delegation the credential is placed in the proof, so an \
            agent can sign for the organisation that issued it. With --keri-key the signer is a KERI AID: one proof per \
            key names the key and the latest establishment event of the AID's KEL (--kel; default: the KEL beside the \
            first key file), and the DID is the --role party's (did:keri or did:webs of that AID) or did:keri:AID.
            """)

    @Option(name: .long, help: "The signer's key file ('causeway keys new').")
    var key: String?

    @Option(name: .long, help: "A current signing key of a KERI AID (repeatable: a multi-key AID signs with as many as its threshold needs).")
    var keriKey: [String] = []

    @Option(name: .long, help: "The KERI AID's key event log (CESR) for --keri-key; default: NAME.kel.cesr beside the first key file.")
    var kel: String?

    @Option(name: .long, help: "The role being signed for; the key (or the delegation's issuer) must be that party's DID.")
    var role: String?

    @Option(name: .long, help: "Id of an earlier proof this proof endorses (repeatable).")
    var previousProof: [String] = []

    @Option(name: .long, help: "A delegation credential from the organisation, for an agent signing on its behalf.")
    var delegation: String?

    @Option(name: .long, help: "The proof's 'created' time (RFC 3339). Default: now.")
    var created: String?

    @Option(name: .long, help: "The proof's id. Default: a new urn:uuid.")
    var proofID: String?

    @Option(name: .long, help: "Write the signed agreement here instead of standard output.")
    var out: String?

    @Argument(help: "The agreement (JSON), or - for standard input.")
    var agreement: String

    func validate() throws {
        if (key == nil) == keriKey.isEmpty { throw ValidationError("give either --key (a did:key signer) or --keri-key (a KERI signer)") }
        if !keriKey.isEmpty && (delegation != nil || !previousProof.isEmpty) {
            throw ValidationError("--delegation and --previous-proof are for did:key signers; a KERI signer signs with --keri-key only")
        }
    }

    func run() throws {
        guard let key else { return try signAsKERI() }
        let identity = try CLIInput.signingIdentity(keyFile: key)
        let document = try CLIInput.jsonObject(agreement)
        var extra: [(String, JSONValue)] = []
        var credentialIssuer: String?
        if let delegation {
            let credential = try CLIInput.jsonObject(delegation)
            guard credential["agent"]?.stringValue == identity.didKey.did else {
                throw CLIError("\(delegation): the credential's 'agent' is not the key's DID \(identity.didKey.did)")
            }
            credentialIssuer = credential["issuer"]?.stringValue
            extra.append(("delegation", .object(credential)))
        }
        if let role {
            guard let partyDID = document["parties"]?[role]?["id"]?.stringValue else {
                throw CLIError("\(agreement): 'parties' has no role '\(role)' with an 'id'")
            }
            let speaksFor = credentialIssuer ?? identity.didKey.did
            guard speaksFor == partyDID else {
                throw CLIError(credentialIssuer == nil
                    ? "the key \(identity.didKey.did) is not the \(role) party \(partyDID); an agent needs --delegation"
                    : "the delegation was issued by \(speaksFor), not by the \(role) party \(partyDID)")
            }
        }
        let created = created ?? CLIInput.now()
        guard Timestamp(rfc3339: created) != nil else { throw CLIError("--created must be an RFC 3339 date-time") }
        let options = EddsaJcs2022.ProofOptions(
            created: created, id: proofID ?? RandomUUID.urn(), previousProof: previousProof,
            extraMembers: extra)
        let signed: JSONObject
        do {
            signed = try EddsaJcs2022.addProof(to: document, signer: identity, options: options)
        } catch {
            throw CLIError(error.message)
        }
        try CLIInput.write(JSONWriter.string(.object(signed), style: .pretty) + "\n", to: out)
    }

    /// One proof per --keri-key under the latest establishment event of the AID.
    func signAsKERI() throws {
        let document = try CLIInput.jsonObject(agreement)
        let log = try CLIInput.keyEventLog(kel ?? GatewayKERIIdentity.files(forKeyFile: keriKey[0]).kel)
        var did = "did:keri:" + log.prefix
        if let role {
            guard let partyDID = document["parties"]?[role]?["id"]?.stringValue else {
                throw CLIError("\(agreement): 'parties' has no role '\(role)' with an 'id'")
            }
            guard KERIDID(partyDID)?.aid == log.prefix else {
                throw CLIError("the \(role) party \(partyDID) is not a KERI DID of \(log.prefix)")
            }
            did = partyDID
        }
        let created = created ?? CLIInput.now()
        guard Timestamp(rfc3339: created) != nil else { throw CLIError("--created must be an RFC 3339 date-time") }
        let keys = try keriKey.map { file throws(CLIError) in try CLIInput.signingIdentity(keyFile: file).privateKey }
        let signed: JSONObject
        do {
            signed = try KERISigning.addProofs(to: document, did: did, state: log.latestState, keys: keys, created: created)
        } catch {
            throw CLIError(error.message)
        }
        try CLIInput.write(JSONWriter.string(.object(signed), style: .pretty) + "\n", to: out)
    }
}
