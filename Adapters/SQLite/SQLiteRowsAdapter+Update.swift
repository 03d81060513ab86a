import AdapterKit
import CausewayCore
import GRDB

/// Changes and cancellations (``RowsUpdate``), as the PostgreSQL adapter performs them: the row
/// the first version inserted is updated in place inside `BEGIN IMMEDIATE`, its listed child
/// tables replaced, and the provenance record appended to the JSON array in its column.
extension SQLiteRowsAdapter {
    /// The checks that need no database, for an update (``RowsAction/problem(with:)``).
    static func validate(_ rows: RowsAction, _ update: RowsUpdate) -> String? { rows.problem(with: update) }

    /// Applies a change in the caller's transaction (see ``RowsUpdate`` for the steps).
    func update(_ rows: RowsAction, _ update: RowsUpdate, _ delivery: Delivery, _ db: Database) throws -> DeliveryOutcome {
        if let problem = try checkColumns(rows, db) { return .rejected(problem) }
        guard let parent = try matchedRow(rows, update, db) else {
            return .rejected(rows.missingRow(for: update, text: \.text))
        }
        if parent.version >= update.version { return .delivered(reference(rows, parent.values)) }
        if parent.version < update.version - 1 { return .rejected(rows.versionGap(for: update, holds: parent.version)) }
        // Every child row is linked before anything is written.
        let children = try rows.children.map { child in (child, try Self.linked(child, to: parent.values)) }

        let owned = rows.columnsNotAssigned(by: update)
        var assignments: [String] = []
        var arguments: [DatabaseValue] = []
        for (column, cell) in rows.row.cells where !owned.contains(column) {
            assignments.append("\(Self.identifier(column)) = ?")
            arguments.append(Self.value(cell))
        }
        assignments.append("\(Self.identifier(update.versionColumn)) = ?")
        arguments.append(Int64(update.version).databaseValue)
        if let column = rows.provenanceColumn {
            // Appended, never overwritten: an object (the first version's record) becomes an array of records.
            let record = String(decoding: delivery.provenance.canonicalBytes, as: UTF8.self).databaseValue
            let old = Self.identifier(column)
            assignments.append("\(old) = CASE json_type(\(old)) WHEN 'array' THEN json_insert(\(old), '$[#]', json(?)) "
                + "WHEN 'object' THEN json_array(json(\(old)), json(?)) ELSE json_array(json(?)) END")
            arguments += [record, record, record]
        }
        let match = Self.matchCondition(update)
        try db.execute(sql: "UPDATE \(Self.identifier(rows.table)) SET \(assignments.joined(separator: ", ")) WHERE \(match)",
                       arguments: StatementArguments(arguments + Self.matchArguments(rows, update)))

        for (child, linkedRows) in children {
            let links = child.links.map { "\(Self.identifier($0.column)) = ?" }.joined(separator: " AND ")
            try db.execute(sql: "DELETE FROM \(Self.identifier(child.table)) WHERE \(links)",
                           arguments: StatementArguments(child.links.map { parent.values[$0.parentColumn]?.databaseValue ?? .null }))
            try insert(linkedRows, into: child.table, db)
        }
        return .delivered(reference(rows, parent.values))
    }

    /// `lookup` for an update: found once the row holds the update's version (or a later one).
    func lookup(_ rows: RowsAction, _ update: RowsUpdate, _ db: Database) throws -> LookupResult {
        guard Self.validate(rows, update) == nil, let parent = try matchedRow(rows, update, db), parent.version >= update.version
        else { return .notFound }
        return .found(reference(rows, parent.values))
    }

    /// The row the match columns select, nil when there is none; more than one is a rejection.
    func matchedRow(_ rows: RowsAction, _ update: RowsUpdate, _ db: Database) throws -> MatchedRow? {
        let selected = rows.columnsReadByUpdate
        let sql = "SELECT \((selected + [update.versionColumn]).map { "CAST(\(Self.identifier($0)) AS TEXT)" }.joined(separator: ", ")) "
            + "FROM \(Self.identifier(rows.table)) WHERE \(Self.matchCondition(update)) LIMIT 2"
        let found = try GRDB.Row.fetchAll(db, sql: sql, arguments: StatementArguments(Self.matchArguments(rows, update)))
        guard let row = found.first else { return nil }
        if found.count > 1 {
            throw RowsRejection(reason: "the match columns \(update.match) select more than one row of \(rows.table); an update changes one")
        }
        var values: [String: String] = [:]
        for (index, column) in selected.enumerated() { values[column] = row[index] }
        return try MatchedRow(values: values, storedVersion: row[selected.count], rows: rows, update: update)
    }

    static func matchCondition(_ update: RowsUpdate) -> String {
        update.match.map { "\(identifier($0)) = ?" }.joined(separator: " AND ")
    }

    static func matchArguments(_ rows: RowsAction, _ update: RowsUpdate) -> [DatabaseValue] {
        update.match.map { rows.row[$0].map(value) ?? .null }
    }

    /// Child rows with their link columns set to the parent's values; a value the parent does not
    /// have rejects the delivery (thrown, so nothing of the transaction stays).
    static func linked(_ child: ChildRows, to parent: [String: String]) throws -> [[(String, DatabaseValue)]] {
        try child.rows.map { row in
            var cells = row.cells.map { ($0.column, Self.value($0.value)) }
            for link in child.links {
                guard let parentValue = parent[link.parentColumn] else {
                    throw RowsRejection(reason: "\(child.table).\(link.column): the parent insert did not return \(link.parentColumn)")
                }
                cells.append((link.column, parentValue.databaseValue))
            }
            return cells
        }
    }

    /// Inserts child rows, one statement each.
    func insert(_ rows: [[(String, DatabaseValue)]], into table: String, _ db: Database) throws {
        for cells in rows {
            // Cached: one text per table and column set (one row per statement).
            try db.cachedStatement(sql: "INSERT INTO \(Self.identifier(table)) (\(cells.map { Self.identifier($0.0) }.joined(separator: ", "))) VALUES ("
                                   + cells.map { _ in "?" }.joined(separator: ", ") + ")").execute(arguments: StatementArguments(cells.map(\.1)))
        }
    }
}
