import AdapterKit
import CausewayCore
import PostgresNIO

/// Changes and cancellations (``RowsUpdate``): the row the first version inserted is updated in
/// place, its listed child tables replaced, and the provenance record appended.
extension PostgresRowsAdapter {
    /// The checks that need no database, for an update (``RowsAction/problem(with:)``).
    static func validate(_ rows: RowsAction, _ update: RowsUpdate) -> String? { rows.problem(with: update) }

    /// Applies a change in the caller's transaction (see ``RowsUpdate`` for the steps).
    func update(_ rows: RowsAction, _ update: RowsUpdate, _ delivery: Delivery, _ db: PostgresConnection) async throws -> DeliveryOutcome {
        guard let parent = try await matchedRow(rows, update, lock: true, db) else {
            return .rejected(rows.missingRow(for: update, text: Self.text))
        }
        if parent.version >= update.version { return .delivered(reference(rows, returned: parent.values)) }
        if parent.version < update.version - 1 { return .rejected(rows.versionGap(for: update, holds: parent.version)) }
        // Every child row is linked before anything is written: a missing link rejects a clean transaction.
        let children = try rows.children.map { child in (child, try Self.linked(child, to: parent.values)) }

        let types = try await self.types(of: rows.table, db)
        func placeholder(_ column: String, _ type: CellValue.ValueType, _ bindings: PostgresBindings) -> String {
            "$\(bindings.count)::text::\(types[column] ?? Self.cast(type))"
        }
        var bindings = PostgresBindings()
        var assignments: [String] = []
        let owned = rows.columnsNotAssigned(by: update)
        for (column, cell) in rows.row.cells where !owned.contains(column) {
            bindings.append(Self.text(cell))
            assignments.append("\(Self.identifier(column)) = \(placeholder(column, cell.type, bindings))")
        }
        bindings.append(String(update.version))
        assignments.append("\(Self.identifier(update.versionColumn)) = \(placeholder(update.versionColumn, .integer, bindings))")
        if let column = rows.provenanceColumn {
            let record = CellValue(.json(try JSONReader().read(delivery.provenance.canonicalBytes)), type: .json)
            bindings.append(Self.text(record))
            // Appended, never overwritten: an object (the first version's record) becomes an array of records.
            let new = "$\(bindings.count)::text::jsonb", old = "\(Self.identifier(column))::jsonb"
            assignments.append("\(Self.identifier(column)) = (CASE jsonb_typeof(\(old)) WHEN 'array' THEN \(old) || jsonb_build_array(\(new)) "
                + "WHEN 'object' THEN jsonb_build_array(\(old), \(new)) ELSE jsonb_build_array(\(new)) END)::\(types[column] ?? "jsonb")")
        }
        let conditions = Self.matchConditions(rows, update, types, &bindings)
        try await db.query(PostgresQuery(unsafeSQL: "UPDATE \(Self.identifier(rows.table)) SET \(assignments.joined(separator: ", ")) WHERE \(conditions)",
                                         binds: bindings), logger: logger)

        for (child, linkedRows) in children {
            let childTypes = try await self.types(of: child.table, db)
            var bindings = PostgresBindings()
            var links: [String] = []
            for link in child.links {
                bindings.append(parent.values[link.parentColumn])
                links.append("\(Self.identifier(link.column)) = $\(bindings.count)::text::\(childTypes[link.column] ?? "text")")
            }
            try await db.query(PostgresQuery(unsafeSQL: "DELETE FROM \(Self.identifier(child.table)) WHERE \(links.joined(separator: " AND "))",
                                             binds: bindings), logger: logger)
            try await insertAll(table: child.table, rows: linkedRows, db)
        }
        return .delivered(reference(rows, returned: parent.values))
    }

    /// `lookup` for an update: found once the row holds the update's version (or a later one).
    func lookup(_ rows: RowsAction, _ update: RowsUpdate, _ db: PostgresConnection) async throws -> LookupResult {
        guard Self.validate(rows, update) == nil, let parent = try await matchedRow(rows, update, lock: false, db),
              parent.version >= update.version
        else { return .notFound }
        return .found(reference(rows, returned: parent.values))
    }

    /// The row the match columns select, locked `FOR UPDATE` when `lock`; nil when there is none.
    /// More than one is a rejection: the update would change rows that are not the first version's.
    func matchedRow(_ rows: RowsAction, _ update: RowsUpdate, lock: Bool, _ db: PostgresConnection) async throws -> MatchedRow? {
        let types = try await self.types(of: rows.table, db)
        let selected = rows.columnsReadByUpdate
        var bindings = PostgresBindings()
        let conditions = Self.matchConditions(rows, update, types, &bindings)
        let sql = "SELECT \((selected + [update.versionColumn]).map { Self.identifier($0) + "::text" }.joined(separator: ", ")) "
            + "FROM \(Self.identifier(rows.table)) WHERE \(conditions) LIMIT 2" + (lock ? " FOR UPDATE" : "")
        let found = try await db.query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: logger).collect()
        guard let row = found.first else { return nil }
        if found.count > 1 {
            throw RowsRejection(reason: "the match columns \(update.match) select more than one row of \(rows.table); an update changes one")
        }
        let random = row.makeRandomAccess()
        var values: [String: String] = [:]
        for (index, column) in selected.enumerated() { values[column] = try random[index].decode(String?.self) }
        return try MatchedRow(values: values, storedVersion: try random[selected.count].decode(String?.self), rows: rows, update: update)
    }

    /// `"a" = $1::text::type AND …` for the match columns, binding their values.
    static func matchConditions(_ rows: RowsAction, _ update: RowsUpdate, _ types: [String: String], _ bindings: inout PostgresBindings) -> String {
        var conditions: [String] = []
        for column in update.match {
            bindings.append(rows.row[column].flatMap(text))
            // Compared in the column's own type, so that its index serves the search.
            conditions.append("\(identifier(column)) = $\(bindings.count)::text::\(types[column] ?? "text")")
        }
        return conditions.joined(separator: " AND ")
    }

    /// Child rows with their link columns set to the parent's values; a value the parent does not
    /// have rejects the delivery (thrown, so nothing of the transaction stays).
    static func linked(_ child: ChildRows, to parent: [String: String]) throws -> [[(column: String, value: CellValue)]] {
        try child.rows.map { row in
            var cells = row.cells
            for link in child.links {
                guard let value = parent[link.parentColumn] else {
                    throw RowsRejection(reason: "\(child.table).\(link.column): the parent insert did not return \(link.parentColumn)")
                }
                cells.append((link.column, .text(value, .text)))
            }
            return cells
        }
    }
}
