public import AdapterKit
public import CausewayCore
import GRDB

/// Reconciliation: the rows this adapter wrote, read back with their child rows.
extension SQLiteRowsAdapter: LegacyInventory {
    public func inventory(expected: [ExpectedDocument]) async throws(InventoryError) -> [LegacyDocument] {
        let templates = RowsInventory.templates(expected)
        guard !templates.isEmpty else { return [] }
        do {
            return try await queue.read { db in
                var documents: [LegacyDocument] = []
                for (table, template) in templates {
                    let parents = try self.textRows(of: table, db)
                    var children: [String: [RowsInventory.TextRow]] = [:]
                    for child in template.children where children[child.table] == nil {
                        children[child.table] = try self.textRows(of: child.table, db)
                    }
                    documents += RowsInventory.documents(system: "sqlite", template: template, parents: parents, children: children,
                                                         expected: expected)
                }
                return documents
            }
        } catch let error as InventoryError {
            throw error
        } catch {
            throw InventoryError("cannot read the SQLite database: \(error)")
        }
    }

    public func differences(_ document: LegacyDocument, from action: LegacyAction) -> [FieldDifference] {
        rowsDifferences(document, from: action)
    }

    /// Every row of a table, each column as text. A table that does not exist holds nothing (an
    /// action that names it was rejected, never written).
    func textRows(of table: String, _ db: Database) throws -> [RowsInventory.TextRow] {
        let names = try GRDB.Row.fetchAll(db, sql: "PRAGMA table_info(\(Self.identifier(table)))").map { $0["name"] as String }
        guard !names.isEmpty else { return [] }
        let sql = "SELECT \(names.map { "CAST(\(Self.identifier($0)) AS TEXT)" }.joined(separator: ", ")) FROM \(Self.identifier(table))"
        return try GRDB.Row.fetchAll(db, sql: sql).map { row in
            var values: RowsInventory.TextRow = [:]
            for (index, column) in names.enumerated() { values[column] = row[index] as String? }
            return values
        }
    }
}
