import CausewayCore
import CausewayMapping
import CausewayTesting
import Foundation
import Testing

@Suite("partner.yaml changes: and cancellations: — who signs, cut-offs, limits")
struct PartnerRevisionPolicyTests {
    /// The stahlteile partner folder with its own revision rules replaced by `yaml`.
    static func load(_ yaml: String) throws -> Result<PartnerConfiguration, MappingLoadError> {
        let folder = try CommandRunner.temporaryDirectory("revision-policy").appendingPathComponent("stahlteile")
        try FileManager.default.copyItem(at: TestPaths.repository.appendingPathComponent("Mappings/stahlteile"), to: folder)
        let file = folder.appendingPathComponent("partner.yaml")
        let text = try String(contentsOf: file, encoding: .utf8)
        let kept = text.components(separatedBy: "\n# Changes need both parties")[0]
        try Data((kept + "\n" + yaml + "\n").utf8).write(to: file)
        return Result { () throws(MappingLoadError) in try PartnerConfiguration.load(folder: folder) }
    }

    static let today = CalendarDate("2026-12-04")!
    static let roles = ["buyer", "seller"]

    static func refusal(_ policy: PartnerRevisionPolicy, _ kind: AgreementRevision.Kind, signed: Set<String>, delivery: String? = "2026-12-20",
                        total: String? = nil, limit: String? = nil) -> Finding? {
        policy.refusal(kind: kind, signed: signed, roles: roles, deliveryDate: delivery.flatMap(CalendarDate.init), today: today,
                       newTotal: total.flatMap(DecimalText.parse), defaultMaxTotal: limit.flatMap(DecimalText.parse))
    }

    @Test("the reference partner's rules: both sign changes; the buyer may cancel alone until 7 days before delivery; no change in the last 2 days")
    func stahlteile() throws {
        let policy = try PartnerConfiguration.load(folder: TestPaths.repository.appendingPathComponent("Mappings/stahlteile")).revisions
        #expect(Self.refusal(policy, .change, signed: ["buyer", "seller"]) == nil)
        #expect(Self.refusal(policy, .change, signed: ["buyer"])?.code == .policyRevisionSignersMissing)
        #expect(Self.refusal(policy, .change, signed: ["buyer", "seller"], delivery: "2026-12-05")?.code == .policyRevisionTooLate)
        #expect(Self.refusal(policy, .change, signed: ["buyer", "seller"], delivery: "2026-12-06") == nil, "exactly 2 days left is allowed")
        #expect(Self.refusal(policy, .cancellation, signed: ["buyer"]) == nil, "16 days before delivery the buyer cancels alone")
        #expect(Self.refusal(policy, .cancellation, signed: ["buyer"], delivery: "2026-12-11") == nil, "7 days left: still alone")
        let late = Self.refusal(policy, .cancellation, signed: ["buyer"], delivery: "2026-12-10")
        #expect(late?.code == .policyRevisionSignersMissing)
        #expect(late?.message.contains("buyer may cancel alone only until 7 days before delivery; 6 remain") == true, "\(late?.message ?? "")")
        #expect(Self.refusal(policy, .cancellation, signed: ["buyer", "seller"], delivery: "2026-12-05") == nil, "both may cancel any time")
        #expect(Self.refusal(policy, .cancellation, signed: ["seller"])?.code == .policyRevisionSignersMissing, "the seller may not cancel alone")
        #expect(Self.refusal(policy, .cancellation, signed: ["buyer"], delivery: nil) == nil, "no delivery date, no time limit")
    }

    @Test("defaults: every role signs, no cut-off, the change limit is limits.max_total; changes.max_total replaces it")
    func defaults() throws {
        let none = try Self.load("").get().revisions
        #expect(none == PartnerRevisionPolicy())
        #expect(Self.refusal(none, .change, signed: ["buyer", "seller"], delivery: "2026-11-01") == nil, "no cut-off by default")
        #expect(Self.refusal(none, .cancellation, signed: ["buyer"])?.code == .policyRevisionSignersMissing)
        #expect(Self.refusal(none, .change, signed: ["buyer", "seller"], total: "300000.00", limit: "250000.00")?.code == .policyRevisionLimitExceeded)
        let limited = try Self.load("changes: {max_total: \"400000.00\", signers: [buyer]}").get().revisions
        #expect(Self.refusal(limited, .change, signed: ["buyer"], total: "300000.00", limit: "250000.00") == nil)
        #expect(Self.refusal(limited, .change, signed: ["buyer"], total: "400000.01", limit: "250000.00")?.code == .policyRevisionLimitExceeded)
        let cutoff = try Self.load("cancellations: {until_days_before_delivery: 3}").get().revisions
        #expect(Self.refusal(cutoff, .cancellation, signed: ["buyer", "seller"], delivery: "2026-12-06")?.code == .policyRevisionTooLate)
    }

    @Test("each mistake is named at its position", arguments: [
        ("changes: {signers: [auditor]}", "'auditor' in 'changes' is not a role in 'roles'"),
        ("changes: {signers: []}", "'changes.signers' must name at least one role"),
        ("changes: {max_total: 300000.00}", "'changes.max_total' must be a quoted decimal string"),
        ("changes: {until_days_before_delivery: -1}", "must be 0 to 3650"),
        ("changes: {alone: [{role: buyer}]}", "unknown key 'alone'"),
        ("cancellations: {alone: {role: buyer}}", "'cancellations.alone' must be a list"),
        ("cancellations: {alone: [{until_days_before_delivery: 3}]}", "each entry of 'cancellations.alone' needs 'role'"),
        ("cancellations: {max_total: \"1.00\"}", "unknown key 'max_total'"),
    ])
    func refused(yaml: String, message: String) throws {
        guard case .failure(let error) = try Self.load(yaml) else {
            Issue.record("accepted: \(yaml)")
            return
        }
        #expect(error.description.contains(message), "\(error.description)")
        #expect(error.description.contains("partner.yaml:"), "the position is named: \(error.description)")
    }
}
