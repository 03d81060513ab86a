import CausewayMapping
import CausewayTesting
import Foundation
import Testing

@Suite("partner.yaml with KERI signers: roles by AID or KERI DID, keri.policy")
struct PartnerKERITests {
    static let aid = "EJt3" + String(repeating: "x", count: 40)

    /// The stahlteile partner folder with its seller role set to `seller` and `extra` YAML appended.
    static func load(seller: String, _ extra: String = "") throws -> Result<PartnerConfiguration, MappingLoadError> {
        let folder = try CommandRunner.temporaryDirectory("keri-partner").appendingPathComponent("stahlteile")
        try FileManager.default.copyItem(at: TestPaths.repository.appendingPathComponent("Mappings/stahlteile"), to: folder)
        let file = folder.appendingPathComponent("partner.yaml")
        var yaml = try String(contentsOf: file, encoding: .utf8)
        let line = try #require(yaml.split(separator: "\n").first { $0.hasPrefix("  seller:") })
        yaml = yaml.replacingOccurrences(of: String(line), with: "  seller: [\(seller)]") + "\n" + extra + "\n"
        try Data(yaml.utf8).write(to: file)
        return Result { () throws(MappingLoadError) in try PartnerConfiguration.load(folder: folder) }
    }

    @Test("a bare AID, did:keri and did:webs are accepted in roles; the policy is read", arguments: [
        aid, "did:keri:" + aid, "did:webs:partner.example%3A8443:keri:" + aid,
    ])
    func accepted(seller: String) throws {
        let partner = try Self.load(seller: seller, "keri: {policy: historical}").get()
        #expect(partner.roles["seller"] == [seller])
        #expect(partner.keriPolicy == "historical")
        #expect(try Self.load(seller: seller).get().keriPolicy == nil)
    }

    @Test("a DID that is neither did:key nor KERI, and an unknown policy, are named", arguments: [
        ("did:web:partner.example", "", "is not a did:key"),
        ("did:keri:Eshort", "", "is not a did:key"),
        (aid, "keri: {policy: sometimes}", "'keri.policy' is 'latest-only' (the default) or 'historical'"),
        (aid, "keri: {witnesses: 2}", "witnesses"),
    ])
    func refused(seller: String, extra: String, message: String) throws {
        guard case .failure(let error) = try Self.load(seller: seller, extra) else {
            Issue.record("accepted: \(seller) \(extra)")
            return
        }
        #expect(error.description.contains(message), "\(error.description)")
    }
}
