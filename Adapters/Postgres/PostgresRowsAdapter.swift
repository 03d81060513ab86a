public import AdapterKit
import CausewayCore
import Foundation
public import Logging
public import PostgresNIO
import PostgresTLS
import Synchronization

/// Writes a mapping's rows into PostgreSQL: the parent row, its children linked to the keys the
/// parent's insert generated, and the provenance record — all in one transaction.
///
/// Idempotent through the mapping's key columns, which must carry a unique constraint in the
/// table: a delivery first looks for a row with the same key, and an insert that meets the
/// constraint (a concurrent delivery of the same key) reads the row that won. Values arrive as
/// canonical text and are converted to each column's declared type; a value that does not fit
/// is rejected naming the column. A change or cancellation (``RowsAction/update``) updates the
/// row the first version inserted instead, idempotent through its version column
/// (`PostgresRowsAdapter+Update.swift`, Docs/adapters/postgresql.md).
public final class PostgresRowsAdapter: BatchDeliveringAdapter {
    public static let descriptor = AdapterDescriptor(
        kind: "postgresql",
        summary: "Rows in PostgreSQL tables, in one transaction with their provenance.",
        actionKinds: [.rows],
        schema: ConfigurationSchema([
            .init("url", .url, required: true,
                  help: "postgresql://user@host:port/database; TLS as ?sslmode=disable|require|verify-ca|verify-full&sslrootcert=file:PATH"
                      + "&sslcert=file:PATH&sslkey=file:PATH (default verify-full, disable for a loopback host)"),
            .init("password", .secret, help: "env:NAME or file:PATH; none for trust or peer authentication"),
            .init("max_connections", .integer, default: "8", help: "connections in the pool"),
            .init("timeout", .duration, default: "10", help: "seconds to wait for a connection and the transaction"),
        ]))

    public var descriptor: AdapterDescriptor { Self.descriptor }

    let client: PostgresClient
    let logger: Logger
    /// The `system` in legacy references.
    let system = "postgresql"
    /// Column name → SQL type (`bigint`, `numeric(14,2)` …), per table, read from the catalog once.
    let columnTypes = Mutex<[String: [String: String]]>([:])
    /// How long one delivery or lookup may take before it is given up as unanswered.
    let timeout: Duration
    /// The URL's endpoint and the resolved password, when built from settings (``checkConnection()``).
    let endpoint: (url: PostgresEndpoint, password: String?)?

    public init(configuration: PostgresClient.Configuration, timeout: Duration = .seconds(10),
                logger: Logger = Logger(label: "causeway.adapter.postgresql")) {
        self.logger = logger
        self.timeout = timeout
        endpoint = nil
        client = PostgresClient(configuration: configuration, backgroundLogger: logger)
    }

    init(configuration: PostgresClient.Configuration, endpoint: (url: PostgresEndpoint, password: String?), timeout: Duration, logger: Logger) {
        self.logger = logger
        self.timeout = timeout
        self.endpoint = endpoint
        client = PostgresClient(configuration: configuration, backgroundLogger: logger)
    }

    /// From a target's validated settings; `password` is the resolved secret, if any. TLS comes
    /// from the URL's libpq parameters (Docs/adapters/postgresql.md); a bad one is named as `url: …`.
    public convenience init(settings: AdapterSettings, password: String?) throws(AdapterConfigurationError) {
        let endpoint: PostgresEndpoint
        var configuration: PostgresClient.Configuration
        do {
            endpoint = try PostgresEndpoint(url: settings["url"] ?? "")
            configuration = try endpoint.clientConfiguration(password: password)
        } catch {
            throw AdapterConfigurationError(problems: ["url: \(error.message)"])
        }
        configuration.options.maximumConnections = Int(settings["max_connections"] ?? "8") ?? 8
        let seconds = Double(settings["timeout"] ?? "10") ?? 10
        configuration.options.connectTimeout = .milliseconds(Int64(seconds * 1000))
        self.init(configuration: configuration, endpoint: (endpoint, password), timeout: .milliseconds(Int64(seconds * 1000)),
                  logger: Logger(label: "causeway.adapter.postgresql"))
    }

    /// Runs the connection pool until the surrounding task is cancelled. A first connection that
    /// is refused (TLS, `pg_hba.conf`, authentication) is logged with its reason.
    public func run() async {
        async let pool: Void = client.run()
        do { try await checkConnection() } catch { logger.error("\(error)", metadata: ["adapter.kind": "postgresql"]) }
        await pool
    }

    /// Opens one connection outside the pool and closes it; throws the reason it was refused
    /// (the certificate problem, the server's refusal) naming `url`.
    public func checkConnection() async throws(AdapterConfigurationError) {
        guard let endpoint else { return }
        do { try await endpoint.url.checkConnection(password: endpoint.password, logger: logger) } catch {
            throw AdapterConfigurationError(problems: ["url: \(error.message)"])
        }
    }

    // MARK: Deliver

    public func deliver(_ delivery: Delivery) async -> DeliveryOutcome {
        guard case .rows(let rows) = delivery.action.payload else {
            return .rejected("the postgresql adapter performs rows actions, not \(delivery.action.kind.rawValue)")
        }
        if let problem = Self.validate(rows) { return .rejected(problem) }
        return await withDeadline(timeout, otherwise: .unknown("no answer from the database within \(timeout)")) {
            await self.write(rows, delivery)
        }
    }

    func write(_ rows: RowsAction, _ delivery: Delivery) async -> DeliveryOutcome {
        do {
            return try await client.withTransaction(logger: logger) { db in
                if let problem = try await checkColumns(rows, db) { return .rejected(problem) }
                if let update = rows.update { return try await self.update(rows, update, delivery, db) }
                return try await self.create(rows, delivery, db)
            }
        } catch let error as PostgresTransactionError {
            if let rejection = error.closureError as? RowsRejection {
                // Rolled back: nothing of the delivery stays.
                return .rejected(rejection.reason)
            }
            if let commit = error.commitError {
                // The COMMIT may or may not have taken effect: only a lookup can tell.
                return (commit as? PSQLError).flatMap { Self.classify($0) } ?? .unknown("the connection failed while committing")
            }
            if let closure = error.closureError {
                // Rolled back: nothing was written.
                return (closure as? PSQLError).flatMap { Self.classify($0) } ?? .retryable("the connection failed before the commit")
            }
            return .retryable("cannot start a transaction")
        } catch {
            return .retryable("cannot reach the database")
        }
    }

    /// Inserts a create's rows inside the caller's transaction: the parent with its provenance,
    /// then its children linked to the keys the parent's insert returned.
    func create(_ rows: RowsAction, _ delivery: Delivery, _ db: PostgresConnection) async throws -> DeliveryOutcome {
        // No search first: the insert skips a row whose key exists, and only then is it looked up.
        var parent = rows.row.cells
        if let column = rows.provenanceColumn {
            parent.append((column, CellValue(.json(delivery.provenance.json), type: .json)))
        }
        let returned = try await insert(table: rows.table, cells: parent, returning: rows.returning, db)
        guard let returned else {
            // Delivered before (a retry after an unknown outcome), or a concurrent delivery of
            // the same key won the unique constraint: report that row.
            if let existing = try await find(rows, db) { return .delivered(existing) }
            return .rejected("the insert into \(rows.table) met a unique constraint that is not the mapping's key \(rows.key)")
        }
        for child in rows.children {
            try await insertAll(table: child.table, rows: try Self.linked(child, to: returned), db)
        }
        return .delivered(reference(rows, returned: returned))
    }

    public func lookup(_ delivery: Delivery) async -> LookupResult {
        guard case .rows(let rows) = delivery.action.payload else { return .notFound }
        return await withDeadline(timeout, otherwise: .unavailable("no answer from the database within \(timeout)")) {
            do {
                return try await self.client.withConnection { db in
                    if let update = rows.update { return try await self.lookup(rows, update, db) }
                    return try await self.find(rows, db).map(LookupResult.found) ?? .notFound
                }
            } catch {
                return .unavailable("cannot reach the database")
            }
        }
    }

    // MARK: SQL

    /// `"name"`, with quotes doubled: identifiers from mappings can never break out.
    static func identifier(_ name: String) -> String { quotedSQLIdentifier(name) }

    static func cast(_ type: CellValue.ValueType) -> String {
        switch type {
        case .text: "text"
        case .decimal: "numeric"
        case .integer: "bigint"
        case .date: "date"
        case .timestamp: "timestamptz"
        case .boolean: "boolean"
        case .json: "jsonb"
        }
    }

    /// The SQL text of a cell, or nil for NULL.
    static func text(_ cell: CellValue) -> String? {
        switch cell.value {
        case .null: nil
        case .text(let t): t
        case .json(let j): JSONWriter.string(j, style: .canonical)
        }
    }

    /// The one check that needs no database: the write can only be idempotent with key columns (an
    /// update: with match columns and a version, ``validate(_:_:)``).
    /// Values are checked against the columns' real types by ``checkColumns(_:_:)``.
    static func validate(_ rows: RowsAction) -> String? {
        if let update = rows.update { return validate(rows, update) }
        return rows.key.isEmpty ? "\(rows.table): the mapping declares no key columns, so the write cannot be idempotent" : nil
    }

    /// Inserts one row; returns the `returning` columns as text, or nil when a unique constraint
    /// stopped it (with `ignoreConflicts`).
    func insert(table: String, cells: [(column: String, value: CellValue)], returning: [String], _ db: PostgresConnection,
                ignoreConflicts: Bool = true) async throws -> [String: String]? {
        let types = try await self.types(of: table, db)
        var bindings = PostgresBindings()
        var placeholders: [String] = []
        for (index, cell) in cells.enumerated() {
            bindings.append(Self.text(cell.value))
            // Text goes in as text and is cast to the column's own type.
            placeholders.append("$\(index + 1)::text::\(types[cell.column] ?? Self.cast(cell.value.type))")
        }
        let returnList = returning.isEmpty ? "" : " RETURNING " + returning.map { Self.identifier($0) + "::text" }.joined(separator: ", ")
        let sql = "INSERT INTO \(Self.identifier(table)) (\(cells.map { Self.identifier($0.column) }.joined(separator: ", "))) VALUES ("
            + placeholders.joined(separator: ", ") + ")" + (ignoreConflicts ? " ON CONFLICT DO NOTHING" : "") + returnList
        let rows = try await db.query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: logger).collect()
        if returning.isEmpty { return [:] }
        guard let row = rows.first else { return nil }
        var values: [String: String] = [:]
        let random = row.makeRandomAccess()
        for (index, column) in returning.enumerated() {
            values[column] = try random[index].decode(String?.self)
        }
        return values
    }

    /// Inserts child rows with one statement per run of rows that set the same columns (usually
    /// one statement for all of them: a round trip per row was most of a delivery's cost).
    func insertAll(table: String, rows: [[(column: String, value: CellValue)]], _ db: PostgresConnection) async throws {
        let types = try await self.types(of: table, db)
        var start = 0
        while start < rows.count {
            let columns = rows[start].map(\.column)
            var end = start + 1
            while end < rows.count, rows[end].map(\.column) == columns, (end - start + 1) * columns.count <= Self.maxValues { end += 1 }
            let (select, bindings) = Self.recordset(rows[start..<end], types: types)
            let sql = "INSERT INTO \(Self.identifier(table)) (\(columns.map { Self.identifier($0) }.joined(separator: ", "))) " + select
            try await db.query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: logger)
            start = end
        }
    }

    /// A `SELECT` of rows that set the same columns, for `INSERT INTO t (columns) SELECT …`: the
    /// rows travel as one JSON array of objects (column → text or null) in one parameter, are read
    /// back by `json_to_recordset` in their order, and each value is cast from text to its
    /// column's type, as a single insert binds it. The statement's text depends on the columns
    /// only, not on how many rows there are: a `VALUES` list of one placeholder per value was
    /// parsed and planned again at every size, and planning was ~40 % of the batch's insert time.
    static func recordset(_ rows: some Collection<[(column: String, value: CellValue)]>, types: [String: String])
        -> (sql: String, bindings: PostgresBindings)
    {
        let first = rows.first ?? []
        let array = rows.map { row -> JSONValue in
            var object = JSONObject()
            for cell in row { object[cell.column] = text(cell.value).map(JSONValue.string) ?? .null }
            return .object(object)
        }
        var bindings = PostgresBindings()
        bindings.append(JSONWriter.string(.array(array)))
        // Positional aliases (c1…, n) keep the select list clear of the columns' own names.
        let aliases = first.indices.map { "c\($0 + 1)" }
        let sql = "SELECT " + zip(aliases, first).map { "r.\($0)::\(types[$1.column] ?? cast($1.value.type))" }.joined(separator: ", ")
            + " FROM ROWS FROM (json_to_recordset($1::json) AS (" + first.map { identifier($0.column) + " text" }.joined(separator: ", ")
            + ")) WITH ORDINALITY AS r(" + (aliases + ["n"]).joined(separator: ", ") + ") ORDER BY r.n"
        return (sql, bindings)
    }

    /// The most values one insert carries (rows × columns), which bounds one statement's JSON.
    static let maxValues = 30_000

    /// The table's columns and their SQL types, from the catalog (cached).
    func types(of table: String, _ db: PostgresConnection) async throws -> [String: String] {
        if let cached = columnTypes.withLock({ $0[table] }) { return cached }
        let rows = try await db.query("""
            SELECT attname::text, format_type(atttypid, atttypmod) FROM pg_attribute
            WHERE attrelid = to_regclass(\(Self.identifier(table))) AND attnum > 0 AND NOT attisdropped
            """, logger: logger).collect()
        var types: [String: String] = [:]
        for row in rows {
            let (name, type) = try row.decode((String, String).self)
            types[name] = type
        }
        if !types.isEmpty { columnTypes.withLock { $0[table] = types } }
        return types
    }

    /// Every column exists, and every value fits its column's type family; the problem names the column.
    func checkColumns(_ rows: RowsAction, _ db: PostgresConnection) async throws -> String? {
        let owned: [String] = (rows.provenanceColumn.map { [$0] } ?? []) + (rows.update.map { [$0.versionColumn] } ?? [])
        var sets: [(String, [Row], [String])] = [(rows.table, [rows.row], owned)]
        for child in rows.children { sets.append((child.table, child.rows, child.links.map(\.column))) }
        for (table, tableRows, extra) in sets {
            let types = try await self.types(of: table, db)
            guard !types.isEmpty else { return "the table \(table) does not exist" }
            for column in extra where types[column] == nil { return "\(table).\(column): no such column" }
            for row in tableRows {
                for (column, cell) in row.cells {
                    guard let type = types[column] else { return "\(table).\(column): no such column" }
                    guard let text = Self.text(cell) else { continue }
                    let ok: Bool
                    switch type {
                    case let t where t.hasPrefix("numeric") || t == "real" || t == "double precision": ok = DecimalText.parse(text) != nil
                    case "bigint", "integer", "smallint": ok = Int64(text) != nil
                    case "date": ok = CalendarDate(text) != nil
                    case let t where t.hasPrefix("timestamp"): ok = Timestamp(rfc3339: text) != nil
                    case "boolean": ok = text == "true" || text == "false"
                    case "json", "jsonb": ok = (try? JSONReader().read(text)) != nil
                    default: ok = true
                    }
                    if !ok { return "\(table).\(column): the value does not fit the column's type \(type)" }
                }
            }
        }
        return nil
    }

    /// The existing row for the action's key, as a legacy reference.
    func find(_ rows: RowsAction, _ db: PostgresConnection) async throws -> LegacyReference? {
        let types = try await self.types(of: rows.table, db)
        var bindings = PostgresBindings()
        var conditions: [String] = []
        for column in rows.key {
            guard let cell = rows.row[column] else { continue }
            bindings.append(Self.text(cell))
            // Compare in the column's own type, so that its unique index serves the lookup.
            conditions.append("\(Self.identifier(column)) = $\(conditions.count + 1)::text::\(types[column] ?? "text")")
        }
        guard !conditions.isEmpty else { return nil }
        let columns = (rows.returning.isEmpty ? rows.key : rows.returning).map { Self.identifier($0) + "::text" }
        let sql = "SELECT \(columns.joined(separator: ", ")) FROM \(Self.identifier(rows.table)) WHERE \(conditions.joined(separator: " AND ")) LIMIT 1"
        guard let row = try await db.query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: logger).collect().first else { return nil }
        let random = row.makeRandomAccess()
        var values: [String: String] = [:]
        for (index, column) in (rows.returning.isEmpty ? rows.key : rows.returning).enumerated() {
            values[column] = try random[index].decode(String?.self)
        }
        return reference(rows, returned: values)
    }

    func reference(_ rows: RowsAction, returned: [String: String]) -> LegacyReference {
        let columns = rows.returning.isEmpty ? rows.key : rows.returning
        let id = columns.compactMap { returned[$0] ?? rows.row[$0]?.text }.joined(separator: "/")
        return LegacyReference(system: system, kind: rows.table, id: id)
    }

    /// Outcome classes by SQLSTATE class: data and integrity problems are rejections, connection,
    /// resource, shutdown and serialization problems are retryable, a lost connection mid-transaction is unknown.
    static func classify(_ error: PSQLError) -> DeliveryOutcome? {
        guard let state = error.serverInfo?[.sqlState] else { return nil }
        let message = error.serverInfo?[.message] ?? "database error"
        switch state.prefix(2) {
        case "08", "40", "53", "55", "57", "58": return .retryable("\(message) (SQLSTATE \(state))")
        default: return .rejected("\(message) (SQLSTATE \(state))")
        }
    }
}
