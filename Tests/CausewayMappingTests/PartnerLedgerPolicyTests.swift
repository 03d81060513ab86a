import CausewayMapping
import CausewayTesting
import Foundation
import Testing

@Suite("partner.yaml ledger: witnesses and cosignatures_required")
struct PartnerLedgerPolicyTests {
    /// The stahlteile partner folder with `ledger` YAML appended to its partner.yaml.
    static func load(_ ledger: String) throws -> Result<PartnerConfiguration, MappingLoadError> {
        let folder = try CommandRunner.temporaryDirectory("ledger-policy").appendingPathComponent("stahlteile")
        try FileManager.default.copyItem(at: TestPaths.repository.appendingPathComponent("Mappings/stahlteile"), to: folder)
        let file = folder.appendingPathComponent("partner.yaml")
        try Data((try String(contentsOf: file, encoding: .utf8) + "\n" + ledger + "\n").utf8).write(to: file)
        return Result { () throws(MappingLoadError) in try PartnerConfiguration.load(folder: folder) }
    }

    static let vkey = "w.test/w+0a1b2c3d+BAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g+A=="

    @Test("a witness list and a count are read; without the section nothing is required")
    func read() throws {
        let partner = try Self.load("ledger:\n  witnesses:\n    - {url: \"https://w.test/witness\", key: \"\(Self.vkey)\"}\n  cosignatures_required: 1").get()
        #expect(partner.ledger.witnesses.map(\.url) == ["https://w.test/witness"])
        #expect(partner.ledger.witnesses.map(\.key) == [Self.vkey])
        #expect(partner.ledger.cosignaturesRequired == 1)
        #expect(try Self.load("").get().ledger == PartnerLedgerPolicy())
    }

    @Test("each mistake is named at its position", arguments: [
        ("ledger:\n  cosignatures_required: 1", "'ledger.cosignatures_required' is 1; it must be 0 to the number of witnesses listed (0)"),
        ("ledger:\n  witnesses:\n    - {url: \"ftp://w.test\", key: \"\(vkey)\"}", "is not an http(s) URL"),
        ("ledger:\n  witnesses:\n    - {url: \"https://w.test\", key: \"nokey\"}", "is not a vkey"),
        ("ledger:\n  witnesses:\n    - {url: \"https://w.test\"}", "each witness needs 'url'"),
        ("ledger:\n  witnesses:\n    - {url: \"https://a.test\", key: \"\(vkey)\"}\n    - {url: \"https://b.test\", key: \"\(vkey)\"}", "is listed twice"),
        ("ledger:\n  witness: []", "unknown key 'witness'"),
    ])
    func refused(yaml: String, message: String) throws {
        guard case .failure(let error) = try Self.load(yaml) else {
            Issue.record("accepted: \(yaml)")
            return
        }
        let text = error.diagnostics.map(\.description).joined(separator: "\n")
        #expect(text.contains(message), "\(text)")
        #expect(text.contains("partner.yaml:"), "no position: \(text)")
    }
}
