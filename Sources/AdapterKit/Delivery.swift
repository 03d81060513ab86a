public import CausewayCore

/// One action handed to an adapter: what to do, the key that makes doing it twice harmless, and
/// the provenance that travels with the write.
public struct Delivery: Sendable {
    /// The agreement's digest (its identity).
    public let agreementDigest: ContentDigest
    /// The parties' own id for the deal.
    public let agreementID: String
    /// The mapped action.
    public let action: LegacyAction
    /// `sha256:…/N`: the agreement digest and the action index. The adapter must make a second
    /// delivery with the same key a no-op that reports the first result (a unique constraint, a
    /// reference lookup, a file name …).
    public let idempotencyKey: String
    /// The provenance record to write with the legacy data, in the same transaction where the
    /// target has transactions.
    public let provenance: ProvenanceRecord
    /// The signed agreement as received (for targets that attach it, such as an ERP).
    public let signedAgreement: [UInt8]
    /// 1 for the first try.
    public let attempt: Int
    /// What the delivery does to the agreement's legacy document: `create` for an original
    /// agreement's action, `change` or `cancel` for the action of a change or cancellation (its
    /// provenance record carries `revision`: the version, the original's digest, the version it follows).
    public var operation: String {
        guard provenance.revision != nil else { return "create" }
        return provenance.agreementType == AgreementRevision.cancellationType ? "cancel" : "change"
    }

    /// `{"operation", "version", "amends", "supersedes"}` for a change's or cancellation's action; nil for an original's.
    public var revisionJSON: JSONValue? {
        guard let revision = provenance.revision else { return nil }
        return ["operation": .string(operation), "version": .number(Double(revision.version)),
                "amends": .string(revision.amends.description), "supersedes": .string(revision.supersedes.description)]
    }

    /// The W3C `traceparent` of this delivery's span, when the gateway traces (Docs/operations.md,
    /// Traces). Adapters that call out over HTTP send it, so the target's spans join the trace.
    public var traceparent: String? = nil
    /// The W3C `tracestate` that goes with ``traceparent``, if any.
    public var tracestate: String? = nil

    public init(agreementDigest: ContentDigest, agreementID: String, action: LegacyAction, provenance: ProvenanceRecord,
                signedAgreement: [UInt8], attempt: Int = 1) {
        self.agreementDigest = agreementDigest
        self.agreementID = agreementID
        self.action = action
        self.idempotencyKey = action.idempotencyKey(for: agreementDigest)
        self.provenance = provenance
        self.signedAgreement = signedAgreement
        self.attempt = attempt
    }
}

/// The legacy system's own name for what was written: a PO number, a row key, a ticket id.
public struct LegacyReference: Sendable, Hashable, CustomStringConvertible {
    /// The system (`tryton`, `postgresql`, `http`).
    public let system: String
    /// What kind of document (`purchase.purchase`, `erp_purchase_order`).
    public let kind: String
    /// Its identifier there.
    public let id: String

    public init(system: String, kind: String, id: String) {
        self.system = system
        self.kind = kind
        self.id = id
    }

    public var description: String { "\(system):\(kind):\(id)" }

    public var json: JSONValue { ["system": .string(system), "kind": .string(kind), "id": .string(id)] }
}

/// How one delivery attempt ended. Every outcome says what happens next.
public struct DeliveryOutcome: Sendable, Hashable, CustomStringConvertible {
    public enum Class: String, Sendable, Hashable, CaseIterable {
        /// Committed in the target; the reference identifies it. A receipt may be issued.
        case delivered
        /// Not done, and safe to try again (connection refused, 503, lock timeout …).
        case retryable
        /// Not done, and trying again will not help (validation error, unknown product …): dead letter.
        case rejected
        /// Perhaps done (timeout after sending): look the key up in the target before any retry.
        case unknown
    }

    public let outcomeClass: Class
    /// The legacy reference, for `delivered`.
    public let reference: LegacyReference?
    /// Why, in words, for anything but `delivered`. Never contains secrets or payload values.
    public let reason: String?
    /// For `retryable`: the earliest the target wants to be asked again (e.g. `Retry-After`).
    public let retryAfter: Duration?

    public static func delivered(_ reference: LegacyReference) -> DeliveryOutcome {
        DeliveryOutcome(outcomeClass: .delivered, reference: reference, reason: nil, retryAfter: nil)
    }

    public static func retryable(_ reason: String, after: Duration? = nil) -> DeliveryOutcome {
        DeliveryOutcome(outcomeClass: .retryable, reference: nil, reason: reason, retryAfter: after)
    }

    public static func rejected(_ reason: String) -> DeliveryOutcome {
        DeliveryOutcome(outcomeClass: .rejected, reference: nil, reason: reason, retryAfter: nil)
    }

    public static func unknown(_ reason: String) -> DeliveryOutcome {
        DeliveryOutcome(outcomeClass: .unknown, reference: nil, reason: reason, retryAfter: nil)
    }

    public var description: String {
        switch outcomeClass {
        case .delivered: "delivered \(reference.map(\.description) ?? "")"
        default: "\(outcomeClass.rawValue): \(reason ?? "")"
        }
    }
}

/// What the target knows about an idempotency key.
public enum LookupResult: Sendable, Hashable {
    /// The action was performed; this is its reference.
    case found(LegacyReference)
    /// The target has no trace of it: delivering is safe.
    case notFound
    /// The target cannot be asked now; try the lookup again later.
    case unavailable(String)
}
