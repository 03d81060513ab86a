import CausewayCore
import CausewayTesting
import Foundation
import Testing

@Suite("causeway path")
struct PathCLITests {
    let document = #"{"lines":[{"sku":"A","unit":"kg","q":"2.5"},{"sku":"B","unit":"pcs","q":"1"}],"o'k":{"x":true}}"#

    @Test("prints the selected values as one JSON array (standard input)")
    func values() throws {
        let r = try CommandRunner.causeway(["path", #"$.lines[?@.unit == 'kg'].sku"#], stdin: document)
        #expect(r.status == 0, "\(r)")
        #expect(try JSONReader().read(r.stdout) == ["A"])
    }

    @Test("--paths prints normalized paths, with RFC 9535 escaping")
    func paths() throws {
        let file = try CommandRunner.temporaryDirectory("path").appendingPathComponent("d.json")
        try Data(document.utf8).write(to: file)
        var r = try CommandRunner.causeway(["path", "--paths", "$..x", file.path])
        #expect(r.status == 0, "\(r)")
        #expect(try JSONReader().read(r.stdout) == [.string(#"$['o\'k']['x']"#)])
        r = try CommandRunner.causeway(["path", "--paths", "$.lines[*]", file.path])
        #expect(try JSONReader().read(r.stdout) == ["$['lines'][0]", "$['lines'][1]"])
        r = try CommandRunner.causeway(["path", "$.nothing", file.path])
        #expect(r.status == 0)
        #expect(try JSONReader().read(r.stdout) == [])
    }

    @Test("an invalid query exits 2 and points at the column")
    func invalid() throws {
        let r = try CommandRunner.causeway(["path", "$.lines[?@.q >]"], stdin: document)
        #expect(r.status == 2)
        #expect(r.stderr.contains("invalid JSONPath at column"))
        #expect(r.stderr.contains("^"))
    }

    @Test("unreadable JSON exits 2")
    func unreadable() throws {
        let r = try CommandRunner.causeway(["path", "$"], stdin: #"{"a":1,"a":2}"#)
        #expect(r.status == 2)
        #expect(r.stderr.contains("json.duplicate_member"))
    }
}

@Suite("causeway mappings and verify --partner")
struct MappingsCLITests {
    let mappings = TestPaths.repository.appendingPathComponent("Mappings").path
    var stahlteile: String { mappings + "/stahlteile" }

    @Test("check prints id, version and digest of every mapping")
    func check() throws {
        let r = try CommandRunner.causeway(["mappings", "check", mappings])
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains("stahlteile-po version 1.0.0 sha256:"))
        #expect(r.stdout.contains("nordic-fasteners-po version 1.0.0 sha256:"))
    }

    @Test("test runs every fixture of both partners")
    func test() throws {
        let r = try CommandRunner.causeway(["mappings", "test", mappings])
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains("0 failed"))
    }

    /// A copy of the stahlteile folder to break on purpose.
    func copyOfStahlteile() throws -> URL {
        let copy = try CommandRunner.temporaryDirectory("partner").appendingPathComponent("stahlteile")
        try FileManager.default.copyItem(atPath: stahlteile, toPath: copy.path)
        return copy
    }

    @Test("a golden mismatch fails with a readable diff")
    func goldenMismatch() throws {
        let copy = try copyOfStahlteile()
        let golden = copy.appendingPathComponent("fixtures/expected/one-line.json")
        let text = try String(contentsOf: golden, encoding: .utf8).replacingOccurrences(of: "\"1570.00\"", with: "\"1570.0\"")
        try Data(text.utf8).write(to: golden)
        let r = try CommandRunner.causeway(["mappings", "test", copy.path])
        #expect(r.status == 1)
        #expect(r.stdout.contains("FAIL stahlteile/one-line"))
        #expect(r.stdout.contains(#"expected "1570.0", got "1570.00""#), "\(r)")
    }

    @Test("a broken mapping is reported as file:line:column and check exits 1")
    func brokenMapping() throws {
        let copy = try copyOfStahlteile()
        let file = copy.appendingPathComponent("purchase-order.yaml")
        let text = try String(contentsOf: file, encoding: .utf8)
            .replacingOccurrences(of: "{line: \"$.sku\", lookup: sku}", with: "{line: \"$.sku\", lookup: skus}")
        try Data(text.utf8).write(to: file)
        let r = try CommandRunner.causeway(["mappings", "check", copy.path])
        #expect(r.status == 1)
        #expect(r.stderr.contains("purchase-order.yaml:"), "\(r)")
        #expect(r.stderr.contains("no crosswalk named 'skus'"))
    }

    @Test("preview prints the actions without checking signatures")
    func preview() throws {
        let copy = try copyOfStahlteile()
        let agreementFile = copy.appendingPathComponent("fixtures/agreements/multi-line.json")
        var agreement = try JSONReader().read(Array(try Data(contentsOf: agreementFile))).objectValue!
        agreement["proof"] = nil
        try Data(JSONWriter.string(.object(agreement)).utf8).write(to: agreementFile)
        let r = try CommandRunner.causeway(["mappings", "preview", "--partner", copy.path, agreementFile.path])
        #expect(r.status == 0, "\(r)")
        let output = try JSONReader().read(r.stdout)
        #expect(output["actions"]?[0]?["rows"]?["children"]?[0]?["rows"]?.arrayValue?.count == 4)
        #expect(output["mapping"]?["digest"]?.stringValue?.hasPrefix("sha256:") == true)

        let bad = try CommandRunner.causeway(["mappings", "preview", "--partner", copy.path,
                                              copy.appendingPathComponent("fixtures/agreements/unknown-sku.json").path])
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("mapping.lookup_missing"))
        #expect(bad.stderr.contains("$['lines'][1]['sku']"))
    }

    @Test("preview of a change and a cancellation: on_change / on_cancel with the versions before them; a missing or wrong --previous is named")
    func previewRevisions() throws {
        let agreements = stahlteile + "/fixtures/agreements/"
        let change = try CommandRunner.causeway(["mappings", "preview", "--partner", stahlteile, "--previous", agreements + "multi-line.json",
                                                 agreements + "multi-line.v2-change.json"])
        #expect(change.status == 0, "\(change)")
        let changed = try JSONReader().read(change.stdout)
        #expect(changed["actions"]?[0]?["rows"]?["update"]?["version"]?.exactInt == 2)
        #expect(changed["actions"]?[0]?["rows"]?["children"]?[0]?["rows"]?.arrayValue?.count == 4)
        let cancel = try CommandRunner.causeway(["mappings", "preview", "--partner", stahlteile, "--previous", agreements + "multi-line.v2-change.json",
                                                 "--original", agreements + "multi-line.json", agreements + "multi-line.v3-cancel.json"])
        #expect(cancel.status == 0, "\(cancel)")
        #expect(try JSONReader().read(cancel.stdout)["actions"]?[0]?["rows"]?["values"]?["status"]?.stringValue == "cancelled")
        let missing = try CommandRunner.causeway(["mappings", "preview", "--partner", stahlteile, agreements + "multi-line.v2-change.json"])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("--previous"))
        let wrong = try CommandRunner.causeway(["mappings", "preview", "--partner", stahlteile, "--previous", agreements + "one-line.json",
                                                agreements + "multi-line.v2-change.json"])
        #expect(wrong.status != 0)
        #expect(wrong.stderr.contains("'supersedes'"), "\(wrong)")
    }

    @Test("verify --partner applies roles and limits", arguments: [
        ("one-line.json", Int32(0)), ("delegated-agent.json", 0), ("limit-exceeded.json", 1), ("wrong-currency.json", 1),
    ])
    func verifyWithPartner(file: String, expected: Int32) throws {
        let path = stahlteile + "/fixtures/agreements/" + file
        let r = try CommandRunner.causeway(["verify", "--partner", stahlteile, path])
        #expect(r.status == expected, "\(r)")
    }

    @Test("verify --partner refuses a signer the partner does not list")
    func otherPartner() throws {
        let r = try CommandRunner.causeway(["verify", "--json", "--partner", mappings + "/nordic-fasteners",
                                            stahlteile + "/fixtures/agreements/one-line.json"])
        #expect(r.status == 1)
        #expect(r.stdout.contains("party.not_authorized"))
        #expect(r.stdout.contains("policy.currency_not_allowed"))
    }

    @Test("verify --partner with a folder that is not a partner exits 2")
    func notAPartner() throws {
        let r = try CommandRunner.causeway(["verify", "--partner", "/tmp", stahlteile + "/fixtures/agreements/one-line.json"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("partner.yaml"))
    }
}
