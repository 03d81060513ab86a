import CausewayCore
import CausewayMapping
import CausewayStore
import CausewayTrust
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

/// Witnessing, both ways, as the composition root wires it: this gateway as a witness of the logs
/// in `witness.logs` (``LedgerWitness``, served by ``WitnessAPI``), and the collection of
/// cosignatures of this gateway's own checkpoints from the witnesses partners list
/// (``WitnessCollector`` into a ``CosignatureBook``), which holds back receipt pushes to partners
/// that require cosignatures.
struct LedgerWitnessing: Sendable {
    let witness: LedgerWitness
    let book: CosignatureBook
    let collector: WitnessCollector?
    /// Per partner that requires cosignatures: its witnesses' keys and how many it needs.
    let requirements: [String: (keys: [NoteKey], required: Int)]

    /// Checks every configured key; all problems together, each naming its setting.
    init(configuration: GatewayConfiguration, identity: SigningIdentity, partners: PartnerRegistry, store: any AgreementStore,
         logger: Logger) throws(StartupError) {
        var problems: [String] = []
        let (logs, logProblems) = configuration.witnessedLogKeys()
        problems += logProblems
        var collected: [WitnessCollector.Witness] = []
        var requirements: [String: (keys: [NoteKey], required: Int)] = [:]
        for partner in partners.partners {
            var keys: [NoteKey] = []
            for (index, witness) in partner.configuration.ledger.witnesses.enumerated() {
                do {
                    let key = try NoteKey(vkey: witness.key)
                    guard key.kind == .cosignatureV1 else {
                        problems.append("partners/\(partner.name)/partner.yaml: ledger.witnesses[\(index)].key: a witness key has signature type 0x04 "
                            + "(cosignature/v1); this one is a checkpoint key (print a gateway's with causeway ledger witness-key)")
                        continue
                    }
                    keys.append(key)
                    let entry = WitnessCollector.Witness(url: witness.url, key: key)
                    if !collected.contains(entry) { collected.append(entry) }
                } catch {
                    problems.append("partners/\(partner.name)/partner.yaml: ledger.witnesses[\(index)].key: \(error.message)")
                }
            }
            if partner.configuration.ledger.cosignaturesRequired > 0 {
                requirements[partner.name] = (keys, partner.configuration.ledger.cosignaturesRequired)
            }
        }
        let folder = configuration.witnessStateDirectory
        do {
            witness = try LedgerWitness(logs: logs, name: configuration.witnessName, identity: identity, folder: folder, logger: logger)
        } catch {
            problems.append("witness.name: \(error.message)")
            throw StartupError(problems: problems)
        }
        guard problems.isEmpty else { throw StartupError(problems: problems) }
        if !logs.isEmpty {
            logger.info("witnessing other logs at /witness/add-checkpoint", metadata: [
                "witness.key": .string(witness.vkey), "witness.logs": .string(logs.keys.sorted().joined(separator: ", ")),
            ])
        }
        book = CosignatureBook(folder: folder, witnesses: collected.map(\.key))
        collector = collected.isEmpty ? nil : WitnessCollector(witnesses: collected, store: store, book: book, logger: logger)
        self.requirements = requirements
    }

    /// The ledger position below which a partner's receipts may be pushed; nil: no wait.
    func pushableBelow(partner: String) -> Int? {
        guard let requirement = requirements[partner] else { return nil }
        return book.coveredSize(witnesses: requirement.keys, required: requirement.required)
    }

    /// The witness routes (`/witness/…`).
    func register(on router: Router<GatewayRequestContext>) {
        WitnessAPI(witness: witness).register(on: router)
    }

    /// The collector's loop, when any partner lists witnesses.
    var services: [any Service] {
        guard let collector else { return [] }
        return [LoopService { await collector.run() }]
    }
}
