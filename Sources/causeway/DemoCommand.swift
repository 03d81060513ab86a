import ArgumentParser
import CausewayCore
import CausewayGateway
import CausewayTrust
import Foundation
import Hummingbird
import Logging
import SQLiteAdapter
import ServiceLifecycle
import UnixSignals

/// `causeway demo`: the whole path on the embedded defaults, on a fresh machine.
///
/// The demo folder (keys, operator token, partner copy, store, legacy database) is kept between
/// runs, so the token and keys a user copied stay valid; `--reset` starts afresh. The port is
/// checked before anything is written.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run a gateway on the embedded defaults and deliver signed sample agreements into a legacy SQLite database.",
        discussion: """
            Creates demo keys, a copy of the stahlteile partner folder with the demo DIDs, the SQLite twin of the \
            ERP staging schema, and a handful of agreements signed by the demo seller and buyer; then runs the gateway, \
            submits them over HTTP, prints each receipt and where the rows are, and ends with a cheat sheet of commands \
            to try next (status, reconcile, ledger verify, signing and submitting an agreement of your own). The demo \
            folder is kept between runs (same keys, token and store); --reset starts afresh. The gateway keeps running \
            until Ctrl-C; --once exits after delivery.
            """)

    @Option(name: .long, help: "Working folder for the demo (kept between runs; see --reset).")
    var dir: String = "causeway-demo"

    @Option(name: .long, help: "The partner folder to demonstrate.")
    var partner: String = "Mappings/stahlteile"

    @Option(name: .long, help: "Port for the HTTP API.")
    var port: Int = 8080

    @Flag(name: .long, help: "Exit after the sample agreements are delivered.")
    var once = false

    @Flag(name: .long, help: "Delete the demo folder (keys, token, store, rows) and start afresh.")
    var reset = false

    static let marker = ".causeway-demo"
    static let samples = ["one-line", "multi-line", "unicode-descriptions", "kilograms", "no-delivery"]
    /// The unsigned agreement the cheat sheet signs with the demo keys (a new id on every run).
    static let template = "agreements/new-agreement.json"

    func validate() throws {
        if !(1...65535).contains(port) { throw ValidationError("--port must be from 1 to 65535") }
    }

    func run() async throws {
        let fm = FileManager.default
        let root = URL(fileURLWithPath: dir).standardizedFileURL
        // The port first: a busy port must not cost the user their demo folder.
        guard Loopback.portIsFree(port) else {
            throw CLIError("port \(port) on 127.0.0.1 is in use (another demo or gateway still running?); stop it, or pass --port")
        }
        let source = URL(fileURLWithPath: partner)
        guard fm.fileExists(atPath: source.appendingPathComponent("partner.yaml").path) else {
            throw CLIError("\(partner): no partner.yaml (run the demo from the repository root, or pass --partner)")
        }
        let partnerName = source.lastPathComponent
        let partnerCopy = root.appendingPathComponent("partners/\(partnerName)")
        let erp = root.appendingPathComponent("erp-staging.sqlite").path
        let tokenFile = root.appendingPathComponent("operator.token")
        let keyFiles = ["gateway", "seller", "buyer"].map { root.appendingPathComponent("\($0)-key.json").path }
        let stateFiles = keyFiles + [tokenFile.path, erp, partnerCopy.appendingPathComponent("partner.yaml").path]

        if fm.fileExists(atPath: root.path) {
            guard fm.fileExists(atPath: root.appendingPathComponent(Self.marker).path) else {
                throw CLIError("\(dir) exists and is not a demo folder; choose another --dir")
            }
            if reset || !stateFiles.allSatisfy({ fm.fileExists(atPath: $0) }) {
                if !reset { print("\(dir) is incomplete; starting afresh") }
                try fm.removeItem(at: root)
            }
        }
        let reused = fm.fileExists(atPath: root.path)
        try fm.createDirectory(at: root.appendingPathComponent("agreements"), withIntermediateDirectories: true)
        _ = fm.createFile(atPath: root.appendingPathComponent(Self.marker).path, contents: Data())

        // Keys: kept from an earlier run, or new.
        let gateway: SigningIdentity, seller: SigningIdentity, buyer: SigningIdentity
        if reused {
            gateway = try CLIInput.signingIdentity(keyFile: keyFiles[0])
            seller = try CLIInput.signingIdentity(keyFile: keyFiles[1])
            buyer = try CLIInput.signingIdentity(keyFile: keyFiles[2])
        } else {
            (gateway, seller, buyer) = (SigningIdentity(), SigningIdentity(), SigningIdentity())
            for (file, identity) in zip(keyFiles, [gateway, seller, buyer]) {
                do { try identity.writeKeyFile(to: file) } catch { throw CLIError(error.message) }
            }
            // The partner folder, speaking for the demo keys.
            try fm.createDirectory(at: partnerCopy.deletingLastPathComponent(), withIntermediateDirectories: true)
            try fm.copyItem(at: source, to: partnerCopy)
            let partnerYAML = partnerCopy.appendingPathComponent("partner.yaml")
            var text = try String(contentsOf: partnerYAML, encoding: .utf8)
            let fixtureSeller = "did:key:z6Mko12SmkNyyRjr4TXqooiUtAWrExSipaUDVgNBnVzEit1Q"
            let fixtureBuyer = "did:key:z6Mko1omFks17fyYuRDs5Hvzm9dnyCSrx8sxtdZHC5QMYJaV"
            text = text.replacingOccurrences(of: fixtureSeller, with: seller.didKey.did).replacingOccurrences(of: fixtureBuyer, with: buyer.didKey.did)
            try Data(text.utf8).write(to: partnerYAML)
            // The legacy database.
            let schemaURL = URL(fileURLWithPath: "Deploy/examples/erp-staging.sqlite.sql")
            guard let schema = try? String(contentsOf: schemaURL, encoding: .utf8) else { throw CLIError("Deploy/examples/erp-staging.sqlite.sql not found") }
            try SQLiteRowsAdapter(path: erp).execute(script: schema)
            // The operator token: 64 hex characters (the gateway refuses tokens under 32 bytes).
            let secret = (UUID().uuidString + UUID().uuidString).replacingOccurrences(of: "-", with: "").lowercased()
            try Data(secret.utf8).write(to: tokenFile)
            try fm.setAttributes([.posixPermissions: 0o600], ofItemAtPath: tokenFile.path)
        }

        // The configuration (written every run: the port may differ).
        var configuration = GatewayConfiguration()
        configuration.port = port
        configuration.store = .sqlite(path: root.appendingPathComponent("causeway.sqlite").path)
        configuration.identity = keyFiles[0]
        configuration.partners = root.appendingPathComponent("partners").path
        configuration.ledgerOrigin = "demo.local/causeway"
        configuration.targets = ["erp-staging": .init(adapter: "sqlite", settings: ["path": erp])]
        configuration.tokens = [.init(name: "demo-operator", role: .operator, secret: .file(tokenFile.path))]
        try Data("""
            # Written by 'causeway demo'; reuse with: causeway serve --config \(root.path)/causeway.yaml
            listen: 127.0.0.1:\(port)
            store: sqlite:\(root.appendingPathComponent("causeway.sqlite").path)
            identity: \(configuration.identity)
            partners: \(configuration.partners)
            ledger: {origin: demo.local/causeway}
            targets:
              erp-staging: {adapter: sqlite, path: \(erp)}
            tokens:
              - {name: demo-operator, role: operator, secret: "file:\(tokenFile.path)"}

            """.utf8).write(to: root.appendingPathComponent("causeway.yaml"))

        // Sample agreements, signed by the demo seller and buyer (kept from an earlier run: sent
        // again, they are known digests and deliver nothing twice).
        var files: [URL] = []
        for sample in Self.samples {
            let file = root.appendingPathComponent("agreements/\(sample).json")
            if fm.fileExists(atPath: file.path) {
                files.append(file)
                continue
            }
            let fixture = source.appendingPathComponent("fixtures/agreements/\(sample).json")
            guard var document = Self.withDemoParties(fixture: fixture, seller: seller, buyer: buyer) else { continue }
            let created = CLIInput.now()
            do {
                document = try EddsaJcs2022.addProof(to: document, signer: seller, options: .init(created: created))
                document = try EddsaJcs2022.addProof(to: document, signer: buyer, options: .init(created: created))
            } catch { throw CLIError(error.message) }
            try Data(JSONWriter.string(.object(document), style: .pretty).utf8).write(to: file)
            files.append(file)
        }
        // An unsigned agreement for the cheat sheet, with a new id (a business id is stored once).
        if var template = Self.withDemoParties(fixture: source.appendingPathComponent("fixtures/agreements/one-line.json"), seller: seller, buyer: buyer) {
            template["id"] = .string(RandomUUID.urn())
            try Data((JSONWriter.string(.object(template), style: .pretty) + "\n").utf8).write(to: root.appendingPathComponent(Self.template))
        }

        // Run the gateway and deliver.
        let application: any ApplicationProtocol
        do { application = try await buildApplication(configuration: configuration) } catch let error as StartupError {
            throw CLIError("the demo gateway cannot start:\n" + error.description)
        }
        // Our own service group, so that --once can shut the gateway down gracefully.
        let group = ServiceGroup(configuration: .init(services: [application], gracefulShutdownSignals: [.sigterm, .sigint],
                                                      logger: Logger(label: "causeway.demo")))
        let server = Task { try await group.run() }
        let base = "http://127.0.0.1:\(port)"
        var ready = false
        for _ in 0..<100 where !ready {
            if let (status, _) = try? await GatewayClient.send("GET", base + "/readyz"), status == 200 { ready = true } else {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        guard ready else {
            await group.triggerGracefulShutdown()
            throw CLIError("the demo gateway did not become ready on port \(port) (is the port in use? try --port)")
        }
        let token = try String(contentsOf: tokenFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        print("Causeway demo gateway \(gateway.didKey.did) on \(base)")
        if reused { print("(kept from the last run: keys, token, store and rows in \(dir); --reset starts afresh)") }
        for file in files {
            let (status, body) = try await GatewayClient.send("POST", base + "/v1/agreements", body: Array(try Data(contentsOf: file)), token: token)
            guard status == 202 || status == 200, let digest = body?["digest"]?.stringValue else {
                print(SubmitCommand.refusal(status: status, body: body, name: file.lastPathComponent, withToken: true))
                continue
            }
            var receipt: JSONValue?
            for _ in 0..<200 where receipt == nil {
                let (_, state) = try await GatewayClient.send("GET", base + "/v1/agreements/\(digest)", token: token)
                receipt = state?["receipts"]?[0]
                if receipt == nil { try await Task.sleep(for: .milliseconds(50)) }
            }
            guard let receipt else {
                print("  \(file.lastPathComponent): not delivered yet (causeway status \(digest))")
                continue
            }
            let reference = receipt["legacyRef"]?["id"]?.stringValue ?? "?"
            print("  \(file.lastPathComponent): delivered → erp_purchase_order \(reference); receipt \(receipt["id"]?.stringValue ?? "") (ledger #\(receipt["ledger"]?["seq"]?.exactInt ?? -1), signed by the gateway)")
        }
        print("")
        print(cheatSheet(base: base, erp: erp))
        if once {
            await group.triggerGracefulShutdown()
            _ = try? await server.value
            return
        }
        print("\nThe gateway keeps running (Ctrl-C to stop); run the commands above in another terminal.")
        fflush(nil)  // the cheat sheet shows at once also when the output is a file or a pipe
        try await server.value
    }

    /// A bundled fixture agreement with the demo seller and buyer as its parties and no proofs.
    static func withDemoParties(fixture: URL, seller: SigningIdentity, buyer: SigningIdentity) -> JSONObject? {
        guard let data = FileManager.default.contents(atPath: fixture.path), var document = try? JSONReader().read(Array(data)).objectValue else {
            return nil
        }
        document["proof"] = nil
        var parties = document["parties"]?.objectValue ?? [:]
        for (role, identity) in [("seller", seller), ("buyer", buyer)] {
            var party = parties[role]?.objectValue ?? [:]
            party["id"] = .string(identity.didKey.did)
            parties[role] = .object(party)
        }
        document["parties"] = .object(parties)
        return document
    }

    /// The commands to try next, exactly as they run from the current folder.
    func cheatSheet(base: String, erp: String) -> String {
        let d = dir.hasSuffix("/") ? String(dir.dropLast()) : dir
        // The folder of this binary as it was called (.build/debug, not the symlink's target), so the
        // PATH line names what scripts/demo built; a bare name found on the PATH needs no line.
        let called = CommandLine.arguments.first ?? ""
        let binaryFolder = called.contains("/")
            ? URL(fileURLWithPath: called).standardizedFileURL.deletingLastPathComponent().path
            : Bundle.main.executableURL?.deletingLastPathComponent().path ?? "."
        var next = [
            "  export PATH=\"\(binaryFolder):$PATH\"   # puts 'causeway' on the PATH",
            "  export CAUSEWAY_TOKEN=\"$(cat \(d)/operator.token)\"   # status, and a refusal's full reasons, need it",
        ]
        if port != 8080 { next.append("  export CAUSEWAY_GATEWAY=\(base)   # submit and status talk to this gateway") }
        next += [
            "  causeway status                                     # the latest agreements",
            "  causeway reconcile --config \(d)/causeway.yaml       # store, ERP rows and receipts agree",
            "  causeway ledger verify --config \(d)/causeway.yaml   # the receipt ledger is intact",
        ]
        let restart = once ? " (the gateway must run: scripts/demo again, or causeway serve --config \(d)/causeway.yaml)" : ""
        return """
            Rows:      sqlite3 \(erp) 'SELECT po_id, external_ref, total_amount, currency FROM erp_purchase_order'
            Dashboard: \(base)/ — sign in with the operator token in \(d)/operator.token
            API:       curl -H "Authorization: Bearer $(cat \(d)/operator.token)" \(base)/v1/agreements
            Agreements, keys and configuration: \(root(d))

            Try next — copy and paste into a shell in \(FileManager.default.currentDirectoryPath)\(restart):
            \(next.joined(separator: "\n"))

            Your own agreement, signed with the demo keys (the files under Mappings/*/fixtures are signed with
            the published test keys, which this gateway does not trust: intake.unknown_partner):
              causeway sign --key \(d)/seller-key.json --role seller --out \(d)/mine.seller.json \(d)/\(Self.template)
              causeway sign --key \(d)/buyer-key.json --role buyer --out \(d)/mine.json \(d)/mine.seller.json
              causeway submit \(d)/mine.json                      # prints its digest
              causeway status DIGEST                              # its actions and receipt
            (each demo run writes \(d)/\(Self.template) with a new id: edit lines, total or delivery, then sign)
            """
    }

    private func root(_ d: String) -> String { URL(fileURLWithPath: d).standardizedFileURL.path }
}
