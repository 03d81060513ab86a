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

    public func finishBatch(_ attempts: [AttemptRecord]) async throws -> [Bool] {
        guard attempts.count > 1 else { return try await attempts.asyncMap { try await self.finish($0) } }
        return try await queue.withTransaction(logger: logger) { db in
            // Lock the entries in id order (as one finish each would, one at a time).
            var entries: [Int64: (claimedBy: String?, state: String, attempts: Int, digest: String)] = [:]
            for row in try await db.run(LockEntries.make(attempts.map(\.entryID)), logger: logger) {
                let (id, claimedBy, state, count, digest) = try row.decode((Int64, String?, String, Int, String).self)
                entries[id] = (claimedBy, state, count, digest)
            }
            var recorded: [Bool] = []
            var rows: [(attempt: AttemptRecord, number: Int)] = []
            var digests = Set<String>()
            for attempt in attempts {
                guard let entry = entries[attempt.entryID], entry.claimedBy == attempt.worker, entry.state == OutboxState.inFlight.rawValue else {
                    recorded.append(false)
                    continue
                }
                rows.append((attempt, entry.attempts + 1))
                digests.insert(entry.digest)
                // The same entry again in this batch finds it finished, as a second finish would.
                entries[attempt.entryID] = (nil, "finished", entry.attempts + 1, entry.digest)
                recorded.append(true)
            }
            guard !rows.isEmpty else { return recorded }
            try await db.run(InsertAttempts.make(rows), logger: logger)
            try await db.run(MoveEntries.make(rows), logger: logger)
            try await refreshStatuses(db, digests: digests)
            return recorded
        }
    }

    /// Sets each agreement's status from its outbox entries (``StatusRule``), for many agreements
    /// in three statements; the agreements are locked in digest order, so that concurrent
    /// transactions cannot deadlock on them.
    func refreshStatuses(_ db: PostgresConnection, digests: Set<String>) async throws {
        guard !digests.isEmpty else { return }
        if digests.count == 1, let digest = digests.first { return try await refreshStatus(db, digest: digest) }
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

    /// The entries of a batch of attempts, locked in id order (as one finish each would, one at a time).
    enum LockEntries: StatementText {
        static func make(_ ids: [Int64]) -> StoreStatement<Self> {
            .init("SELECT id, claimed_by, state, attempts, digest FROM outbox WHERE id = ANY(\(ids)) ORDER BY id FOR UPDATE")
        }
        static let sql = make([]).query.sql
    }

    enum InsertAttempts: StatementText {
        static func make(_ rows: [(attempt: AttemptRecord, number: Int)]) -> StoreStatement<Self> {
            .init("""
                INSERT INTO attempts (outbox_id, number, worker, started_at, finished_at, outcome, detail)
                SELECT v.outbox_id, v.number, v.worker, v.started_at, v.finished_at, v.outcome, CASE WHEN v.has_detail THEN v.detail END
                FROM unnest(\(rows.map(\.attempt.entryID)), \(rows.map(\.number)), \(rows.map(\.attempt.worker)),
                  \(rows.map(\.attempt.startedAt)), \(rows.map(\.attempt.finishedAt)), \(rows.map(\.attempt.outcome)),
                  \(rows.map { $0.attempt.detail != nil }), \(rows.map { $0.attempt.detail ?? "" }))
                  AS v(outbox_id, number, worker, started_at, finished_at, outcome, has_detail, detail)
                """)
        }
        static let sql = make([]).query.sql
    }

    /// Each attempted entry to the state its outcome leaves it in; a column an outcome leaves
    /// alone keeps its value.
    enum MoveEntries: StatementText {
        static func make(_ rows: [(attempt: AttemptRecord, number: Int)]) -> StoreStatement<Self> {
            let moves = rows.map { row -> (state: String, next: Int64?, lookup: Int?, reference: String?, error: String?, delivered: Int64?) in
                switch row.attempt.next {
                case .delivered(let reference):
                    return ("delivered", nil, 0, StoreJSON.text(reference), nil, row.attempt.finishedAt)
                case .retry(let at, let lookupFirst):
                    return ("pending", at, lookupFirst ? 1 : 0, nil, row.attempt.detail, nil)
                case .deadLetter(let reason):
                    return ("dead_letter", nil, nil, nil, reason, nil)
                }
            }
            return .init("""
                UPDATE outbox o SET state = v.state, attempts = v.number, claimed_by = NULL, lease_until = NULL,
                  next_attempt_at = CASE WHEN v.has_next THEN v.next_attempt_at ELSE o.next_attempt_at END,
                  needs_lookup = CASE WHEN v.has_lookup THEN v.needs_lookup ELSE o.needs_lookup END,
                  legacy_ref = CASE WHEN v.has_reference THEN v.legacy_ref ELSE o.legacy_ref END,
                  last_error = CASE WHEN v.has_error THEN v.last_error END,
                  delivered_at = CASE WHEN v.has_delivered THEN v.delivered_at ELSE o.delivered_at END
                FROM unnest(\(rows.map(\.attempt.entryID)), \(moves.map(\.state)), \(rows.map(\.number)),
                  \(moves.map { $0.next != nil }), \(moves.map { $0.next ?? 0 }),
                  \(moves.map { $0.lookup != nil }), \(moves.map { $0.lookup ?? 0 }),
                  \(moves.map { $0.reference != nil }), \(moves.map { $0.reference ?? "" }),
                  \(moves.map { $0.error != nil }), \(moves.map { $0.error ?? "" }),
                  \(moves.map { $0.delivered != nil }), \(moves.map { $0.delivered ?? 0 }))
                  AS v(id, state, number, has_next, next_attempt_at, has_lookup, needs_lookup, has_reference, legacy_ref,
                    has_error, last_error, has_delivered, delivered_at)
                WHERE o.id = v.id
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
