import CausewayCore
import CausewayTesting
import Foundation

/// `callback_recorder.py` running on loopback: a receipt callback endpoint that records every
/// POST (one JSON line each: status, Idempotency-Key, body) and refuses the first `fail` with 503.
final class CallbackRecorder: @unchecked Sendable {  // the process handle is only touched from the test
    let process = Process()
    let port: String
    let recorded: URL

    init(fail: Int) async throws {
        guard let python = TestPaths.python else {
            throw MissingTestInput(path: "CAUSEWAY_PYTHON", hint: "scripts/test sets up the venv that runs the recording endpoint")
        }
        let work = try CommandRunner.temporaryDirectory("callback")
        let portFile = work.appendingPathComponent("port")
        recorded = work.appendingPathComponent("received.jsonl")
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [TestPaths.repository.appendingPathComponent("Tests/CausewayCLITests/Support/callback_recorder.py").path,
                             "--port-file", portFile.path, "--out", recorded.path, "--fail", String(fail)]
        try process.run()
        var port = ""
        for _ in 0..<100 where port.isEmpty {
            port = (try? String(contentsOf: portFile, encoding: .utf8)) ?? ""
            try await Task.sleep(for: .milliseconds(50))
        }
        self.port = port
        guard !port.isEmpty else {
            stop()
            throw MissingTestInput(path: "callback_recorder.py", hint: "the recording endpoint did not start")
        }
    }

    /// The URL receipts are pushed to.
    var url: String { "http://127.0.0.1:\(port)/receipts" }

    /// Every request recorded so far.
    func received() -> [JSONValue] {
        ((try? String(contentsOf: recorded, encoding: .utf8)) ?? "").split(separator: "\n").compactMap { try? JSONReader().read(Array($0.utf8)) }
    }

    /// SIGKILL: children of Foundation's Process may inherit a blocked SIGTERM.
    func stop() { kill(process.processIdentifier, SIGKILL) }
}
