public import CausewayCore
public import Foundation

/// A partner's rules for changes and cancellations of its agreements (`changes:` and
/// `cancellations:` in `partner.yaml`). Both parties must sign either by default.
///
/// ```yaml
/// changes:
///   signers: [buyer, seller]             # the roles that must sign a change (default: every role)
///   max_total: "300000.00"               # the largest new total (default: limits.max_total)
///   until_days_before_delivery: 3        # refused once the delivery date is nearer (default: no cut-off)
/// cancellations:
///   signers: [buyer, seller]             # the roles that must sign a cancellation (default: every role)
///   alone:                               # a role that may cancel by itself, until N days before delivery
///     - {role: buyer, until_days_before_delivery: 7}
///   until_days_before_delivery: 1        # no cancellation at all once the delivery date is nearer
/// ```
///
/// Days are counted from the gateway's clock (UTC date) at receipt to the `delivery.date` of the
/// version in force; a version without a delivery date has no cut-off. The ERP's own refusal (goods
/// already received) is the other cut-off: it comes back from the adapter as a rejection.
public struct PartnerRevisionPolicy: Sendable, Hashable {
    /// A role allowed to cancel without the others, until a number of days before delivery.
    public struct Alone: Sendable, Hashable {
        public let role: String
        public let untilDaysBeforeDelivery: Int?
    }

    public struct Rules: Sendable, Hashable {
        /// Roles that must sign; nil means every role in `roles`.
        public var signers: [String]?
        /// Largest new total (changes only).
        public var maxTotal: Decimal?
        /// No revision once fewer days than this remain before delivery.
        public var untilDaysBeforeDelivery: Int?
        /// Roles that may cancel alone (cancellations only).
        public var alone: [Alone] = []

        public init(signers: [String]? = nil, maxTotal: Decimal? = nil, untilDaysBeforeDelivery: Int? = nil, alone: [Alone] = []) {
            self.signers = signers
            self.maxTotal = maxTotal
            self.untilDaysBeforeDelivery = untilDaysBeforeDelivery
            self.alone = alone
        }
    }

    public var changes = Rules()
    public var cancellations = Rules()

    public init(changes: Rules = Rules(), cancellations: Rules = Rules()) {
        self.changes = changes
        self.cancellations = cancellations
    }

    public func rules(for kind: AgreementRevision.Kind) -> Rules { kind == .change ? changes : cancellations }

    /// Why the partner refuses this revision, or nil when it accepts it.
    /// - Parameters:
    ///   - signed: the roles whose signature verified.
    ///   - roles: every role the partner names.
    ///   - deliveryDate: the delivery date of the version in force (the one superseded).
    ///   - today: the gateway's UTC date at receipt.
    ///   - newTotal: a change's new total; `defaultMaxTotal` is `limits.max_total`.
    public func refusal(kind: AgreementRevision.Kind, signed: Set<String>, roles: [String], deliveryDate: CalendarDate?,
                        today: CalendarDate, newTotal: Decimal?, defaultMaxTotal: Decimal?) -> Finding?
    {
        let rules = rules(for: kind)
        let noun = kind == .change ? "change" : "cancellation"
        let section = kind == .change ? "changes" : "cancellations"
        let daysLeft = deliveryDate.map { $0.daysSinceEpoch - today.daysSinceEpoch }
        if let cutoff = rules.untilDaysBeforeDelivery, let daysLeft, daysLeft < cutoff {
            return Finding(.policyRevisionTooLate,
                           "the partner takes no \(noun) less than \(cutoff) days before delivery (\(deliveryDate!.description), \(daysLeft) days from today); see '\(section).until_days_before_delivery' in partner.yaml",
                           path: "$['type']")
        }
        let required = rules.signers ?? roles
        let missing = required.filter { !signed.contains($0) }
        if !missing.isEmpty {
            // A role allowed to act alone, within its time limit?
            let alone = rules.alone.first { rule in
                signed.contains(rule.role) && (rule.untilDaysBeforeDelivery.map { days in daysLeft.map { $0 >= days } ?? true } ?? true)
            }
            if alone == nil {
                var message = "a \(noun) needs the signatures of \(required.joined(separator: " and ")); \(missing.joined(separator: ", ")) did not sign"
                if let late = rules.alone.first(where: { signed.contains($0.role) }), let days = late.untilDaysBeforeDelivery, let daysLeft {
                    message += " (\(late.role) may cancel alone only until \(days) days before delivery; \(daysLeft) remain)"
                }
                return Finding(.policyRevisionSignersMissing, message + "; see '\(section).signers' in partner.yaml", path: "$['parties']")
            }
        }
        if kind == .change, let newTotal, let limit = rules.maxTotal ?? defaultMaxTotal, newTotal > limit {
            return Finding(.policyRevisionLimitExceeded,
                           "the changed total \(DecimalText.plain(newTotal, minimumScale: 2)) is over the partner's limit for changes of \(DecimalText.plain(limit, minimumScale: 2))",
                           path: "$['total']")
        }
        return nil
    }

    /// Reads `changes:` and `cancellations:`; every problem is a diagnostic at its position.
    static func parse(changes: YNode?, cancellations: YNode?, roles: [String: [String]], _ d: inout Diagnostics) -> PartnerRevisionPolicy {
        var policy = PartnerRevisionPolicy()
        func rules(_ node: YNode, _ section: String, cancellation: Bool) -> Rules {
            var rules = Rules()
            let allowed: Set<String> = cancellation ? ["signers", "alone", "until_days_before_delivery"]
                : ["signers", "max_total", "until_days_before_delivery"]
            guard let map = node.mapping("'\(section)'", allowed: allowed, &d) else { return rules }
            func role(_ name: String, at location: SourceLocation) {
                if roles[name] == nil {
                    d.error("partner.unknown_role", "'\(name)' in '\(section)' is not a role in 'roles' (\(roles.keys.sorted().joined(separator: ", ")))",
                            at: location)
                }
            }
            if let signers = map["signers"] {
                rules.signers = signers.strings("'\(section).signers'", &d)
                for name in rules.signers ?? [] { role(name, at: signers.location) }
                if rules.signers?.isEmpty == true {
                    d.error("partner.type_error", "'\(section).signers' must name at least one role", at: signers.location)
                }
            }
            if let m = map["max_total"], let text = m.string("'\(section).max_total'", &d) {
                rules.maxTotal = DecimalText.parse(text)
                if rules.maxTotal == nil || m.isPlainScalarNode {
                    d.error("partner.type_error", "'\(section).max_total' must be a quoted decimal string such as \"300000.00\"", at: m.location)
                }
            }
            if let days = map["until_days_before_delivery"], let n = days.integer("'\(section).until_days_before_delivery'", &d) {
                if n < 0 || n > 3650 { d.error("partner.type_error", "'\(section).until_days_before_delivery' must be 0 to 3650", at: days.location) }
                rules.untilDaysBeforeDelivery = n
            }
            if let list = map["alone"] {
                guard let items = list.items else {
                    d.error("partner.type_error", "'\(section).alone' must be a list of {role, until_days_before_delivery}", at: list.location)
                    return rules
                }
                for item in items {
                    guard let fields = item.mapping("an entry of '\(section).alone'", allowed: ["role", "until_days_before_delivery"], &d),
                        let name = fields["role"]?.string("'role'", &d)
                    else {
                        d.error("partner.missing_key", "each entry of '\(section).alone' needs 'role'", at: item.location)
                        continue
                    }
                    role(name, at: item.location)
                    var until: Int?
                    if let days = fields["until_days_before_delivery"], let n = days.integer("'until_days_before_delivery'", &d) {
                        if n < 0 || n > 3650 { d.error("partner.type_error", "'until_days_before_delivery' must be 0 to 3650", at: days.location) }
                        until = n
                    }
                    rules.alone.append(Alone(role: name, untilDaysBeforeDelivery: until))
                }
            }
            return rules
        }
        if let changes { policy.changes = rules(changes, "changes", cancellation: false) }
        if let cancellations { policy.cancellations = rules(cancellations, "cancellations", cancellation: true) }
        return policy
    }
}
