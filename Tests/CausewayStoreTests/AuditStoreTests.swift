@_spi(Testing) import CausewayStore
import CausewayTesting
import Foundation
import Testing

/// The audit log (migration v6) in both stores: append, filters, paging, and no way to rewrite it.
@Suite("Store: the audit log of operator actions")
struct AuditStoreTests {
    static func entry(_ at: Int64, _ action: String, actor: String = "ops", target: String? = nil, outcome: AuditEntry.Outcome = .success) -> AuditEntry {
        AuditEntry(at: at, actor: actor, channel: "api", action: action, target: target, outcome: outcome, remote: "127.0.0.1",
                   session: nil, detail: "n=\(at)")
    }

    @Test("entries come back as written, newest first; since/until/action filter; pages by seq; ascending for exports",
          arguments: StoreKind.allCases)
    func recordAndQuery(kind: StoreKind) async throws {
        let store = try #require(try await kind.make() as? any AuditLog)
        var stored: [AuditEntry] = []
        for (index, action) in [AuditEntry.Action.signIn, AuditEntry.Action.retry, AuditEntry.Action.signIn, AuditEntry.Action.configReload,
                                AuditEntry.Action.signOut].enumerated() {
            stored.append(try await store.recordAudit(Self.entry(Int64(1000 * (index + 1)), action, target: index == 1 ? "sha256:ab" : nil,
                                                                 outcome: index == 2 ? .failure : .success)))
        }
        #expect(stored.map(\.seq) == stored.map(\.seq).sorted() && Set(stored.map(\.seq)).count == 5 && stored[0].seq > 0)
        let all = try await store.auditEntries(AuditQuery())
        #expect(all.map(\.seq) == stored.map(\.seq).reversed())
        #expect(all.last == stored.first, "every field read back as written")
        #expect(all.first(where: { $0.action == AuditEntry.Action.retry })?.target == "sha256:ab")
        #expect(try await store.auditEntries(AuditQuery(action: AuditEntry.Action.signIn)).map(\.at) == [3000, 1000])
        #expect(try await store.auditEntries(AuditQuery(since: 2000, until: 4000)).map(\.at) == [3000, 2000])
        let page = try await store.auditEntries(AuditQuery(limit: 2))
        #expect(page.map(\.at) == [5000, 4000])
        #expect(try await store.auditEntries(AuditQuery(after: page.last?.seq, limit: 2)).map(\.at) == [3000, 2000])
        #expect(try await store.auditEntries(AuditQuery(after: stored[1].seq, limit: 10, ascending: true)).map(\.at) == [3000, 4000, 5000])
        #expect(try await store.auditEntries(AuditQuery(action: "no.such")).isEmpty)
    }

    @Test("over-long fields are cut; the table refuses UPDATE and DELETE", arguments: StoreKind.allCases)
    func boundedAndAppendOnly(kind: StoreKind) async throws {
        // SQLite at a known path, so that the sqlite3 shell can try to rewrite it.
        let path = try CommandRunner.temporaryDirectory("audit").appendingPathComponent("causeway.sqlite").path
        let made: any AgreementStore
        if kind == .sqlite {
            let sqlite = try SQLiteStore(path: path)
            try await sqlite.migrate()
            made = sqlite
        } else {
            made = try await kind.make()
        }
        let store = try #require(made as? any AuditLog)
        let long = String(repeating: "é", count: 5000)
        let written = try await store.recordAudit(AuditEntry(at: 1, actor: long, channel: "api", action: AuditEntry.Action.retry, outcome: .success,
                                                             detail: long))
        let read = try #require(try await store.auditEntries(AuditQuery()).first)
        #expect(read == written)
        #expect(read.actor.utf8.count <= AuditEntry.maxFieldBytes && read.detail?.hasSuffix("…") == true)
        for statement in ["UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log"] {
            switch kind {
            case .sqlite:
                let result = try CommandRunner.run("/usr/bin/sqlite3", [path, statement])
                #expect(result.status != 0 && result.stderr.contains("append-only"), "\(statement): \(result.description)")
            case .postgres:
                let postgres = try #require(made as? PostgresStore)
                await #expect(throws: (any Error).self, "\(statement)") { try await postgres.execute(unsafeSQL: statement) }
            }
        }
        #expect(try await store.auditEntries(AuditQuery()) == [read], "unchanged")
    }
}
