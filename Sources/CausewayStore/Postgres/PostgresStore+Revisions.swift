public import CausewayCore
import Logging
import NIOCore
import PostgresNIO

/// Changes and cancellations in PostgreSQL (migration 9), as in SQLite (SQLiteStore+Revisions):
/// each version an `agreements` row of its chain. A revision's intake locks the original's row
/// first, so that two changes of one agreement — on any instance — are decided one after the
/// other: the first extends the chain, the second finds it moved and is answered `stale`.
/// `UNIQUE (chain, version)` is the backstop.
extension PostgresStore {
    static let schemaRevisions = [
        "ALTER TABLE agreements ADD COLUMN chain TEXT",
        "ALTER TABLE agreements ADD COLUMN version INTEGER NOT NULL DEFAULT 1",
        "ALTER TABLE agreements ADD COLUMN supersedes TEXT",
        "ALTER TABLE agreements ADD COLUMN superseded_by TEXT",
        "ALTER TABLE agreements ADD COLUMN revision TEXT",
        "CREATE UNIQUE INDEX agreements_chain_version ON agreements (chain, version)",
    ]

    func acceptRevision(_ agreement: IncomingAgreement, _ revision: IncomingAgreement.Revision) async throws -> IntakeResult {
        try await client.withTransaction(logger: logger) { db in
            let digest = agreement.digest.description
            let original = revision.amends.description
            if let status = try await db.query("SELECT status FROM agreements WHERE digest = \(digest)", logger: logger).collect().first {
                return .known(AgreementStatus(rawValue: try status.decode(String.self)) ?? .accepted)
            }
            guard let first = try await db.query("SELECT partner, chain FROM agreements WHERE digest = \(original) FOR UPDATE",
                                                 logger: logger).collect().first
            else { return .unknownAgreement }
            let (partner, chain) = try first.decode((String, String?).self)
            guard partner == agreement.partner, chain == nil else { return .unknownAgreement }
            guard let head = try await db.query("""
                SELECT digest, version, revision FROM agreements WHERE digest = \(original) OR chain = \(original)
                ORDER BY version DESC LIMIT 1
                """, logger: logger).collect().first
            else { return .unknownAgreement }
            let (headText, headVersion, headRevision) = try head.decode((String, Int, String?).self)
            let headDigest = try StoreJSON.digest(headText)
            if headRevision == "cancellation" { return .closed(cancellation: headDigest) }
            guard headDigest == revision.supersedes, headVersion + 1 == revision.version else {
                return .stale(current: headDigest, version: headVersion)
            }
            var void = false
            if revision.cancellation {
                // Locked, so that no worker claims one of them between this look and the voiding below.
                try await db.query("""
                    SELECT id FROM outbox WHERE digest IN (SELECT digest FROM agreements WHERE digest = \(original) OR chain = \(original))
                    ORDER BY id FOR UPDATE
                    """, logger: logger)
                let touched = try await db.query("""
                    SELECT COUNT(*) FROM outbox o
                    WHERE o.digest IN (SELECT digest FROM agreements WHERE digest = \(original) OR chain = \(original))
                      AND \(unescaped: ChainSQL.possiblyDone)
                    """, logger: logger).collect().first?.decode(Int.self) ?? 0
                void = touched == 0
            }
            let status = StatusRule.initial(agreement, void: void).rawValue
            let document = ByteBuffer(bytes: agreement.document)
            let verification = StoreJSON.text(agreement.verification)
            let mappingDigest = agreement.mappingDigest.description
            let supersedes = revision.supersedes.description
            try await db.query("""
                INSERT INTO agreements (digest, agreement_id, partner, type, status, document, verification, mapping_id, mapping_version,
                  mapping_digest, total, currency, received_at, chain, version, supersedes, revision)
                VALUES (\(digest), \(agreement.agreementID), \(agreement.partner), \(agreement.type), \(status), \(document),
                  \(verification), \(agreement.mappingID), \(agreement.mappingVersion), \(mappingDigest),
                  \(agreement.total), \(agreement.currency), \(agreement.receivedAt), \(original), \(revision.version), \(supersedes),
                  \(revision.kind))
                """, logger: logger)
            try await db.query("UPDATE agreements SET superseded_by = \(digest) WHERE digest = \(headText)", logger: logger)
            try await insertEntries(db, agreement, state: void ? .void : .pending)
            if void {
                let earlier = try await db.query("""
                    UPDATE outbox SET state = 'void'
                    WHERE state IN ('pending', 'dead_letter') AND digest IN (SELECT digest FROM agreements WHERE (digest = \(original) OR chain = \(original))
                      AND digest <> \(digest))
                    RETURNING digest
                    """, logger: logger).collect().map { try $0.decode(String.self) }
                try await refreshStatuses(db, digests: Set(earlier))
            }
            return .accepted
        }
    }

    public func latestVersion(of original: ContentDigest) async throws -> AgreementSummary? {
        try await client.withConnection { db in
            let text = original.description
            guard let row = try await db.query("""
                SELECT * FROM agreements WHERE (digest = \(text) AND chain IS NULL) OR chain = \(text) ORDER BY version DESC LIMIT 1
                """, logger: logger).collect().first
            else { return nil }
            return try await summary(row, db)
        }
    }

    public func versions(of original: ContentDigest) async throws -> [AgreementSummary] {
        try await client.withConnection { db in
            let text = original.description
            let rows = try await db.query("SELECT * FROM agreements WHERE digest = \(text) OR chain = \(text) ORDER BY version",
                                          logger: logger).collect()
            var summaries: [AgreementSummary] = []
            for row in rows { summaries.append(try await summary(row, db)) }
            return summaries
        }
    }
}
