import CausewayCore

/// The parsed form of one action in a mapping file.
struct ActionSpec: Sendable {
    enum Body: Sendable {
        case rows(RowsSpec)
        case http(HTTPSpec)
        case xml(XMLSpec)
        case erp(ERPSpec)
    }

    let name: String
    let target: String
    let body: Body
    let location: SourceLocation
    /// What a change means for this action (`on_change`); nil: a change does nothing here.
    var onChange: Body? = nil
    /// What a cancellation means for this action (`on_cancel`); nil: a cancellation does nothing here.
    var onCancel: Body? = nil
}

struct RowsSpec: Sendable {
    let table: String
    let key: [String]
    let returns: [String]
    /// The column that receives the provenance record at delivery (filled by the adapter).
    let provenanceColumn: String?
    let columns: [(name: String, cell: Cell)]
    let children: [ChildRowsSpec]
    /// In `on_change`/`on_cancel`: the columns that find the row the first version wrote.
    var match: [String]? = nil
    /// In `on_change`/`on_cancel`: the column that holds the version applied.
    var versionColumn: String? = nil
}

struct ChildRowsSpec: Sendable {
    let table: String
    let loop: Loop?
    let columns: [(name: String, cell: Cell)]
    let location: SourceLocation
}

/// A JSON body template node.
indirect enum JSONTemplate: Sendable {
    case object([(key: String, value: JSONTemplate)])
    case array([JSONTemplate])
    case repeated(Loop, item: JSONTemplate)
    case value(Cell)
}

struct HTTPSpec: Sendable {
    let method: String
    let path: Cell
    let headers: [(name: String, value: Cell)]
    let body: JSONTemplate?
    let captureReference: String?
}

struct XMLElementSpec: Sendable {
    let name: String
    let namespaces: [(prefix: String, uri: String)]
    let attributes: [(name: String, value: Cell)]
    let text: Cell?
    let children: [XMLElementSpec]
    let loop: Loop?
    /// Omit the element when its text (or, without text, the `when` condition) is absent/false.
    let optional: Bool
    let when: Condition?
    let location: SourceLocation
}

struct XMLSpec: Sendable {
    let root: XMLElementSpec
    let soap: XMLDocumentAction.SOAP?
    let schema: String?
    /// The schema's digest when the mapping was loaded.
    var schemaDigest: ContentDigest?
    let path: String?
}

struct ERPSpec: Sendable {
    let supplier: Cell
    let reference: Cell
    let currency: Cell?
    let orderDate: Cell?
    let workflow: ERPPurchaseOrderAction.Workflow
    let attachments: [ERPPurchaseOrderAction.Attachment]
    let loop: Loop?
    let product: Cell?
    let quantity: Cell?
    let unit: Cell?
    let unitPrice: Cell?
    let description: Cell?
    /// `create` in `actions`, `amend` in `on_change`, `cancel` in `on_cancel`.
    var operation: ERPPurchaseOrderAction.Operation = .create
}

struct AssertionSpec: Sendable {
    let condition: Condition
    let message: String
    let location: SourceLocation
}
