public import CausewayCore
import CausewayMapping
public import CausewayStore
import CausewayTrust

/// What intake knows about a change or cancellation once its chain, parties and the partner's
/// revision policy are checked: where it goes in the chain and what its mapping sees.
struct RevisionPlan: Sendable {
    let revision: IncomingAgreement.Revision
    let context: MappingContext.Revision
    /// Action name → the receipt id of that action in the version followed (or the original).
    let previousReceipts: [String: String]
}

enum RevisionPlanning: Sendable {
    case planned(RevisionPlan)
    case refused(IntakeOutcome)
}

extension VerificationPolicy {
    /// The policy for a change or cancellation of the partner's agreements: every role is optional
    /// to the verifier (``PartnerRevisionPolicy/refusal`` decides with the verified signers), and a
    /// change's limit is `changes.max_total` when set.
    mutating func adapt(for kind: AgreementRevision.Kind, agreement: Agreement, partner: PartnerConfiguration) {
        self = applying(to: agreement)
        if kind == .change, let limit = partner.revisions.changes.maxTotal { maxTotal = limit }
    }
}

extension IntakeService {
    /// Checks a verified change or cancellation against the stored chain (it must extend the latest
    /// accepted version), the original's parties and the partner's revision policy. The store checks
    /// the chain again in the intake transaction, which decides races between instances.
    func planRevision(_ agreement: Agreement, kind: AgreementRevision.Kind, partner: PartnerRegistry.Partner, report: VerificationReport,
                      receivedAt: Int64) async throws -> RevisionPlanning
    {
        guard let revision = AgreementRevision.check(agreement.document, kind: kind).revision else {
            return .refused(.refused(.malformed, "the \(kind == .change ? "change" : "cancellation") does not follow its content rules",
                                     digest: agreement.digest))
        }
        let digest = agreement.digest
        guard let original = try await store.agreement(digest: revision.amends), original.summary.partner == partner.name,
            original.summary.revision == nil
        else { return .refused(Self.chainRefusal(.unknownAgreement, digest: digest, partner: partner.name, amends: revision.amends)) }
        guard let head = try await store.latestVersion(of: revision.amends) else {
            return .refused(Self.chainRefusal(.unknownAgreement, digest: digest, partner: partner.name, amends: revision.amends))
        }
        if head.revision == "cancellation" { return .refused(Self.chainRefusal(.closed(cancellation: head.digest), digest: digest, partner: partner.name)) }
        guard head.digest == revision.supersedes, head.version + 1 == revision.version else {
            return .refused(Self.chainRefusal(.stale(current: head.digest, version: head.version), digest: digest, partner: partner.name))
        }
        let previous = head.digest == original.summary.digest ? original : try await store.agreement(digest: head.digest)
        // Retention archived the version in force (or the original): its terms are no longer here to follow.
        if original.document.isEmpty || previous?.document.isEmpty == true {
            return .refused(.refused(.agreementArchived,
                                     "the agreement's versions were archived by retention (retention.days in causeway.yaml); a change or cancellation of it is no longer taken here",
                                     digest: digest, detail: ["partner": .string(partner.name), "amends": .string(revision.amends.description)]))
        }
        guard let previous,
            let previousDocument = try? Agreement(bytes: previous.document, limits: .init(maxBytes: previous.document.count + 1, maxDepth: 256)),
            let originalDocument = try? Agreement(bytes: original.document, limits: .init(maxBytes: original.document.count + 1, maxDepth: 256))
        else { throw StoreError("the stored versions of \(revision.amends) cannot be read back") }

        // The same parties, role for role, DID for DID (exact code points).
        let before = originalDocument.parties.map { "\($0.role)\u{0}\($0.id ?? "")" }.sorted()
        let after = agreement.parties.map { "\($0.role)\u{0}\($0.id ?? "")" }.sorted()
        if before != after {
            return .refused(Self.policyRefusal(Finding(.revisionPartiesChanged,
                "a \(kind == .change ? "change" : "cancellation") is made by the agreement's own parties: 'parties' must name the same roles and DIDs as the original",
                path: "$['parties']"), digest: digest, partner: partner.name))
        }
        // The partner's revision policy: signers, cut-off, limit.
        let signed = Set(report.signers.map(\.role))
        let deliveryDate = previousDocument.document["delivery"]?["date"]?.stringValue.flatMap(CalendarDate.init)
        if let finding = partner.configuration.revisions.refusal(
            kind: kind, signed: signed, roles: partner.configuration.roles.keys.sorted(), deliveryDate: deliveryDate,
            today: CalendarDate(epochMilliseconds: receivedAt), newTotal: revision.terms?.total, defaultMaxTotal: partner.configuration.maxTotal)
        {
            return .refused(Self.policyRefusal(finding, digest: digest, partner: partner.name))
        }

        var receipts: [String: String] = [:]
        var legacy = JSONObject()
        for version in [original, previous] {
            for entry in version.entries where entry.state != .void {
                receipts[entry.name] = entry.receiptID
                if let reference = entry.legacyReference { legacy[entry.name] = reference }
            }
        }
        return .planned(RevisionPlan(
            revision: .init(amends: revision.amends, supersedes: revision.supersedes, version: revision.version, cancellation: kind == .cancellation),
            context: .init(kind: kind, version: revision.version, amends: revision.amends, supersedes: revision.supersedes,
                           previous: .object(previousDocument.document.removing("proof")),
                           original: .object(originalDocument.document.removing("proof")), legacy: .object(legacy)),
            previousReceipts: receipts))
    }

    static func policyRefusal(_ finding: Finding, digest: ContentDigest, partner: String) -> IntakeOutcome {
        var object: JSONObject = ["code": .string(finding.code.rawValue), "message": .string(finding.message)]
        if let path = finding.path { object["path"] = .string(path) }
        return .refused(.notVerified, "the agreement is not verified for partner \(partner)", digest: digest,
                        detail: ["partner": .string(partner), "findings": [.object(object)]])
    }

    /// The answer to a change or cancellation the chain does not take.
    static func chainRefusal(_ result: IntakeResult, digest: ContentDigest, partner: String, amends: ContentDigest? = nil) -> IntakeOutcome {
        switch result {
        case .stale(let current, let version):
            return .refused(.staleVersion,
                            "the agreement is at version \(version) (\(current)); a change or cancellation must supersede it with version \(version + 1)",
                            digest: digest, detail: ["partner": .string(partner), "current": .string(current.description), "version": .number(Double(version))])
        case .closed(let cancellation):
            return .refused(.agreementCancelled, "the agreement is cancelled (\(cancellation)); nothing follows a cancellation", digest: digest,
                            detail: ["partner": .string(partner), "cancellation": .string(cancellation.description)])
        default:
            var detail: JSONObject = ["partner": .string(partner)]
            if let amends { detail["amends"] = .string(amends.description) }
            return .refused(.unknownAgreement, "partner \(partner) has no original agreement with the digest in 'amends'", digest: digest,
                            detail: detail)
        }
    }
}
