import CausewayCore
import CausewayMapping
import CausewayTesting
import CausewayTrust
import Foundation
import Testing

/// Every partner folder in Mappings/ loads, and every one of its golden fixtures passes.
@Suite("Reference partners' fixtures")
struct PartnerFixtureTests {
    static let partnerFolders = PartnerConfiguration.folders(in: TestPaths.repository.appendingPathComponent("Mappings"))

    @Test("the two reference partners are there")
    func partnersPresent() {
        #expect(Set(Self.partnerFolders.map(\.lastPathComponent)).isSuperset(of: ["stahlteile", "nordic-fasteners"]))
    }

    @Test("partner folder loads and every fixture passes", arguments: partnerFolders)
    func fixtures(folder: URL) throws {
        let partner = try PartnerConfiguration.load(folder: folder)
        let mappings = try partner.loadMappings()
        #expect(!mappings.isEmpty)
        let policy = VerificationPolicy(roles: partner.roles, maxTotal: partner.maxTotal, currencies: partner.currencies,
                                        agreementTypes: partner.accepts)
        let runner = FixtureRunner(partner: partner, mappings: mappings) { agreement in
            AgreementVerifier(policy: policy.applying(to: agreement)).verify(agreement).errors.map(\.code.rawValue)
        }
        let outcomes = runner.run()
        #expect(outcomes.count >= 6, "\(partner.name) needs at least six fixtures")
        for outcome in outcomes {
            #expect(outcome.passed, "\(partner.name)/\(outcome.fixture): \(outcome.details.joined(separator: "\n"))")
        }
    }

    @Test("mapping is a pure function: the same agreement maps to identical bytes")
    func replay() throws {
        let folder = TestPaths.repository.appendingPathComponent("Mappings/nordic-fasteners")
        let partner = try PartnerConfiguration.load(folder: folder)
        let mapping = try #require(try partner.loadMappings().first)
        let data = try Data(contentsOf: folder.appendingPathComponent("fixtures/agreements/multi-line.json"))
        let agreement = try Agreement(bytes: Array(data))
        let context = MappingContext(digest: agreement.digest, partner: partner.name)
        let first = JCS.canonicalize(mapping.map(.object(agreement.document), context: context).json)
        let again = try partner.loadMappings().first!.map(.object(agreement.document), context: context)
        #expect(JCS.canonicalize(again.json) == first)
        #expect(again.actions.map(\.kind) == [.erpPurchaseOrder, .xml, .http])
    }
}

/// The nordic-fasteners UBL documents (Order, and a change's OrderChange and a cancellation's
/// OrderCancellation) validate against the XSD each action names in the partner folder, checked with
/// libxml2's own validator (`xmllint`, Debian libxml2-utils).
@Suite("UBL Order documents against the partner's XSD")
struct UBLSchemaTests {
    @Test("every golden UBL document validates; a broken one does not")
    func validate() throws {
        let folder = TestPaths.repository.appendingPathComponent("Mappings/nordic-fasteners")
        let xmllint = ["/usr/bin/xmllint", "/bin/xmllint"].first { FileManager.default.isExecutableFile(atPath: $0) }
        let tool = try #require(xmllint, "xmllint is missing: install libxml2-utils (scripts/test does)")
        let scratch = try CommandRunner.temporaryDirectory("ubl")
        var documents = 0
        var schemas: Set<String> = []
        for name in try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("fixtures/expected").path).sorted() {
            let golden = try JSONReader().read(Array(try Data(contentsOf: folder.appendingPathComponent("fixtures/expected/" + name))))
            for action in golden["actions"]?.arrayValue ?? [] where action["kind"] == "xml" {
                let document = try #require(action["xml"]?["document"]?.stringValue)
                let named = try #require(action["xml"]?["schema"]?.stringValue, "\(name): an xml action without its schema")
                let schema = folder.appendingPathComponent(named).path
                schemas.insert(named)
                let file = scratch.appendingPathComponent(name + ".xml")
                try Data(document.utf8).write(to: file)
                let r = try CommandRunner.run(tool, ["--noout", "--schema", schema, file.path])
                #expect(r.status == 0, "\(name): \(r.stderr)")
                documents += 1
                let broken = document.replacingOccurrences(of: "<cbc:IssueDate>", with: "<cbc:IssueDate>x")
                try Data(broken.utf8).write(to: file)
                #expect(try CommandRunner.run(tool, ["--noout", "--schema", schema, file.path]).status != 0)
            }
        }
        #expect(documents >= 7)
        #expect(schemas == ["schemas/UBL-Order-2.1-subset.xsd", "schemas/UBL-OrderChange-2.1-subset.xsd",
                            "schemas/UBL-OrderCancellation-2.1-subset.xsd"])
    }
}

/// Actions survive the outbox: JSON → LegacyAction → JSON gives the same bytes, for every golden file.
@Suite("Stored action round trip")
struct ActionRoundTripTests {
    @Test("every golden action decodes to the same JSON")
    func roundTrip() throws {
        var checked = 0
        for partner in ["stahlteile", "nordic-fasteners"] {
            let folder = TestPaths.repository.appendingPathComponent("Mappings/\(partner)/fixtures/expected")
            for name in try FileManager.default.contentsOfDirectory(atPath: folder.path) {
                let golden = try JSONReader().read(Array(try Data(contentsOf: folder.appendingPathComponent(name))))
                for action in golden["actions"]?.arrayValue ?? [] {
                    let decoded = try LegacyAction(json: action)
                    #expect(JCS.canonicalize(decoded.json) == JCS.canonicalize(action), "\(partner)/\(name) action \(decoded.index)")
                    checked += 1
                }
            }
        }
        #expect(checked >= 20)
        #expect(throws: LegacyAction.DecodingError.self) { try LegacyAction(json: ["index": 0, "name": "x", "target": "t", "kind": "rows"]) }
    }
}
