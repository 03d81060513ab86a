import CausewayCore
import CausewayTesting
import Foundation
import Testing

/// The agreements of `Support/independent_signer.py`, signed by the shared Python implementation
/// (PyNaCl + jcs), produced once per test run.
enum IndependentAgreements {
    static let directory: Result<URL, any Error> = Result {
        let python = TestPaths.python ?? TestPaths.repository.appendingPathComponent(".venv/bin/python").path
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw MissingTestInput(path: python, hint: "set CAUSEWAY_PYTHON to a Python with pynacl and jcs (scripts/test does this)")
        }
        let script = TestPaths.repository.appendingPathComponent("Tests/CausewayCLITests/Support/independent_signer.py").path
        let out = try CommandRunner.temporaryDirectory("independent")
        let result = try CommandRunner.run(python, [script, TestPaths.sharedBench.path, out.path])
        guard result.status == 0 else { throw MissingTestInput(path: script, hint: "the independent signer failed: \(result)") }
        return out
    }

    static func path(_ name: String) throws -> String { try directory.get().appendingPathComponent(name).path }
}

@Suite("causeway verify")
struct VerifyCLITests {
    @Test("agreements signed by an independent implementation", arguments: [
        ("valid.json", Int32(0)), ("delegated.json", 0),
        ("tampered-total.json", 1), ("tampered-line.json", 1), ("one-party.json", 1), ("wrong-key.json", 1),
        ("delegated-over-limit.json", 1), ("malformed.json", 2),
    ])
    func independent(file: String, expected: Int32) throws {
        let result = try CommandRunner.causeway(["verify", try IndependentAgreements.path(file)])
        #expect(result.status == expected, "\(result)")
    }

    @Test("--json report: digest, signers with role, DID and verification method, findings")
    func jsonReport() throws {
        let result = try CommandRunner.causeway(["verify", "--json", try IndependentAgreements.path("delegated.json")])
        #expect(result.status == 0, "\(result)")
        let report = try JSONReader().read(result.stdout)
        #expect(report["verified"] == true)
        let digest = try #require(report["digest"]?.stringValue)
        #expect(ContentDigest(digest) != nil)
        let dids = try JSONReader().read(Array(try Data(contentsOf: URL(fileURLWithPath: try IndependentAgreements.path("dids.json")))))
        let signers = try #require(report["signers"]?.arrayValue)
        let seller = try #require(signers.first { $0["role"] == "seller" })
        #expect(seller["did"] == dids["seller"])
        #expect(seller["verificationMethod"]?.stringValue?.hasPrefix(dids["agent"]!.stringValue! + "#") == true)
        #expect(seller["delegation"]?["issuer"] == dids["seller"])
        #expect(report["findings"]?.arrayValue?.isEmpty == true)
    }

    @Test("the digest is the same one the independent implementation computes")
    func digestAgreesWithPython() throws {
        let python = TestPaths.python ?? TestPaths.repository.appendingPathComponent(".venv/bin/python").path
        let file = try IndependentAgreements.path("valid.json")
        let script = "import sys, json; sys.path.insert(0, sys.argv[1]); import didata; print(didata.digest(json.load(open(sys.argv[2]))))"
        let theirs = try CommandRunner.run(python, ["-c", script, TestPaths.sharedBench.path, file])
        #expect(theirs.status == 0, "\(theirs)")
        let ours = try CommandRunner.causeway(["verify", "--json", file])
        #expect(try JSONReader().read(ours.stdout)["digest"]?.stringValue == theirs.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    @Test("several files: a JSON array, and the worst exit code")
    func severalFiles() throws {
        let result = try CommandRunner.causeway(["verify", "--json", try IndependentAgreements.path("valid.json"),
                                                 try IndependentAgreements.path("one-party.json")])
        #expect(result.status == 1)
        let reports = try #require(try JSONReader().read(result.stdout).arrayValue)
        #expect(reports.map { $0["verified"] } == [true, false])
        let codes = reports[1]["findings"]?.arrayValue?.compactMap { $0["code"]?.stringValue }
        #expect(codes == ["party.unsigned"])
    }

    @Test("W3C vectors verify from the command line", arguments: [
        ("vc-di-eddsa/eddsa-jcs-2022/signedJCS.json", Int32(0)),
        ("vc-di-eddsa/eddsa-jcs-2022-legacy-no-proof-context/signedJCS.json", 0),
        ("vc-di-eddsa/proof-set-chain-rdfc/signedProofSet1.json", 1),
    ])
    func w3cVectors(path: String, expected: Int32) throws {
        _ = try TestPaths.vector(path)
        let result = try CommandRunner.causeway(["verify", TestPaths.vectors.appendingPathComponent(path).path])
        #expect(result.status == expected, "\(result)")
    }

    @Test("unreadable input exits 2 with the position and the reason", arguments: [
        (#"{"a":1,"a":2}"#, "json.duplicate_member"),
        (#"{"a":"\ud800"}"#, "json.lone_surrogate"),
        ("[1e999]", "json.number_out_of_range"),
        (String(repeating: "[", count: 200) + String(repeating: "]", count: 200), "json.too_deep"),
        ("[1,2", "json.syntax"),
        ("[]", "agreement.not_an_object"),
    ])
    func unreadable(text: String, code: String) throws {
        let result = try CommandRunner.causeway(["verify", "-"], stdin: text)
        #expect(result.status == 2)
        #expect(result.stderr.contains(code), "\(result)")
    }

    @Test("a body over --max-bytes exits 2")
    func tooLarge() throws {
        let result = try CommandRunner.causeway(["verify", "--max-bytes", "100", try IndependentAgreements.path("valid.json")])
        #expect(result.status == 2)
        #expect(result.stderr.contains("json.too_large"))
    }

    @Test("usage errors exit 2")
    func usage() throws {
        #expect(try CommandRunner.causeway(["verify"]).status == 2)
        #expect(try CommandRunner.causeway(["verify", "/nonexistent/file.json"]).status == 2)
        #expect(try CommandRunner.causeway(["no-such-command"]).status == 2)
        #expect(try CommandRunner.causeway(["--help"]).status == 0)
    }
}

@Suite("causeway keys, sign and delegate")
struct SignCLITests {
    let directory = try! CommandRunner.temporaryDirectory("sign")

    func newKey(_ name: String) throws -> String {
        let result = try CommandRunner.causeway(["keys", "new", "--out", name], in: directory)
        #expect(result.status == 0, "\(result)")
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func write(_ name: String, _ value: JSONValue) throws {
        try Data(JSONWriter.string(value, style: .pretty).utf8).write(to: directory.appendingPathComponent(name))
    }

    func agreement(seller: String, buyer: String) -> JSONValue {
        [
            "type": "PurchaseAgreement", "id": "urn:uuid:0e4b9d2a-1c3f-4e5a-8b7c-9d0e1f2a3b4c",
            "parties": ["buyer": ["id": .string(buyer)], "seller": ["id": .string(seller)]],
            "issued": "2026-11-21T08:00:00Z", "currency": "EUR",
            "lines": [["sku": "STL-51105", "description": "Axial-Rillenkugellager", "quantity": "3", "unit": "pcs", "unitPrice": "12.10"]],
            "total": "36.30",
        ]
    }

    @Test("keys new writes a 0600 key file, prints its did:key, and never overwrites")
    func keysNew() throws {
        let did = try newKey("k.json")
        #expect(did.hasPrefix("did:key:z6Mk"))
        let attributes = try FileManager.default.attributesOfItem(atPath: directory.appendingPathComponent("k.json").path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let again = try CommandRunner.causeway(["keys", "new", "--out", "k.json"], in: directory)
        #expect(again.status == 2)
        let show = try CommandRunner.causeway(["keys", "show", "k.json"], in: directory)
        #expect(show.stdout.hasPrefix(did + "\n"))
    }

    @Test("each party signs; the proof set verifies; a change after signing does not")
    func signAndVerify() throws {
        let seller = try newKey("seller.json"), buyer = try newKey("buyer.json")
        try write("a.json", agreement(seller: seller, buyer: buyer))
        var r = try CommandRunner.causeway(["sign", "--key", "seller.json", "--role", "seller", "--out", "a1.json", "a.json"], in: directory)
        #expect(r.status == 0, "\(r)")
        #expect(try CommandRunner.causeway(["verify", "a1.json"], in: directory).status == 1)  // buyer missing
        r = try CommandRunner.causeway(["sign", "--key", "buyer.json", "--role", "buyer", "--out", "a2.json", "a1.json"], in: directory)
        #expect(r.status == 0, "\(r)")
        r = try CommandRunner.causeway(["verify", "a2.json"], in: directory)
        #expect(r.status == 0, "\(r)")

        let signed = try String(contentsOf: directory.appendingPathComponent("a2.json"), encoding: .utf8)
        try Data(signed.replacingOccurrences(of: "\"12.10\"", with: "\"1.21\"").utf8).write(to: directory.appendingPathComponent("t.json"))
        r = try CommandRunner.causeway(["verify", "--json", "t.json"], in: directory)
        #expect(r.status == 1)
        #expect(r.stdout.contains("proof.signature_invalid"))
        #expect(r.stdout.contains("agreement.total_mismatch"))
    }

    @Test("--role refuses a key that is not the party's")
    func wrongRole() throws {
        let seller = try newKey("s.json"), buyer = try newKey("b.json")
        try write("a.json", agreement(seller: seller, buyer: buyer))
        let r = try CommandRunner.causeway(["sign", "--key", "b.json", "--role", "seller", "a.json"], in: directory)
        #expect(r.status == 2)
        #expect(r.stderr.contains("is not the seller party"))
    }

    @Test("an agent signs with a delegation issued by 'causeway delegate'")
    func delegation() throws {
        let seller = try newKey("org.json"), buyer = try newKey("buyer.json"), agent = try newKey("agent.json")
        try write("a.json", agreement(seller: seller, buyer: buyer))
        var r = try CommandRunner.causeway(["delegate", "--key", "org.json", "--agent", agent, "--role", "seller",
                                            "--counterparty", buyer, "--max-total", "100.00", "--currency", "EUR",
                                            "--valid-from", "2026-01-01T00:00:00Z", "--out", "cred.json"], in: directory)
        #expect(r.status == 0, "\(r)")
        r = try CommandRunner.causeway(["sign", "--key", "agent.json", "--role", "seller", "--delegation", "cred.json",
                                        "--out", "a1.json", "a.json"], in: directory)
        #expect(r.status == 0, "\(r)")
        r = try CommandRunner.causeway(["sign", "--key", "buyer.json", "--out", "a2.json", "a1.json"], in: directory)
        r = try CommandRunner.causeway(["verify", "--json", "a2.json"], in: directory)
        #expect(r.status == 0, "\(r)")
        #expect(try JSONReader().read(r.stdout)["signers"]?.arrayValue?.contains { $0["delegation"] != nil } == true)
    }

    @Test("--previous-proof makes a chain that verifies")
    func chain() throws {
        let seller = try newKey("s.json"), buyer = try newKey("b.json"), notary = try newKey("n.json")
        _ = notary
        try write("a.json", agreement(seller: seller, buyer: buyer))
        _ = try CommandRunner.causeway(["sign", "--key", "s.json", "--proof-id", "urn:p:s", "--out", "1.json", "a.json"], in: directory)
        _ = try CommandRunner.causeway(["sign", "--key", "b.json", "--proof-id", "urn:p:b", "--out", "2.json", "1.json"], in: directory)
        var r = try CommandRunner.causeway(["sign", "--key", "n.json", "--previous-proof", "urn:p:s", "--previous-proof", "urn:p:b",
                                            "--out", "3.json", "2.json"], in: directory)
        #expect(r.status == 0, "\(r)")
        r = try CommandRunner.causeway(["verify", "--json", "3.json"], in: directory)
        #expect(r.status == 0, "\(r)")
        #expect(try JSONReader().read(r.stdout)["proofs"]?.arrayValue?.count == 3)
        r = try CommandRunner.causeway(["sign", "--key", "n.json", "--previous-proof", "urn:p:none", "2.json"], in: directory)
        #expect(r.status == 2)
    }
}

@Suite("README commands")
struct ReadmeTests {
    @Test("the bundled signed example verifies (README's first command)")
    func bundledExample() throws {
        let example = TestPaths.repository.appendingPathComponent("Docs/examples/purchase-agreement.signed.json").path
        let r = try CommandRunner.causeway(["verify", example])
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains("verified"))
        let readme = try String(contentsOf: TestPaths.repository.appendingPathComponent("README.md"), encoding: .utf8)
        #expect(readme.contains("swift run causeway verify Docs/examples/purchase-agreement.signed.json"))
        #expect(readme.contains("```sh\nscripts/demo\n```"))
        #expect(readme.contains("```sh\nscripts/test\n```"))
        #expect(FileManager.default.isExecutableFile(atPath: TestPaths.repository.appendingPathComponent("scripts/demo").path))
    }
}
