public import AdapterKit
public import CausewayCore
import Foundation

extension Delivery {
    /// The same action as delivered for a change (`cancellation: false`) or cancellation at
    /// `version` of this delivery's agreement, as intake would make it: a digest of its own (so its
    /// own idempotency key), provenance naming the revision's type and carrying `revision` (amends and
    /// supersedes = this delivery's agreement digest).
    public func asRevision(version: Int, cancellation: Bool) throws -> Delivery {
        guard case .object(var record) = provenance.json, case .object(var agreement)? = record["agreement"] else {
            throw AdapterConfigurationError(problems: ["the provenance record is not an object"])
        }
        let digest = ContentDigest(of: Array("\(cancellation ? "cancellation" : "change") \(version) of \(agreementDigest)".utf8))
        agreement["type"] = .string(cancellation ? AgreementRevision.cancellationType : AgreementRevision.changeType)
        agreement["digest"] = .string(digest.description)
        record["agreement"] = .object(agreement)
        record["revision"] = ["version": .number(Double(version)), "amends": .string(agreementDigest.description),
                              "supersedes": .string(agreementDigest.description)]
        return Delivery(agreementDigest: digest, agreementID: agreementID, action: action,
                        provenance: try ProvenanceRecord(json: .object(record)), signedAgreement: signedAgreement, attempt: attempt)
    }

    /// Version `version` of this first delivery of a `rows` action with a child table, as a change's
    /// update (``RowsUpdate`` matched by `agreement_digest`, version column `version`): the parent's
    /// columns with `set` applied, the lines replaced by `lines` (nil: no child table listed), under a
    /// digest of its own. `adapter` is named in the provenance record.
    public func rowsChange(version: Int, set: [(String, CellValue)], lines: [Row]?, adapter: String) throws -> Delivery {
        guard case .rows(let rows) = action.payload, let linesTable = rows.children.first else {
            throw AdapterConfigurationError(problems: ["the first delivery is not a rows action with a child table"])
        }
        var cells = rows.row.cells
        for (column, value) in set {
            if let index = cells.firstIndex(where: { $0.column == column }) { cells[index].value = value } else { cells.append((column, value)) }
        }
        let children = lines.map { [ChildRows(table: linesTable.table, links: linesTable.links, rows: $0)] } ?? []
        let change = LegacyAction(index: 0, name: "purchase-order", target: "erp-staging", payload: .rows(RowsAction(
            table: rows.table, key: rows.key, returning: rows.returning, row: Row(cells), children: children, provenanceColumn: rows.provenanceColumn,
            update: RowsUpdate(match: ["agreement_digest"], versionColumn: "version", version: version))))
        let digest = ContentDigest(of: Array("\(agreementDigest) version \(version)".utf8))
        let record = ProvenanceRecord(
            receiptID: RandomUUID.urn(), generated: "2026-11-23T10:00:00.000Z", action: change, adapter: adapter,
            agreementID: agreementID, agreementType: AgreementRevision.changeType, agreementDigest: digest, signers: [],
            plan: provenance.plan, gateway: "did:key:z6MkTest", software: "causeway-test")
        return Delivery(agreementDigest: digest, agreementID: agreementID, action: change, provenance: record, signedAgreement: [])
    }
}
