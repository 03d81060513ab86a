import CausewayCore
import CausewayTesting
import Foundation

/// Signed stahlteile agreements from the shared generator (`../shared/bench/gen_agreements.py`,
/// an independent Python signer), and a partners folder whose stahlteile partner trusts the
/// generator's keys and allows its totals.
struct GeneratedAgreements {
    let documents: [[UInt8]]
    let digests: [String]
    /// How many lines all agreements have together.
    let lineCount: Int
    /// A folder holding `stahlteile/`.
    let partners: URL

    init(count: Int, seed: Int = 7) throws {
        guard let python = TestPaths.python else {
            throw MissingTestInput(path: "CAUSEWAY_PYTHON", hint: "scripts/test sets up a venv with pynacl and jcs for the agreement generator")
        }
        let directory = try CommandRunner.temporaryDirectory("generated")
        let out = directory.appendingPathComponent("agreements.jsonl")
        let generated = try CommandRunner.run(python, [TestPaths.sharedBench.appendingPathComponent("gen_agreements.py").path,
                                                       "--count", String(count), "--seed", String(seed), "--out", out.path])
        guard generated.status == 0 else { throw MissingTestInput(path: "gen_agreements.py", hint: generated.description) }
        let lines = try String(contentsOf: out, encoding: .utf8).split(separator: "\n")
        documents = lines.map { Array($0.utf8) }
        var digests: [String] = []
        var lineCount = 0
        for document in documents {
            let agreement = try Agreement(bytes: document)
            digests.append(agreement.digest.description)
            lineCount += agreement.document["lines"]?.arrayValue?.count ?? 0
        }
        self.digests = digests
        self.lineCount = lineCount
        let dids = try JSONReader().read(Array(try Data(contentsOf: directory.appendingPathComponent("dids.json"))))
        partners = directory.appendingPathComponent("partners")
        let partner = partners.appendingPathComponent("stahlteile")
        try FileManager.default.createDirectory(at: partners, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: TestPaths.repository.appendingPathComponent("Mappings/stahlteile"), to: partner)
        try Data("""
            name: stahlteile
            display_name: Stahlteile GmbH (generated keys)
            roles:
              seller: [\(dids["seller"]?.stringValue ?? "?")]
              buyer: [\(dids["buyer"]?.stringValue ?? "?")]
            mapping: purchase-order.yaml
            limits: {max_total: "99999999.00", currencies: [EUR]}
            accepts: [PurchaseAgreement]
            """.utf8).write(to: partner.appendingPathComponent("partner.yaml"))
    }
}

/// Submits agreements to whichever gateway answers, retrying each until it is accepted (a
/// resubmission is harmless: the digest makes it a no-op). Returns the accepted digests.
func submitUntilAccepted(_ documents: [[UInt8]], to gateways: [RunningGateway], concurrency: Int = 8) async throws -> Set<String> {
    try await withThrowingTaskGroup(of: [String].self) { group in
        for lane in 0..<concurrency {
            group.addTask {
                var accepted: [String] = []
                for index in stride(from: lane, to: documents.count, by: concurrency) {
                    var tries = 0
                    while true {
                        tries += 1
                        let gateway = gateways[(index + tries) % gateways.count]
                        if let (status, body) = try? await gateway.request("POST", "/v1/agreements", body: documents[index]),
                            status == 200 || status == 202, let digest = body?["digest"]?.stringValue
                        {
                            accepted.append(digest)
                            break
                        }
                        guard tries < 600 else { throw MissingTestInput(path: "intake", hint: "agreement \(index) never accepted") }
                        try await Task.sleep(for: .milliseconds(100))
                    }
                }
                return accepted
            }
        }
        var all = Set<String>()
        for try await accepted in group { all.formUnion(accepted) }
        return all
    }
}

/// Polls `condition` every 200 ms until it holds or `seconds` pass; returns whether it held.
func eventually(seconds: Double, _ condition: () throws -> Bool) async throws -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if (try? condition()) == true { return true }
        try await Task.sleep(for: .milliseconds(200))
    }
    return try condition()
}
