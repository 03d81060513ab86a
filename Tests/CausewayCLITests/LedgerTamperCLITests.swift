import CausewayTesting
import Foundation
import Testing

@Suite("causeway ledger verify with tampered numbers in the store")
struct LedgerTamperCLITests {
    /// A demo gateway's folder (its store holds 5 receipts), made once per test.
    static func demoFolder() throws -> URL {
        let directory = try CommandRunner.temporaryDirectory("ledger-tamper").appendingPathComponent("demo")
        let port = TestPorts.free(in: 10_000...14_999)
        let r = try CommandRunner.causeway(["demo", "--once", "--dir", directory.path, "--port", String(port)], in: TestPaths.repository)
        try #require(r.status == 0, "\(r)")
        return directory
    }

    @Test("a receipt whose ledger.seq is not a whole number in range: exit 1 naming the receipt and the field, no crash",
          arguments: [("1e300", "1e+300"), ("-1", "-1"), ("1.5", "1.5"),
                      ("123456789012345678901234567890", "1.2345678901234568e+29")])
    func tamperedSequence(stored: String, shown: String) throws {
        let directory = try Self.demoFolder()
        let store = directory.appendingPathComponent("causeway.sqlite").path
        let id = try CommandRunner.run("/usr/bin/sqlite3", [store, "SELECT receipt_id FROM ledger WHERE seq = 2"])
        try #require(id.status == 0 && !id.stdout.isEmpty, "\(id)")
        let edit = try CommandRunner.run("/usr/bin/sqlite3", [store, "UPDATE ledger SET receipt = replace(receipt, '\"seq\":2', '\"seq\":\(stored)') WHERE seq = 2"])
        try #require(edit.status == 0, "\(edit)")
        let check = try CommandRunner.run("/usr/bin/sqlite3", [store, "SELECT instr(receipt, '\"seq\":\(stored)') > 0 FROM ledger WHERE seq = 2"])
        try #require(check.stdout == "1\n", "the edit did not apply: \(check)")
        let r = try CommandRunner.causeway(["ledger", "verify", "--config", directory.appendingPathComponent("causeway.yaml").path])
        #expect(r.status == 1, "\(r)")
        #expect(r.stdout.contains("receipt \(id.stdout.trimmingCharacters(in: .whitespacesAndNewlines)): field ledger.seq is \(shown), not a whole number"), "\(r)")
        // The other entries are still checked: the one after the edited entry is named as following a gap or intact.
        #expect(!r.stderr.contains("Fatal error"), "\(r)")
    }
}
