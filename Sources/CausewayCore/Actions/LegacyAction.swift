/// One typed legacy action produced by a mapping: what an adapter must do for one agreement.
///
/// Each action belongs to an adapter family (``Kind``), names the configured target that performs
/// it, and has an index that — together with the agreement digest — forms its idempotency key
/// (`sha256:…/0`). Actions are values: the same agreement and mapping always produce the same
/// actions, byte for byte in their ``json`` form.
public struct LegacyAction: Sendable, Hashable {
    /// The adapter family.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// Rows in a relational database (PostgreSQL, SQLite).
        case rows
        /// An HTTP request with a JSON body (REST).
        case http
        /// An XML document, optionally in a SOAP envelope.
        case xml
        /// A purchase order in an ERP.
        case erpPurchaseOrder = "erp-purchase-order"
    }

    /// The payload for the family.
    public enum Payload: Sendable, Hashable {
        case rows(RowsAction)
        case http(HTTPRequestAction)
        case xml(XMLDocumentAction)
        case erpPurchaseOrder(ERPPurchaseOrderAction)
    }

    /// Position in the mapping's output, from 0.
    public let index: Int
    /// The action's name in the mapping (`purchase-order`).
    public let name: String
    /// The configured target (`erp-staging`).
    public let target: String
    public let payload: Payload

    public init(index: Int, name: String, target: String, payload: Payload) {
        self.index = index
        self.name = name
        self.target = target
        self.payload = payload
    }

    public var kind: Kind {
        switch payload {
        case .rows: .rows
        case .http: .http
        case .xml: .xml
        case .erpPurchaseOrder: .erpPurchaseOrder
        }
    }

    /// The idempotency key: agreement digest and action index, `sha256:…/N`.
    public func idempotencyKey(for digest: ContentDigest) -> String { "\(digest)/\(index)" }
}

// MARK: - Rows

/// A typed cell value, kept as canonical text (or JSON for `json` columns).
///
/// Decimals carry exactly their declared scale (`"1570.00"`), dates are `YYYY-MM-DD`, timestamps
/// RFC 3339 UTC. The adapter converts text to the column type and names the column on failure.
public struct CellValue: Sendable, Hashable {
    /// The declared type of a cell.
    public enum ValueType: Sendable, Hashable, CustomStringConvertible {
        case text
        case decimal(precision: Int, scale: Int)
        case integer
        case date
        case timestamp
        case boolean
        case json

        public var description: String {
            switch self {
            case .text: "text"
            case .decimal(let p, let s): "decimal(\(p),\(s))"
            case .integer: "integer"
            case .date: "date"
            case .timestamp: "timestamp"
            case .boolean: "boolean"
            case .json: "json"
            }
        }
    }

    public enum Value: Sendable, Hashable {
        case null
        case text(String)
        case json(JSONValue)
    }

    public let value: Value
    public let type: ValueType

    public init(_ value: Value, type: ValueType) {
        self.value = value
        self.type = type
    }

    public static func text(_ text: String, _ type: ValueType = .text) -> CellValue { CellValue(.text(text), type: type) }
    public static func null(_ type: ValueType) -> CellValue { CellValue(.null, type: type) }

    /// The text, or nil for NULL and JSON values.
    public var text: String? {
        if case .text(let t) = value { return t }
        return nil
    }

    /// The value as it appears in an action's JSON: text as a string, NULL as null, JSON as is.
    public var json: JSONValue {
        switch value {
        case .null: .null
        case .text(let t): .string(t)
        case .json(let j): j
        }
    }
}

/// An ordered set of named cells.
public struct Row: Sendable, Hashable {
    public var cells: [(column: String, value: CellValue)]

    public init(_ cells: [(column: String, value: CellValue)] = []) { self.cells = cells }

    public subscript(column: String) -> CellValue? { cells.first { $0.column == column }?.value }

    public static func == (lhs: Row, rhs: Row) -> Bool {
        lhs.cells.count == rhs.cells.count && zip(lhs.cells, rhs.cells).allSatisfy { $0.column == $1.column && $0.value == $1.value }
    }

    public func hash(into hasher: inout Hasher) {
        for cell in cells {
            hasher.combine(cell.column)
            hasher.combine(cell.value)
        }
    }
}

/// Rows to write in one transaction: one parent row and child row sets linked to keys the
/// parent's insert generates.
public struct RowsAction: Sendable, Hashable {
    /// The parent table.
    public let table: String
    /// Columns that identify the row for idempotency (a unique constraint in the target).
    public let key: [String]
    /// Columns the insert generates and returns (e.g. `po_id`), for children to reference.
    public let returning: [String]
    public let row: Row
    public let children: [ChildRows]
    /// The parent-table column that receives the provenance record (jsonb), written by the adapter
    /// in the same transaction.
    public let provenanceColumn: String?
    /// For a change or cancellation: update the row an earlier version wrote instead of inserting.
    /// Nil for a first version.
    public let update: RowsUpdate?

    public init(table: String, key: [String], returning: [String], row: Row, children: [ChildRows], provenanceColumn: String? = nil,
                update: RowsUpdate? = nil) {
        self.table = table
        self.key = key
        self.returning = returning
        self.row = row
        self.children = children
        self.provenanceColumn = provenanceColumn
        self.update = update
    }
}

/// How a change or cancellation updates the row the first version inserted, in one transaction:
///
/// 1. find the parent row by the ``match`` columns (their values are in the action's row and are
///    not changed), locking it;
/// 2. its ``versionColumn`` at ``version`` or later: already applied — the delivery is a no-op that
///    reports the row (idempotent); NULL counts as version 1; below `version − 1`: rejected (a version
///    is missing — the gateway delivers versions in order, so this means the row was changed by hand);
/// 3. otherwise set the row's other columns and the version column to ``version``, append the
///    provenance record to the provenance column (an object becomes an array of records; never
///    overwritten), and for each child table listed replace the rows linked to the parent (delete,
///    then insert the new ones). Child tables not listed are left as they are.
public struct RowsUpdate: Sendable, Hashable {
    /// Columns of the action's row that identify the parent row.
    public let match: [String]
    /// The column holding the version applied to the row.
    public let versionColumn: String
    /// The version this action applies (2 or more).
    public let version: Int

    public init(match: [String], versionColumn: String, version: Int) {
        self.match = match
        self.versionColumn = versionColumn
        self.version = version
    }
}

/// Rows of a child table; `links` maps a child column to a column the parent insert returned.
public struct ChildRows: Sendable, Hashable {
    public let table: String
    public let links: [(column: String, parentColumn: String)]
    public let rows: [Row]

    public init(table: String, links: [(column: String, parentColumn: String)], rows: [Row]) {
        self.table = table
        self.links = links
        self.rows = rows
    }

    public static func == (lhs: ChildRows, rhs: ChildRows) -> Bool {
        lhs.table == rhs.table && lhs.rows == rhs.rows && lhs.links.map(\.column) == rhs.links.map(\.column)
            && lhs.links.map(\.parentColumn) == rhs.links.map(\.parentColumn)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(table)
        hasher.combine(rows)
    }
}

// MARK: - HTTP

/// An HTTP request with a JSON body, sent to the target's base URL plus ``path``.
public struct HTTPRequestAction: Sendable, Hashable {
    public let method: String
    public let path: String
    public let headers: [(name: String, value: String)]
    public let body: JSONValue?
    /// JSONPath into the response body whose value becomes the legacy reference.
    public let captureReference: String?

    public init(method: String, path: String, headers: [(name: String, value: String)], body: JSONValue?, captureReference: String?) {
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
        self.captureReference = captureReference
    }

    public static func == (lhs: HTTPRequestAction, rhs: HTTPRequestAction) -> Bool {
        lhs.method == rhs.method && lhs.path == rhs.path && lhs.body == rhs.body && lhs.captureReference == rhs.captureReference
            && lhs.headers.map(\.name) == rhs.headers.map(\.name) && lhs.headers.map(\.value) == rhs.headers.map(\.value)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(method)
        hasher.combine(path)
        hasher.combine(body)
    }
}

// MARK: - XML

/// An XML element built as a tree: names, namespaces and text are escaped when serialised, never
/// assembled from strings.
public struct XMLElementNode: Sendable, Hashable {
    /// The qualified name as written (`cbc:ID`, or `Order` in the default namespace).
    public let name: String
    /// Namespace declarations on this element: prefix ("" for the default) → URI.
    public let namespaces: [(prefix: String, uri: String)]
    public let attributes: [(name: String, value: String)]
    public let children: [XMLChild]

    public init(name: String, namespaces: [(prefix: String, uri: String)] = [], attributes: [(name: String, value: String)] = [],
                children: [XMLChild] = []) {
        self.name = name
        self.namespaces = namespaces
        self.attributes = attributes
        self.children = children
    }

    public static func == (lhs: XMLElementNode, rhs: XMLElementNode) -> Bool {
        lhs.name == rhs.name && lhs.children == rhs.children
            && lhs.namespaces.map(\.prefix) == rhs.namespaces.map(\.prefix) && lhs.namespaces.map(\.uri) == rhs.namespaces.map(\.uri)
            && lhs.attributes.map(\.name) == rhs.attributes.map(\.name) && lhs.attributes.map(\.value) == rhs.attributes.map(\.value)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(name)
        hasher.combine(children)
    }
}

/// A child of an XML element.
public indirect enum XMLChild: Sendable, Hashable {
    case element(XMLElementNode)
    case text(String)
}

/// An XML document to deliver, optionally wrapped in a SOAP envelope and validated against an XSD.
public struct XMLDocumentAction: Sendable, Hashable {
    /// SOAP envelope settings.
    public struct SOAP: Sendable, Hashable {
        /// `1.1` or `1.2`.
        public let version: String
        /// The SOAPAction (1.1 header) or `action` parameter (1.2 content type).
        public let action: String?

        public init(version: String, action: String?) {
            self.version = version
            self.action = action
        }
    }

    public let root: XMLElementNode
    public let soap: SOAP?
    /// Path of the XSD, relative to the partner folder, to validate against before sending.
    public let schema: String?
    /// The digest of the XSD's bytes when the mapping was loaded: an adapter refuses to validate
    /// against a schema file that has changed since (the mapping's digest pinned these bytes).
    public let schemaDigest: ContentDigest?
    /// Path appended to the target's base URL (HTTP targets) or file name stem (file targets).
    public let path: String?

    public init(root: XMLElementNode, soap: SOAP?, schema: String?, schemaDigest: ContentDigest? = nil, path: String?) {
        self.root = root
        self.soap = soap
        self.schema = schema
        self.schemaDigest = schemaDigest
        self.path = path
    }
}

// MARK: - ERP purchase order

/// A purchase order in an ERP, in the ERP's own codes.
public struct ERPPurchaseOrderAction: Sendable, Hashable {
    /// How far to take the order in the ERP's workflow.
    public enum Workflow: String, Sendable, Hashable, CaseIterable {
        case draft, quote, confirm
    }

    /// Documents to attach to the order.
    public enum Attachment: String, Sendable, Hashable, CaseIterable {
        /// The signed agreement as received.
        case agreement
        /// The provenance record.
        case provenance
    }

    /// What to do with the order: create it (a first version), amend it to the new lines (a
    /// change), or cancel it (a cancellation).
    public enum Operation: String, Sendable, Hashable, CaseIterable {
        case create, amend, cancel
    }

    public struct Line: Sendable, Hashable {
        public let product: String
        public let quantity: String
        public let unit: String
        public let unitPrice: String
        public let description: String?

        public init(product: String, quantity: String, unit: String, unitPrice: String, description: String?) {
            self.product = product
            self.quantity = quantity
            self.unit = unit
            self.unitPrice = unitPrice
            self.description = description
        }
    }

    public let supplier: String
    public let reference: String
    public let currency: String?
    public let orderDate: String?
    public let lines: [Line]
    public let workflow: Workflow
    public let attachments: [Attachment]
    /// `create` for a first version; `amend` and `cancel` find the order by ``reference``.
    public let operation: Operation
    /// The agreement version an amendment or cancellation applies (nil for `create`).
    public let version: Int?

    public init(supplier: String, reference: String, currency: String?, orderDate: String?, lines: [Line], workflow: Workflow,
                attachments: [Attachment], operation: Operation = .create, version: Int? = nil) {
        self.operation = operation
        self.version = version
        self.supplier = supplier
        self.reference = reference
        self.currency = currency
        self.orderDate = orderDate
        self.lines = lines
        self.workflow = workflow
        self.attachments = attachments
    }
}
