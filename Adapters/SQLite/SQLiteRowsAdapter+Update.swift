import AdapterKit
import CausewayCore
import GRDB

/// A rejection found inside the transaction: thrown so that the transaction rolls back, reported
/// as `rejected` with ``reason`` (which names tables and columns, never payload values).
struct RowsRejection: Error {
    let reason: String
}

/// Changes and cancellations (``RowsUpdate``), as the PostgreSQL adapter performs them: the row
/// the first version inserted is updated in place inside `BEGIN IMMEDIATE`, its listed child
/// tables replaced, and the provenance record appended to the JSON array in its column.
extension SQLiteRowsAdapter {
    /// The parent row an update found by its match columns.
    struct MatchedRow {
        /// The reference columns' and the children's link columns' values, as text.
        let values: [String: String]
        /// The version the row holds (NULL counts as 1).
        let version: Int
    }

    /// The checks that need no database, for an update: match columns with values, a sane version.
    static func validate(_ rows: RowsAction, _ update: RowsUpdate) -> String? {
        if update.match.isEmpty { return "\(rows.table): the update declares no match columns, so it cannot find the row to change" }
        if update.version < 2 { return "\(rows.table): an update applies version 2 or later, not \(update.version)" }
        for column in update.match {
            guard let cell = rows.row[column] else { return "\(rows.table).\(column): the update's match column is not in the row" }
            if case .null = cell.value { return "\(rows.table).\(column): the update's match column is NULL" }
        }
        return nil
    }

    /// Applies a change in the caller's transaction (see ``RowsUpdate`` for the steps).
    func update(_ rows: RowsAction, _ update: RowsUpdate, _ delivery: Delivery, _ db: Database) throws -> DeliveryOutcome {
        if let problem = try checkColumns(rows, db) { return .rejected(problem) }
        guard let parent = try matchedRow(rows, update, db) else {
            let match = update.match.map { "\($0) = \(rows.row[$0]?.text ?? "NULL")" }.joined(separator: " AND ")
            return .rejected("the row the first version wrote is not in \(rows.table) (\(match))")
        }
        if parent.version >= update.version { return .delivered(reference(rows, parent.values)) }
        if parent.version < update.version - 1 {
            return .rejected("\(rows.table): version \(update.version - 1) is not applied to this row (it holds version \(parent.version)); "
                + "the gateway delivers versions in order, so the row was changed outside Causeway")
        }
        // Every child row is linked before anything is written.
        let children = try rows.children.map { child in (child, try Self.linked(child, to: parent.values)) }

        let owned = Set(update.match + [update.versionColumn] + (rows.provenanceColumn.map { [$0] } ?? []))
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
        var selected = rows.returning.isEmpty ? rows.key : rows.returning
        for link in rows.children.flatMap(\.links) where !selected.contains(link.parentColumn) { selected.append(link.parentColumn) }
        let sql = "SELECT \((selected + [update.versionColumn]).map { "CAST(\(Self.identifier($0)) AS TEXT)" }.joined(separator: ", ")) "
            + "FROM \(Self.identifier(rows.table)) WHERE \(Self.matchCondition(update)) LIMIT 2"
        let found = try GRDB.Row.fetchAll(db, sql: sql, arguments: StatementArguments(Self.matchArguments(rows, update)))
        guard let row = found.first else { return nil }
        if found.count > 1 {
            throw RowsRejection(reason: "the match columns \(update.match) select more than one row of \(rows.table); an update changes one")
        }
        var values: [String: String] = [:]
        for (index, column) in selected.enumerated() { values[column] = row[index] }
        // NULL: a row the first version wrote before the table had a version column.
        guard let version: String = row[selected.count] else { return MatchedRow(values: values, version: 1) }
        guard let applied = Int(version) else {
            throw RowsRejection(reason: "\(rows.table).\(update.versionColumn): the row's version is not a whole number")
        }
        return MatchedRow(values: values, version: applied)
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
            try db.execute(sql: "INSERT INTO \(Self.identifier(table)) (\(cells.map { Self.identifier($0.0) }.joined(separator: ", "))) VALUES ("
                           + cells.map { _ in "?" }.joined(separator: ", ") + ")", arguments: StatementArguments(cells.map(\.1)))
        }
    }
}
