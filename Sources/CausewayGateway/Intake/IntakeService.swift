public import CausewayCore
import CausewayMapping
public import CausewayStore
public import CausewayTrust
import Foundation

/// Intake: parse → route → verify → map → persist, in that order, changing nothing unless every
/// step passes. The HTTP API, `causeway submit` and the inbox folder all go through it.
///
/// Nothing is acknowledged before the agreement and its outbox entries are stored in one
/// transaction; a resubmission is recognised by digest and answered with the stored status.
public struct IntakeService: Sendable {
    public struct Configuration: Sendable {
        /// Largest accepted body (413 above it). Default 1 MiB.
        public var maxBytes: Int
        /// Deepest accepted JSON nesting.
        public var maxDepth: Int
        /// The gateway's DID, named in provenance records.
        public var gateway: String
        /// `causeway/<version>`.
        public var software: String
        /// Bounds on verification work and the clock skew tolerated against this gateway's clock.
        public var limits: VerificationLimits

        public init(maxBytes: Int = 1 << 20, maxDepth: Int = 64, gateway: String, software: String, limits: VerificationLimits = .default) {
            self.limits = limits
            self.maxBytes = maxBytes
            self.maxDepth = maxDepth
            self.gateway = gateway
            self.software = software
        }
    }

    public let configuration: Configuration
    public let partners: PartnerRegistry
    /// Target name → adapter kind, from the gateway configuration.
    public let targets: [String: String]
    public let store: any AgreementStore
    let now: @Sendable () -> Int64
    /// The KELs of KERI signers; nil knows none (every KERI party is `keri.aid_unknown`).
    public var keyStates: KERIKeyStateKeeper?
    /// Where each submission reads the partners and targets it is routed by, when they can change
    /// while the gateway runs (live reload); nil: always ``partners`` and ``targets``. Read once
    /// per submission, so one agreement is routed, verified and mapped under one configuration.
    public var routing: (@Sendable () -> (partners: PartnerRegistry, targets: [String: String]))?
    /// How a verified, mapped agreement is stored: by default ``AgreementStore/accept(_:)``, one
    /// transaction each; `serve` sets a group commit (``GroupCommitter``) so that agreements
    /// arriving together share a transaction. Either way the answer waits for the commit.
    public var persist: (@Sendable (IncomingAgreement) async throws -> IntakeResult)?

    public init(configuration: Configuration, partners: PartnerRegistry, targets: [String: String], store: any AgreementStore,
                now: @escaping @Sendable () -> Int64 = WallClock.milliseconds) {
        self.configuration = configuration
        self.partners = partners
        self.targets = targets
        self.store = store
        self.now = now
    }

    /// Takes one agreement's bytes. Never throws for bad input: every refusal is a result.
    /// `clientCertificate` is asked, only for a partner with `intake.client_certificate`, what
    /// certificate the connection presented (ListenerTLS.swift); by default none.
    public func submit(_ bytes: [UInt8], clientCertificate: @Sendable () async -> PresentedClientCertificate? = { nil }) async throws
        -> IntakeOutcome
    {
        // Parse.
        guard bytes.count <= configuration.maxBytes else {
            return .refused(.tooLarge, "the agreement is \(bytes.count) bytes; the limit is \(configuration.maxBytes)")
        }
        let agreement: Agreement
        do {
            agreement = try Agreement(bytes: bytes, limits: .init(maxBytes: configuration.maxBytes, maxDepth: configuration.maxDepth))
        } catch {
            switch error {
            case .json(let json):
                return .refused(json.code == .tooLarge ? .tooLarge : .malformed, json.description, detail: ["reason": .string(json.code.description)])
            case .notAnAgreement(let problem):
                return .refused(.malformed, problem.message)
            }
        }

        // Route, under the configuration current now (a reload after this does not change this agreement's plan).
        let (partners, targets) = routing?() ?? (self.partners, self.targets)
        let candidates = partners.candidates(for: agreement)
        guard let partner = candidates.first, candidates.count == 1 else {
            return .refused(.unknownPartner, candidates.isEmpty
                ? "no configured partner has these parties' DIDs in its roles"
                : "the parties match several partners (\(candidates.map(\.name).joined(separator: ", "))); their roles must be distinct",
                digest: agreement.digest)
        }

        // Verify under the partner's policy, against this gateway's clock at receipt.
        let receivedAt = now()
        // A change or cancellation: the partner's revision policy decides which signatures it needs (after verification).
        let revisionKind = AgreementRevision.kind(ofType: agreement.type)
        var policy = partner.policy
        if let revisionKind { policy.adapt(for: revisionKind, agreement: agreement, partner: partner.configuration) }
        let verifier = AgreementVerifier(policy: policy, limits: configuration.limits, now: Timestamp(epochSeconds: receivedAt / 1000),
                                         keyStates: keyStates)
        var report = verifier.verify(agreement)
        // A did:webs signer's proof names an event this gateway has not seen: resolve, verify once more.
        if !report.verified, let keyStates, await keyStates.refreshAfter(report, agreement: agreement) {
            report = verifier.verify(agreement)
        }
        guard report.verified else {
            let findings: [JSONValue] = report.errors.map { finding in
                var object: JSONObject = ["code": .string(finding.code.rawValue), "message": .string(finding.message)]
                if let path = finding.path { object["path"] = .string(path) }
                return .object(object)
            }
            var detail: JSONObject = ["partner": .string(partner.name), "findings": .array(findings)]
            if report.omittedFindings > 0 { detail["findingsOmitted"] = .number(Double(report.omittedFindings)) }
            return .refused(.notVerified, "the agreement is not verified for partner \(partner.name)", digest: agreement.digest,
                            detail: detail)
        }

        // The partner's connection requirement (partner.yaml intake.client_certificate): refused before anything is stored.
        if let (refusal, message) = await partner.clientCertificateRefusal(clientCertificate) {
            return .refused(refusal, message, digest: agreement.digest, detail: ["partner": .string(partner.name)])
        }

        // A change or cancellation: its chain as stored, the parties, the partner's revision policy.
        var context = MappingContext(digest: agreement.digest, partner: partner.name)
        var chain: RevisionPlan?
        if let revisionKind {
            switch try await planRevision(agreement, kind: revisionKind, partner: partner, report: report, receivedAt: receivedAt) {
            case .refused(let outcome): return outcome
            case .planned(let plan):
                chain = plan
                context.revision = plan.context
            }
        }

        // Map with the partner's pinned mapping.
        guard let mapping = partner.mapping(for: revisionKind == nil ? agreement.type : PurchaseAgreement.typeName) else {
            return .refused(.mappingFailed, "partner \(partner.name) has no mapping for \(agreement.type ?? "this type")", digest: agreement.digest)
        }
        if let revisionKind, !mapping.handles(revisionKind) {
            let section = revisionKind == .change ? "on_change" : "on_cancel"
            return .refused(.revisionNotMapped,
                            "mapping \(mapping.id) \(mapping.version) has no '\(section)' section, so partner \(partner.name) takes no \(revisionKind == .change ? "changes" : "cancellations") through this gateway; add '\(section)' to its actions (Docs/mappings.md)",
                            digest: agreement.digest, detail: ["partner": .string(partner.name)])
        }
        let result = mapping.map(.object(agreement.document), context: context)
        guard result.succeeded else {
            return .refused(.mappingFailed, "mapping \(mapping.id) \(mapping.version) cannot map this agreement", digest: agreement.digest,
                            detail: ["partner": .string(partner.name), "errors": .array(result.failures.map(\.json))])
        }
        for action in result.actions where targets[action.target] == nil {
            return .refused(.mappingFailed, "the mapping's action '\(action.name)' names target '\(action.target)', which is not configured",
                            digest: agreement.digest)
        }

        // Persist agreement + outbox in one transaction.
        let generated = Timestamp(epochSeconds: receivedAt / 1000, nanoseconds: Int32(receivedAt % 1000) * 1_000_000,
                                  millisecondPrecision: true).text
        let signers = report.signers.map { signer in
            var recorded = ProvenanceRecord.Signer(role: signer.role, did: signer.did, verificationMethod: signer.verificationMethod,
                                                   proofDigest: signer.proofDigest, delegation: signer.delegation?.digest)
            recorded.keyState = signer.keri.map { .init(aid: $0.aid, sn: $0.sn, said: $0.said) }
            return recorded
        }
        let actions = result.actions.map { action -> IncomingAgreement.Action in
            let adapter = targets[action.target] ?? ""  // checked above
            let receiptID = RandomUUID.urn()
            var provenance = ProvenanceRecord(
                receiptID: receiptID, generated: generated, action: action, adapter: adapter, agreementID: agreement.id ?? "",
                agreementType: agreement.type ?? "", agreementDigest: agreement.digest, signers: signers,
                plan: .init(partner: partner.name, mapping: mapping.id, version: mapping.version, digest: mapping.digest, actionIndex: action.index),
                gateway: configuration.gateway, software: configuration.software, traceID: IntakeTrace.traceID)
            if let chain {
                provenance.revision = .init(version: chain.revision.version, amends: chain.revision.amends, supersedes: chain.revision.supersedes,
                                            previousReceiptID: chain.previousReceipts[action.name])
            }
            return IncomingAgreement.Action(index: action.index, name: action.name, target: action.target, kind: action.kind.rawValue,
                                            adapter: adapter, action: action.json, provenance: provenance.json, receiptID: receiptID)
        }
        let incoming = IncomingAgreement(
            digest: agreement.digest, agreementID: agreement.id ?? "", partner: partner.name, type: agreement.type ?? "", document: bytes,
            verification: report.json, mappingID: mapping.id, mappingVersion: mapping.version, mappingDigest: mapping.digest,
            total: agreement.document["total"]?.stringValue, currency: agreement.document["currency"]?.stringValue, receivedAt: receivedAt,
            actions: actions, revision: chain?.revision)
        // Traced: the intake span's context, kept before the agreement so a worker that claims it at once finds it.
        try await GatewayTracing.recordIntake(digest: agreement.digest, store: store)
        let stored = if let persist { try await persist(incoming) } else { try await store.accept(incoming) }
        switch stored {
        case .accepted:
            var status: AgreementStatus = actions.isEmpty ? (chain?.revision.cancellation == true ? .cancelled : .delivered) : .accepted
            // A cancellation may have voided its chain in the same transaction: answer what was stored.
            if chain?.revision.cancellation == true, let stored = try await store.agreement(digest: agreement.digest) {
                status = stored.summary.status
            }
            return .accepted(digest: agreement.digest, partner: partner.name, status: status)
        case .known(let status): return .known(digest: agreement.digest, status: status)
        case .conflict(let existing):
            return .refused(.conflict, "partner \(partner.name) already has an agreement with this id and other content", digest: agreement.digest,
                            detail: ["existing": .string(existing.description)])
        case .unknownAgreement, .stale, .closed:
            return Self.chainRefusal(stored, digest: agreement.digest, partner: partner.name)
        }
    }
}

/// What intake made of an agreement.
public enum IntakeOutcome: Sendable {
    /// Stored now (HTTP 202).
    case accepted(digest: ContentDigest, partner: String, status: AgreementStatus)
    /// Stored before (HTTP 200): resubmission is harmless.
    case known(digest: ContentDigest, status: AgreementStatus)
    /// Refused; nothing was stored.
    case refused(IntakeRefusal, String, digest: ContentDigest? = nil, detail: JSONObject = [:])

    /// The HTTP status the API answers with.
    public var httpStatus: Int {
        switch self {
        case .accepted: 202
        case .known: 200
        case .refused(let refusal, _, _, _): refusal.httpStatus
        }
    }
}

/// Why intake refused, with a stable code (the problem+json `code`) and HTTP status.
public struct IntakeRefusal: Sendable, Hashable, CustomStringConvertible {
    public let code: String
    public let httpStatus: Int
    public let title: String

    public var description: String { code }

    /// Not JSON, not I-JSON, or not an object (400).
    public static let malformed = IntakeRefusal(code: "intake.malformed", httpStatus: 400, title: "Malformed agreement")
    /// Over the size limit (413).
    public static let tooLarge = IntakeRefusal(code: "intake.too_large", httpStatus: 413, title: "Agreement too large")
    /// No configured partner matches the parties (422).
    public static let unknownPartner = IntakeRefusal(code: "intake.unknown_partner", httpStatus: 422, title: "Unknown partner")
    /// Signatures, roles, delegations, content rules or policy failed (422).
    public static let notVerified = IntakeRefusal(code: "intake.not_verified", httpStatus: 422, title: "Agreement not verified")
    /// The partner's mapping cannot map it (422).
    public static let mappingFailed = IntakeRefusal(code: "intake.mapping_failed", httpStatus: 422, title: "Mapping failed")
    /// The partner's business id is known with other content (409).
    public static let conflict = IntakeRefusal(code: "intake.conflict", httpStatus: 409, title: "Conflicting agreement")
    /// A change or cancellation names an agreement the partner does not have (422).
    public static let unknownAgreement = IntakeRefusal(code: "intake.unknown_agreement", httpStatus: 422, title: "Unknown agreement")
    /// A change or cancellation does not extend the latest accepted version (409): another change came first.
    public static let staleVersion = IntakeRefusal(code: "intake.stale_version", httpStatus: 409, title: "Stale version")
    /// The agreement is cancelled: nothing follows a cancellation (409).
    public static let agreementCancelled = IntakeRefusal(code: "intake.agreement_cancelled", httpStatus: 409, title: "Agreement cancelled")
    /// The agreement's versions were archived by retention: nothing can follow them here (422).
    public static let agreementArchived = IntakeRefusal(code: "intake.agreement_archived", httpStatus: 422, title: "Agreement archived")
    /// The partner's mapping has no `on_change` / `on_cancel` section (422).
    public static let revisionNotMapped = IntakeRefusal(code: "intake.revision_not_mapped", httpStatus: 422, title: "Revision not mapped")
}
