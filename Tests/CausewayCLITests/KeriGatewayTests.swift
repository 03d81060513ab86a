import CausewayCore
import CausewayTesting
import CausewayTrust
import Crypto
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// KERI identities through a real `causeway serve`: a partner's seller is a KERI AID that
/// rotates (its server pushes the KEL, or publishes it for did:webs), and the gateway itself is a
/// KERI controller that rotates while `causeway ledger verify` stays intact.
@Suite("KERI in the gateway", .serialized)
struct KeriGatewayTests {
    static func key(_ byte: UInt8) -> Curve25519.Signing.PrivateKey {
        try! Curve25519.Signing.PrivateKey(rawRepresentation: Array(repeating: byte, count: 32))
    }

    let buyer = try! SigningIdentity(seed: Array(repeating: 91, count: 32))

    /// A partners folder whose stahlteile partner's seller is `seller` (an AID or a KERI DID),
    /// optionally with `kel` shipped as `kel/AID.cesr`.
    func partners(seller: String, kel: KERIKeyEventLog? = nil) throws -> URL {
        let partners = try CommandRunner.temporaryDirectory("keri-partners")
        let partner = partners.appendingPathComponent("stahlteile")
        try FileManager.default.copyItem(at: TestPaths.repository.appendingPathComponent("Mappings/stahlteile"), to: partner)
        try Data("""
            name: stahlteile
            roles:
              seller: [\(seller)]
              buyer: [\(buyer.didKey.did)]
            mapping: purchase-order.yaml
            limits: {max_total: "250000.00", currencies: [EUR]}
            accepts: [PurchaseAgreement]
            keri: {policy: latest-only}
            """.utf8).write(to: partner.appendingPathComponent("partner.yaml"))
        if let kel {
            try FileManager.default.createDirectory(at: partner.appendingPathComponent("kel"), withIntermediateDirectories: true)
            try Data(kel.cesr).write(to: partner.appendingPathComponent("kel/\(kel.prefix).cesr"))
        }
        return partners
    }

    /// A fresh one-line agreement (new id) whose seller `did` signs under `controller`'s latest
    /// state, or under `state` with `keys`, and the buyer signs with its did:key.
    func agreement(seller did: String, state: KERIKeyState, keys: [Curve25519.Signing.PrivateKey], number: Int) throws -> [UInt8] {
        let fixture = TestPaths.repository.appendingPathComponent("Mappings/stahlteile/fixtures/agreements/one-line.json")
        var document = try #require(try JSONReader().read(Array(try Data(contentsOf: fixture))).objectValue)
        document["proof"] = nil
        document["id"] = .string("urn:uuid:7e1e0000-0000-4000-8000-\(String(format: "%012d", number))")
        document["parties"] = [
            "buyer": ["id": .string(buyer.didKey.did), "name": "Konepaja Oy", "vatId": "FI12345678"],
            "seller": ["id": .string(did), "name": "Stahlteile GmbH", "vatId": "DE123456789"],
        ]
        var signed = try KERISigning.addProofs(to: document, did: did, state: state, keys: keys, created: "2026-11-11T08:00:00Z")
        signed = try EddsaJcs2022.addProof(to: signed, signer: buyer, options: .init(created: "2026-11-11T08:00:00Z"))
        return Array(JSONWriter.string(.object(signed)).utf8)
    }

    /// A party's web server on loopback: Python's `http.server` serving `directory`, each request
    /// (and each unreadable one) logged to `log`. Returns once it answers.
    static func fileServer(_ directory: URL, log: URL) async throws -> (Process, Int) {
        let port = TestPorts.free(in: 32_001...40_000)
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let server = Process()
        server.executableURL = URL(fileURLWithPath: TestPaths.python ?? "/usr/bin/python3")
        server.arguments = ["-u", "-m", "http.server", String(port), "--bind", "127.0.0.1", "--directory", directory.path]
        server.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        server.standardError = try FileHandle(forWritingTo: log)
        try server.run()
        for _ in 0..<50 {
            if (try? Data(contentsOf: URL(string: "http://127.0.0.1:\(port)/")!)) != nil { return (server, port) }
            try await Task.sleep(for: .milliseconds(100))
        }
        kill(server.processIdentifier, SIGKILL)
        throw MissingTestInput(path: "python3 -m http.server", hint: "the partner's web server did not start")
    }

    /// A plain-text endpoint that needs a token.
    static func text(_ gateway: RunningGateway, _ path: String, token: String) async throws -> String {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(gateway.port)\(path)")!)
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        let (data, _) = try await URLSession.shared.data(for: request)
        return String(decoding: data, as: UTF8.self)
    }

    func codes(_ body: JSONValue?) -> [String] {
        body?["findings"]?.arrayValue?.compactMap { $0["code"]?.stringValue } ?? []
    }

    @Test("a partner rotates and pushes its KEL: the new key is accepted without touching the partner folder, the old one refused")
    func partnerRotationPushed() async throws {
        var seller = try KERIController.incept(keys: [Self.key(101)], nextKeys: [Self.key(102).publicKey])
        let did = "did:keri:" + seller.prefix
        let inception = seller.log
        let folder = try partners(seller: seller.prefix, kel: inception)
        let gateway = try RunningGateway(partners: folder)
        defer { _ = gateway.stop() }
        try await gateway.waitUntilReady()

        // Signed under the inception, with the KEL from the partner folder.
        let (first, firstBody) = try await gateway.request("POST", "/v1/agreements",
                                                           body: agreement(seller: did, state: inception.latestState, keys: seller.keys, number: 1))
        #expect(first == 202, "\(String(describing: firstBody))")

        // The partner rotates; signed with the new key before the push: the event is unknown.
        let oldKeys = seller.keys
        try seller.rotate(to: [Self.key(102)], nextKeys: [Self.key(103).publicKey])
        let early = try await gateway.request("POST", "/v1/agreements",
                                              body: agreement(seller: did, state: seller.log.latestState, keys: seller.keys, number: 2))
        #expect(early.0 == 422 && codes(early.1) == ["keri.event_unknown"], "\(String(describing: early.1))")

        // Its server pushes the rotated KEL.
        let (pushed, pushBody) = try await gateway.request("POST", "/v1/kel", body: seller.log.cesr)
        #expect(pushed == 200 && pushBody?["outcome"]?.stringValue == "extended", "\(String(describing: pushBody))")
        let (fetched, _) = try await gateway.request("GET", "/v1/kel/\(seller.prefix)")
        #expect(fetched == 200)

        let (accepted, acceptedBody) = try await gateway.request(
            "POST", "/v1/agreements", body: agreement(seller: did, state: seller.log.latestState, keys: seller.keys, number: 2))
        #expect(accepted == 202, "\(String(describing: acceptedBody))")
        // The old key under the old event: refused under latest-only.
        let stale = try await gateway.request("POST", "/v1/agreements",
                                              body: agreement(seller: did, state: inception.latestState, keys: oldKeys, number: 3))
        #expect(stale.0 == 422 && codes(stale.1) == ["keri.key_state_stale"], "\(String(describing: stale.1))")

        // The provenance of the accepted agreement records the key state used.
        let digest = acceptedBody?["digest"]?.stringValue ?? ""
        let (_, shown) = try await gateway.request("GET", "/v1/agreements/\(digest)", token: gateway.viewerToken)
        let signers = shown?["verification"]?["signers"]?.arrayValue ?? []
        #expect(signers.contains { $0["keri"]?["s"]?.stringValue == "1" && $0["keri"]?["d"]?.stringValue == seller.log.latestState.said },
                "\(String(describing: shown))")

        // Regressions and forks are refused; a fork is recorded as duplicity and counted.
        let (regressed, _) = try await gateway.request("POST", "/v1/kel", body: inception.cesr)
        #expect(regressed == 409)
        var fork = try KERIController(log: inception, keys: oldKeys)
        try fork.interact(anchors: [])
        let (forked, forkBody) = try await gateway.request("POST", "/v1/kel", body: fork.log.cesr)
        #expect(forked == 409 && forkBody?["code"]?.stringValue == "keri.kel_duplicity", "\(String(describing: forkBody))")
        let (_, metrics) = try await gateway.text("/metrics")
        #expect(metrics.contains("causeway_keri_duplicity_total 1"), "\(metrics)")
        let session = try DashboardTests.signIn(gateway, token: gateway.viewerToken)
        let overview = try DashboardTests.curl(gateway, "GET", "/", cookie: session.cookie).body
        #expect(overview.contains("id=\"keri-duplicity\"") && overview.contains(seller.prefix) && overview.contains(fork.log.lastSAID),
                "the dashboard's overview lists the duplicity")
        // A KEL of an AID no partner names is not taken; a broken one is named.
        let stranger = try KERIController.incept(keys: [Self.key(104)], nextKeys: [Self.key(105).publicKey])
        #expect(try await gateway.request("POST", "/v1/kel", body: stranger.log.cesr).0 == 404)
        var broken = seller.log.cesr
        broken[broken.count - 3] = broken[broken.count - 3] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        let (invalid, invalidBody) = try await gateway.request("POST", "/v1/kel", body: broken)
        #expect(invalid == 422 && invalidBody?["code"]?.stringValue == "keri.kel_invalid")

        // A did:webs DID of this AID that no partner names is never resolved: an agreement cannot
        // make the gateway fetch from a host of its choosing.
        let served = try CommandRunner.temporaryDirectory("webs-unlisted")
        let requests = served.appendingPathComponent("requests.log")
        let (server, port) = try await Self.fileServer(served, log: requests)
        defer { kill(server.processIdentifier, SIGKILL) }
        try await Task.sleep(for: .milliseconds(300))
        let probes = try Data(contentsOf: requests).count
        var unpushed = seller
        try unpushed.rotate(to: [Self.key(103)], nextKeys: [Self.key(106).publicKey])
        let unlisted = "did:webs:127.0.0.1%3A\(port):\(seller.prefix)"
        let (refused, refusedBody) = try await gateway.request(
            "POST", "/v1/agreements", body: agreement(seller: unlisted, state: unpushed.log.latestState, keys: unpushed.keys, number: 5))
        #expect(refused == 422 && codes(refusedBody) == ["keri.event_unknown"], "\(String(describing: refusedBody))")
        try await Task.sleep(for: .milliseconds(300))
        #expect(try Data(contentsOf: requests).count == probes,
                "the gateway fetched from a did:webs host no partner names")

        // After a restart the stored KEL (not the folder's older one) is in force.
        #expect(gateway.stop() == 0)
        try gateway.start()
        try await gateway.waitUntilReady()
        let (again, againBody) = try await gateway.request(
            "POST", "/v1/agreements", body: agreement(seller: did, state: seller.log.latestState, keys: seller.keys, number: 4))
        #expect(again == 202, "\(String(describing: againBody))")
        let partnerKEL = try Data(contentsOf: gateway.directory.appendingPathComponent("partners/stahlteile/kel/\(seller.prefix).cesr"))
        #expect(Array(partnerKEL) == inception.cesr, "the partner folder was not touched")
    }

    @Test("did:webs: the gateway resolves the partner's published KEL, and again when a proof names a newer event")
    func didWebsResolution() async throws {
        let served = try CommandRunner.temporaryDirectory("webs-root")
        var seller = try KERIController.incept(keys: [Self.key(111)], nextKeys: [Self.key(112).publicKey])
        let publish = { (log: KERIKeyEventLog) throws in
            let folder = served.appendingPathComponent("partner/\(log.prefix)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try Data(log.cesr).write(to: folder.appendingPathComponent("keri.cesr"))
        }
        try publish(seller.log)
        let (server, port) = try await Self.fileServer(served, log: served.appendingPathComponent("requests.log"))
        defer { kill(server.processIdentifier, SIGKILL) }

        let did = "did:webs:127.0.0.1%3A\(port):partner:\(seller.prefix)"
        let gateway = try RunningGateway(partners: try partners(seller: did), extra: "keri: {insecure_loopback: true, refresh_seconds: 0}")
        defer { _ = gateway.stop() }
        try await gateway.waitUntilReady()

        // No KEL known yet: the first proof makes the gateway resolve the did:webs.
        let (first, firstBody) = try await gateway.request("POST", "/v1/agreements",
                                                           body: agreement(seller: did, state: seller.log.latestState, keys: seller.keys, number: 11))
        #expect(first == 202, "\(String(describing: firstBody)) \(gateway.log)")
        // The partner rotates and publishes; the next proof names sn 1 and is resolved on demand
        // (after the minimum interval between two resolutions of one DID).
        try seller.rotate(to: [Self.key(112)], nextKeys: [Self.key(113).publicKey])
        try publish(seller.log)
        try await Task.sleep(for: .seconds(10.5))
        let (second, secondBody) = try await gateway.request("POST", "/v1/agreements",
                                                             body: agreement(seller: did, state: seller.log.latestState, keys: seller.keys, number: 12))
        #expect(second == 202, "\(String(describing: secondBody)) \(gateway.log)")
    }

    @Test("the gateway is a KERI controller: receipts name their event, a rotation leaves ledger verify intact")
    func gatewayRotation() async throws {
        let gateway = try RunningGateway(partners: nil, extra: "keri: {webs: \"gateway.example%3A8443:causeway\"}", start: false)
        defer { _ = gateway.stop() }
        try FileManager.default.removeItem(at: gateway.directory.appendingPathComponent("key.json"))
        let incepted = try CommandRunner.causeway(["keys", "new", "--keri", "--out", "key.json"], in: gateway.directory)
        #expect(incepted.status == 0, "\(incepted)")
        let aidDID = incepted.stdout.split(separator: "\n").first.map(String.init) ?? ""
        #expect(aidDID.hasPrefix("did:keri:E"))
        let aid = String(aidDID.dropFirst("did:keri:".count))
        let websDID = "did:webs:gateway.example%3A8443:causeway:" + aid
        let next = gateway.directory.appendingPathComponent("key.next.json").path
        #expect((try FileManager.default.attributesOfItem(atPath: next)[.posixPermissions] as? Int) == 0o600)

        try gateway.start()
        try await gateway.waitUntilReady()
        let (_, identity) = try await gateway.request("GET", "/v1/identity")
        #expect(identity?["did"]?.stringValue == websDID && identity?["aid"]?.stringValue == aid && identity?["keyState"]?["s"]?.stringValue == "0")
        let fixtures = TestPaths.repository.appendingPathComponent("Mappings/stahlteile/fixtures/agreements")

        func submitAndAwaitReceipt(_ name: String) async throws -> JSONValue? {
            let bytes = Array(try Data(contentsOf: fixtures.appendingPathComponent("\(name).json")))
            let (status, body) = try await gateway.request("POST", "/v1/agreements", body: bytes)
            #expect(status == 202, "\(String(describing: body))")
            let digest = body?["digest"]?.stringValue ?? ""
            for _ in 0..<150 {
                if let found = try? await gateway.request("GET", "/v1/agreements/\(digest)", token: gateway.viewerToken).1?["receipts"]?.arrayValue?.first {
                    return found
                }
                try await Task.sleep(for: .milliseconds(200))
            }
            return nil
        }

        let before = try await submitAndAwaitReceipt("one-line")
        #expect(before?["issuer"]?.stringValue == websDID, "\(gateway.log)")
        #expect(before?["proof"]?["keriEvent"]?["s"]?.stringValue == "0")

        // Rotate the gateway's key while it is stopped, then start it again.
        #expect(gateway.stop() == 0)
        let rotated = try CommandRunner.causeway(["keys", "rotate", "key.json"], in: gateway.directory)
        #expect(rotated.status == 0, "\(rotated)")
        try gateway.start()
        try await gateway.waitUntilReady()
        let (_, identityAfter) = try await gateway.request("GET", "/v1/identity")
        #expect(identityAfter?["did"]?.stringValue == websDID && identityAfter?["keyState"]?["s"]?.stringValue == "1")
        let after = try await submitAndAwaitReceipt("multi-line")
        #expect(after?["proof"]?["keriEvent"]?["s"]?.stringValue == "1")
        #expect(after?["proof"]?["verificationMethod"]?.stringValue != before?["proof"]?["verificationMethod"]?.stringValue)

        // The did:webs files: the KEL with both events.
        let (kelStatus, kelText) = try await gateway.text("/causeway/\(aid)/keri.cesr")
        #expect(kelStatus == 200)
        let (_, document) = try await gateway.request("GET", "/causeway/\(aid)/did.json")
        #expect(document?["id"]?.stringValue == websDID && document?["alsoKnownAs"]?[0]?.stringValue == aidDID)
        #expect(document?["verificationMethod"]?[0]?["id"]?.stringValue == "#" + (identityAfter?["keyState"]?["keys"]?[0]?.stringValue ?? "?"))
        #expect(try KERIKeyEventLog(validating: Array(kelText.utf8)).lastSN == 1)

        // Every receipt, before and after the rotation, verifies against the KEL at its event.
        // (Checkpoints are signed by the current key: wait for the first one the new key signs.)
        var covered = false
        for _ in 0..<150 where !covered {
            let checkpoint = try await Self.text(gateway, "/v1/ledger/checkpoint", token: gateway.viewerToken)
            covered = checkpoint.split(separator: "\n").dropFirst().first == "2"
            if !covered { try await Task.sleep(for: .milliseconds(200)) }
        }
        #expect(covered, "no checkpoint of both receipts")
        let verified = try CommandRunner.causeway(["ledger", "verify", "--config", gateway.configFile], in: gateway.directory)
        #expect(verified.status == 0, "\(verified)")
        // A partner checks the older receipt's bundle offline with the gateway's KEL.
        let firstID = before?["id"]?.stringValue ?? ""
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(gateway.port)/v1/receipts/\(firstID)/bundle")!)
        request.setValue("Bearer \(gateway.viewerToken)", forHTTPHeaderField: "Authorization")
        let (bundle, _) = try await URLSession.shared.data(for: request)
        try bundle.write(to: gateway.directory.appendingPathComponent("bundle.json"))
        let checked = try CommandRunner.causeway(["receipts", "verify", "--gateway-did", websDID, "--gateway-kel", "key.kel.cesr", "bundle.json"],
                                                 in: gateway.directory)
        #expect(checked.status == 0, "\(checked)")
        let unchecked = try CommandRunner.causeway(["receipts", "verify", "--gateway-did", websDID, "bundle.json"], in: gateway.directory)
        #expect(unchecked.status == 1, "\(unchecked)")
        // Without the rotation in the KEL, the newer receipt's event is unknown.
        let kelFile = gateway.directory.appendingPathComponent("key.kel.cesr")
        let full = try KERIKeyEventLog(validating: Array(try Data(contentsOf: kelFile)))
        let log = try KERIKeyEventLog(validating: [KERIMessage(raw: full.events[0].raw, signatures: full.signatures[0])])
        let receipt = try #require(after?.objectValue)
        #expect(ReceiptSigner.verify(receipt, expectedIssuer: websDID, keyStates: KERIKeyStates([full])).isEmpty)
        #expect(ReceiptSigner.verify(receipt, expectedIssuer: aidDID, keyStates: KERIKeyStates([log])).map(\.code.rawValue)
            == ["keri.event_unknown"])
    }
}
