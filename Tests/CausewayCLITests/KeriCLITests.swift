import CausewayCore
import CausewayTesting
import Foundation
import Testing

/// The committed keripy vectors (Tests/Fixtures/keri).
enum KeriCLIFixtures {
    static let folder = TestPaths.repository.appendingPathComponent("Tests/Fixtures/keri")
    static func path(_ name: String) -> String { folder.appendingPathComponent(name).path }
    static let cases: JSONValue = (try? JSONReader(limits: .init(maxBytes: 1 << 22))
        .read(Array((try? Data(contentsOf: folder.appendingPathComponent("cases.json"))) ?? Data()))) ?? .null
    static func proofCase(_ name: String) -> JSONValue? {
        cases["proof_cases"]?.arrayValue?.first { $0["case"]?.stringValue == name }
    }
}

@Suite("causeway keri")
struct KeriCLITests {
    @Test("verify-kel: every committed KEL case exits 0 (accept) or 1 (reject)")
    func verifyKELCases() throws {
        let cases = try #require(KeriCLIFixtures.cases["kel_cases"]?.arrayValue)
        #expect(cases.count == 23)
        for value in cases {
            let file = KeriCLIFixtures.path(value["kel"]?.stringValue ?? "")
            let result = try CommandRunner.causeway(["keri", "verify-kel", file])
            let expected: Int32 = value["expect"]?.stringValue == "accept" ? 0 : 1
            #expect(result.status == expected, "\(value["case"]?.stringValue ?? ""): \(result)")
            if expected == 1 { #expect(result.stderr.contains("(keri."), "the error is named: \(result.stderr)") }
        }
    }

    @Test("verify-kel: unreadable file and no argument exit 2; a non-CESR file exits 1")
    func verifyKELExitCodes() throws {
        let missing = try CommandRunner.causeway(["keri", "verify-kel", "/nonexistent/kel.cesr"])
        #expect(missing.status == 2, "\(missing)")
        let usage = try CommandRunner.causeway(["keri", "verify-kel"])
        #expect(usage.status == 2, "\(usage)")
        let directory = try CommandRunner.temporaryDirectory("keri-cli")
        let garbage = directory.appendingPathComponent("garbage.cesr")
        try Data("not a key event log\n".utf8).write(to: garbage)
        let invalid = try CommandRunner.causeway(["keri", "verify-kel", garbage.path])
        #expect(invalid.status == 1, "\(invalid)")
        #expect(invalid.stderr.contains("keri.stream.malformed"), "\(invalid)")
        // --json names the refusal and the event.
        let badPrior = try CommandRunner.causeway(["keri", "verify-kel", "--json", KeriCLIFixtures.path("A/kel_rot1_bad_prior.cesr")])
        #expect(badPrior.status == 1, "\(badPrior)")
        let report = try JSONReader().read(badPrior.stdout)
        #expect(report["valid"] == false && report["code"] == "keri.kel.prior_mismatch" && report["sn"] == 1, "\(badPrior)")
    }

    @Test("verify-kel --json and state: AID, latest SAID, keys, thresholds, next digests")
    func state() throws {
        let kelJSON = try JSONReader(limits: .init(maxBytes: 1 << 22)).read(Array(try Data(contentsOf: KeriCLIFixtures.folder.appendingPathComponent("A/kel.json"))))
        let verified = try CommandRunner.causeway(["keri", "verify-kel", "--json", KeriCLIFixtures.path("A/kel.cesr")])
        #expect(verified.status == 0, "\(verified)")
        let report = try JSONReader().read(verified.stdout)
        #expect(report["aid"] == kelJSON["aid"])
        #expect(report["lastSN"] == 2)

        let latest = try CommandRunner.causeway(["keri", "state", "--json", KeriCLIFixtures.path("A/kel.cesr")])
        #expect(latest.status == 0, "\(latest)")
        let state = try JSONReader().read(latest.stdout)
        #expect(state["said"] == kelJSON["latest_establishment"]?["said"])
        #expect(state["keys"] == kelJSON["key_states"]?[2]?["keys"])
        #expect(state["kt"] == 1 && state["nt"] == 1 && state["latest"] == true)
        #expect(state["nextKeyDigests"] == kelJSON["events"]?[2]?["n"])

        // B's sn 1 is an ixn: the key state in force there is the inception's.
        let atIxn = try CommandRunner.causeway(["keri", "state", "--sn", "1", "--json", KeriCLIFixtures.path("B/kel.cesr")])
        #expect(atIxn.status == 0, "\(atIxn)")
        let ixnState = try JSONReader().read(atIxn.stdout)
        #expect(ixnState["sn"] == 0 && ixnState["latest"] == false)

        let beyond = try CommandRunner.causeway(["keri", "state", "--sn", "9", KeriCLIFixtures.path("A/kel.cesr")])
        #expect(beyond.status == 1, "\(beyond)")
        let human = try CommandRunner.causeway(["keri", "state", KeriCLIFixtures.path("C/kel.cesr")])
        #expect(human.status == 0 && human.stdout.contains("kt 2"), "\(human)")
    }

    @Test("verify-proof: latest-only and historical verdicts of the committed proof cases", arguments: [
        ("A.valid_sn2", "latest-only", Int32(0)), ("A.valid_sn0", "latest-only", 1), ("A.valid_sn0", "historical", 1),
        ("B.valid_sn0", "historical", 0), ("B.valid_sn0", "latest-only", 1), ("B.neg_claims_ixn_event", "historical", 1),
        ("C.valid_sn1_2of3", "latest-only", 0), ("C.neg_same_key_big_code", "latest-only", 1),
        ("A.neg_tampered_payload", "latest-only", 1), ("A.neg_forged_rotation_key", "historical", 1),
    ])
    func verifyProof(name: String, policy: String, expected: Int32) throws {
        let value = try #require(KeriCLIFixtures.proofCase(name))
        let result = try CommandRunner.causeway([
            "keri", "verify-proof", "--kel", KeriCLIFixtures.path(value["kel"]?.stringValue ?? ""),
            "--payload", KeriCLIFixtures.path(value["payload"]?.stringValue ?? ""),
            "--proof", value["proof_cesr"]?.stringValue ?? "", "--policy", policy, "--json",
        ])
        #expect(result.status == expected, "\(name) \(policy): \(result)")
        let report = try JSONReader().read(result.stdout)
        #expect(report["verified"]?.boolValue == (expected == 0))
    }

    @Test("verify-proof: the proof from a file, bad policy and missing payload exit 2, a garbled proof exits 1")
    func verifyProofInputs() throws {
        let value = try #require(KeriCLIFixtures.proofCase("A.valid_sn2"))
        let directory = try CommandRunner.temporaryDirectory("keri-proof")
        let proofFile = directory.appendingPathComponent("proof.cesr")
        try Data(((value["proof_cesr"]?.stringValue ?? "") + "\n").utf8).write(to: proofFile)
        let kel = KeriCLIFixtures.path("A/kel.cesr"), payload = KeriCLIFixtures.path("payload.bin")
        let fromFile = try CommandRunner.causeway(["keri", "verify-proof", "--kel", kel, "--payload", payload, "--proof", "@" + proofFile.path])
        #expect(fromFile.status == 0, "\(fromFile)")
        let badPolicy = try CommandRunner.causeway(["keri", "verify-proof", "--kel", kel, "--payload", payload,
                                                   "--proof", "@" + proofFile.path, "--policy", "sometimes"])
        #expect(badPolicy.status == 2, "\(badPolicy)")
        let noPayload = try CommandRunner.causeway(["keri", "verify-proof", "--kel", kel, "--payload", "/nonexistent",
                                                   "--proof", "@" + proofFile.path])
        #expect(noPayload.status == 2, "\(noPayload)")
        let garbled = try CommandRunner.causeway(["keri", "verify-proof", "--kel", kel, "--payload", payload, "--proof", "-FAB-AAB"])
        #expect(garbled.status == 1, "\(garbled)")
        #expect(garbled.stderr.contains("keri.proof.malformed"), "\(garbled)")
    }
}
