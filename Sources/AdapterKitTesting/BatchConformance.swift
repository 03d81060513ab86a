public import AdapterKit
public import CausewayCore

extension AdapterConformance {
    /// The conformance suite of a ``BatchDeliveringAdapter``: a batch answers exactly what the
    /// same deliveries made one at a time would. `makeDelivery` as for ``run(_:makeDelivery:)``
    /// (a new, never-delivered delivery on every call); `makeRejected`, if given, a new delivery
    /// the target refuses (a value that does not fit), to check that it fails alone.
    public static func runBatch(_ adapter: any BatchDeliveringAdapter, makeDelivery: () -> Delivery,
                                makeRejected: (() -> Delivery)? = nil) async -> [Failure] {
        var failures: [Failure] = []
        func fail(_ check: String, _ message: String) { failures.append(Failure(check: check, message: message)) }

        if await adapter.deliverBatch([]).isEmpty == false { fail("batch-empty", "an empty batch must answer no outcomes") }

        // A batch of new deliveries: each delivered with its own reference, which a lookup finds.
        let fresh = (0..<5).map { _ in makeDelivery() }
        let outcomes = await adapter.deliverBatch(fresh)
        guard outcomes.count == fresh.count else {
            fail("batch-count", "\(fresh.count) deliveries must answer \(fresh.count) outcomes, got \(outcomes.count)")
            return failures
        }
        let references = outcomes.compactMap(\.reference)
        if outcomes.contains(where: { $0.outcomeClass != .delivered }) || references.count != fresh.count {
            fail("batch-deliver", "each valid delivery of a batch must be delivered with a reference, got \(outcomes)")
            return failures
        }
        if Set(references).count != references.count { fail("batch-deliver", "two deliveries of a batch got the same reference: \(references)") }
        for (delivery, reference) in zip(fresh, references) where await adapter.lookup(delivery) != .found(reference) {
            fail("batch-lookup", "a delivery of a batch must be found by its key with its reference \(reference)")
        }

        // The same batch again, and mixed with new ones: those delivered before report their first reference.
        let again = await adapter.deliverBatch(fresh)
        if again.map(\.reference) != references.map(Optional.some) {
            fail("batch-idempotency", "a batch delivered again must report the first references \(references), got \(again)")
        }
        let newer = makeDelivery()
        let mixed = await adapter.deliverBatch([fresh[2], newer, fresh[0]])
        if mixed.count != 3 || mixed[0].reference != references[2] || mixed[2].reference != references[0]
            || mixed[1].outcomeClass != .delivered || mixed[1].reference.map(references.contains) != false {
            fail("batch-idempotency", "a batch mixing delivered and new keys must report the first references in place and deliver the new one, got \(mixed)")
        }

        // One the target refuses fails alone: its neighbours are delivered, it is rejected as alone.
        if let makeRejected {
            let refused = makeRejected()
            let alone = await adapter.deliver(makeRejected())
            let batch = [makeDelivery(), refused, makeDelivery()]
            let result = await adapter.deliverBatch(batch)
            if result.count != 3 || result[0].outcomeClass != .delivered || result[2].outcomeClass != .delivered {
                fail("batch-isolation", "a refused delivery must not fail its neighbours, got \(result)")
            } else if result[1].outcomeClass != alone.outcomeClass || result[1].outcomeClass == .delivered {
                fail("batch-isolation", "a refused delivery in a batch must answer as alone (\(alone)), got \(result[1])")
            }
            if await adapter.lookup(refused) != .notFound { fail("batch-isolation", "a refused delivery must leave nothing under its key") }
        }
        return failures
    }
}

extension Delivery {
    /// This delivery of a `rows` action with the parent's `column` set to `value` (added when the
    /// row has no such column): a value the target can be made to refuse.
    public func settingCell(_ column: String, to value: CellValue) -> Delivery {
        guard case .rows(let rows) = action.payload else { return self }
        var cells = rows.row.cells
        if let index = cells.firstIndex(where: { $0.column == column }) { cells[index].value = value } else { cells.append((column, value)) }
        let changed = LegacyAction(index: action.index, name: action.name, target: action.target, payload: .rows(RowsAction(
            table: rows.table, key: rows.key, returning: rows.returning, row: Row(cells), children: rows.children,
            provenanceColumn: rows.provenanceColumn, update: rows.update)))
        return Delivery(agreementDigest: agreementDigest, agreementID: agreementID, action: changed, provenance: provenance,
                        signedAgreement: signedAgreement, attempt: attempt)
    }
}
