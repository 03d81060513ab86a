import CausewayCore
@testable import CausewayMapping
import CausewayTesting
import Foundation
import Testing

/// `on_change` / `on_cancel`: what a change and a cancellation mean for each action, checked when
/// the mapping loads and evaluated with the versions before them.
@Suite("Mapping language: on_change and on_cancel")
struct RevisionMappingTests {
    static let header = "causeway-mapping: 1\nid: t\nversion: \"1\"\n"

    static let chain = header + """
        actions:
          - name: order
            target: db
            rows:
              table: t
              key: [k]
              columns:
                k: {meta: agreement.digest}
                total: {agreement: "$.total"}
            on_change:
              rows:
                table: t
                match: [k]
                version: v
                columns:
                  k: {meta: agreement.original_digest}
                  total: {agreement: "$.total"}
                  was: {previous: "$.total"}
                  first: {original: "$.id"}
                  n: {meta: agreement.version, as: integer}
            on_cancel:
              rows:
                table: t
                match: [k]
                version: v
                columns:
                  k: {meta: agreement.original_digest}
                  status: {const: cancelled}
          - name: notice
            target: portal
            http:
              method: POST
              path: /orders
              body: {object: {id: {agreement: "$.id"}}}
            on_cancel:
              http:
                method: DELETE
                path: {concat: [{const: "/orders/"}, {original: "$.id"}]}
        """

    static let original: JSONValue = ["type": "PurchaseAgreement", "id": "urn:o", "total": "10.00"]
    static let originalDigest = ContentDigest(of: Array("original".utf8))
    static let changeDigest = ContentDigest(of: Array("change".utf8))

    static func context(_ kind: AgreementRevision.Kind, version: Int, digest: ContentDigest, previous: JSONValue) -> MappingContext {
        MappingContext(digest: digest, partner: "p", revision: .init(kind: kind, version: version, amends: originalDigest,
                                                                     supersedes: version == 2 ? originalDigest : changeDigest,
                                                                     previous: previous, original: original))
    }

    @Test("a change maps through on_change, reading previous:, original: and the chain's meta fields; an action without on_change does nothing")
    func change() throws {
        let m = try mapping(Self.chain)
        #expect(m.handles(.change) && m.handles(.cancellation))
        let change: JSONValue = ["type": "PurchaseAgreementChange", "id": "urn:c", "total": "12.00"]
        let result = m.map(change, context: Self.context(.change, version: 2, digest: Self.changeDigest, previous: Self.original))
        #expect(result.succeeded, "\(result.failures)")
        #expect(result.actions.count == 1, "the notice has no on_change")
        guard case .rows(let rows)? = result.actions.first?.payload else {
            Issue.record("no rows action")
            return
        }
        #expect(rows.update == RowsUpdate(match: ["k"], versionColumn: "v", version: 2))
        #expect(rows.row["k"]?.text == Self.originalDigest.description)
        #expect(rows.row["total"]?.text == "12.00")
        #expect(rows.row["was"]?.text == "10.00")
        #expect(rows.row["first"]?.text == "urn:o")
        #expect(rows.row["n"]?.text == "2")
        #expect(result.actions.first?.idempotencyKey(for: Self.changeDigest) == "\(Self.changeDigest)/0")
    }

    @Test("a cancellation maps through on_cancel: both actions, the notice as a DELETE of the original's id")
    func cancellation() throws {
        let m = try mapping(Self.chain)
        let cancel: JSONValue = ["type": "PurchaseAgreementCancellation", "id": "urn:x", "reason": "stop"]
        let result = m.map(cancel, context: Self.context(.cancellation, version: 3, digest: ContentDigest(of: [3]), previous: ["total": "12.00"]))
        #expect(result.succeeded, "\(result.failures)")
        #expect(result.actions.map(\.index) == [0, 1], "indexes stay the mapping's")
        guard case .http(let request)? = result.actions.last?.payload else {
            Issue.record("no http action")
            return
        }
        #expect(request.method == "DELETE")
        #expect(request.path == "/orders/urn:o")
    }

    @Test("legacy: reads what the legacy systems answered for earlier versions, by action name; absent until delivered")
    func legacyReferences() throws {
        let yaml = Self.header + """
            actions:
              - name: notice
                target: portal
                http: {method: POST, path: /orders, capture_reference: "$.id", body: {object: {id: {agreement: "$.id"}}}}
                on_change:
                  http:
                    method: PATCH
                    path: {concat: [{const: "/orders/"}, {legacy: "$['notice'].id", url_encode: true}]}
                    body: {object: {total: {agreement: "$.total"}}}
            """
        let m = try mapping(yaml.replacingOccurrences(of: "{legacy: \"$['notice'].id\", url_encode: true}", with: "{url_encode: {legacy: \"$['notice'].id\"}}"))
        var context = Self.context(.change, version: 2, digest: Self.changeDigest, previous: Self.original)
        context.revision?.legacy = ["notice": ["system": "http", "kind": "portal", "id": "N 42/7"]]
        let change: JSONValue = ["type": "PurchaseAgreementChange", "id": "urn:c", "total": "12.00"]
        let result = m.map(change, context: context)
        #expect(result.succeeded, "\(result.failures)")
        if case .http(let request)? = result.actions.first?.payload {
            #expect(request.method == "PATCH")
            #expect(request.path == "/orders/N%2042%2F7")
        } else {
            Issue.record("no http action")
        }
        // Not delivered yet: the reference is absent, and the mapping says so.
        let early = m.map(change, context: Self.context(.change, version: 2, digest: Self.changeDigest, previous: Self.original))
        #expect(!early.succeeded)
        #expect(early.failures.contains { $0.code == "mapping.value_missing" }, "\(early.failures)")
    }

    @Test("an original maps as before: on_change sections do not change the first version's output")
    func original() throws {
        let m = try mapping(Self.chain)
        let result = m.map(Self.original, context: MappingContext(digest: Self.originalDigest, partner: "p"))
        #expect(result.succeeded)
        #expect(result.actions.count == 2)
        if case .rows(let rows)? = result.actions.first?.payload { #expect(rows.update == nil) }
    }

    @Test("a mapping without on_change takes no changes", arguments: [AgreementRevision.Kind.change, .cancellation])
    func unhandled(kind: AgreementRevision.Kind) throws {
        let m = try mapping(rowsMapping("total: {agreement: \"$.total\"}"))
        #expect(!m.handles(kind))
    }

    @Test("load-time mistakes in on_change / on_cancel are named", arguments: [
        ("on_change:\n      http: {method: POST, path: /x}", "has exactly one rows section, like the action"),
        ("on_change:\n      rows: {table: t, version: v, columns: {k: {const: \"1\"}}}", "needs 'match'"),
        ("on_change:\n      rows: {table: t, match: [k], columns: {k: {const: \"1\"}}}", "needs 'version'"),
        ("on_change:\n      rows: {table: t, match: [k], version: v, columns: {k: {const: \"1\"}, v: {const: \"2\"}}}", "is the version column"),
        ("on_change:\n      rows: {table: t, match: [z], version: v, columns: {k: {const: \"1\"}}}", "the match column 'z' has no cell"),
        ("on_change:\n      rows: {table: t, key: [k], match: [k], version: v, columns: {k: {const: \"1\"}}}", "unknown key 'key'"),
        ("on_cancel:\n      rows: {table: t, match: [k], version: v, columns: {k: {later: \"$.x\"}}}", "unknown function or selector root 'later'"),
        ("on_update:\n      rows: {table: t}", "unknown key 'on_update'"),
    ])
    func loadErrors(section: String, message: String) throws {
        let yaml = Self.header + """
            actions:
              - name: a
                target: db
                rows: {table: t, key: [k], columns: {k: {const: "1"}}}
                \(section)
            """
        let errors = try CausewayMappingTests.loadErrors(yaml)
        #expect(errors.contains { $0.message.contains(message) }, "\(errors.map(\.description))")
    }

    @Test("previous:, original: and legacy: are not readable outside on_change / on_cancel", arguments: ["previous", "original", "legacy"])
    func rootsOnlyInRevisions(root: String) throws {
        let errors = try CausewayMappingTests.loadErrors(rowsMapping("was: {\(root): \"$.total\"}"))
        #expect(errors.contains { $0.message.contains("'\(root)'") }, "\(errors.map(\.description))")
    }
}
