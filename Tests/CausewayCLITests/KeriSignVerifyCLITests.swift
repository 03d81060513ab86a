import CausewayCore
import CausewayTesting
import CausewayTrust
import Foundation
import Testing

/// `causeway keys new --keri`, `keys rotate`, `sign --keri-key` and `verify --kel` together:
/// an agreement signed by a KERI AID from the command line, before and after a rotation.
@Suite("causeway sign/verify with KERI keys")
struct KeriSignVerifyCLITests {
    @Test("a KERI seller signs, rotates, signs again; verify --kel accepts the current key and refuses the rotated-out one")
    func signRotateVerify() throws {
        let work = try CommandRunner.temporaryDirectory("keri-cli")
        let incepted = try CommandRunner.causeway(["keys", "new", "--keri", "--out", "seller.json"], in: work)
        #expect(incepted.status == 0, "\(incepted)")
        let did = incepted.stdout.split(separator: "\n").first.map(String.init) ?? ""
        #expect(KERIDID(did) != nil)
        // A second inception over the same files is refused.
        #expect(try CommandRunner.causeway(["keys", "new", "--keri", "--out", "seller.json"], in: work).status != 0)
        let buyer = try CommandRunner.causeway(["keys", "new", "--out", "buyer.json"], in: work)
        let buyerDID = buyer.stdout.trimmingCharacters(in: .whitespacesAndNewlines)

        let fixture = TestPaths.repository.appendingPathComponent("Mappings/stahlteile/fixtures/agreements/one-line.json")
        var document = try #require(try JSONReader().read(Array(try Data(contentsOf: fixture))).objectValue)
        document["proof"] = nil
        document["parties"] = [
            "buyer": ["id": .string(buyerDID), "name": "Konepaja Oy"],
            "seller": ["id": .string(did), "name": "Stahlteile GmbH"],
        ]
        try Data(JSONWriter.string(.object(document)).utf8).write(to: work.appendingPathComponent("unsigned.json"))

        func signBoth(_ out: String) throws {
            let seller = try CommandRunner.causeway(["sign", "--keri-key", "seller.json", "--role", "seller", "--out", "half.json",
                                                     "--created", "2026-11-11T08:00:00Z", "unsigned.json"], in: work)
            #expect(seller.status == 0, "\(seller)")
            let both = try CommandRunner.causeway(["sign", "--key", "buyer.json", "--role", "buyer", "--out", out,
                                                   "--created", "2026-11-11T08:00:00Z", "half.json"], in: work)
            #expect(both.status == 0, "\(both)")
        }
        try signBoth("before.json")
        let kel = work.appendingPathComponent("seller.kel.cesr").path
        let ok = try CommandRunner.causeway(["verify", "--kel", kel, "before.json"], in: work)
        #expect(ok.status == 0 && ok.stdout.contains("KERI key state sn 0"), "\(ok)")
        // Without the KEL the AID is unknown.
        let unknown = try CommandRunner.causeway(["verify", "before.json"], in: work)
        #expect(unknown.status == 1 && unknown.stdout.contains("keri.aid_unknown"), "\(unknown)")

        let rotated = try CommandRunner.causeway(["keys", "rotate", "seller.json"], in: work)
        #expect(rotated.status == 0, "\(rotated)")
        try signBoth("after.json")
        let after = try CommandRunner.causeway(["verify", "--json", "--kel", kel, "after.json"], in: work)
        #expect(after.status == 0, "\(after)")
        let report = try JSONReader().read(Array(after.stdout.utf8))
        #expect(report["signers"]?.arrayValue?.contains { $0["keri"]?["s"]?.stringValue == "1" } == true, "\(after)")
        let stale = try CommandRunner.causeway(["verify", "--kel", kel, "before.json"], in: work)
        #expect(stale.status == 1 && stale.stdout.contains("keri.key_state_stale"), "\(stale)")
        // Nothing to resume after a completed rotation; the key file holds the current key.
        #expect(try CommandRunner.causeway(["keys", "rotate", "--resume", "seller.json"], in: work).status == 0)
        #expect(try CommandRunner.causeway(["keys", "show", "seller.json"], in: work).stdout.contains("sn 1"))
        // --key and --keri-key together is a usage error.
        #expect(try CommandRunner.causeway(["sign", "--key", "buyer.json", "--keri-key", "seller.json", "unsigned.json"], in: work).status == 2)
    }

    @Test("keri: settings are checked, each problem named with its key")
    func settings() throws {
        let file = try CommandRunner.temporaryDirectory("keri-config").appendingPathComponent("bad.yaml")
        try Data("""
            identity: k.json
            keri: {webs: "a/b", refresh_seconds: -1, max_kel_bytes: 10, insecure_loopback: maybe, witnesses: 3}
            """.utf8).write(to: file)
        let r = try CommandRunner.causeway(["config", "check", "--config", file.path])
        #expect(r.status == 1)
        for expected in ["keri.webs:", "keri.refresh_seconds:", "keri.max_kel_bytes:", "keri.insecure_loopback:", "keri.witnesses: unknown setting"] {
            #expect(r.stderr.contains(expected), "missing '\(expected)' in \(r.stderr)")
        }
    }
}
