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
            AgreementVerifier(policy: policy).verify(agreement).errors.map(\.code.rawValue)
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
