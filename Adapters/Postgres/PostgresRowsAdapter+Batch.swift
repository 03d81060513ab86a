public import AdapterKit
import CausewayCore
import PostgresNIO

/// Several creates in one transaction (``BatchDeliveringAdapter``): one `BEGIN` and one `COMMIT`
/// for the batch instead of one pair per delivery, and one connection from the pool; creates of
/// one shape share their statements too (``createTogether(_:_:_:)``). The batch
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
                var actions: [RowsAction] = []
                for delivery in creates {
                    guard case .rows(let rows) = delivery.action.payload, try await checkColumns(rows, db) == nil else { throw OneAtATime() }
                    actions.append(rows)
                }
                if let outcomes = try await createTogether(actions, creates, db) { return outcomes }
                var outcomes: [DeliveryOutcome] = []
                for (rows, delivery) in zip(actions, creates) {
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

    /// Creates of one shape — the same table, columns, key, returned columns and child tables —
    /// written with one multi-row insert for their parent rows and one per child table, instead
    /// of a statement or two per delivery. Nil, having written nothing, when their shapes differ
    /// (the caller writes them one by one). Throws ``OneAtATime`` when a parent row was not inserted
    /// (its key existed, or came back in another spelling): each delivery is then made alone, where
    /// an existing key is looked up as for one.
    func createTogether(_ actions: [RowsAction], _ deliveries: [Delivery], _ db: PostgresConnection) async throws -> [DeliveryOutcome]? {
        guard let first = actions.first, actions.count > 1 else { return nil }
        let parents = zip(actions, deliveries).map { rows, delivery -> [(column: String, value: CellValue)] in
            var cells = rows.row.cells
            if let column = rows.provenanceColumn { cells.append((column, CellValue(.json(delivery.provenance.json), type: .json))) }
            return cells
        }
        let columns = parents[0].map(\.column)
        guard actions.allSatisfy({ $0.table == first.table && $0.key == first.key && $0.returning == first.returning
                                   && $0.children.map(\.table) == first.children.map(\.table) }),
              parents.allSatisfy({ $0.map(\.column) == columns }), parents.count * columns.count <= Self.maxValues
        else { return nil }

        let (select, bindings) = Self.recordset(parents, types: try await self.types(of: first.table, db))
        // The key comes back too, to tell which row is whose (RETURNING's order is not promised).
        let back = first.key + first.returning.filter { !first.key.contains($0) }
        let sql = "INSERT INTO \(Self.identifier(first.table)) (\(columns.map { Self.identifier($0) }.joined(separator: ", "))) "
            + select + " ON CONFLICT DO NOTHING RETURNING " + back.map { Self.identifier($0) + "::text" }.joined(separator: ", ")
        var byKey: [[String]: [String: String]] = [:]
        for row in try await db.query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: logger).collect() {
            let random = row.makeRandomAccess()
            var values: [String: String] = [:]
            for (index, column) in back.enumerated() { values[column] = try random[index].decode(String?.self) }
            byKey[first.key.map { values[$0] ?? "" }] = values
        }
        var returned: [[String: String]] = []
        for rows in actions {
            guard let values = byKey.removeValue(forKey: rows.key.map { rows.row[$0].flatMap(Self.text) ?? "" }) else { throw OneAtATime() }
            // What one insert would have returned: the returned columns only.
            returned.append(values.filter { first.returning.contains($0.key) })
        }
        for (index, child) in first.children.enumerated() {
            var linked: [[(column: String, value: CellValue)]] = []
            for (rows, values) in zip(actions, returned) { linked += try Self.linked(rows.children[index], to: values) }
            try await insertAll(table: child.table, rows: linked, db)
        }
        return zip(actions, returned).map { .delivered(reference($0, returned: $1)) }
    }
}
