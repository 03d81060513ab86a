import CausewayCore
import CausewayTesting
import Foundation
import Testing

/// Two parties' keys, a partners folder whose nordic-fasteners partner trusts them, and a signed
/// original (the nordic multi-line fixture under a fresh id, re-signed by these keys, delivery far
/// ahead) for changes and cancellations built and signed with `causeway amend` / `causeway cancel`.
struct NordicParties {
    let directory: URL
    let sellerKey: String
    let buyerKey: String
    let partners: URL

    init() throws {
        directory = try CommandRunner.temporaryDirectory("nordic-revisions")
        sellerKey = directory.appendingPathComponent("seller-key.json").path
        buyerKey = directory.appendingPathComponent("buyer-key.json").path
        for file in [sellerKey, buyerKey] {
            let made = try CommandRunner.causeway(["keys", "new", "--out", file])
            try #require(made.status == 0, "\(made)")
        }
        partners = directory.appendingPathComponent("partners")
        let folder = partners.appendingPathComponent("nordic-fasteners")
        try FileManager.default.createDirectory(at: partners, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: TestPaths.repository.appendingPathComponent("Mappings/nordic-fasteners"), to: folder)
        let yaml = folder.appendingPathComponent("partner.yaml")
        let text = try String(contentsOf: yaml, encoding: .utf8)
            .replacingOccurrences(of: "did:key:z6MkuZkPv26Ui6uSnAw1NbFL9yLoMPs5XBb5UxHbbwASo71C", with: try Self.did(sellerKey))
            .replacingOccurrences(of: "did:key:z6Mko1omFks17fyYuRDs5Hvzm9dnyCSrx8sxtdZHC5QMYJaV", with: try Self.did(buyerKey))
        try Data(text.utf8).write(to: yaml)
    }

    static func read(_ path: String) throws -> JSONValue { try JSONReader().read(Array(try Data(contentsOf: URL(fileURLWithPath: path)))) }
    static func did(_ key: String) throws -> String { try #require(try read(key)["did"]?.stringValue) }
    static func bytes(_ path: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path))) }
    static func digest(_ path: String) throws -> String { try Agreement(bytes: bytes(path)).digest.description }

    func file(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// The nordic multi-line agreement (M8 bolts 1000 × 1.30, M10 bolts 400 × 4.85, M10 nuts
    /// 400 × 0.95 SEK) with id `id`, these parties and delivery in 2036, signed by both.
    func original(_ id: String) throws -> String {
        let fixture = TestPaths.repository.appendingPathComponent("Mappings/nordic-fasteners/fixtures/agreements/multi-line.json").path
        var document = try #require(try Self.read(fixture).objectValue)
        document["proof"] = nil
        document["id"] = .string(id)
        var parties = try #require(document["parties"]?.objectValue)
        for (role, key) in [("seller", sellerKey), ("buyer", buyerKey)] {
            var party = try #require(parties[role]?.objectValue)
            party["id"] = .string(try Self.did(key))
            parties[role] = .object(party)
        }
        document["parties"] = .object(parties)
        var delivery = try #require(document["delivery"]?.objectValue)
        delivery["date"] = "2036-12-12"
        document["delivery"] = .object(delivery)
        let unsigned = file("original.unsigned.json"), half = file("original.half.json"), signed = file("original.json")
        try Data(JSONWriter.string(.object(document), style: .pretty).utf8).write(to: URL(fileURLWithPath: unsigned))
        for (key, role, input, output) in [(sellerKey, "seller", unsigned, half), (buyerKey, "buyer", half, signed)] {
            let result = try CommandRunner.causeway(["sign", "--key", key, "--role", role, "--out", output, input])
            try #require(result.status == 0, "\(result)")
        }
        return signed
    }

    /// A change of `previous` to `lines` (sku, quantity, unit price), signed by both parties.
    func amend(_ previous: String, lines: [(String, String, String)], reason: String, name: String) throws -> String {
        let descriptions = ["NF-M8X40-A2": "Sechskantschraube M8×40, A2-70", "NF-M10X60-A4": "Sexkantskruv M10x60 A4-80 «rostfri»",
                            "NF-NUT-M10": "Låsmutter M10 — nylon, klass 8"]
        let terms: JSONValue = ["lines": .array(lines.map { sku, quantity, price in
            ["sku": .string(sku), "description": .string(descriptions[sku] ?? sku), "quantity": .string(quantity), "unit": "pcs",
             "unitPrice": .string(price)]
        })]
        let termsFile = file("\(name).terms.json")
        try Data(JSONWriter.string(terms).utf8).write(to: URL(fileURLWithPath: termsFile))
        let out = file("\(name).json")
        let result = try CommandRunner.causeway(["amend", previous, "--terms", termsFile, "--reason", reason, "-o", out,
                                                 "--key", sellerKey, "--key", buyerKey])
        try #require(result.status == 0, "\(result)")
        return out
    }

    /// A cancellation of `previous` for `reason`, signed by both parties (the partner wants both).
    func cancel(_ previous: String, reason: String, name: String) throws -> String {
        let out = file("\(name).json")
        let result = try CommandRunner.causeway(["cancel", previous, "--reason", reason, "-o", out, "--key", sellerKey, "--key", buyerKey])
        try #require(result.status == 0, "\(result)")
        return out
    }
}

/// Issue 13, item 3, through a real `causeway serve`: a nordic-fasteners agreement becomes a
/// confirmed purchase in the real Tryton ERP, a UBL Order at the order inbox and a portal
/// notification; a signed change amends the purchase (purchase_amendment), sends a UBL OrderChange
/// (XSD-validated by the HTTP adapter, and again here) and PATCHes the notification; a second
/// change drops a line (quantity 0 in Tryton); a cancellation zeroes the purchase, sends an
/// OrderCancellation and DELETEs the notification. Once goods are received in Tryton, a
/// cancellation is rejected with the ERP's facts and dead-lettered (the API, `causeway status` and
/// the dashboard say so).
@Suite("Nordic Fasteners changes and cancellations: Tryton amendments, UBL OrderChange/OrderCancellation, portal PATCH/DELETE",
       .serialized)
struct NordicRevisionTests {
    /// Runs `body` with fresh parties and a gateway with the three nordic targets (the real Tryton,
    /// the recording server as order inbox and portal, its request log at the URL), stopped after.
    static func withGateway(_ body: (NordicParties, RunningGateway, URL) async throws -> Void) async throws {
        let parties = try NordicParties()
        let erp = try NordicEndToEndTests.tryton()
        let (server, port, requests) = try await NordicEndToEndTests.recordingServer(in: parties.directory)
        defer { kill(server.processIdentifier, SIGKILL) }
        let targets = """
              erp: {adapter: tryton, url: "\(erp.url)", user: "\(erp.user)", password: "env:CAUSEWAY_TEST_TRYTON_PASSWORD"}
              order-inbox: {adapter: http, base_url: "http://127.0.0.1:\(port)", lookup_path: "/lookup?idempotency_key={key}"}
              portal: {adapter: http, base_url: "http://127.0.0.1:\(port)", honours_idempotency_key: true, lookup_path: "/lookup?idempotency_key={key}"}
            """
        let gateway = try RunningGateway(targets: targets, partners: parties.partners, delivery: "  max_attempts: 3")
        defer { _ = gateway.stop() }
        try await gateway.waitUntilReady()
        try await body(parties, gateway, requests)
        #expect(gateway.stop() == 0, "\(gateway.log.suffix(2000))")
    }

    /// Submits a signed original with `id` and waits for its delivery: its file, digest, JSON and
    /// the number of the Tryton purchase it created.
    static func create(_ parties: NordicParties, _ gateway: RunningGateway, id: String) async throws
        -> (file: String, digest: String, body: JSONValue, number: String)
    {
        let file = try parties.original(id)
        let (digest, body) = try await apply(gateway, file, until: "delivered")
        let number = try #require(receipt(body, "erp")?["legacyRef"]?["id"]?.stringValue)
        return (file, digest, body, number)
    }

    /// Waits until `digest` has `status` and, unless dead-lettered, one receipt per action; returns its JSON.
    static func wait(_ gateway: RunningGateway, _ digest: String, for status: String, sourceLocation: SourceLocation = #_sourceLocation)
        async throws -> JSONValue
    {
        var last: JSONValue?
        for _ in 0..<300 {
            let (code, body) = try await gateway.request("GET", "/v1/agreements/\(digest)", token: gateway.token)
            last = body
            let receipts = body?["receipts"]?.arrayValue?.count ?? 0
            if code == 200, body?["status"]?.stringValue == status, status == "dead_letter" || receipts == 3 {
                return try #require(body)
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        Issue.record("\(digest) never reached \(status): \(last.map { JSONWriter.string($0) } ?? "nothing")\n\(gateway.log.suffix(4000))",
                     sourceLocation: sourceLocation)
        throw MissingTestInput(path: digest, hint: "not \(status)")
    }

    static func submit(_ gateway: RunningGateway, _ path: String) async throws -> Int {
        let (status, body) = try await gateway.request("POST", "/v1/agreements", body: try NordicParties.bytes(path))
        #expect(status == 202, "\(body.map { JSONWriter.string($0) } ?? "")")
        return status
    }

    /// Submits a signed version and waits until it has `status`: its digest and JSON.
    static func apply(_ gateway: RunningGateway, _ file: String, until status: String, sourceLocation: SourceLocation = #_sourceLocation)
        async throws -> (digest: String, body: JSONValue)
    {
        let digest = try NordicParties.digest(file)
        #expect(try await submit(gateway, file) == 202, sourceLocation: sourceLocation)
        return (digest, try await wait(gateway, digest, for: status, sourceLocation: sourceLocation))
    }

    /// The purchase numbered `number` as tryton_purchase.py shows it.
    static func purchase(_ number: String) throws -> JSONValue {
        try tryton(["show", number])
    }

    static func tryton(_ arguments: [String]) throws -> JSONValue {
        let script = TestPaths.repository.appendingPathComponent("Tests/CausewayCLITests/Support/tryton_purchase.py").path
        let result = try CommandRunner.run(TestPaths.python ?? "/usr/bin/python3", [script] + arguments)
        try #require(result.status == 0, "\(result)")
        return try JSONReader().read(Array(result.stdout.utf8))
    }

    /// Every request the recording server logged, in order.
    static func requests(_ log: URL) throws -> [JSONValue] {
        try String(contentsOf: log, encoding: .utf8).split(separator: "\n").map { try JSONReader().read(Array($0.utf8)) }
    }

    /// The one logged request carrying Idempotency-Key `key`, other than lookups.
    static func request(_ log: URL, key: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> JSONValue {
        let found = try requests(log).filter { $0["headers"]?["idempotency-key"]?.stringValue == key && $0["method"]?.stringValue != "GET" }
        #expect(found.count == 1, "one request with key \(key): \(found.count)", sourceLocation: sourceLocation)
        return try #require(found.first, sourceLocation: sourceLocation)
    }

    /// xmllint's verdict on `document` against the partner's `schema`.
    static func validates(_ document: String, _ schema: String, in directory: URL) throws -> Bool {
        let file = directory.appendingPathComponent("received-\(UUID().uuidString).xml")
        try Data(document.utf8).write(to: file)
        let xsd = TestPaths.repository.appendingPathComponent("Mappings/nordic-fasteners/schemas/\(schema)").path
        let result = try CommandRunner.run("/usr/bin/xmllint", ["--noout", "--schema", xsd, file.path])
        #expect(result.status == 0, "\(result.stderr)")
        return result.status == 0
    }

    /// The receipt of the action aimed at `target`.
    static func receipt(_ body: JSONValue, _ target: String) -> JSONValue? {
        body["receipts"]?.arrayValue?.first { $0["action"]?["target"]?.stringValue == target }
    }

    @Test("create → change quantity and price → change again, a line dropped → cancel: the Tryton purchase amended then zeroed, OrderChange v2/v3 and OrderCancellation at the inbox, the portal PATCHed then DELETEd, receipts linked")
    func life() async throws {
        try await Self.withGateway { parties, gateway, log in try await Self.life(parties, gateway, log) }
    }

    static func life(_ parties: NordicParties, _ gateway: RunningGateway, _ log: URL) async throws {
        let id = "urn:uuid:\(UUID().uuidString.lowercased())"
        let encodedID = id.replacingOccurrences(of: ":", with: "%3A")

        // Version 1: a confirmed purchase, a UBL Order, a portal notification.
        let (v1, v1Digest, first, number) = try await Self.create(parties, gateway, id: id)
        var purchase = try Self.purchase(number)
        #expect(purchase["state"]?.stringValue == "processing")
        #expect(purchase["lines"] == ["FAST-M8X40:1000@1.3000", "FAST-M10X60:400@4.8500", "FAST-NUT-M10:400@0.9500"])
        #expect(purchase["total"]?.stringValue == "3620.00")

        // Version 2: more M8 bolts at a lower price.
        let v2 = try parties.amend(v1, lines: [("NF-M8X40-A2", "1200", "1.25"), ("NF-M10X60-A4", "400", "4.85"), ("NF-NUT-M10", "400", "0.95")],
                                   reason: "fler M8-skruvar", name: "v2")
        let (v2Digest, second) = try await Self.apply(gateway, v2, until: "delivered")
        purchase = try Self.purchase(number)
        #expect(purchase["state"]?.stringValue == "processing")
        #expect(purchase["revision"]?.exactInt == 1)
        #expect(purchase["lines"] == ["FAST-M8X40:1200@1.2500", "FAST-M10X60:400@4.8500", "FAST-NUT-M10:400@0.9500"])
        #expect(purchase["total"]?.stringValue == "3820.00")
        #expect(purchase["amendments"] == .array([.string("validated \(v2Digest)/0")]), "one amendment, marked with the change's key")
        #expect(Self.receipt(second, "erp")?["legacyRef"]?["id"]?.stringValue == number, "the change names the same purchase")

        let change = try Self.request(log, key: "\(v2Digest)/1")
        #expect(change["method"]?.stringValue == "POST" && change["path"]?.stringValue == "/orders")
        let changeXML = try #require(change["body"]?.stringValue)
        #expect(changeXML.contains("<OrderChange xmlns=\"urn:oasis:names:specification:ubl:schema:xsd:OrderChange-2\""))
        #expect(changeXML.contains("<cbc:SequenceNumberID>2</cbc:SequenceNumberID>"))
        #expect(changeXML.contains("<cac:OrderReference><cbc:ID>\(id)</cbc:ID>"))
        #expect(changeXML.contains("<cbc:PayableAmount currencyID=\"SEK\">3820.00</cbc:PayableAmount>"))
        #expect(try Self.validates(changeXML, "UBL-OrderChange-2.1-subset.xsd", in: parties.directory))

        let patch = try Self.request(log, key: "\(v2Digest)/2")
        #expect(patch["method"]?.stringValue == "PATCH")
        #expect(patch["path"]?.stringValue == "/api/v1/order-notifications/\(encodedID)")
        let patchBody = try JSONReader().read(Array((patch["body"]?.stringValue ?? "").utf8))
        #expect(patchBody["version"]?.exactInt == 2)
        #expect(patchBody["total"]?.stringValue == "3820.00" && patchBody["previousTotal"]?.stringValue == "3620.00")
        #expect(patchBody["orderReference"]?.stringValue == id)

        for target in ["erp", "order-inbox", "portal"] {
            let receipt = Self.receipt(second, target)
            #expect(receipt?["agreement"]?["version"]?.exactInt == 2, "\(target)")
            #expect(receipt?["agreement"]?["amends"]?.stringValue == v1Digest, "\(target)")
            #expect(receipt?["previousReceipt"]?.stringValue == Self.receipt(first, target)?["id"]?.stringValue, "\(target) links v1's receipt")
        }

        // Version 3: the M10 nuts dropped — Tryton keeps the line at quantity 0.
        let v3 = try parties.amend(v2, lines: [("NF-M8X40-A2", "1200", "1.25"), ("NF-M10X60-A4", "400", "4.85")],
                                   reason: "M10-muttrar köps lokalt", name: "v3")
        let (v3Digest, third) = try await Self.apply(gateway, v3, until: "delivered")
        purchase = try Self.purchase(number)
        #expect(purchase["revision"]?.exactInt == 2)
        #expect(purchase["lines"] == ["FAST-M8X40:1200@1.2500", "FAST-M10X60:400@4.8500", "FAST-NUT-M10:0@0.9500"])
        #expect(purchase["total"]?.stringValue == "3440.00")
        let secondChange = try #require(try Self.request(log, key: "\(v3Digest)/1")["body"]?.stringValue)
        #expect(secondChange.contains("<cbc:SequenceNumberID>3</cbc:SequenceNumberID>"))
        #expect(!secondChange.contains("NF-NUT-M10"), "the dropped line is no longer ordered")
        #expect(try Self.validates(secondChange, "UBL-OrderChange-2.1-subset.xsd", in: parties.directory))
        #expect(try Self.request(log, key: "\(v3Digest)/2")["method"]?.stringValue == "PATCH")
        #expect(Self.receipt(third, "portal")?["previousReceipt"]?.stringValue == Self.receipt(second, "portal")?["id"]?.stringValue)

        // Version 4: cancelled by both — every line at 0 in Tryton, an OrderCancellation, a DELETE.
        let cancel = try parties.cancel(v3, reason: "projektet är uppskjutet", name: "cancel")
        let (cancelDigest, cancelled) = try await Self.apply(gateway, cancel, until: "cancelled")
        purchase = try Self.purchase(number)
        #expect(purchase["state"]?.stringValue == "done")
        #expect(purchase["revision"]?.exactInt == 3)
        #expect(purchase["lines"] == ["FAST-M8X40:0@1.2500", "FAST-M10X60:0@4.8500", "FAST-NUT-M10:0@0.9500"])
        #expect(Decimal(string: purchase["total"]?.stringValue ?? "x") == 0)
        #expect(purchase["amendments"]?.arrayValue?.count == 3)

        let cancellation = try #require(try Self.request(log, key: "\(cancelDigest)/1")["body"]?.stringValue)
        #expect(cancellation.contains("<OrderCancellation xmlns=\"urn:oasis:names:specification:ubl:schema:xsd:OrderCancellation-2\""))
        #expect(cancellation.contains("<cbc:CancellationNote>projektet är uppskjutet</cbc:CancellationNote>"))
        #expect(cancellation.contains("<cac:OrderReference><cbc:ID>\(id)</cbc:ID>"))
        #expect(try Self.validates(cancellation, "UBL-OrderCancellation-2.1-subset.xsd", in: parties.directory))
        let delete = try Self.request(log, key: "\(cancelDigest)/2")
        #expect(delete["method"]?.stringValue == "DELETE")
        #expect(delete["path"]?.stringValue == "/api/v1/order-notifications/\(encodedID)?version=4&reason=projektet%20%C3%A4r%20uppskjutet")
        for target in ["erp", "order-inbox", "portal"] {
            let receipt = Self.receipt(cancelled, target)
            #expect(receipt?["agreement"]?["version"]?.exactInt == 4, "\(target)")
            #expect(receipt?["previousReceipt"]?.stringValue == Self.receipt(third, target)?["id"]?.stringValue, "\(target)")
        }

        // The chain, from any version; each version's three deliveries went out exactly once.
        let shown = try #require(try await gateway.request("GET", "/v1/agreements/\(v1Digest)", token: gateway.viewerToken).1)
        #expect(shown["versions"]?.arrayValue?.compactMap { $0["status"]?.stringValue } == ["delivered", "delivered", "delivered", "cancelled"])
        let sent = try Self.requests(log).filter { $0["method"]?.stringValue != "GET" }
        // v1: Order + notification; v2, v3: OrderChange + PATCH; v4: OrderCancellation + DELETE.
        let methods = Dictionary(grouping: sent.map { $0["method"]?.stringValue ?? "" }, by: { $0 }).mapValues(\.count)
        #expect(methods == ["POST": 5, "PATCH": 2, "DELETE": 1],
                "\(sent.map { "\($0["method"]?.stringValue ?? "") \($0["path"]?.stringValue ?? "")" })")
    }

    @Test("a cancellation after the goods were received in Tryton is rejected with the ERP's facts, dead-lettered, and shown so by the API, causeway status and the dashboard; Tryton is left as it was")
    func cancelAfterReceipt() async throws {
        try await Self.withGateway { parties, gateway, _ in try await Self.cancelAfterReceipt(parties, gateway) }
    }

    static func cancelAfterReceipt(_ parties: NordicParties, _ gateway: RunningGateway) async throws {
        let (v1, v1Digest, _, number) = try await Self.create(parties, gateway, id: "urn:uuid:\(UUID().uuidString.lowercased())")

        // The warehouse receives the goods.
        let received = try Self.tryton(["receive", number])
        #expect(received["moves"]?.arrayValue?.count == 3)
        let before = try Self.purchase(number)
        #expect(before["shipmentState"]?.stringValue == "received")

        let cancel = try parties.cancel(v1, reason: "för sent", name: "cancel")
        let (cancelDigest, dead) = try await Self.apply(gateway, cancel, until: "dead_letter")
        let erpAction = try #require(dead["actions"]?.arrayValue?.first { $0["target"]?.stringValue == "erp" })
        #expect(erpAction["state"]?.stringValue == "dead_letter", "\(erpAction)")
        let reason = erpAction["lastError"]?.stringValue ?? ""
        #expect(reason.contains("purchase \(number)") && reason.contains("goods already received"), "\(reason)")
        #expect(Self.receipt(dead, "erp") == nil, "no receipt for a rejected action")

        // Tryton is untouched: no amendment, the lines and the total as they were.
        let after = try Self.purchase(number)
        #expect(after["amendments"] == .array([]), "\(after)")
        #expect(after["lines"] == before["lines"] && after["total"] == before["total"] && after["state"] == before["state"])

        // The API and `causeway status` show the dead letter with the ERP's reason.
        let shown = try #require(try await gateway.request("GET", "/v1/agreements/\(v1Digest)", token: gateway.viewerToken).1)
        #expect(shown["versions"]?.arrayValue?.compactMap { $0["status"]?.stringValue } == ["delivered", "dead_letter"])
        let status = try CommandRunner.causeway(["status", "--gateway", "http://127.0.0.1:\(gateway.port)", cancelDigest],
                                                environment: ["CAUSEWAY_TOKEN": gateway.viewerToken])
        #expect(status.status == 0, "\(status)")
        #expect(status.stdout.contains("\(cancelDigest)  dead_letter  nordic-fasteners"), "\(status.stdout)")
        #expect(status.stdout.contains("→ erp: dead_letter") && status.stdout.contains("goods already received"), "\(status.stdout)")

        // So does the dashboard's page of the cancellation, to a viewer.
        let viewer = try DashboardTests.signIn(gateway, token: gateway.viewerToken)
        let page = try DashboardTests.curl(gateway, "GET", "/orders/\(cancelDigest)", cookie: viewer.cookie)
        #expect(page.status == 200)
        #expect(page.body.contains("dead letter") && page.body.contains("goods already received"), "\(page.body.prefix(3000))")
    }
}
