public import AdapterKit
import CausewayCore
import Foundation
import GRDB
import Synchronization

/// The embedded twin of the PostgreSQL rows adapter: a mapping's rows, their children linked to
/// the parent's generated key, and the provenance, in one SQLite transaction.
///
/// Values are written as their canonical text (decimals keep their scale; see
/// `Deploy/examples/erp-staging.sqlite.sql`). Idempotent through the mapping's key columns, which
/// must be UNIQUE in the table. A change or cancellation (``RowsAction/update``) updates the row
/// the first version inserted instead (`SQLiteRowsAdapter+Update.swift`).
public final class SQLiteRowsAdapter: BatchDeliveringAdapter {
    public static let descriptor = AdapterDescriptor(
        kind: "sqlite",
        summary: "Rows in an SQLite database file, in one transaction with their provenance (the embedded demo target).",
        actionKinds: [.rows],
        schema: ConfigurationSchema([
            .init("path", .string, required: true, help: "the database file"),
        ]))

    public var descriptor: AdapterDescriptor { Self.descriptor }

    let path: String
    /// The open connection; dropped after a read-only or permission error so that the next attempt
    /// opens the file afresh (SQLite opens a file it cannot write read-only, and stays so).
    let connection: Mutex<DatabaseQueue?>
    let columns = Mutex<[String: Set<String>]>([:])

    /// Opens (creating if needed) the database file.
    public init(path: String) throws(AdapterConfigurationError) {
        self.path = path
        do {
            connection = Mutex(try Self.open(path))
        } catch {
            throw AdapterConfigurationError(problems: ["path: cannot open the SQLite database"])
        }
    }

    static func open(_ path: String) throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        configuration.foreignKeysEnabled = true
        return try DatabaseQueue(path: path, configuration: configuration)
    }

    /// The open connection, opening the file again when an earlier error closed it.
    var queue: DatabaseQueue {
        get throws {
            try connection.withLock { current in
                if let current { return current }
                let opened = try Self.open(path)
                current = opened
                return opened
            }
        }
    }

    /// Whether an SQLite error is the database's state rather than the rows': a read-only,
    /// unwritable, locked, full or unreachable file. Such a delivery is retried, not dead-lettered:
    /// an operator can fix the file (permissions, disk space) and the agreement still arrives.
    static func isRetryable(_ code: ResultCode) -> Bool {
        switch code.primaryResultCode {
        case .SQLITE_BUSY, .SQLITE_LOCKED, .SQLITE_IOERR, .SQLITE_FULL, .SQLITE_CANTOPEN, .SQLITE_READONLY, .SQLITE_PERM,
             .SQLITE_NOMEM, .SQLITE_PROTOCOL, .SQLITE_INTERRUPT:
            true
        default: false
        }
    }

    /// `SQLITE_READONLY` and the like, for reasons an operator can search for.
    static func name(_ code: ResultCode) -> String {
        switch code.primaryResultCode {
        case .SQLITE_BUSY: "SQLITE_BUSY"
        case .SQLITE_LOCKED: "SQLITE_LOCKED"
        case .SQLITE_IOERR: "SQLITE_IOERR"
        case .SQLITE_FULL: "SQLITE_FULL"
        case .SQLITE_CANTOPEN: "SQLITE_CANTOPEN"
        case .SQLITE_READONLY: "SQLITE_READONLY"
        case .SQLITE_PERM: "SQLITE_PERM"
        case .SQLITE_NOMEM: "SQLITE_NOMEM"
        case .SQLITE_PROTOCOL: "SQLITE_PROTOCOL"
        case .SQLITE_INTERRUPT: "SQLITE_INTERRUPT"
        default: "SQLite code \(code.rawValue)"
        }
    }

    public convenience init(settings: AdapterSettings) throws(AdapterConfigurationError) {
        guard let path = settings["path"] else { throw AdapterConfigurationError(problems: ["path: required"]) }
        try self.init(path: path)
    }

    /// Runs SQL (a schema script) against the database; for set-up and demos.
    public func execute(script: String) throws {
        try queue.write { db in try db.execute(sql: script) }
    }

    static func identifier(_ name: String) -> String { quotedSQLIdentifier(name) }

    static func value(_ cell: CellValue) -> DatabaseValue {
        switch cell.value {
        case .null: .null
        case .text(let t): t.databaseValue
        case .json(let j): JSONWriter.string(j, style: .canonical).databaseValue
        }
    }

    func columns(of table: String, _ db: Database) throws -> Set<String> {
        if let cached = columns.withLock({ $0[table] }) { return cached }
        let names = Set(try GRDB.Row.fetchAll(db, sql: "PRAGMA table_info(\(Self.identifier(table)))").map { $0["name"] as String })
        if !names.isEmpty { columns.withLock { $0[table] = names } }
        return names
    }

    func find(_ rows: RowsAction, _ db: Database) throws -> LegacyReference? {
        let keyCells = rows.key.compactMap { column in rows.row[column].map { (column, $0) } }
        guard !keyCells.isEmpty else { return nil }
        let selected = rows.returning.isEmpty ? rows.key : rows.returning
        let sql = "SELECT \(selected.map { "CAST(\(Self.identifier($0)) AS TEXT)" }.joined(separator: ", ")) FROM \(Self.identifier(rows.table)) WHERE "
            + keyCells.map { "\(Self.identifier($0.0)) = ?" }.joined(separator: " AND ") + " LIMIT 1"
        // Cached: the statement's text depends only on the mapping, so there are few of them.
        guard let row = try GRDB.Row.fetchOne(db.cachedStatement(sql: sql), arguments: StatementArguments(keyCells.map { Self.value($0.1) })) else { return nil }
        var values: [String: String] = [:]
        for (index, column) in selected.enumerated() { values[column] = row[index] }
        return reference(rows, values)
    }

    func reference(_ rows: RowsAction, _ values: [String: String]) -> LegacyReference {
        let columns = rows.returning.isEmpty ? rows.key : rows.returning
        return LegacyReference(system: "sqlite", kind: rows.table, id: columns.compactMap { values[$0] ?? rows.row[$0]?.text }.joined(separator: "/"))
    }

    public func deliver(_ delivery: Delivery) async -> DeliveryOutcome {
        guard case .rows(let rows) = delivery.action.payload else {
            return .rejected("the sqlite adapter performs rows actions, not \(delivery.action.kind.rawValue)")
        }
        if let update = rows.update {
            if let problem = Self.validate(rows, update) { return .rejected(problem) }
        } else if rows.key.isEmpty {
            return .rejected("\(rows.table): the mapping declares no key columns, so the write cannot be idempotent")
        }
        do {
            if let update = rows.update {
                return try await queue.writeWithoutTransaction { db -> DeliveryOutcome in
                    // IMMEDIATE: the write lock is taken before the row is read, so that no other
                    // writer changes it between the version check and the update.
                    var outcome = DeliveryOutcome.rejected("the update did not run")
                    try db.inTransaction(.immediate) {
                        outcome = try self.update(rows, update, delivery, db)
                        return .commit
                    }
                    return outcome
                }
            }
            return try await queue.write { db -> DeliveryOutcome in
                if let problem = try self.checkColumns(rows, db) { return .rejected(problem) }
                return try self.create(rows, delivery, db)
            }
        } catch let rejection as RowsRejection {
            // Thrown inside the transaction: rolled back, nothing of the delivery stays.
            return .rejected(rejection.reason)
        } catch let error as DatabaseError {
            // SQLite's message names the constraint or column (`NOT NULL constraint failed: t.c`), never the value.
            guard Self.isRetryable(error.resultCode) else {
                return .rejected("the database refused the rows (\(error.resultCode)\(error.message.map { ": " + $0 } ?? ""))")
            }
            // Reopen next time: a connection opened read-only stays read-only after the file is fixed.
            connection.withLock { $0 = nil }
            return .retryable("the database cannot be written now (\(Self.name(error.resultCode)): \(error.message ?? "no detail")); "
                + "retried: check the file's permissions, free space and other writers")
        } catch {
            connection.withLock { $0 = nil }
            return .retryable("database unavailable")
        }
    }

    /// Inserts a create's rows inside the caller's transaction: the row with its provenance (or
    /// the row already there under the same key), then its children.
    func create(_ rows: RowsAction, _ delivery: Delivery, _ db: Database) throws -> DeliveryOutcome {
        if let existing = try find(rows, db) { return .delivered(existing) }
        var cells = rows.row.cells.map { ($0.column, Self.value($0.value)) }
        if let column = rows.provenanceColumn {
            cells.append((column, String(decoding: delivery.provenance.canonicalBytes, as: UTF8.self).databaseValue))
        }
        let returning = rows.returning.isEmpty ? "" : " RETURNING " + rows.returning.map { "CAST(\(Self.identifier($0)) AS TEXT)" }.joined(separator: ", ")
        let sql = "INSERT INTO \(Self.identifier(rows.table)) (\(cells.map { Self.identifier($0.0) }.joined(separator: ", "))) VALUES ("
            + cells.map { _ in "?" }.joined(separator: ", ") + ") ON CONFLICT DO NOTHING" + returning
        let inserted = try GRDB.Row.fetchOne(db.cachedStatement(sql: sql), arguments: StatementArguments(cells.map(\.1)))
        if !rows.returning.isEmpty, inserted == nil {
            if let existing = try find(rows, db) { return .delivered(existing) }
            return .rejected("the insert into \(rows.table) met a unique constraint that is not the mapping's key")
        }
        var returned: [String: String] = [:]
        for (index, column) in rows.returning.enumerated() { returned[column] = inserted?[index] }
        for child in rows.children {
            try insert(try Self.linked(child, to: returned), into: child.table, db)
        }
        return .delivered(reference(rows, returned))
    }

    /// Every table and column the action names exists (the parent's provenance and version
    /// columns too); the problem names what is missing.
    func checkColumns(_ rows: RowsAction, _ db: Database) throws -> String? {
        let owned: [String] = (rows.provenanceColumn.map { [$0] } ?? []) + (rows.update.map { [$0.versionColumn] } ?? [])
        var sets: [(String, [CausewayCore.Row], [String])] = [(rows.table, [rows.row], owned)]
        for child in rows.children { sets.append((child.table, child.rows, child.links.map(\.column))) }
        for (table, tableRows, extra) in sets {
            let known = try columns(of: table, db)
            guard !known.isEmpty else { return "the table \(table) does not exist" }
            for column in extra + tableRows.flatMap({ $0.cells.map(\.column) }) where !known.contains(column) {
                return "\(table).\(column): no such column"
            }
        }
        return nil
    }

    public func lookup(_ delivery: Delivery) async -> LookupResult {
        guard case .rows(let rows) = delivery.action.payload else { return .notFound }
        do {
            return try await queue.read { db in
                if let update = rows.update { return try self.lookup(rows, update, db) }
                return try self.find(rows, db).map(LookupResult.found) ?? .notFound
            }
        } catch {
            return .unavailable("database unavailable")
        }
    }
}
