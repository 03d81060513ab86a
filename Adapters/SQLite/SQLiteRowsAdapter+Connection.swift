public import AdapterKit
import GRDB

extension SQLiteRowsAdapter {
    /// Opens the database (again, if an earlier error closed it) and reads its schema: a missing,
    /// unreadable or corrupt file throws, naming `path`.
    public func checkConnection() async throws(AdapterConfigurationError) {
        do {
            _ = try await queue.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master") }
        } catch {
            throw AdapterConfigurationError(problems: ["path: cannot read the SQLite database \(path): \(error) (check the path and its permissions)"])
        }
    }
}
