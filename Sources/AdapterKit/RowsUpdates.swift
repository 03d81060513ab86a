public import CausewayCore
import Foundation

/// What both rows adapters (PostgreSQL, SQLite) share for a change's or cancellation's update
/// (``RowsUpdate``): the checks that need no database, the parent columns read back, the columns
/// the update sets itself, how a stored version reads, and the rejections' words. Each adapter
/// keeps only its SQL.

/// `"name"` as an SQL identifier, quotes doubled (the same rule in PostgreSQL and SQLite): a name
/// from a mapping can never break out. Most names have no quote, and Foundation's replacing is
/// slow enough to show in a profile, so it runs only when there is one.
public func quotedSQLIdentifier(_ name: String) -> String {
    "\"" + (name.contains("\"") ? name.replacingOccurrences(of: "\"", with: "\"\"") : name) + "\""
}

/// A rejection found inside the update's transaction: thrown so that the transaction rolls back,
/// reported as `rejected` with ``reason`` (which names tables and columns, never payload values).
public struct RowsRejection: Error, Sendable {
    public let reason: String

    public init(reason: String) { self.reason = reason }
}

/// The parent row an update found by its match columns.
public struct MatchedRow: Sendable {
    /// The reference columns' and the children's link columns' values, as text.
    public let values: [String: String]
    /// The version the row holds (NULL counts as 1).
    public let version: Int

    /// The row read back: `storedVersion` is the version column's text (NULL: a row the first version
    /// wrote before the table had a version column, which counts as 1).
    public init(values: [String: String], storedVersion: String?, rows: RowsAction, update: RowsUpdate) throws(RowsRejection) {
        self.values = values
        guard let storedVersion else {
            version = 1
            return
        }
        guard let applied = Int(storedVersion) else {
            throw RowsRejection(reason: "\(rows.table).\(update.versionColumn): the row's version is not a whole number")
        }
        version = applied
    }
}

extension RowsAction {
    /// Why this update cannot be tried at all (no match columns, a match column absent or NULL, a
    /// version below 2), or nil.
    public func problem(with update: RowsUpdate) -> String? {
        if update.match.isEmpty { return "\(table): the update declares no match columns, so it cannot find the row to change" }
        if update.version < 2 { return "\(table): an update applies version 2 or later, not \(update.version)" }
        for column in update.match {
            guard let cell = row[column] else { return "\(table).\(column): the update's match column is not in the row" }
            if case .null = cell.value { return "\(table).\(column): the update's match column is NULL" }
        }
        return nil
    }

    /// The parent's columns an update reads back: those of the legacy reference (`returning`, else
    /// `key`), and those the children link to.
    public var columnsReadByUpdate: [String] {
        var columns = returning.isEmpty ? key : returning
        for link in children.flatMap(\.links) where !columns.contains(link.parentColumn) { columns.append(link.parentColumn) }
        return columns
    }

    /// The row's columns the update sets itself or never changes: the match columns, the version
    /// column and the provenance column (appended to, not overwritten).
    public func columnsNotAssigned(by update: RowsUpdate) -> Set<String> {
        Set(update.match + [update.versionColumn] + (provenanceColumn.map { [$0] } ?? []))
    }

    /// The rejection when the match columns find no row (their values are digests and ids, not payload).
    public func missingRow(for update: RowsUpdate, text: (CellValue) -> String?) -> String {
        let match = update.match.map { "\($0) = \(row[$0].flatMap(text) ?? "NULL")" }.joined(separator: " AND ")
        return "the row the first version wrote is not in \(table) (\(match))"
    }

    /// The rejection when the row misses the version before this update's.
    public func versionGap(for update: RowsUpdate, holds version: Int) -> String {
        "\(table): version \(update.version - 1) is not applied to this row (it holds version \(version)); the gateway delivers "
            + "versions in order, so the row was changed outside Causeway"
    }
}
