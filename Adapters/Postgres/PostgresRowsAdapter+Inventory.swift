public import AdapterKit
public import CausewayCore
import PostgresNIO

/// Reconciliation: the rows this adapter wrote, read back with their child rows.
extension PostgresRowsAdapter: LegacyInventory {
    public func inventory(expected: [ExpectedDocument]) async throws(InventoryError) -> [LegacyDocument] {
        let templates = RowsInventory.templates(expected)
        guard !templates.isEmpty else { return [] }
        let result = await withDeadline(timeout * 6, otherwise: Result<[LegacyDocument], InventoryError>.failure(
            InventoryError("no answer from the database within \(timeout * 6)"))) {
            do {
                return .success(try await self.client.withConnection { db in
                    var documents: [LegacyDocument] = []
                    for (table, template) in templates {
                        let parents = try await self.textRows(of: table, db)
                        var children: [String: [RowsInventory.TextRow]] = [:]
                        for child in template.children where children[child.table] == nil {
                            children[child.table] = try await self.textRows(of: child.table, db)
                        }
                        documents += RowsInventory.documents(system: self.system, template: template, parents: parents, children: children,
                                                             expected: expected)
                    }
                    return documents
                })
            } catch let error as InventoryError {
                return .failure(error)
            } catch let error as PSQLError {
                return .failure(InventoryError("the database refused the read: \(error.serverInfo?[.message] ?? "connection failed")"))
            } catch {
                return .failure(InventoryError("cannot reach the database"))
            }
        }
        return try result.get()
    }

    public func differences(_ document: LegacyDocument, from action: LegacyAction) -> [FieldDifference] {
        rowsDifferences(document, from: action)
    }

    /// Every row of a table, each column as PostgreSQL prints it (numerics keep their scale). A
    /// table that does not exist holds nothing (an action that names it was rejected, never written).
    func textRows(of table: String, _ db: PostgresConnection) async throws -> [RowsInventory.TextRow] {
        let types = try await self.types(of: table, db)
        guard !types.isEmpty else { return [] }
        let columns = types.keys.sorted()
        let sql = "SELECT \(columns.map { Self.identifier($0) + "::text" }.joined(separator: ", ")) FROM \(Self.identifier(table))"
        var rows: [RowsInventory.TextRow] = []
        for try await row in try await db.query(PostgresQuery(unsafeSQL: sql), logger: logger) {
            let random = row.makeRandomAccess()
            var values: RowsInventory.TextRow = [:]
            for (index, column) in columns.enumerated() { values[column] = try random[index].decode(String?.self) }
            rows.append(values)
        }
        return rows
    }
}
