import CausewayCore
import Logging
import PostgresNIO

/// The text of one of the store's hot statements: the same `$n` placeholders on every call, so
/// that each connection parses it once, as a named prepared statement, and PostgreSQL may keep
/// one generic plan for it. Planning had been a third of the store's time in a bench run (the
/// claim alone: 1.1 ms of planning for 0.7 ms of execution, every call).
///
/// A conforming type builds its ``StoreStatement`` from one call's values and derives ``sql`` from
/// that same builder with sample values, so the text is written once:
///
/// ```swift
/// enum StatusOf: StatementText {
///     static func make(_ digest: String) -> StoreStatement<Self> { .init("SELECT status FROM agreements WHERE digest = \(digest)") }
///     static let sql = make("").query.sql
/// }
/// ```
///
/// Only constants may be interpolated `unescaped:`; anything else would change the text between
/// calls (debug builds check that it does not).
protocol StatementText {
    static var sql: String { get }
}

/// One call of a hot statement: its values bound to ``StatementText``'s text.
///
/// On the hot path's pool (``PostgresStore/queue``) PostgreSQL may keep one generic plan per
/// connection, planned under ``PostgresStore/hotPathSettings``; on the general pool, where a change's
/// entries and statuses and an operator's retry use some of these texts too, it plans each call
/// (`plan_cache_mode = force_custom_plan`) and only the parsing is saved.
///
/// postgres-nio prepares the statement the first time a connection runs it and remembers it for
/// the connection's life. A preparation that fails is remembered too (the connection then fails
/// that statement every time), so these texts are only for statements that cannot fail to parse
/// on a migrated schema, run at the start of a transaction or after statements that succeeded.
struct StoreStatement<Text: StatementText>: PostgresPreparedStatement {
    typealias Row = PostgresRow

    /// The text's qualified type name (`CausewayStore.PostgresStore.ClaimDue`): unique as Swift
    /// type names are, and within the 63 bytes PostgreSQL keeps of a prepared statement's name.
    static var name: String { String(reflecting: Text.self) }
    static var sql: String { Text.sql }

    let query: PostgresQuery

    init(_ query: PostgresQuery) { self.query = query }

    func makeBindings() -> PostgresBindings { query.binds }
    func decodeRow(_ row: PostgresRow) -> PostgresRow { row }
}

extension PostgresConnection {
    /// Runs a hot statement as this connection's prepared statement and returns its rows.
    @discardableResult
    func run<Text>(_ statement: StoreStatement<Text>, logger: Logger) async throws -> [PostgresRow] {
        assert(statement.query.sql == Text.sql, "\(Text.self): this call's text differs from the prepared one")
        let rows: AsyncThrowingMapSequence<PostgresRowSequence, PostgresRow> = try await execute(statement, logger: logger)
        var collected: [PostgresRow] = []
        for try await row in rows { collected.append(row) }
        return collected
    }
}

/// Placeholder values from which the texts of the statements that take whole agreements are
/// derived (``StatementText/sql``); never stored.
extension IncomingAgreement {
    static let sample = IncomingAgreement(
        digest: ContentDigest(of: []), agreementID: "", partner: "", type: "", document: [], verification: .null, mappingID: "",
        mappingVersion: "", mappingDigest: ContentDigest(of: []), total: nil, currency: nil, receivedAt: 0, actions: [])
}

extension IncomingAgreement.Action {
    static let sample = IncomingAgreement.Action(index: 0, name: "", target: "", kind: "", adapter: "", action: .null, provenance: .null,
                                                 receiptID: "")
}
