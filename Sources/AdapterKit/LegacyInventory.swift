public import CausewayCore
import Foundation

/// An action Causeway expects to find in a legacy system: what the pinned mapping produced for one
/// agreement, under its idempotency key, and the place of that agreement in its chain of versions.
public struct ExpectedDocument: Sendable {
    /// `sha256:…/N`.
    public let idempotencyKey: String
    public let agreementDigest: ContentDigest
    public let action: LegacyAction
    /// The original agreement's digest: the chain this version belongs to (its own for an original).
    public let chain: ContentDigest
    /// Its version in the chain: 1 for the original, 2 and up for changes and the cancellation.
    public let version: Int

    /// - Parameters:
    ///   - chain: the original's digest; `agreementDigest` (an original) when nil.
    ///   - version: 1 for an original.
    public init(agreementDigest: ContentDigest, action: LegacyAction, chain: ContentDigest? = nil, version: Int = 1) {
        self.agreementDigest = agreementDigest
        self.action = action
        self.idempotencyKey = action.idempotencyKey(for: agreementDigest)
        self.chain = chain ?? agreementDigest
        self.version = version
    }
}

/// One document found in a legacy system: a purchase order row with its lines, an ERP purchase.
///
/// A document written by an original and updated by changes holds one version of its chain: the
/// reconciler compares it with the chain's latest delivered version and reports `stale` when it
/// holds an older one.
public struct LegacyDocument: Sendable, Hashable {
    /// The idempotency key of the last version applied to the document — from the provenance it
    /// carries (its last record), or from its key values matching an expected action — or nil when
    /// nothing ties it to an agreement.
    public let idempotencyKey: String?
    /// The agreement digest the document names itself (a column, a reference, its last provenance
    /// record), if any.
    public let agreementDigest: String?
    /// The legacy system's name for it.
    public let reference: LegacyReference
    /// Its comparable fields, as the adapter reads them back (values as text, NULL as null).
    public let fields: JSONValue
    /// The chain it belongs to: the original agreement's digest (`revision.amends` of a change's
    /// provenance record, the record's own agreement digest for an original). Nil when the adapter
    /// cannot tell; the reconciler then takes the chain of the entry ``idempotencyKey`` names.
    public let chain: String?
    /// The version of the chain it holds (1: the original, as inserted). Nil when the document does
    /// not say; the reconciler then compares it with the chain's latest delivered version and
    /// cannot report it `stale`.
    public let version: Int?
    /// Where the document contradicts itself about what it holds (the row's version column and its
    /// last provenance record name different versions). Reported as `divergent`; empty normally.
    public let inconsistencies: [FieldDifference]

    public init(idempotencyKey: String?, agreementDigest: String?, reference: LegacyReference, fields: JSONValue, chain: String? = nil,
                version: Int? = nil, inconsistencies: [FieldDifference] = []) {
        self.idempotencyKey = idempotencyKey
        self.agreementDigest = agreementDigest
        self.reference = reference
        self.fields = fields
        self.chain = chain
        self.version = version
        self.inconsistencies = inconsistencies
    }
}

/// A field of a legacy document that is not what the pinned mapping produced.
public struct FieldDifference: Sendable, Hashable, CustomStringConvertible {
    /// Where: `erp_purchase_order.total_amount`, `erp_purchase_order_line[1].quantity`, `lines`.
    public let field: String
    /// The value the mapping produced (canonical text), or nil when it produced none.
    public let expected: String?
    /// The value in the legacy system, or nil when absent or NULL.
    public let actual: String?

    public init(field: String, expected: String?, actual: String?) {
        self.field = field
        self.expected = expected
        self.actual = actual
    }

    public var description: String { "\(field): expected \(expected ?? "null"), found \(actual ?? "null")" }

    public var json: JSONValue {
        ["field": .string(field), "expected": expected.map(JSONValue.string) ?? .null, "actual": actual.map(JSONValue.string) ?? .null]
    }
}

/// The legacy system cannot be listed now (unreachable, a table missing); the reason names it.
public struct InventoryError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// What an adapter adopts so that `causeway reconcile` can prove the legacy system matches the
/// agreements: it lists the documents it wrote and says how one differs from its action.
///
/// Optional: a target whose adapter does not adopt it is reported as not reconcilable.
public protocol LegacyInventory: Sendable {
    /// Every document in the places the expected actions write to (their tables, their document
    /// types), each tied to an idempotency key where it can be: by the provenance it carries, else
    /// by its key values. Documents tied to no key are orphans. Read-only.
    func inventory(expected: [ExpectedDocument]) async throws(InventoryError) -> [LegacyDocument]

    /// How a document differs from the action that should have produced it; empty when it matches.
    /// Values are compared as their types: decimals by value, dates and timestamps as instants.
    func differences(_ document: LegacyDocument, from action: LegacyAction) -> [FieldDifference]
}

/// The comparison shared by the rows adapters: a document's fields are
/// `{"row": {column: text}, "children": {table: [{column: text}]}}`.
public enum RowsComparison {
    /// The differences between a rows action and a row document read back. The parent row's
    /// provenance and generated columns are not compared; child link columns are not compared.
    /// Child rows are paired with the expected rows they resemble most, so that one edited
    /// quantity is reported as that field, not as a missing and an extra line.
    public static func differences(_ fields: JSONValue, from rows: RowsAction) -> [FieldDifference] {
        var differences: [FieldDifference] = []
        let actualRow = fields["row"]?.objectValue ?? JSONObject()
        for (column, cell) in rows.row.cells where !rows.returning.contains(column) {
            let actual = text(actualRow[column])
            if !equal(cell, actual) { differences.append(.init(field: "\(rows.table).\(column)", expected: cell.comparableText, actual: actual)) }
        }
        for child in rows.children {
            let actualRows = (fields["children"]?[child.table]?.arrayValue ?? []).map { $0.objectValue ?? JSONObject() }
            var unmatched = Array(actualRows.indices)
            var pending: [Int] = []
            // Exact matches first.
            for (index, row) in child.rows.enumerated() {
                if let position = unmatched.firstIndex(where: { mismatches(row, actualRows[$0]).isEmpty }) {
                    unmatched.remove(at: position)
                } else {
                    pending.append(index)
                }
            }
            // Then the closest remaining row, reporting its differing fields.
            for index in pending {
                let row = child.rows[index]
                let best = unmatched.enumerated().min { mismatches(row, actualRows[$0.element]).count < mismatches(row, actualRows[$1.element]).count }
                guard let best, mismatches(row, actualRows[best.element]).count < row.cells.count else {
                    differences.append(.init(field: "\(child.table)[\(index + 1)]", expected: JSONWriter.string(row.json, style: .canonical),
                                             actual: nil))
                    continue
                }
                unmatched.remove(at: best.offset)
                for column in mismatches(row, actualRows[best.element]) {
                    differences.append(.init(field: "\(child.table)[\(index + 1)].\(column)", expected: row[column]?.comparableText,
                                             actual: text(actualRows[best.element][column])))
                }
            }
            for position in unmatched {
                differences.append(.init(field: "\(child.table)[+]", expected: nil, actual: JSONWriter.string(.object(actualRows[position]), style: .canonical)))
            }
        }
        return differences
    }

    static func mismatches(_ row: Row, _ actual: JSONObject) -> [String] {
        row.cells.filter { !equal($0.value, text(actual[$0.column])) }.map(\.column)
    }

    static func text(_ value: JSONValue?) -> String? {
        switch value {
        case .string(let s): s
        case .none, .null: nil
        case .some(let other): JSONWriter.string(other, style: .canonical)
        }
    }

    /// Whether a legacy value (text as the database prints it) is the cell's value, by type.
    public static func equal(_ cell: CellValue, _ actual: String?) -> Bool {
        switch cell.value {
        case .null: return actual == nil
        case .json(let expected):
            guard let actual, let parsed = try? JSONReader().read(actual) else { return false }
            return JCS.canonicalize(parsed) == JCS.canonicalize(expected)
        case .text(let expected):
            guard let actual else { return false }
            switch cell.type {
            case .decimal, .integer:
                guard let a = DecimalText.parse(expected), let b = DecimalText.parse(actual.trimmingCharacters(in: .whitespaces)) else {
                    return expected == actual
                }
                return a == b
            case .date: return CalendarDate(expected) != nil && CalendarDate(expected) == CalendarDate(String(actual.prefix(10)))
            case .timestamp:
                guard let a = Timestamp(rfc3339: expected), let b = Timestamp(rfc3339: rfc3339(actual)) else { return expected == actual }
                return a == b
            case .boolean: return boolean(expected) != nil && boolean(expected) == boolean(actual)
            case .json:
                guard let a = try? JSONReader().read(expected), let b = try? JSONReader().read(actual) else { return expected == actual }
                return JCS.canonicalize(a) == JCS.canonicalize(b)
            case .text: return expected == actual
            }
        }
    }

    /// PostgreSQL prints `2026-03-01 10:00:00+00`; RFC 3339 wants `2026-03-01T10:00:00+00:00`.
    static func rfc3339(_ text: String) -> String {
        var t = text.replacingOccurrences(of: " ", with: "T")
        if let sign = t.lastIndex(where: { $0 == "+" || $0 == "-" }), t.distance(from: sign, to: t.endIndex) == 3,
            t.distance(from: t.startIndex, to: sign) > 10
        {
            t += ":00"
        }
        return t
    }

    static func boolean(_ text: String) -> Bool? {
        switch text.lowercased() {
        case "true", "t", "1": true
        case "false", "f", "0": false
        default: nil
        }
    }
}

extension CellValue {
    /// The value as text for a report: text as is, JSON canonical, NULL as nil.
    public var comparableText: String? {
        switch value {
        case .null: nil
        case .text(let t): t
        case .json(let j): JSONWriter.string(j, style: .canonical)
        }
    }
}

/// Turns the rows a rows adapter read back into documents: one per parent row, with its child
/// rows, tied to an idempotency key by its provenance or its key values, and to the version of its
/// agreement's chain it holds.
///
/// The provenance column holds one record (an original, as inserted) or, once a change or
/// cancellation updated the row, an array of records, one per version applied, oldest first: the
/// last record is the version the row holds. When the mapping declares a version column (`version:`
/// in `on_change`/`on_cancel`) the row's value (NULL = 1) must name the same version; a row where
/// they differ is reported with an inconsistency.
public enum RowsInventory {
    /// A row as read: column → text (nil for NULL).
    public typealias TextRow = [String: String?]

    /// The parent tables the expected rows actions write to, each with one action as the template
    /// of its shape: a first version's insert where there is one (its key, returning and provenance
    /// columns), with the child tables of every action on the table (a cancellation may list none)
    /// and the version column and match columns of the changes (``RowsAction/update``), if any.
    public static func templates(_ expected: [ExpectedDocument]) -> [(table: String, template: RowsAction)] {
        var byTable: [String: [RowsAction]] = [:]
        var order: [String] = []
        for document in expected {
            guard case .rows(let rows) = document.action.payload else { continue }
            if byTable[rows.table] == nil { order.append(rows.table) }
            byTable[rows.table, default: []].append(rows)
        }
        return order.compactMap { table in
            guard let actions = byTable[table], let base = actions.first(where: { $0.update == nil }) ?? actions.first else { return nil }
            var children = base.children
            for action in actions {
                for child in action.children where !children.contains(where: { $0.table == child.table }) {
                    children.append(ChildRows(table: child.table, links: child.links, rows: []))
                }
            }
            let template = RowsAction(
                table: table, key: base.key, returning: base.returning.isEmpty ? actions.first { !$0.returning.isEmpty }?.returning ?? [] : base.returning,
                row: base.row, children: children, provenanceColumn: base.provenanceColumn ?? actions.lazy.compactMap(\.provenanceColumn).first,
                update: base.update ?? actions.lazy.compactMap(\.update).first)
            return (table, template)
        }
    }

    /// Documents from one parent table's rows and its child tables' rows.
    public static func documents(system: String, template: RowsAction, parents: [TextRow], children: [String: [TextRow]],
                                 expected: [ExpectedDocument]) -> [LegacyDocument] {
        // Key values → the chain's first version, for rows that carry no provenance (a change
        // matches the row by the original's values, so only first versions are listed). And
        // chain/index/version → key, to name the version such a row holds.
        var byKeyValues: [String: ExpectedDocument] = [:]
        var versionKeys: [String: String] = [:]
        var versionColumn = template.update?.versionColumn
        for document in expected {
            guard case .rows(let rows) = document.action.payload, rows.table == template.table else { continue }
            versionKeys[versionText(document.chain.description, document.action.index, document.version)] = document.idempotencyKey
            if versionColumn == nil { versionColumn = rows.update?.versionColumn }
            guard rows.update == nil else { continue }
            let values = rows.key.map { column in rows.row[column].map { normalized($0.comparableText, $0.type) } ?? nil }
            byKeyValues[keyText(values)] = document
        }
        let keyTypes = template.key.map { template.row[$0]?.type ?? .text }
        return parents.map { parent in
            var key: String?
            var digest: String?
            var chain: String?
            var version: Int?
            var inconsistencies: [FieldDifference] = []
            if let column = template.provenanceColumn, let text = parent[column] ?? nil, let record = lastRecord(text) {
                digest = record.digest
                key = "\(record.digest)/\(record.actionIndex)"
                chain = record.chain
                version = record.version
            }
            var index: Int?
            if key == nil {
                let values = zip(template.key, keyTypes).map { column, type in normalized(parent[column] ?? nil, type) }
                if let first = byKeyValues[keyText(values)] {
                    key = first.idempotencyKey
                    chain = first.chain.description
                    index = first.action.index
                }
                digest = key.map { String($0.prefix { $0 != "/" }) }
            }
            // The version column, when the mapping has one and the table does too.
            if let versionColumn, let cell = parent[versionColumn] {
                let held = cell.map { Int($0.trimmingCharacters(in: .whitespaces)) } ?? 1
                if let held, let recorded = version, recorded != held {
                    inconsistencies.append(FieldDifference(field: "\(template.table).\(versionColumn)", expected: "\(recorded)", actual: cell ?? "null"))
                } else if let held, version == nil, let chainDigest = chain, let index {
                    // No provenance: the version column says which version the row holds.
                    version = held
                    if let versionKey = versionKeys[versionText(chainDigest, index, held)] {
                        key = versionKey
                        digest = String(versionKey.prefix { $0 != "/" })
                    }
                } else if held == nil {
                    inconsistencies.append(FieldDifference(field: "\(template.table).\(versionColumn)", expected: version.map { "\($0)" },
                                                           actual: cell ?? "null"))
                }
            }
            var row = JSONObject()
            for (column, value) in parent.sorted(by: { $0.key < $1.key }) where column != template.provenanceColumn {
                row[column] = value.map(JSONValue.string) ?? .null
            }
            var childObject = JSONObject()
            for child in template.children {
                let linked = (children[child.table] ?? []).filter { candidate in
                    child.links.allSatisfy { link in
                        (candidate[link.column] ?? nil) != nil && (candidate[link.column] ?? nil) == (parent[link.parentColumn] ?? nil)
                    }
                }
                childObject[child.table] = .array(linked.map { candidate in
                    var object = JSONObject()
                    for (column, value) in candidate.sorted(by: { $0.key < $1.key }) where !child.links.contains(where: { $0.column == column }) {
                        object[column] = value.map(JSONValue.string) ?? .null
                    }
                    return .object(object)
                })
            }
            let idColumns = template.returning.isEmpty ? template.key : template.returning
            let id = idColumns.compactMap { parent[$0] ?? nil }.joined(separator: "/")
            return LegacyDocument(idempotencyKey: key, agreementDigest: digest, reference: LegacyReference(system: system, kind: template.table, id: id),
                                  fields: ["row": .object(row), "children": .object(childObject)], chain: chain, version: version,
                                  inconsistencies: inconsistencies)
        }
    }

    /// What the last provenance record in a provenance column says about the row.
    public struct ProvenanceSummary: Sendable, Hashable {
        /// The agreement digest of the version applied last (a change's own digest).
        public let digest: String
        public let actionIndex: Int
        /// The original's digest: `revision.amends`, or ``digest`` for an original's record.
        public let chain: String
        /// `revision.version`, or 1 for an original's record.
        public let version: Int
        /// Records in the column (1 for a single object).
        public let records: Int
    }

    /// Reads a provenance column: one record (an object) or an array of records, oldest first.
    /// Nil when the text is not JSON or the last record names no agreement digest and action index.
    public static func lastRecord(_ text: String) -> ProvenanceSummary? {
        guard let value = try? JSONReader().read(text) else { return nil }
        let records: [JSONValue]
        switch value {
        case .array(let array): records = array
        case .object: records = [value]
        default: return nil
        }
        guard let last = records.last, let digest = last["agreement"]?["digest"]?.stringValue, let index = last["plan"]?["actionIndex"]?.exactInt
        else { return nil }
        let revision = last["revision"]
        let version = revision?["version"]?.exactInt ?? 1
        return ProvenanceSummary(digest: digest, actionIndex: index, chain: revision?["amends"]?.stringValue ?? digest, version: version,
                                 records: records.count)
    }

    /// Numbers by value (`5.000` and `5` are one key), everything else as text.
    static func normalized(_ text: String?, _ type: CellValue.ValueType) -> String? {
        guard let text else { return nil }
        switch type {
        case .decimal, .integer: return DecimalText.parse(text).map { DecimalText.plain($0) } ?? text
        default: return text
        }
    }

    static func keyText(_ values: [String?]) -> String { values.map { $0 ?? "\u{0}" }.joined(separator: "\u{1f}") }

    static func versionText(_ chain: String, _ index: Int, _ version: Int) -> String { "\(chain)/\(index)#\(version)" }
}

extension LegacyInventory {
    /// Rows actions compare through ``RowsComparison``; other kinds need the adapter's own comparison.
    public func rowsDifferences(_ document: LegacyDocument, from action: LegacyAction) -> [FieldDifference] {
        guard case .rows(let rows) = action.payload else {
            return [FieldDifference(field: "kind", expected: action.kind.rawValue, actual: "rows")]
        }
        return RowsComparison.differences(document.fields, from: rows)
    }
}
