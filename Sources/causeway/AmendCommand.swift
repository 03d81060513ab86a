import ArgumentParser
import CausewayCore
import CausewayTrust
import Foundation

/// `causeway amend`: the next version of an agreement — a `PurchaseAgreementChange` with the
/// complete new terms — built from the version in force, checked, and optionally signed.
struct AmendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "amend",
        abstract: "Build (and sign) a PurchaseAgreementChange from the version in force and new terms.",
        discussion: """
            PREVIOUS is the version in force: the signed original or the last change, as a file, or an agreement's \
            digest (sha256:…), whose current version is then fetched from the gateway (--gateway, a viewer token \
            in $CAUSEWAY_TOKEN). From it come 'parties' \
            (unchanged), 'supersedes' (its digest), 'amends' (the original's digest) and 'version' (its version \
            + 1; an original is version 1). TERMS is a JSON object with any of 'currency', 'lines', 'delivery', \
            'payment' (members not given are taken from PREVIOUS; null removes 'delivery' or 'payment') and \
            optionally 'total', which must equal the sum of quantity × unitPrice (the total is computed when \
            absent). With --key (repeatable) each party's key adds an eddsa-jcs-2022 proof, as 'causeway sign' \
            does. Exit 0 when written, 2 on unusable input (the error names the field).
            """)

    @Option(name: .long, help: "The new terms (JSON): any of currency, lines, delivery, payment, total.")
    var terms: String

    @Option(name: .long, help: "The version this change must have (a check: it is PREVIOUS's version + 1).")
    var version: Int?

    @Option(name: .long, help: "The original agreement's digest this change must amend (a check against PREVIOUS).")
    var amends: String?

    @Option(name: .long, help: "Why the terms change (optional on a change).")
    var reason: String?

    @OptionGroup var common: RevisionOutputOptions

    @Argument(help: "The version in force (the signed original or the last change), - for standard input, or a stored agreement's digest.")
    var previous: String

    func run() async throws {
        let base = try await PreviousVersion.load(previous, gateway: common.gateway)
        let next = base.version + 1
        if let version, version != next {
            throw CLIError("--version \(version) does not follow \(previous), which is version \(base.version): this change is version \(next)")
        }
        if let amends, amends != base.amends.description {
            throw CLIError("--amends \(amends) is not the agreement \(previous) belongs to: it amends \(base.amends)")
        }
        let newTerms = try TermsFile.load(terms, over: base.document)
        var document = JSONObject([
            ("type", .string(AgreementRevision.changeType)),
            ("id", .string(try common.documentID())),
            ("parties", .object(base.parties)),
            ("issued", .string(try common.issuedText(after: base))),
        ])
        for (key, value) in newTerms.members { document[key] = value }
        document["amends"] = .string(base.amends.description)
        document["supersedes"] = .string(base.digest.description)
        document["version"] = .number(Double(next))
        if let reason { document["reason"] = .string(reason) }
        try RevisionWriter.checkSignWrite(document, kind: .change, base: base, options: common)
    }
}

/// `causeway cancel`: a `PurchaseAgreementCancellation` of the version in force, checked and
/// optionally signed.
struct CancelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel",
        abstract: "Build (and sign) a PurchaseAgreementCancellation of the version in force.",
        discussion: """
            PREVIOUS is the version in force: the signed original or the last change. The cancellation keeps its \
            'parties', names it in 'supersedes' (its digest), the original in 'amends', and takes its version + 1. \
            With --key (repeatable) each party's key adds an eddsa-jcs-2022 proof, as 'causeway sign' does. \
            Exit 0 when written, 2 on unusable input (the error names the field).
            """)

    @Option(name: .long, help: "Why the agreement is cancelled (required).")
    var reason: String

    @OptionGroup var common: RevisionOutputOptions

    @Argument(help: "The version in force (the signed original or the last change), - for standard input, or a stored agreement's digest.")
    var previous: String

    func validate() throws {
        if reason.isEmpty { throw ValidationError("--reason must not be empty: a cancellation says why") }
    }

    func run() async throws {
        let base = try await PreviousVersion.load(previous, gateway: common.gateway)
        let document = JSONObject([
            ("type", .string(AgreementRevision.cancellationType)),
            ("id", .string(try common.documentID())),
            ("parties", .object(base.parties)),
            ("issued", .string(try common.issuedText(after: base))),
            ("amends", .string(base.amends.description)),
            ("supersedes", .string(base.digest.description)),
            ("version", .number(Double(base.version + 1))),
            ("reason", .string(reason)),
        ])
        try RevisionWriter.checkSignWrite(document, kind: .cancellation, base: base, options: common)
    }
}

/// The options `amend` and `cancel` share: the new document's id and time, its signers and where it goes.
struct RevisionOutputOptions: ParsableArguments {
    @Option(name: .long, help: "The new document's own id. Default: a new urn:uuid.")
    var id: String?

    @Option(name: .long, help: "The new document's 'issued' time (RFC 3339). Default: now (UTC, whole seconds).")
    var issued: String?

    @Option(name: .long, help: "A party's key file ('causeway keys new'); repeatable: each adds its proof.")
    var key: [String] = []

    @Option(name: [.short, .customLong("out")], help: "Write the document here (never over an existing file) instead of standard output.")
    var out: String?

    @Option(name: .long, help: "The gateway to fetch PREVIOUS from when it is a digest (default $CAUSEWAY_GATEWAY or http://127.0.0.1:8080).")
    var gateway: String = GatewayClient.defaultGateway()

    func documentID() throws(CLIError) -> String {
        guard let id else { return RandomUUID.urn() }
        guard !id.isEmpty else { throw CLIError("--id must not be empty") }
        return id
    }

    /// `--issued` (checked) or now; never before the version it follows.
    func issuedText(after base: PreviousVersion) throws(CLIError) -> String {
        let text = issued ?? CLIInput.now()
        guard let time = Timestamp(rfc3339: text) else {
            throw CLIError("--issued must be an RFC 3339 date-time such as 2026-11-23T10:15:02Z")
        }
        if let before = base.issued, time < before {
            throw CLIError("'issued' \(text) is before \(base.path)'s 'issued' \(before): a new version cannot predate the one it follows")
        }
        return text
    }
}

/// The version in force that a change or cancellation follows, and what the next version takes from it.
struct PreviousVersion {
    /// The file it was read from, for messages.
    let path: String
    let document: JSONObject
    /// Its digest: the next version's `supersedes`.
    let digest: ContentDigest
    /// The original agreement's digest: the next version's `amends`.
    let amends: ContentDigest
    /// 1 for the original.
    let version: Int
    let parties: JSONObject
    let issued: Timestamp?

    /// The version in force from a file (or `-`), or — given an agreement's digest — the current
    /// version of its chain as the gateway stored it (`GET /v1/agreements/{digest}`, then its
    /// `/document`), with a viewer token from `$CAUSEWAY_TOKEN`.
    static func load(_ previous: String, gateway: String) async throws(CLIError) -> PreviousVersion {
        guard previous.hasPrefix("sha256:") else { return try load(previous) }
        guard ContentDigest(previous) != nil else { throw CLIError("\(previous) is not an agreement digest (sha256: and 64 lowercase hex digits)") }
        guard let token = GatewayClient.environmentToken() else {
            throw CLIError("fetching \(previous) from the gateway needs a viewer or operator token in CAUSEWAY_TOKEN")
        }
        let base = gateway.hasSuffix("/") ? String(gateway.dropLast()) : gateway
        let (status, summary) = try await GatewayClient.send("GET", base + "/v1/agreements/\(previous)", token: token)
        guard status == 200, let summary else {
            throw CLIError("the gateway answered \(status) for \(previous): \(summary?["code"]?.stringValue ?? "") \(summary?["detail"]?.stringValue ?? "")")
        }
        // The version in force: the head of the chain the digest belongs to.
        let head = summary["versions"]?.arrayValue?.last?["digest"]?.stringValue ?? previous
        let (documentStatus, document) = try await GatewayClient.send("GET", base + "/v1/agreements/\(head)/document", token: token)
        guard documentStatus == 200, case .object(let object)? = document else {
            throw CLIError("the gateway answered \(documentStatus) for the document of \(head): \(document?["code"]?.stringValue ?? "") \(document?["detail"]?.stringValue ?? "")")
        }
        return try load(document: object, path: head)
    }

    /// Reads the version in force with the strict reader and checks it is one a version may follow:
    /// a valid `PurchaseAgreement` or `PurchaseAgreementChange` with `parties`.
    static func load(_ path: String) throws(CLIError) -> PreviousVersion {
        try load(document: try CLIInput.jsonObject(path), path: path)
    }

    static func load(document: JSONObject, path: String) throws(CLIError) -> PreviousVersion {
        let agreement = Agreement(document)
        let version: Int, amends: ContentDigest, findings: [Finding]
        switch agreement.type {
        case PurchaseAgreement.typeName?:
            let checked = PurchaseAgreement.check(document)
            findings = checked.findings
            (version, amends) = (1, agreement.digest)
        case AgreementRevision.changeType?:
            let checked = AgreementRevision.check(document, kind: .change)
            findings = checked.findings
            guard let revision = checked.revision else { throw invalid(path, AgreementRevision.changeType, findings) }
            (version, amends) = (revision.version, revision.amends)
        case AgreementRevision.cancellationType?:
            throw CLIError("\(path): the agreement is cancelled; nothing follows a cancellation")
        case let other:
            throw CLIError("\(path): 'type' is \(other.map { "'\($0)'" } ?? "missing"); the version in force is a \(PurchaseAgreement.typeName) or a \(AgreementRevision.changeType)")
        }
        if findings.contains(where: { $0.severity == .error }) { throw invalid(path, agreement.type ?? "", findings) }
        guard case .object(let parties)? = document["parties"], !parties.isEmpty else {
            throw CLIError("\(path): 'parties' is required (role → {\"id\": DID}); the next version keeps the same parties")
        }
        guard version < AgreementRevision.maxVersion else {
            throw CLIError("\(path) is version \(version), the last a chain may have (\(AgreementRevision.maxVersion))")
        }
        return PreviousVersion(path: path, document: document, digest: agreement.digest, amends: amends, version: version,
                               parties: parties, issued: document["issued"]?.stringValue.flatMap(Timestamp.init(rfc3339:)))
    }

    private static func invalid(_ path: String, _ type: String, _ findings: [Finding]) -> CLIError {
        for finding in findings where finding.severity == .error { CLIInput.printError("causeway: \(path): \(finding)") }
        return CLIError("\(path) is not a valid \(type); fix the findings above")
    }
}

/// The TERMS file of `causeway amend`: the new terms over the previous version's.
enum TermsFile {
    /// The members a TERMS file may hold.
    static let members = ["currency", "lines", "total", "delivery", "payment"]

    /// The complete terms of the change in document order — `currency`, `lines`, `total`, then
    /// `delivery` and `payment` when present — from TERMS, else from PREVIOUS. The total is
    /// computed from the lines; a TERMS `total` that disagrees is refused.
    static func load(_ path: String, over previous: JSONObject) throws(CLIError) -> JSONObject {
        let given = try CLIInput.jsonObject(path)
        let unknown = given.keys.filter { !members.contains($0) }
        guard unknown.isEmpty else {
            throw CLIError("\(path): \(unknown.map { "'\($0)'" }.joined(separator: ", ")) \(unknown.count == 1 ? "is not a term" : "are not terms"); a TERMS file holds only \(members.joined(separator: ", ")) (parties, id, issued and the chain members come from PREVIOUS and the options)")
        }
        for key in ["currency", "lines"] where given[key] == .null {
            throw CLIError("\(path): '\(key)' cannot be removed (null); every version has \(key)")
        }
        var terms = JSONObject()
        for key in ["currency", "lines"] {
            if let value = given[key] ?? previous[key] { terms[key] = value }
        }
        if let total = try total(of: terms["lines"], given: given["total"], path: path) { terms["total"] = total }
        for key in ["delivery", "payment"] {
            switch given[key] {
            case .null?: break
            case let value?: terms[key] = value
            case nil: if let value = previous[key] { terms[key] = value }
            }
        }
        return terms
    }

    /// Σ quantity × unitPrice in decimal, written with at least 2 fraction digits (more when a unit
    /// price or the exact sum needs them). `nil` when the lines cannot be summed: the content check
    /// then names what is wrong with them. A given total must be a decimal string equal to the sum.
    static func total(of lines: JSONValue?, given: JSONValue?, path: String) throws(CLIError) -> JSONValue? {
        var sum = Decimal(0)
        var scale = 2
        guard case .array(let array)? = lines, !array.isEmpty else { return given }
        for line in array {
            guard let quantity = line["quantity"]?.stringValue.flatMap(DecimalText.parse),
                  let priceText = line["unitPrice"]?.stringValue, let price = DecimalText.parse(priceText)
            else { return given }
            sum += quantity * price
            scale = max(scale, DecimalText.scale(of: priceText))
        }
        scale = max(scale, DecimalText.scale(of: DecimalText.plain(sum)))
        let computed = DecimalText.format(sum, scale: scale)
        guard let given else { return .string(computed) }
        guard let text = given.stringValue, let value = DecimalText.parse(text) else {
            throw CLIError("\(path): 'total' must be a decimal string such as \"3048.00\" (or leave it out: it is computed from the lines)")
        }
        guard value == sum else {
            throw CLIError("\(path): 'total' is \(text) but the lines' quantity × unitPrice add up to \(computed); correct it or leave it out")
        }
        return given
    }
}

/// The last steps of `amend` and `cancel`: the content rules, the proofs, the output.
enum RevisionWriter {
    static func checkSignWrite(_ document: JSONObject, kind: AgreementRevision.Kind, base: PreviousVersion,
                               options: RevisionOutputOptions) throws(CLIError) {
        let checked = AgreementRevision.check(document, kind: kind)
        let errors = checked.findings.filter { $0.severity == .error }
        guard errors.isEmpty, checked.revision != nil else {
            for finding in errors { CLIInput.printError("causeway: \(finding)") }
            let name = kind == .change ? AgreementRevision.changeType : AgreementRevision.cancellationType
            throw CLIError("the \(name) built from \(base.path) breaks the content rules above; nothing was written")
        }
        if let out = options.out, FileManager.default.fileExists(atPath: out) {
            throw CLIError("\(out): already exists; choose another --out (an existing file is never overwritten)")
        }
        let signed = try sign(document, keyFiles: options.key, parties: base.parties)
        let text = JSONWriter.string(.object(signed), style: .pretty) + "\n"
        guard let out = options.out else { return try CLIInput.write(text, to: nil) }
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: out), options: .withoutOverwriting)
        } catch {
            throw CLIError(FileManager.default.fileExists(atPath: out)
                ? "\(out): already exists; choose another --out (an existing file is never overwritten)"
                : "\(out): cannot be written")
        }
    }

    /// One `eddsa-jcs-2022` proof per key file, with the same proof options `causeway sign` uses
    /// (created now, a new urn:uuid id), added to the proof set. Each key must be a party's DID.
    static func sign(_ document: JSONObject, keyFiles: [String], parties: JSONObject) throws(CLIError) -> JSONObject {
        let partyDIDs = parties.members.compactMap { $0.value["id"]?.stringValue }
        var seen: Set<String> = []
        var signed = document
        for file in keyFiles {
            let identity = try CLIInput.signingIdentity(keyFile: file)
            let did = identity.didKey.did
            guard partyDIDs.contains(did) else {
                throw CLIError("\(file): the key \(did) is not a party's DID (\(partyDIDs.joined(separator: ", "))); an agent signs the written document with 'causeway sign --delegation'")
            }
            guard seen.insert(did).inserted else { throw CLIError("\(file): the key \(did) is given twice") }
            let proof = EddsaJcs2022.ProofOptions(created: CLIInput.now(), id: RandomUUID.urn())
            do {
                signed = try EddsaJcs2022.addProof(to: signed, signer: identity, options: proof)
            } catch {
                throw CLIError(error.message)
            }
        }
        return signed
    }
}
