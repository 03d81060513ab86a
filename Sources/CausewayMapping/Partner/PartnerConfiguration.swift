import CausewayCore
public import Foundation

/// A partner folder (`Mappings/<partner>/`): `partner.yaml`, its mapping files, crosswalks, schemas
/// and fixtures.
///
/// ```yaml
/// name: stahlteile
/// display_name: Stahlteile GmbH
/// roles:                      # every role listed must be signed; each lists the DIDs that speak for it
///   seller: [did:key:z6Mk…]
///   buyer:  [did:key:z6Mk…]
/// identities: [did:key:z6Mk…] # optional: the partner's own DIDs (delegation roots)
/// mapping: purchase-order.yaml  # or mappings: [a.yaml, b.yaml]
/// limits: {max_total: "250000.00", currencies: [EUR]}
/// accepts: [PurchaseAgreement]
/// receipts: {callback: "https://…"}
/// ledger: {witnesses: [{url: "https://…", key: "name+id+key"}], cosignatures_required: 1}  # PartnerLedgerPolicy
/// keri: {policy: latest-only}  # or historical: which key states of KERI signers are accepted
/// intake: {client_certificate: {sha256: [9f86…]}}  # PartnerIntakePolicy: mTLS for this partner's intake
/// ```
///
/// A role may list `did:key` DIDs, KERI DIDs (`did:keri:AID`, `did:webs:HOST[:PATH]:AID`) or bare
/// AIDs (`E…`, matching either KERI DID of that AID). KELs may ship in `kel/AID.cesr`.
public struct PartnerConfiguration: Sendable {
    public let name: String
    public let displayName: String?
    /// Role → DIDs that may sign it.
    public let roles: [String: [String]]
    /// The partner's own DIDs, when listed.
    public let identities: [String]
    /// Mapping files, relative to the folder.
    public let mappingFiles: [String]
    public let maxTotal: Decimal?
    public let currencies: [String]?
    public let accepts: [String]
    /// Where to push receipts, if the partner wants them pushed.
    public let receiptCallback: String?
    /// The folder.
    public let folder: URL
    /// Witnesses of the gateway's ledger for this partner (`ledger:`); none by default.
    public private(set) var ledger = PartnerLedgerPolicy()
    /// `keri.policy`: `latest-only` (nil, the default) or `historical`.
    public private(set) var keriPolicy: String?
    /// What the connection of this partner's agreements must show (`intake:`); nothing by default.
    public private(set) var intake = PartnerIntakePolicy()
    /// Who signs changes and cancellations, and their limits and cut-offs (`changes:`, `cancellations:`).
    public private(set) var revisions = PartnerRevisionPolicy()

    static let keys: Set<String> = ["name", "display_name", "roles", "identities", "mapping", "mappings", "limits", "accepts", "receipts", "ledger", "keri",
                                    "intake", "changes", "cancellations"]

    /// Reads `partner.yaml` in `folder`, reporting every problem as `file:line:column`.
    public static func load(folder: URL) throws(MappingLoadError) -> PartnerConfiguration {
        let url = folder.appendingPathComponent("partner.yaml")
        var d = Diagnostics()
        guard let data = FileManager.default.contents(atPath: url.path), let text = String(data: data, encoding: .utf8) else {
            throw MappingLoadError([MappingDiagnostic("partner.file_missing", "no readable partner.yaml in \(folder.path)",
                                                      at: SourceLocation(file: url.path, line: 1, column: 1))])
        }
        guard let root = YNode.parse(text, file: url.path, diagnostics: &d),
            let top = root.mapping("partner.yaml", allowed: keys, &d)
        else { throw MappingLoadError(d.sorted()) }

        let name = top["name"]?.string("'name'", &d)
        if top["name"] == nil { d.error("partner.missing_key", "'name' is required", at: top.location) }
        if let name, name != folder.lastPathComponent {
            d.error("partner.name_mismatch", "'name' is '\(name)' but the folder is '\(folder.lastPathComponent)'; they must match",
                    at: top["name"]!.location)
        }
        var roles: [String: [String]] = [:]
        if let rolesNode = top["roles"], let pairs = rolesNode.pairs {
            for (role, _, value) in pairs {
                guard let dids = value.strings("the DIDs of role '\(role)'", &d) else { continue }
                for did in dids where !did.hasPrefix("did:key:z") && !PartnerConfiguration.isKERIIdentifier(did) {
                    d.error("partner.invalid_did",
                            "'\(did)' is not a did:key (did:key:z6Mk…), a KERI DID (did:keri:E…, did:webs:HOST:E…) or an AID (E…, 44 characters)",
                            at: value.location)
                }
                if dids.isEmpty { d.error("partner.invalid_did", "role '\(role)' lists no DID", at: value.location) }
                roles[role] = dids
            }
        } else {
            d.error("partner.missing_key", "'roles' is required: each role that must sign, with the DIDs that speak for it",
                    at: top["roles"]?.location ?? top.location)
        }
        let identities = top["identities"].flatMap { $0.strings("'identities'", &d) } ?? []
        var files: [String] = []
        switch (top["mapping"], top["mappings"]) {
        case (let one?, nil): if let f = one.string("'mapping'", &d) { files = [f] }
        case (nil, let many?): files = many.strings("'mappings'", &d) ?? []
        case (nil, nil): d.error("partner.missing_key", "'mapping' (or 'mappings') is required", at: top.location)
        default: d.error("partner.conflict", "use either 'mapping' or 'mappings'", at: top.location)
        }
        var maxTotal: Decimal?
        var currencies: [String]?
        if let limits = top["limits"], let l = limits.mapping("'limits'", allowed: ["max_total", "currencies"], &d) {
            if let m = l["max_total"], let text = m.string("'max_total'", &d) {
                maxTotal = DecimalText.parse(text)
                if maxTotal == nil { d.error("partner.type_error", "'max_total' must be a decimal string such as \"250000.00\"", at: m.location) }
                if m.isPlainScalarNode {
                    d.error("mapping.ambiguous_scalar", "quote 'max_total' (\"\(text)\"): money is a decimal string, never a YAML number", at: m.location)
                }
            }
            if let c = l["currencies"] {
                currencies = c.strings("'currencies'", &d)
                for code in currencies ?? [] where CurrencyCode(code) == nil {
                    d.error("partner.type_error", "'\(code)' is not an ISO 4217 currency code", at: c.location)
                }
            }
        }
        let accepts = top["accepts"].flatMap { $0.strings("'accepts'", &d) } ?? [PurchaseAgreement.typeName]
        var callback: String?
        if let receipts = top["receipts"], let r = receipts.mapping("'receipts'", allowed: ["callback"], &d) {
            callback = r["callback"]?.string("'callback'", &d)
        }
        let ledger = top["ledger"].map { PartnerLedgerPolicy.parse($0, &d) } ?? PartnerLedgerPolicy()
        var keriPolicy: String?
        if let keri = top["keri"], let k = keri.mapping("'keri'", allowed: ["policy"], &d), let p = k["policy"] {
            keriPolicy = p.string("'keri.policy'", &d)
            if let policy = keriPolicy, policy != "latest-only", policy != "historical" {
                d.error("partner.type_error", "'keri.policy' is 'latest-only' (the default) or 'historical', not '\(policy)'", at: p.location)
            }
        }
        let intake = top["intake"].map { PartnerIntakePolicy.parse($0, &d) } ?? PartnerIntakePolicy()
        let revisions = PartnerRevisionPolicy.parse(changes: top["changes"], cancellations: top["cancellations"], roles: roles, &d)
        guard d.isEmpty, let name else { throw MappingLoadError(d.sorted()) }
        var configuration = PartnerConfiguration(name: name, displayName: top["display_name"]?.scalar, roles: roles, identities: identities,
                                    mappingFiles: files, maxTotal: maxTotal, currencies: currencies, accepts: accepts,
                                    receiptCallback: callback, folder: folder)
        configuration.ledger = ledger
        configuration.keriPolicy = keriPolicy
        configuration.intake = intake
        configuration.revisions = revisions
        return configuration
    }

    /// Loads every mapping the partner names; all diagnostics of all files together.
    public func loadMappings() throws(MappingLoadError) -> [Mapping] {
        var mappings: [Mapping] = []
        var diagnostics: [MappingDiagnostic] = []
        for file in mappingFiles {
            do {
                mappings.append(try Mapping.load(file: file, partnerFolder: folder))
            } catch {
                diagnostics += error.diagnostics
            }
        }
        guard diagnostics.isEmpty else { throw MappingLoadError(diagnostics) }
        return mappings
    }

    /// The partner folders under `directory`: itself if it holds a partner.yaml, else its subfolders that do.
    public static func folders(in directory: URL) -> [URL] {
        let fm = FileManager.default
        if fm.fileExists(atPath: directory.appendingPathComponent("partner.yaml").path) { return [directory] }
        let children = (try? fm.contentsOfDirectory(atPath: directory.path)) ?? []
        return children.sorted().map { directory.appendingPathComponent($0) }
            .filter { fm.fileExists(atPath: $0.appendingPathComponent("partner.yaml").path) }
    }
}

extension PartnerConfiguration {
    /// A KERI identifier as partner.yaml may list it: `did:keri:AID`, `did:webs:HOST[:PATH]:AID`,
    /// or a bare AID (`E` and 43 base64url characters). (The trust core checks proofs against it.)
    static func isKERIIdentifier(_ text: String) -> Bool {
        let aid = text.hasPrefix("did:keri:") || text.hasPrefix("did:webs:") ? String(text.split(separator: ":").last ?? "") : text
        return aid.utf8.count == 44 && aid.hasPrefix("E")
            && aid.utf8.allSatisfy { $0 == 0x2D || $0 == 0x5F || (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) }
    }
}
