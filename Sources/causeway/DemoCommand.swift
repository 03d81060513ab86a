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
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run a gateway on the embedded defaults and deliver signed sample agreements into a legacy SQLite database.",
        discussion: """
            Creates demo keys, a copy of the stahlteile partner folder with the demo DIDs, the SQLite twin of the \
            ERP staging schema, and a handful of agreements signed by the demo seller and buyer; then runs the gateway, \
            submits them over HTTP, and prints each receipt and where the rows are. The gateway keeps running until \
            Ctrl-C; --once exits after delivery.
            """)

    @Option(name: .long, help: "Working folder for the demo (recreated each run).")
    var dir: String = "causeway-demo"

    @Option(name: .long, help: "The partner folder to demonstrate.")
    var partner: String = "Mappings/stahlteile"

    @Option(name: .long, help: "Port for the HTTP API.")
    var port: Int = 8080

    @Flag(name: .long, help: "Exit after the sample agreements are delivered.")
    var once = false

    static let marker = ".causeway-demo"
    static let samples = ["one-line", "multi-line", "unicode-descriptions", "kilograms", "no-delivery"]

    func run() async throws {
        let fm = FileManager.default
        let root = URL(fileURLWithPath: dir).standardizedFileURL
        if fm.fileExists(atPath: root.path) {
            guard fm.fileExists(atPath: root.appendingPathComponent(Self.marker).path) else {
                throw CLIError("\(dir) exists and is not a demo folder; choose another --dir")
            }
            try fm.removeItem(at: root)
        }
        try fm.createDirectory(at: root.appendingPathComponent("agreements"), withIntermediateDirectories: true)
        fm.createFile(atPath: root.appendingPathComponent(Self.marker).path, contents: Data())

        // Keys.
        let gateway = SigningIdentity(), seller = SigningIdentity(), buyer = SigningIdentity()
        for (name, identity) in [("gateway", gateway), ("seller", seller), ("buyer", buyer)] {
            do { try identity.writeKeyFile(to: root.appendingPathComponent("\(name)-key.json").path) } catch { throw CLIError(error.message) }
        }
        // The partner folder, speaking for the demo keys.
        let source = URL(fileURLWithPath: partner)
        guard fm.fileExists(atPath: source.appendingPathComponent("partner.yaml").path) else {
            throw CLIError("\(partner): no partner.yaml (run the demo from the repository root, or pass --partner)")
        }
        let partnerName = source.lastPathComponent
        let partnerCopy = root.appendingPathComponent("partners/\(partnerName)")
        try fm.createDirectory(at: partnerCopy.deletingLastPathComponent(), withIntermediateDirectories: true)
        try fm.copyItem(at: source, to: partnerCopy)
        let partnerYAML = partnerCopy.appendingPathComponent("partner.yaml")
        var text = try String(contentsOf: partnerYAML, encoding: .utf8)
        let fixtureSeller = "did:key:z6Mko12SmkNyyRjr4TXqooiUtAWrExSipaUDVgNBnVzEit1Q"
        let fixtureBuyer = "did:key:z6Mko1omFks17fyYuRDs5Hvzm9dnyCSrx8sxtdZHC5QMYJaV"
        text = text.replacingOccurrences(of: fixtureSeller, with: seller.didKey.did).replacingOccurrences(of: fixtureBuyer, with: buyer.didKey.did)
        try Data(text.utf8).write(to: partnerYAML)

        // The legacy database and the configuration.
        let erp = root.appendingPathComponent("erp-staging.sqlite").path
        let schemaURL = URL(fileURLWithPath: "Deploy/examples/erp-staging.sqlite.sql")
        guard let schema = try? String(contentsOf: schemaURL, encoding: .utf8) else { throw CLIError("Deploy/examples/erp-staging.sqlite.sql not found") }
        try SQLiteRowsAdapter(path: erp).execute(script: schema)
        let tokenFile = root.appendingPathComponent("operator.token")
        try Data(UUID().uuidString.utf8).write(to: tokenFile)
        try fm.setAttributes([.posixPermissions: 0o600], ofItemAtPath: tokenFile.path)
        var configuration = GatewayConfiguration()
        configuration.port = port
        configuration.store = .sqlite(path: root.appendingPathComponent("causeway.sqlite").path)
        configuration.identity = root.appendingPathComponent("gateway-key.json").path
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

        // Sample agreements, signed by the demo seller and buyer.
        var files: [URL] = []
        for sample in Self.samples {
            let fixture = source.appendingPathComponent("fixtures/agreements/\(sample).json")
            guard let data = fm.contents(atPath: fixture.path), var document = try? JSONReader().read(Array(data)).objectValue else { continue }
            document["proof"] = nil
            var parties = document["parties"]?.objectValue ?? [:]
            for (role, identity) in [("seller", seller), ("buyer", buyer)] {
                var party = parties[role]?.objectValue ?? [:]
                party["id"] = .string(identity.didKey.did)
                parties[role] = .object(party)
            }
            document["parties"] = .object(parties)
            let created = CLIInput.now()
            do {
                document = try EddsaJcs2022.addProof(to: document, signer: seller, options: .init(created: created))
                document = try EddsaJcs2022.addProof(to: document, signer: buyer, options: .init(created: created))
            } catch { throw CLIError(error.message) }
            let file = root.appendingPathComponent("agreements/\(sample).json")
            try Data(JSONWriter.string(.object(document), style: .pretty).utf8).write(to: file)
            files.append(file)
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
        let token = try String(contentsOf: tokenFile, encoding: .utf8)
        print("Causeway demo gateway \(gateway.didKey.did) on \(base)")
        for file in files {
            let (status, body) = try await GatewayClient.send("POST", base + "/v1/agreements", body: Array(try Data(contentsOf: file)))
            guard status == 202 || status == 200, let digest = body?["digest"]?.stringValue else {
                print("  REFUSED \(file.lastPathComponent): \(body?["code"]?.stringValue ?? "HTTP \(status)") \(body?["detail"]?.stringValue ?? "")")
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
        print("""

            Rows:      sqlite3 \(erp) 'SELECT po_id, external_ref, total_amount, currency FROM erp_purchase_order'
            Dashboard: \(base)/ — sign in with the operator token in \(tokenFile.path)
            API:       curl -H "Authorization: Bearer $(cat \(tokenFile.path))" \(base)/v1/agreements
            Agreements, keys and configuration: \(root.path)
            """)
        if once {
            await group.triggerGracefulShutdown()
            _ = try? await server.value
            return
        }
        print("The gateway keeps running; submit more with 'causeway submit --gateway \(base) FILE'. Ctrl-C to stop.")
        try await server.value
    }
}
