public import AdapterKit
import CausewayCore
import GRDB

/// Several creates in one write transaction (``BatchDeliveringAdapter``): one lock and one
/// commit — one sync of the file — for the batch instead of one per delivery. The batch commits
/// only when every create in it was delivered; anything else — a rejection, a database error —
/// rolls it back and each delivery is then made alone, so every outcome is the one that delivery
/// would have had by itself. A failed commit in SQLite leaves nothing written, and a delivery made
/// alone looks its key up first, so falling back is always safe. Changes and cancellations
/// (updates) are always made alone.
extension SQLiteRowsAdapter {
    /// Raised inside the batch's transaction to roll it back and deliver one at a time.
    struct OneAtATime: Error {}

    public func deliverBatch(_ deliveries: [Delivery]) async -> [DeliveryOutcome] {
        await deliverBatch(deliveries, batchable: { delivery in
            guard case .rows(let rows) = delivery.action.payload else { return false }
            return rows.update == nil && !rows.key.isEmpty
        }, together: { creates in
            try? await queue.write { db in
                try creates.map { delivery in
                    guard case .rows(let rows) = delivery.action.payload, try self.checkColumns(rows, db) == nil else { throw OneAtATime() }
                    let outcome = try self.create(rows, delivery, db)
                    guard outcome.outcomeClass == .delivered else { throw OneAtATime() }
                    return outcome
                }
            }
        })
    }
}
