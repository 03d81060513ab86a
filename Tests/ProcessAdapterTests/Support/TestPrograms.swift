import AdapterKit
import AdapterKitTesting
import CausewayCore
import CausewayTesting
import Foundation
import ProcessAdapter
import Synchronization

/// Programs the tests start through the adapter: the shipped example and a scripted misbehaver.
enum TestPrograms {
    /// The Python interpreter (stdlib only is needed).
    static func python() throws -> String {
        for candidate in [TestPaths.python, "/usr/bin/python3"].compactMap({ $0 }) where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        throw MissingTestInput(path: "python3", hint: "install python3 (scripts/test does) or set CAUSEWAY_PYTHON")
    }

    /// The shipped example adapter.
    static var ledgerScript: String { TestPaths.repository.appendingPathComponent("Adapters/Process/examples/jsonl-ledger.py").path }

    /// A protocol-1 program whose behaviour each action's name chooses: `crash` exits mid-request,
    /// `hang` never answers, `garbage` writes a line that is not JSON, `reject` and `retry` answer so,
    /// `leak` prints the secret to stderr and into its reason, `whoami` reports what it received.
    /// Anything else is delivered, idempotent by key (in memory). `TEST_PROTOCOL` and `TEST_KINDS`
    /// change its describe answer.
    static let scripted = #"""
        import hashlib, json, os, sys, time
        secret = os.environ.get("CAUSEWAY_SECRET", "")
        def reply(m):
            sys.stdout.write(json.dumps(m) + "\n"); sys.stdout.flush()
        seen = {}
        while True:
            line = sys.stdin.readline()
            if not line:
                sys.exit(0)
            m = json.loads(line)
            if m["type"] == "describe":
                reply({"type": "describe", "protocol": int(os.environ.get("TEST_PROTOCOL", "1")), "name": "test-program",
                       "version": "0.1.0", "kinds": os.environ.get("TEST_KINDS", "rows,xml").split(",")})
                continue
            if m["type"] == "lookup":
                k = m["idempotency_key"]
                reply({"id": m["id"], "found": k in seen, **({"reference": seen[k]} if k in seen else {})})
                continue
            name = m["action"]["name"]
            if name == "crash":
                os._exit(3)
            elif name == "hang":
                time.sleep(3600)
            elif name == "garbage":
                sys.stdout.write("this is not a protocol message\n"); sys.stdout.flush()
            elif name == "reject":
                reply({"id": m["id"], "outcome": "rejected", "reason": "unknown product code FAST-M8X40 in the ERP"})
            elif name == "retry":
                reply({"id": m["id"], "outcome": "retryable", "reason": "the ERP is in its nightly batch", "retry_after_seconds": 7})
            elif name == "leak":
                print("debug: the token is " + secret, file=sys.stderr, flush=True)
                reply({"id": m["id"], "outcome": "rejected", "reason": "the ERP refused the token " + secret})
            elif name == "whoami":
                clean = "clean" if secret and secret not in " ".join(sys.argv) else "dirty"
                ref = {"system": "test", "kind": "whoami", "id": hashlib.sha256(secret.encode()).hexdigest() + "-argv-" + clean}
                reply({"id": m["id"], "outcome": "delivered", "reference": ref})
            else:
                k = m["idempotency_key"]
                if k not in seen:
                    seen[k] = {"system": "test", "kind": m["action"]["kind"], "id": "T%d-%d" % (os.getpid(), len(seen) + 1)}
                reply({"id": m["id"], "outcome": "delivered", "reference": seen[k]})
        """#

    /// Writes the scripted program into a fresh folder; returns its path.
    static func writeScripted() throws -> String {
        let folder = try CommandRunner.temporaryDirectory("process-adapter")
        let path = folder.appendingPathComponent("test-program.py")
        try Data(scripted.utf8).write(to: path)
        return path.path
    }

    /// An adapter running the scripted program, and the log it writes.
    static func scriptedAdapter(timeout: Duration = .seconds(5), environment: [String: String] = [:]) throws -> (ExternalProcessAdapter, LogCapture) {
        let log = LogCapture()
        let configuration = ExternalProcessAdapter.Configuration(
            command: try python(), arguments: [try writeScripted()], timeout: timeout, environment: environment)
        return (ExternalProcessAdapter(configuration: configuration, target: "test", log: { log.append($0) }), log)
    }
}

/// Log lines, collected from any thread.
final class LogCapture: Sendable {
    private let lines = Mutex<[String]>([])
    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }
}

/// A delivery of a small rows action whose name steers the scripted program.
func steering(_ name: String, nonce: String = UUID().uuidString, kind: LegacyAction.Kind = .rows) -> Delivery {
    let payload: LegacyAction.Payload
    switch kind {
    case .xml: payload = .xml(XMLDocumentAction(root: XMLElementNode(name: "Order", children: [.text("1")]), soap: nil, schema: nil, path: nil))
    case .http: payload = .http(HTTPRequestAction(method: "POST", path: "/x", headers: [], body: ["total": "1.00"], captureReference: nil))
    default:
        payload = .rows(RowsAction(table: "orders", key: ["ref"], returning: [],
                                   row: Row([("ref", .text(nonce)), ("total", .text("1570.00", .decimal(precision: 14, scale: 2)))]),
                                   children: []))
    }
    return AdapterConformance.sampleDelivery(action: LegacyAction(index: 0, name: name, target: "test", payload: payload), nonce: nonce)
}

/// Waits until `condition` holds, at most `limit`.
func eventually(_ limit: Duration = .seconds(30), _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + limit
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(50))
    }
    return condition()
}
