import ArgumentParser
import CausewayCore
import CausewayGateway
import CausewayStore
import CausewayTrust
import Foundation

/// `causeway reconcile`: proves that the legacy systems hold what was agreed.
struct ReconcileCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reconcile",
        abstract: "Compare the store's agreements, the legacy systems' state and the receipts; report every difference.",
        discussion: """
            Finding classes: matched, missing, stale, orphan, divergent, delivered_without_receipt, receipt_without_delivery, \
            invalid_receipt_signature, duplicate. A changed agreement is compared in the version its legacy document should hold: \
            the latest delivered change or cancellation of its chain (stale: the document still holds an older one). \
            Targets whose adapter cannot list what it wrote are listed as not reconcilable. \
            --repair re-drives missing deliveries and stale chains (lookup first). \
            Exit 0 when everything matched, 1 when anything is off (also after --repair), 2 on a usage or configuration error. \
            See Docs/reconciliation.md.
            """)

    @Option(name: .long, help: "The gateway configuration (store, targets, the gateway's key).")
    var config: String = "causeway.yaml"

    @Option(name: .long, help: "Receipts as the parties hold them: a folder of *.json receipts or a JSON-lines file.")
    var receipts: String?

    @Flag(name: .long, help: "Print {findings, summary} as JSON instead of a table.")
    var json = false

    @Flag(name: .long, help: "Re-drive the missing deliveries and the stale chains' latest versions (lookup first) and change nothing else.")
    var repair = false

    func run() async throws {
        let configuration: GatewayConfiguration
        do { configuration = try ConfigurationLoader.load(path: config) } catch {
            throw CLIError("the configuration is not usable:\n" + error.description)
        }
        let gateway = try CLIInput.signingIdentity(keyFile: configuration.identity).didKey.did
        let targets: ReconcileTargets
        let parties: [PartyReceipt]?
        do {
            parties = try receipts.map { path throws(ReconcileInputError) in try PartyReceipt.load(path: path) }
            targets = try ReconcileTargets.build(configuration)
        } catch {
            throw CLIError(error.message)
        }
        let repair = self.repair
        let outcome: (ReconcileReport, [RepairRecord]?)
        do {
            outcome = try await withStore(configuration.store) { store in
                try await targets.whileRunning {
                    let reconciler = Reconciler(store: store, adapters: targets.adapters, gateway: gateway, partyReceipts: parties)
                    let report = try await reconciler.run()
                    let repairs = repair ? try await reconciler.repair(report, now: Int64(Date().timeIntervalSince1970 * 1000)) : nil
                    if let repairs { await AuditCommand.recordRepair(repairs, store: store) }
                    return (report, repairs)
                }
            }
        } catch {
            throw CLIError("cannot reconcile against the store \(configuration.store.redacted): \(error)")
        }
        let (report, repairs) = outcome
        if json {
            var object = report.json.objectValue ?? JSONObject()
            if let repairs { object["repairs"] = .array(repairs.map(\.json)) }
            print(JSONWriter.string(.object(object), style: .pretty))
        } else {
            print(Self.table(report, repairs))
        }
        if !report.isClean { throw ExitCode(1) }
    }

    /// Findings as aligned columns (problems first, matched last), then the summary and any repairs.
    static func table(_ report: ReconcileReport, _ repairs: [RepairRecord]?) -> String {
        func short(_ digest: String?) -> String {
            guard let digest else { return "-" }
            return digest.hasPrefix("sha256:") ? String(digest.prefix(19)) + "…" : digest
        }
        // What needs a person first; matched last.
        let order: [ReconcileFinding.Class] = [.missing, .stale, .divergent, .duplicate, .orphan, .invalidReceiptSignature, .receiptWithoutDelivery,
                                               .deliveredWithoutReceipt, .matched]
        let sorted = order.flatMap { findingClass in report.findings.filter { $0.findingClass == findingClass } }
        let rows = [["CLASS", "DIGEST", "TARGET", "DETAIL"]]
            + sorted.map { [$0.findingClass.rawValue, short($0.digest), $0.target ?? "-", $0.detail] }
        let widths = (0..<3).map { column in rows.map { $0[column].count }.max() ?? 0 }
        var lines = rows.map { row in
            (0..<3).map { row[$0].padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ") + "  " + row[3]
        }
        lines.append("")
        let counts = report.counts.filter { $0.1 > 0 }.map { "\($0.1) \($0.0.rawValue)" }
        lines.append("\(report.agreements) agreements, \(report.entries) actions (\(report.inProgress) in progress), "
                     + "\(report.ledgerReceipts) ledger receipts" + (report.partyReceipts.map { ", \($0) party receipts" } ?? "")
                     + ": " + (counts.isEmpty ? "nothing to compare" : counts.joined(separator: ", ")))
        for target in report.targets {
            switch target.state {
            case .reconciled: lines.append("target \(target.target): reconciled (\(target.documents) legacy documents)")
            case .notReconcilable: lines.append("target \(target.target): not reconcilable — \(target.reason ?? "")")
            case .unavailable: lines.append("target \(target.target): unavailable — \(target.reason ?? "")")
            }
        }
        for repair in repairs ?? [] {
            lines.append("repair \(repair.action.rawValue) (\(repair.finding.rawValue)): \(repair.idempotencyKey) on \(repair.target) — \(repair.detail)")
        }
        if let repairs, repairs.isEmpty { lines.append("repair: nothing missing or stale, nothing re-queued") }
        lines.append(report.isClean ? "everything matched" : "not everything matched")
        return lines.joined(separator: "\n")
    }
}
