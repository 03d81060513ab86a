import CausewayCore
import Logging
import NIOCore
import PostgresNIO

/// Group commit in PostgreSQL: several agreements, or several attempts, in one transaction and
/// a fixed number of set-based statements (arrays bound as parameters and `unnest`ed), whatever
/// the batch's size. Column arrays cannot hold NULL through postgres-nio's encoders, so each
/// nullable column travels with a `Bool` array saying which entries are present.
extension PostgresStore {
    /// Stores agreements (first versions) and their outbox entries in one statement — its own
    /// transaction, one round trip whatever the batch's size — then reads what the others are.
    public func acceptBatch(_ agreements: [IncomingAgreement]) async throws -> [IntakeResult] {
        // Changes and cancellations are rare and check their chain under a lock: one at a time.
        guard !agreements.isEmpty, !agreements.contains(where: { $0.revision != nil }) else {
            return try await agreements.asyncMap { try await self.accept($0) }
        }
        let digests = agreements.map(\.digest.description)
        // A digest twice in one batch is stored once, from its first position; the later one is
        // answered as known, below.
        var firstPosition: [String: Int] = [:]
        for (index, digest) in digests.enumerated() where firstPosition[digest] == nil { firstPosition[digest] = index }
        let actions = agreements.indices.filter { firstPosition[digests[$0]] == $0 }.flatMap { index in
            agreements[index].actions.map { (agreement: agreements[index], action: $0) }
        }
        return try await queue.withConnection { db in
            let inserted = Set(try await db.run(InsertAgreements.make(agreements, actions), logger: logger).map { try $0.decode(String.self) })
            let isNew = digests.indices.map { inserted.contains(digests[$0]) && firstPosition[digests[$0]] == $0 }

            // The others: known digests (stored before, or earlier in this batch) and conflicts.
            let others = agreements.indices.filter { !isNew[$0] }
            guard !others.isEmpty else { return agreements.map { _ in IntakeResult.accepted } }
            var statuses: [String: AgreementStatus] = [:]
            for row in try await db.query("SELECT digest, status FROM agreements WHERE digest = ANY(\(others.map { digests[$0] }))",
                                          logger: logger).collect() {
                let (digest, status) = try row.decode((String, String).self)
                statuses[digest] = AgreementStatus(rawValue: status) ?? .accepted
            }
            var results = [IntakeResult](repeating: .accepted, count: agreements.count)
            for index in others {
                let agreement = agreements[index]
                if let status = statuses[digests[index]] {
                    results[index] = .known(status)
                    continue
                }
                let existing = try await db.query(
                    "SELECT digest FROM agreements WHERE partner = \(agreement.partner) AND agreement_id = \(agreement.agreementID)",
                    logger: logger).collect()
                guard let row = existing.first else { throw StoreError("intake raced with a concurrent insert; try again") }
                results[index] = .conflict(existing: try StoreJSON.digest(try row.decode(String.self)))
            }
            return results
        }
    }

    /// Records a batch of attempts: the entries still claimed by the attempt's worker get their
    /// attempt and their next state in one statement, then their agreements' statuses.
    public func finishBatch(_ attempts: [AttemptRecord]) async throws -> [Bool] {
        guard !attempts.isEmpty else { return [] }
        return try await queue.withTransaction(logger: logger) { db in try await record(attempts, db) }
    }

    /// Attempts and their receipts in one transaction. The attempts are recorded first, under
    /// their entries' and agreements' locks; the ledger's lock is taken last and only when an
    /// attempt delivered (a batch of retries and dead letters does not wait for it), so that it
    /// is held for three statements: the lock, the ledger's ends, the append (decision 28).
    public func finishBatch(_ attempts: [AttemptRecord], issuing issue: ReceiptIssuing) async throws -> FinishedBatch {
        guard attempts.contains(where: \.delivers) else { return FinishedBatch(recorded: try await finishBatch(attempts), receipts: []) }
        do {
            return try await queue.withTransaction(logger: logger) { db in
                let recorded = try await record(attempts, db)
                let delivered = attempts.indices.filter { recorded[$0] && attempts[$0].delivers }
                guard !delivered.isEmpty else { return FinishedBatch(recorded: recorded, receipts: []) }
                try await db.run(LockLedger.make(), logger: logger)
                let ends = try await ledgerEnds(db)
                let receipts = try FinishedBatch.receipts(issue, after: ends.head, delivered: delivered, of: attempts)
                try await append(receipts, after: ends, db)
                return FinishedBatch(recorded: recorded, receipts: receipts)
            }
        } catch let error as PostgresTransactionError {
            // Rolled back: what failed inside is the answer (the issuer's error, a refusal).
            if let inner = error.closureError, error.rollbackError == nil { throw inner }
            throw error
        }
    }

    /// Records attempts inside a transaction: the entries still claimed by the attempt's worker
    /// get their attempt and their next state in one statement, then their agreements' statuses.
    func record(_ attempts: [AttemptRecord], _ db: PostgresConnection) async throws -> [Bool] {
        var recorded = [Bool](repeating: false, count: attempts.count)
        var digests = Set<String>()
        for row in try await db.run(RecordAttempts.make(attempts), logger: logger) {
            let (position, digest) = try row.decode((Int64, String).self)
            guard position >= 1, position <= attempts.count else { throw StoreError("an attempt's position came back out of range") }
            recorded[Int(position) - 1] = true
            digests.insert(digest)
        }
        try await refreshStatuses(db, digests: digests)
        return recorded
    }

    /// Sets each agreement's status from its outbox entries (``StatusRule``), for one agreement or
    /// many in three statements; the agreements are locked in digest order, so that concurrent
    /// transactions cannot deadlock on them, and their entries read after the locks, so that
    /// concurrent finishes of their actions cannot compute from a stale view.
    func refreshStatuses(_ db: PostgresConnection, digests: Set<String>) async throws {
        guard !digests.isEmpty else { return }
        let sorted = digests.sorted()
        var cancellations: Set<String> = []
        for row in try await db.run(LockAgreements.make(sorted), logger: logger) {
            let (digest, revision) = try row.decode((String, String?).self)
            if revision == "cancellation" { cancellations.insert(digest) }
        }
        var states: [String: [(state: OutboxState, attempts: Int)]] = [:]
        for row in try await db.run(EntryStates.make(sorted), logger: logger) {
            let (digest, state, attempts) = try row.decode((String, String, Int).self)
            states[digest, default: []].append((OutboxState(rawValue: state) ?? .pending, attempts))
        }
        let statuses = sorted.map { StatusRule.status(of: states[$0] ?? [], cancellation: cancellations.contains($0)).rawValue }
        try await db.run(SetStatuses.make(sorted, statuses), logger: logger)
    }

    // MARK: Statement texts

    /// Agreements and the outbox entries of those stored (not those whose digest or business id
    /// was there before): one statement, so one transaction without `BEGIN` and `COMMIT`. The
    /// entries' foreign key is checked at the statement's end, when the agreements exist.
    enum InsertAgreements: StatementText {
        static func make(_ agreements: [IncomingAgreement], _ actions: [(agreement: IncomingAgreement, action: IncomingAgreement.Action)])
            -> StoreStatement<Self>
        {
            .init("""
                WITH stored AS (
                  INSERT INTO agreements (digest, agreement_id, partner, type, status, document, verification, mapping_id, mapping_version,
                    mapping_digest, total, currency, received_at)
                  SELECT v.digest, v.agreement_id, v.partner, v.type, v.status, v.document, v.verification, v.mapping_id, v.mapping_version,
                    v.mapping_digest, CASE WHEN v.has_total THEN v.total END, CASE WHEN v.has_currency THEN v.currency END, v.received_at
                  FROM unnest(\(agreements.map(\.digest.description)), \(agreements.map(\.agreementID)), \(agreements.map(\.partner)),
                    \(agreements.map(\.type)), \(agreements.map { StatusRule.initial($0).rawValue }),
                    \(agreements.map { ByteBuffer(bytes: $0.document) }), \(agreements.map { StoreJSON.text($0.verification) }),
                    \(agreements.map(\.mappingID)), \(agreements.map(\.mappingVersion)), \(agreements.map(\.mappingDigest.description)),
                    \(agreements.map { $0.total != nil }), \(agreements.map { $0.total ?? "" }),
                    \(agreements.map { $0.currency != nil }), \(agreements.map { $0.currency ?? "" }), \(agreements.map(\.receivedAt)))
                    WITH ORDINALITY AS v(digest, agreement_id, partner, type, status, document, verification, mapping_id, mapping_version,
                      mapping_digest, has_total, total, has_currency, currency, received_at, position)
                  ORDER BY v.position
                  ON CONFLICT DO NOTHING RETURNING digest),
                entries AS (
                  INSERT INTO outbox (digest, action_index, name, target, kind, adapter, action, provenance, receipt_id, state, next_attempt_at)
                  SELECT v.digest, v.action_index, v.name, v.target, v.kind, v.adapter, v.action, v.provenance, v.receipt_id, 'pending', v.next_attempt_at
                  FROM unnest(\(actions.map(\.agreement.digest.description)), \(actions.map(\.action.index)), \(actions.map(\.action.name)),
                    \(actions.map(\.action.target)), \(actions.map(\.action.kind)), \(actions.map(\.action.adapter)),
                    \(actions.map { StoreJSON.text($0.action.action) }), \(actions.map { StoreJSON.text($0.action.provenance) }),
                    \(actions.map(\.action.receiptID)), \(actions.map(\.agreement.receivedAt)))
                    AS v(digest, action_index, name, target, kind, adapter, action, provenance, receipt_id, next_attempt_at)
                  WHERE v.digest IN (SELECT digest FROM stored))
                SELECT digest FROM stored
                """)
        }
        static let sql = make([], []).query.sql
    }

    /// Each attempt whose entry its worker still holds in flight (locked in id order, as one
    /// finish each would lock them): the attempt is recorded and the entry moved to the state its
    /// outcome leaves it in; a column an outcome leaves alone keeps its value. An entry twice in
    /// one batch is recorded once, from its first attempt: the second finds it finished, as a
    /// second finish would. Returns the recorded attempts' 1-based positions and digests.
    enum RecordAttempts: StatementText {
        static func make(_ attempts: [AttemptRecord]) -> StoreStatement<Self> {
            let moves = attempts.map { attempt -> (state: String, next: Int64?, lookup: Int?, reference: String?, error: String?, delivered: Int64?) in
                switch attempt.next {
                case .delivered(let reference):
                    return ("delivered", nil, 0, StoreJSON.text(reference), nil, attempt.finishedAt)
                case .retry(let at, let lookupFirst):
                    return ("pending", at, lookupFirst ? 1 : 0, nil, attempt.detail, nil)
                case .deadLetter(let reason):
                    return ("dead_letter", nil, nil, nil, reason, nil)
                }
            }
            return .init("""
                WITH input AS (
                  SELECT * FROM unnest(\(attempts.map(\.entryID)), \(attempts.map(\.worker)), \(attempts.map(\.startedAt)),
                    \(attempts.map(\.finishedAt)), \(attempts.map(\.outcome)),
                    \(attempts.map { $0.detail != nil }), \(attempts.map { $0.detail ?? "" }), \(moves.map(\.state)),
                    \(moves.map { $0.next != nil }), \(moves.map { $0.next ?? 0 }),
                    \(moves.map { $0.lookup != nil }), \(moves.map { $0.lookup ?? 0 }),
                    \(moves.map { $0.reference != nil }), \(moves.map { $0.reference ?? "" }),
                    \(moves.map { $0.error != nil }), \(moves.map { $0.error ?? "" }),
                    \(moves.map { $0.delivered != nil }), \(moves.map { $0.delivered ?? 0 }))
                    WITH ORDINALITY AS v(id, worker, started_at, finished_at, outcome, has_detail, detail, state, has_next, next_attempt_at,
                      has_lookup, needs_lookup, has_reference, legacy_ref, has_error, last_error, has_delivered, delivered_at, position)),
                locked AS (
                  SELECT id, claimed_by, state, attempts, digest FROM outbox WHERE id IN (SELECT id FROM input) ORDER BY id FOR UPDATE),
                valid AS (
                  SELECT DISTINCT ON (i.id) i.*, l.attempts + 1 AS number, l.digest
                  FROM input i JOIN locked l ON l.id = i.id
                  WHERE l.claimed_by = i.worker AND l.state = 'in_flight'
                  ORDER BY i.id, i.position),
                recorded AS (
                  INSERT INTO attempts (outbox_id, number, worker, started_at, finished_at, outcome, detail)
                  SELECT id, number, worker, started_at, finished_at, outcome, CASE WHEN has_detail THEN detail END FROM valid),
                moved AS (
                  UPDATE outbox o SET state = v.state, attempts = v.number, claimed_by = NULL, lease_until = NULL,
                    next_attempt_at = CASE WHEN v.has_next THEN v.next_attempt_at ELSE o.next_attempt_at END,
                    needs_lookup = CASE WHEN v.has_lookup THEN v.needs_lookup ELSE o.needs_lookup END,
                    legacy_ref = CASE WHEN v.has_reference THEN v.legacy_ref ELSE o.legacy_ref END,
                    last_error = CASE WHEN v.has_error THEN v.last_error END,
                    delivered_at = CASE WHEN v.has_delivered THEN v.delivered_at ELSE o.delivered_at END
                  FROM valid v WHERE o.id = v.id)
                SELECT position, digest FROM valid
                """)
        }
        static let sql = make([]).query.sql
    }

    enum LockAgreements: StatementText {
        static func make(_ digests: [String]) -> StoreStatement<Self> {
            .init("SELECT digest, revision FROM agreements WHERE digest = ANY(\(digests)) ORDER BY digest FOR UPDATE")
        }
        static let sql = make([]).query.sql
    }

    enum EntryStates: StatementText {
        static func make(_ digests: [String]) -> StoreStatement<Self> {
            .init("SELECT digest, state, attempts FROM outbox WHERE digest = ANY(\(digests))")
        }
        static let sql = make([]).query.sql
    }

    enum SetStatuses: StatementText {
        static func make(_ digests: [String], _ statuses: [String]) -> StoreStatement<Self> {
            .init("""
                UPDATE agreements a SET status = v.status FROM unnest(\(digests), \(statuses)) AS v(digest, status)
                WHERE a.digest = v.digest AND a.status <> v.status
                """)
        }
        static let sql = make([], []).query.sql
    }
}

extension Array {
    /// Each element through an async function, one after the other.
    func asyncMap<T>(_ transform: (Element) async throws -> T) async throws -> [T] {
        var results: [T] = []
        results.reserveCapacity(count)
        for element in self { results.append(try await transform(element)) }
        return results
    }
}
