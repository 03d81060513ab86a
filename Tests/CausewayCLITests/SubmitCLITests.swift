import CausewayCore
import CausewayTesting
import Foundation
import Testing

@Suite("causeway submit with thousands of files")
struct SubmitCLITests {
    @Test("3,000 signed agreements in a folder: every file gets its answer line, the process exits 0")
    func thousands() async throws {
        let count = 3000
        let generated = try GeneratedAgreements(count: count, seed: 11)
        let folder = try CommandRunner.temporaryDirectory("submit-many")
        for (index, document) in generated.documents.enumerated() {
            try Data(document).write(to: folder.appendingPathComponent(String(format: "agreement-%05d.json", index)))
        }
        let gateway = try RunningGateway(partners: generated.partners)
        defer { _ = gateway.stop() }
        try await gateway.waitUntilReady()
        let r = try CommandRunner.causeway(["submit", "--gateway", "http://127.0.0.1:\(gateway.port)", "--concurrency", "32", folder.path])
        #expect(r.status == 0, "exit \(r.status); stderr: \(r.stderr.prefix(2000))")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == count)
        // One line per file, in file order, each with the agreement's digest and an accepted status.
        for (index, line) in lines.enumerated() where index < count {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            #expect(fields.count == 3 && fields[0] == generated.digests[index]
                        && fields[2] == folder.appendingPathComponent(String(format: "agreement-%05d.json", index)).path, "line \(index): \(line)")
        }
        #expect(Set(lines.compactMap { $0.split(separator: " ").first.map(String.init) }) == Set(generated.digests))
    }
}
