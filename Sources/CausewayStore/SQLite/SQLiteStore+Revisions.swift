public import CausewayCore
import Foundation
import GRDB

/// Changes and cancellations in SQLite (migration v9): each version is an `agreements` row with
/// its own outbox entries; `chain` names the original (NULL on the original itself), `version` its
/// place, `supersedes`/`superseded_by` link neighbours, `revision` says `change` or `cancellation`.
/// `UNIQUE (chain, version)` keeps a chain from forking even if two writers raced.
extension SQLiteStore {
    static let schemaRevisions = """
        ALTER TABLE agreements ADD COLUMN chain TEXT;
        ALTER TABLE agreements ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
        ALTER TABLE agreements ADD COLUMN supersedes TEXT;
        ALTER TABLE agreements ADD COLUMN superseded_by TEXT;
        ALTER TABLE agreements ADD COLUMN revision TEXT;
        CREATE UNIQUE INDEX agreements_chain_version ON agreements (chain, version);
        """

    /// A change's or cancellation's intake inside the write transaction (``accept(_:in:)``).
    static func acceptRevision(_ agreement: IncomingAgreement, _ revision: IncomingAgreement.Revision, in db: Database) throws -> IntakeResult {
        let original = revision.amends.description
        guard let first = try SQLRow.fetchOne(db, sql: "SELECT partner, chain FROM agreements WHERE digest = ?", arguments: [original]),
            (first["partner"] as String) == agreement.partner, (first["chain"] as String?) == nil
        else { return .unknownAgreement }
        guard let head = try SQLRow.fetchOne(db, sql: """
            SELECT digest, version, revision FROM agreements WHERE digest = ? OR chain = ? ORDER BY version DESC LIMIT 1
            """, arguments: [original, original])
        else { return .unknownAgreement }
        let headDigest = try StoreJSON.digest(head["digest"])
        if (head["revision"] as String?) == "cancellation" { return .closed(cancellation: headDigest) }
        let headVersion: Int = head["version"]
        guard headDigest == revision.supersedes, headVersion + 1 == revision.version else {
            return .stale(current: headDigest, version: headVersion)
        }
        // A cancellation that overtakes a chain none of whose actions may have been done (never tried, or
        // only tried and refused or failed before committing) voids them all: nothing is done in the legacy system.
        let void = try revision.cancellation && Self.chainUntouched(original, in: db)
        try db.execute(sql: """
            INSERT INTO agreements (digest, agreement_id, partner, type, status, document, verification, mapping_id, mapping_version,
              mapping_digest, total, currency, received_at, chain, version, supersedes, revision)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            arguments: [agreement.digest.description, agreement.agreementID, agreement.partner, agreement.type,
                        StatusRule.initial(agreement, void: void).rawValue, Data(agreement.document),
                        StoreJSON.text(agreement.verification), agreement.mappingID, agreement.mappingVersion,
                        agreement.mappingDigest.description, agreement.total, agreement.currency, agreement.receivedAt,
                        original, revision.version, revision.supersedes.description, revision.kind])
        try db.execute(sql: "UPDATE agreements SET superseded_by = ? WHERE digest = ?", arguments: [agreement.digest.description, headDigest.description])
        try insertEntries(agreement, state: void ? .void : .pending, in: db)
        if void {
            let digests = try String.fetchAll(db, sql: "SELECT digest FROM agreements WHERE (digest = ? OR chain = ?) AND digest <> ?",
                                              arguments: [original, original, agreement.digest.description])
            for digest in digests {
                try db.execute(sql: "UPDATE outbox SET state = 'void' WHERE digest = ? AND state IN ('pending', 'dead_letter')", arguments: [digest])
                try Self.refreshStatus(db, digest: digest)
            }
        }
        return .accepted
    }

    /// Whether no action of any version of the chain may have been done in its target (never tried,
    /// or every attempt known not to have committed: retryable or rejected).
    static func chainUntouched(_ original: String, in db: Database) throws -> Bool {
        let touched = try Int.fetchOne(db, sql: """
            SELECT COUNT(*) FROM outbox o JOIN agreements a ON a.digest = o.digest
            WHERE (a.digest = ? OR a.chain = ?) AND \(ChainSQL.possiblyDone)
            """, arguments: [original, original]) ?? 0
        return touched == 0
    }

    public func latestVersion(of original: ContentDigest) async throws -> AgreementSummary? {
        try await pool.read { db in
            try SQLRow.fetchOne(db, sql: "SELECT * FROM agreements WHERE (digest = ? AND chain IS NULL) OR chain = ? ORDER BY version DESC LIMIT 1",
                                arguments: [original.description, original.description]).map { try Self.summary($0, db) }
        }
    }

    public func versions(of original: ContentDigest) async throws -> [AgreementSummary] {
        try await pool.read { db in
            try SQLRow.fetchAll(db, sql: "SELECT * FROM agreements WHERE digest = ? OR chain = ? ORDER BY version",
                                arguments: [original.description, original.description]).map { try Self.summary($0, db) }
        }
    }
}
