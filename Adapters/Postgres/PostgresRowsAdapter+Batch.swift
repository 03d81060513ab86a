public import AdapterKit
import CausewayCore
import PostgresNIO

/// Several creates in one transaction (``BatchDeliveringAdapter``): one `BEGIN` and one `COMMIT`
/// for the batch instead of one pair per delivery, and one connection from the pool. The batch
/// commits only when every create in it was delivered; anything else — a rejection, a database
/// error — rolls the whole batch back and each delivery is then made alone, so every outcome is
/// the one that delivery would have had by itself. Changes and cancellations (updates) are always
/// made alone.
extension PostgresRowsAdapter {
    /// Raised inside the batch's transaction to roll it back and deliver one at a time.
    struct OneAtATime: Error {}

    public func deliverBatch(_ deliveries: [Delivery]) async -> [DeliveryOutcome] {
        await deliverBatch(deliveries, batchable: { delivery in
            guard case .rows(let rows) = delivery.action.payload else { return false }
            return rows.update == nil && Self.validate(rows) == nil
        }, together: { creates in
            await withDeadline(timeout, otherwise: creates.map { _ in .unknown("no answer from the database within \(timeout)") }) {
                await self.writeTogether(creates)
            }
        })
    }

    /// The creates' outcomes once committed together (all `unknown` when the commit's fate is not
    /// known); nil when the batch was rolled back, or never begun, and each must go alone.
    func writeTogether(_ creates: [Delivery]) async -> [DeliveryOutcome]? {
        do {
            return try await client.withTransaction(logger: logger) { db in
                var outcomes: [DeliveryOutcome] = []
                for delivery in creates {
                    guard case .rows(let rows) = delivery.action.payload, try await checkColumns(rows, db) == nil else { throw OneAtATime() }
                    let outcome = try await create(rows, delivery, db)
                    guard outcome.outcomeClass == .delivered else { throw OneAtATime() }
                    outcomes.append(outcome)
                }
                return outcomes
            }
        } catch let error as PostgresTransactionError {
            // A COMMIT the server refused rolled back; one whose answer was lost may have committed.
            if let commit = error.commitError, (commit as? PSQLError).flatMap(Self.classify) == nil {
                return creates.map { _ in .unknown("the connection failed while committing") }
            }
            return nil
        } catch {
            return nil
        }
    }
}
