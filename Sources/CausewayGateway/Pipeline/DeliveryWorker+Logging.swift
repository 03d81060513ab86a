import CausewayCore
import CausewayStore
import Logging

extension DeliveryWorker {
    /// The delivery log (label `causeway.delivery`; Docs/operations.md, "Logs").
    static let logger = Logger(label: "causeway.delivery")

    /// Logs how one attempt ended: a failure with its retry time at `warning`, a dead letter at
    /// `error`, a delivery at `debug`. Every line names `partner`, `target`, `agreement.digest`,
    /// `attempt`, `outcome` and, for failures, `detail` (the adapter's reason, at most 512 bytes).
    func logAttempt(_ entry: OutboxEntry, outcome: String, detail: String?, next: AttemptRecord.Next) {
        var metadata: Logger.Metadata = [
            "partner": .string(entry.partner), "target": .string(entry.target), "agreement.digest": .string(entry.digest.description),
            "attempt": .stringConvertible(entry.attempts + 1), "outcome": .string(outcome), "worker": .string(configuration.worker),
        ]
        if let detail { metadata["detail"] = .string(detail.utf8.count > 512 ? String(detail.prefix(500)) + "…" : detail) }
        switch next {
        case .delivered:
            Self.logger.debug("delivered", metadata: metadata)
        case .retry(let at, let lookupFirst):
            metadata["retry.at"] = .string(AuditEntry.timestamp(at))
            metadata["retry.lookup_first"] = .stringConvertible(lookupFirst)
            Self.logger.warning("delivery failed; will retry", metadata: metadata)
        case .deadLetter(let reason):
            metadata["dead_letter.reason"] = .string(reason.utf8.count > 512 ? String(reason.prefix(500)) + "…" : reason)
            Self.logger.error("delivery dead-lettered", metadata: metadata)
        }
    }
}
