import CausewayCore
import CausewayTesting
import Foundation
import Testing

/// A signed original for `amend` and `cancel` to follow: the bundled example
/// (Docs/examples/purchase-agreement.signed.json) with its parties' DIDs replaced by two keys made
/// here — no key file of the example's own parties exists — and signed by both with `causeway sign`.
struct SignedOriginal {
    let directory: URL
    let sellerKey: String
    let buyerKey: String
    let sellerDID: String
    let buyerDID: String
    /// The signed original, version 1.
    let path: String

    init() throws {
        directory = try CommandRunner.temporaryDirectory("amend-cancel")
        sellerKey = directory.appendingPathComponent("seller-key.json").path
        buyerKey = directory.appendingPathComponent("buyer-key.json").path
        for file in [sellerKey, buyerKey] {
            let made = try CommandRunner.causeway(["keys", "new", "--out", file])
            try #require(made.status == 0, "\(made)")
        }
        sellerDID = try #require(try Self.read(sellerKey)["did"]?.stringValue)
        buyerDID = try #require(try Self.read(buyerKey)["did"]?.stringValue)
        var example = try #require(try Self.read(TestPaths.repository.appendingPathComponent("Docs/examples/purchase-agreement.signed.json").path)
            .objectValue)
        example["proof"] = nil
        var parties = try #require(example["parties"]?.objectValue)
        for (role, did) in [("seller", sellerDID), ("buyer", buyerDID)] {
            var party = try #require(parties[role]?.objectValue)
            party["id"] = .string(did)
            parties[role] = .object(party)
        }
        example["parties"] = .object(parties)
        let unsigned = directory.appendingPathComponent("original.json").path
        try Data(JSONWriter.string(.object(example), style: .pretty).utf8).write(to: URL(fileURLWithPath: unsigned))
        path = directory.appendingPathComponent("original.signed.json").path
        let half = directory.appendingPathComponent("original.seller.json").path
        let seller = try CommandRunner.causeway(["sign", "--key", sellerKey, "--role", "seller", "--out", half, unsigned])
        try #require(seller.status == 0, "\(seller)")
        let buyer = try CommandRunner.causeway(["sign", "--key", buyerKey, "--role", "buyer", "--out", path, half])
        try #require(buyer.status == 0, "\(buyer)")
    }

    /// A file in the directory.
    func file(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// Writes a TERMS file and returns its path.
    func terms(_ name: String, _ json: String) throws -> String {
        let path = file(name)
        try Data(json.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    static func read(_ path: String) throws -> JSONValue {
        try JSONReader().read(Array(try Data(contentsOf: URL(fileURLWithPath: path))))
    }

    /// `causeway verify --json` on a file: the report (exit code checked by the caller).
    static func verify(_ path: String) throws -> (status: Int32, report: JSONValue) {
        let result = try CommandRunner.causeway(["verify", "--json", path])
        return (result.status, try JSONReader().read(result.stdout))
    }

    /// The document in `path`, after `causeway verify --json` reported it verified (exit 0), of
    /// this type and signed by both roles.
    static func verified(_ path: String, type: String) throws -> JSONValue {
        let (status, report) = try verify(path)
        #expect(status == 0, "\(report)")
        #expect(report["verified"] == true)
        #expect(report["type"] == .string(type))
        let roles = Set((report["signers"]?.arrayValue ?? []).compactMap { $0["role"]?.stringValue })
        #expect(roles == ["seller", "buyer"])
        return try read(path)
    }

    /// Expects the chain members of a follow-up: its version, the version it supersedes, the original it amends.
    static func expectChain(_ document: JSONValue, version: Int, supersedes previous: String, amends original: String) throws {
        let (previousDigest, originalDigest) = (try digest(previous), try digest(original))
        #expect(document["version"] == .number(Double(version)))
        #expect(document["supersedes"] == .string(previousDigest))
        #expect(document["amends"] == .string(originalDigest))
    }

    /// The digest `causeway verify` reports for a file (signed or not).
    static func digest(_ path: String) throws -> String {
        try #require(try verify(path).report["digest"]?.stringValue)
    }
}

@Suite("causeway amend and cancel")
struct AmendCancelCLITests {
    /// New terms for version 2: more of the first line, a lower price on the second, a later date.
    static let termsV2 = """
        {"lines": [
          {"sku": "STL-6205-2RS", "description": "Rillenkugellager 6205-2RS, abgedichtet", "quantity": "250", "unit": "pcs", "unitPrice": "7.85"},
          {"sku": "STL-NU205", "description": "Zylinderrollenlager NU205 — Käfig aus Messing", "quantity": "40", "unit": "pcs", "unitPrice": "29.90"},
          {"sku": "STL-22205-E", "description": "Pendelrollenlager 22205-E, Fett lose (Gebinde)", "quantity": "12.5", "unit": "kg", "unitPrice": "18.40"}
        ],
        "delivery": {"incoterm": "DAP", "place": "Tampere, FI", "date": "2027-01-10"}}
        """
    /// Version 3: the third line dropped, the payment terms removed.
    static let termsV3 = """
        {"lines": [
          {"sku": "STL-6205-2RS", "description": "Rillenkugellager 6205-2RS, abgedichtet", "quantity": "250", "unit": "pcs", "unitPrice": "7.85"},
          {"sku": "STL-NU205", "description": "Zylinderrollenlager NU205 — Käfig aus Messing", "quantity": "40", "unit": "pcs", "unitPrice": "29.90"}
        ], "payment": null}
        """

    /// amend original → v2 (both keys), verified; returns the path of v2.
    func amendToV2(_ original: SignedOriginal) throws -> String {
        let out = original.file("v2.json")
        let result = try CommandRunner.causeway(["amend", original.path, "--terms", try original.terms("terms-v2.json", Self.termsV2),
                                                 "--reason", "more bearings, new price", "--key", original.sellerKey,
                                                 "--key", original.buyerKey, "-o", out])
        try #require(result.status == 0, "\(result)")
        #expect(result.stdout.isEmpty, "with -o nothing goes to standard output: \(result)")
        return out
    }

    func amendToV3(_ original: SignedOriginal, from v2: String) throws -> String {
        let out = original.file("v3.json")
        let result = try CommandRunner.causeway(["amend", v2, "--terms", try original.terms("terms-v3.json", Self.termsV3),
                                                 "--key", original.buyerKey, "--key", original.sellerKey, "--out", out])
        try #require(result.status == 0, "\(result)")
        return out
    }

    @Test("amend a signed original with both keys: verified PurchaseAgreementChange, version 2, amends = supersedes = the original's digest, total computed")
    func amendOriginal() throws {
        let original = try SignedOriginal()
        let v2 = try amendToV2(original)
        let document = try SignedOriginal.verified(v2, type: "PurchaseAgreementChange")
        try SignedOriginal.expectChain(document, version: 2, supersedes: original.path, amends: original.path)
        #expect(document["reason"] == "more bearings, new price")
        // 250 × 7.85 + 40 × 29.90 + 12.5 × 18.40 = 1962.50 + 1196.00 + 230.00
        #expect(document["total"] == "3388.50")
        let previous = try SignedOriginal.read(original.path)
        #expect(document["parties"] == previous["parties"])
        #expect(document["currency"] == "EUR", "a term TERMS does not give is taken from PREVIOUS")
        #expect(document["payment"]?["terms"] == "NET30")
        #expect(document["delivery"]?["date"] == "2027-01-10")
        #expect(document["id"]?.stringValue?.hasPrefix("urn:uuid:") == true)
        #expect(document["id"] != previous["id"])
        #expect(document["proof"]?.arrayValue?.count == 2)
    }

    @Test("amend the change again: version 3, supersedes = v2's digest, amends = the original's digest")
    func amendChange() throws {
        let original = try SignedOriginal()
        let v2 = try amendToV2(original)
        let v3 = try amendToV3(original, from: v2)
        let document = try SignedOriginal.verified(v3, type: "PurchaseAgreementChange")
        try SignedOriginal.expectChain(document, version: 3, supersedes: v2, amends: original.path)
        #expect(document["total"] == "3158.50")
        #expect(document["payment"] == nil, "null in TERMS removes payment")
        #expect(document["lines"]?.arrayValue?.count == 2)
    }

    @Test("cancel version 3: a verified PurchaseAgreementCancellation, version 4, without terms")
    func cancelChange() throws {
        let original = try SignedOriginal()
        let v3 = try amendToV3(original, from: try amendToV2(original))
        let out = original.file("v4.json")
        let result = try CommandRunner.causeway(["cancel", v3, "--reason", "project stopped", "--key", original.sellerKey,
                                                 "--key", original.buyerKey, "-o", out])
        try #require(result.status == 0, "\(result)")
        let document = try SignedOriginal.verified(out, type: "PurchaseAgreementCancellation")
        try SignedOriginal.expectChain(document, version: 4, supersedes: v3, amends: original.path)
        #expect(document["reason"] == "project stopped")
        for absent in ["lines", "total", "currency", "delivery", "payment"] {
            #expect(document[absent] == nil, "a cancellation carries no '\(absent)'")
        }
    }

    @Test("nothing follows a cancellation: amend and cancel of a cancellation are refused, nothing written")
    func cancelledIsFinal() throws {
        let original = try SignedOriginal()
        let cancellation = original.file("cancelled.json")
        let cancel = try CommandRunner.causeway(["cancel", original.path, "--reason", "duplicate order", "-o", cancellation])
        try #require(cancel.status == 0, "\(cancel)")
        let cancelled = try SignedOriginal.read(cancellation)
        #expect(cancelled["version"] == .number(2))

        let out = original.file("after-cancel.json")
        let amend = try CommandRunner.causeway(["amend", cancellation, "--terms", try original.terms("t.json", Self.termsV2), "-o", out])
        #expect(amend.status == 2, "\(amend)")
        #expect(amend.stderr.contains("the agreement is cancelled; nothing follows a cancellation"), "\(amend)")
        let again = try CommandRunner.causeway(["cancel", cancellation, "--reason", "again", "-o", out])
        #expect(again.status == 2, "\(again)")
        #expect(again.stderr.contains("nothing follows a cancellation"), "\(again)")
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    @Test("TERMS with a total that disagrees with the lines is refused naming 'total' and both figures")
    func wrongTotal() throws {
        let original = try SignedOriginal()
        let terms = try original.terms("wrong-total.json", """
            {"lines": [{"sku": "A", "description": "a", "quantity": "3", "unit": "pcs", "unitPrice": "2.50"}], "total": "8.00"}
            """)
        let out = original.file("never.json")
        let result = try CommandRunner.causeway(["amend", original.path, "--terms", terms, "-o", out])
        #expect(result.status == 2, "\(result)")
        #expect(result.stderr.contains("'total' is 8.00"), "\(result)")
        #expect(result.stderr.contains("add up to 7.50"), "\(result)")
        #expect(!FileManager.default.fileExists(atPath: out))

        // The same total written with another scale is the same number, and is kept as written.
        let equal = try original.terms("equal-total.json", """
            {"lines": [{"sku": "A", "description": "a", "quantity": "3", "unit": "pcs", "unitPrice": "2.50"}], "total": "7.5"}
            """)
        let accepted = try CommandRunner.causeway(["amend", original.path, "--terms", equal])
        #expect(accepted.status == 0, "\(accepted)")
        let written = try JSONReader().read(accepted.stdout)
        #expect(written["total"] == "7.5")
    }

    @Test("the computed total is decimal and keeps the digits it needs",
          arguments: [("2.5", "0.125", "0.3125"), ("3", "0.10", "0.30"), ("1000000", "19.99", "19990000.00"),
                      ("0.1", "0.2", "0.02"), ("7", "3", "21.00")])
    func computedTotal(quantity: String, unitPrice: String, expected: String) throws {
        let original = try SignedOriginal()
        let terms = try original.terms("terms.json", """
            {"lines": [{"sku": "A", "description": "a", "quantity": "\(quantity)", "unit": "kg", "unitPrice": "\(unitPrice)"}]}
            """)
        let result = try CommandRunner.causeway(["amend", original.path, "--terms", terms])
        #expect(result.status == 0, "\(result)")
        let written = try JSONReader().read(result.stdout)
        #expect(written["total"] == .string(expected))
    }

    @Test("a TERMS member that is not a term is refused, naming it", arguments: [
        (#"{"colour": "blue"}"#, "'colour' is not a term"),
        (#"{"parties": {}, "version": 7}"#, "'parties', 'version' are not terms"),
        (#"{"lines": null}"#, "'lines' cannot be removed"),
    ])
    func unknownTermsMember(json: String, expected: String) throws {
        let original = try SignedOriginal()
        let result = try CommandRunner.causeway(["amend", original.path, "--terms", try original.terms("terms.json", json)])
        #expect(result.status == 2, "\(result)")
        #expect(result.stderr.contains(expected), "\(result)")
        #expect(result.stdout.isEmpty)
    }

    @Test("new terms that break the content rules are refused with findings naming the field")
    func contentRules() throws {
        let original = try SignedOriginal()
        let terms = try original.terms("bad.json", """
            {"currency": "EURO", "lines": [{"sku": "A", "description": "a", "quantity": "0", "unit": "pcs", "unitPrice": "1.00"}]}
            """)
        let result = try CommandRunner.causeway(["amend", original.path, "--terms", terms])
        #expect(result.status == 2, "\(result)")
        #expect(result.stderr.contains("$['currency']"), "\(result)")
        #expect(result.stderr.contains("$['lines'][0]['quantity']"), "\(result)")
        #expect(result.stdout.isEmpty)
    }

    @Test("the bundled signed example amended without keys: the unsigned change names the example by digest")
    func bundledExampleUnsigned() throws {
        let example = TestPaths.repository.appendingPathComponent("Docs/examples/purchase-agreement.signed.json").path
        let original = try SignedOriginal()
        let result = try CommandRunner.causeway(["amend", example, "--terms", try original.terms("terms.json", Self.termsV2),
                                                 "--id", "urn:uuid:00000000-0000-4000-8000-000000000002",
                                                 "--issued", "2026-11-25T08:00:00Z", "--version", "2"])
        #expect(result.status == 0, "\(result)")
        let document = try JSONReader().read(result.stdout)
        let digest = try SignedOriginal.digest(example)
        #expect(document["amends"] == .string(digest))
        #expect(document["supersedes"] == .string(digest))
        #expect(document["id"] == "urn:uuid:00000000-0000-4000-8000-000000000002")
        #expect(document["issued"] == "2026-11-25T08:00:00Z")
        #expect(document["proof"] == nil)
        let previous = try SignedOriginal.read(example)
        #expect(document["parties"] == previous["parties"])
        #expect(result.stdout.hasPrefix("{\n  \"type\": \"PurchaseAgreementChange\""), "pretty JSON like 'causeway sign': \(result.stdout)")
        // PREVIOUS from standard input (-): the same document, byte for byte.
        let piped = try CommandRunner.causeway(["amend", "-", "--terms", original.file("terms.json"),
                                                "--id", "urn:uuid:00000000-0000-4000-8000-000000000002", "--issued", "2026-11-25T08:00:00Z"],
                                               stdin: try String(contentsOfFile: example, encoding: .utf8))
        #expect(piped.status == 0, "\(piped)")
        #expect(piped.stdout == result.stdout)
    }

    @Test("unusable input exits 2 with an error naming the problem")
    func unusableInput() throws {
        let original = try SignedOriginal()
        let terms = try original.terms("terms.json", Self.termsV2)
        let malformed = try original.terms("malformed.json", #"{"type": "PurchaseAgreement",}"#)
        let wrongType = try original.terms("receipt.json", #"{"type": "DeliveryReceipt", "parties": {}}"#)
        let outsider = original.file("outsider-key.json")
        #expect(try CommandRunner.causeway(["keys", "new", "--out", outsider]).status == 0)
        let cases: [([String], String)] = [
            (["amend", original.file("missing.json"), "--terms", terms], "missing.json: no such file"),
            (["amend", malformed, "--terms", terms], "json.syntax"),
            (["cancel", malformed, "--reason", "r"], "json.syntax"),
            (["amend", original.path, "--terms", malformed], "json.syntax"),
            (["amend", wrongType, "--terms", terms], "'type' is 'DeliveryReceipt'"),
            (["amend", original.path, "--terms", terms, "--version", "3"], "--version 3 does not follow"),
            (["amend", original.path, "--terms", terms, "--amends", "sha256:" + String(repeating: "0", count: 64)], "--amends"),
            (["amend", original.path, "--terms", terms, "--issued", "yesterday"], "--issued must be an RFC 3339"),
            (["amend", original.path, "--terms", terms, "--issued", "2026-11-19T00:00:00Z"], "before"),
            (["cancel", original.path, "--reason", ""], "--reason"),
            (["cancel", original.path], "--reason"),
            (["cancel", original.path, "--reason", "r", "--key", outsider], "is not a party's DID"),
        ]
        for (arguments, expected) in cases {
            let result = try CommandRunner.causeway(arguments)
            #expect(result.status == 2, "\(arguments): \(result)")
            #expect(result.stderr.contains(expected), "\(arguments): expected '\(expected)' in \(result)")
            #expect(result.stdout.isEmpty, "\(arguments)")
        }
    }

    @Test("the examples of Docs/agreement-format.md run as written")
    func documentedExamples() throws {
        let original = try SignedOriginal()
        try FileManager.default.copyItem(atPath: original.path, toPath: original.file("agreement.signed.json"))
        let page = try String(contentsOf: TestPaths.repository.appendingPathComponent("Docs/agreement-format.md"), encoding: .utf8)
        let heading = "### From the command line\n"
        let start = try #require(page.range(of: heading), "the section '\(heading)' is missing").upperBound
        let section = page[start...].components(separatedBy: "\n## ")[0]
        let blocks = section.components(separatedBy: "```sh\n").dropFirst().map { $0.components(separatedBy: "\n```")[0] }
        #expect(blocks.count == 2)
        let binaries = URL(fileURLWithPath: CommandRunner.causewayBinary).deletingLastPathComponent().path
        let shell = try CommandRunner.run("/bin/bash", ["-c", "set -eu\n" + blocks.joined(separator: "\n")], in: original.directory,
                                          environment: ["PATH": binaries + ":/usr/bin:/bin"])
        try #require(shell.status == 0, "\(shell)")
        #expect(shell.stdout.contains("change-2.json: verified"), "\(shell)")
        let change = try SignedOriginal.read(original.file("change-2.json"))
        #expect(change["total"] == "1962.50")
        try SignedOriginal.expectChain(change, version: 2, supersedes: original.path, amends: original.path)
        let cancellation = try SignedOriginal.verified(original.file("cancel-3.json"), type: "PurchaseAgreementCancellation")
        try SignedOriginal.expectChain(cancellation, version: 3, supersedes: original.file("change-2.json"), amends: original.path)
    }

    @Test("an existing -o file is never overwritten")
    func neverOverwrites() throws {
        let original = try SignedOriginal()
        let out = original.file("existing.json")
        try Data("keep me\n".utf8).write(to: URL(fileURLWithPath: out))
        for arguments in [["amend", original.path, "--terms", try original.terms("terms.json", Self.termsV2), "-o", out],
                          ["cancel", original.path, "--reason", "r", "--key", original.sellerKey, "-o", out]] {
            let result = try CommandRunner.causeway(arguments)
            #expect(result.status == 2, "\(result)")
            #expect(result.stderr.contains("already exists"), "\(result)")
            #expect(try String(contentsOfFile: out, encoding: .utf8) == "keep me\n")
        }
    }
}
