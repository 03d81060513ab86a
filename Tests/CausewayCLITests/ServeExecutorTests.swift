import CausewayCore
import CausewayTesting
import Foundation
import Testing
@testable import causeway

/// Decision 29: `causeway serve` runs Swift concurrency on NIO's event loops unless
/// `CAUSEWAY_EXECUTOR=dispatch`; a value that names no executor stops it before it starts.
@Suite("causeway serve: the Swift concurrency executor")
struct ServeExecutorTests {
    @Test("the choice: serve on the event loops by default, dispatch when asked, every other command on Swift's pool; a wrong value is named")
    func choice() throws {
        #expect(try ServeExecutor.choice(arguments: ["causeway", "serve"], environment: [:]) == .eventLoops)
        #expect(try ServeExecutor.choice(arguments: ["causeway", "serve"], environment: ["CAUSEWAY_EXECUTOR": ""]) == .eventLoops)
        #expect(try ServeExecutor.choice(arguments: ["causeway", "serve"], environment: ["CAUSEWAY_EXECUTOR": "event-loops"]) == .eventLoops)
        #expect(try ServeExecutor.choice(arguments: ["causeway", "serve"], environment: ["CAUSEWAY_EXECUTOR": "dispatch"]) == .dispatch)
        #expect(try ServeExecutor.choice(arguments: ["causeway", "bench", "gateway"], environment: [:]) == .dispatch)
        #expect(try ServeExecutor.choice(arguments: ["causeway", "verify", "serve"], environment: [:]) == .dispatch)
        #expect(throws: CLIError.self) { try ServeExecutor.choice(arguments: ["causeway", "serve"], environment: ["CAUSEWAY_EXECUTOR": "fibers"]) }
    }

    @Test("a real gateway on each executor delivers an agreement and says which executor it runs on; a wrong value exits 2 naming the variable",
          arguments: ["", "dispatch"])
    func serve(_ executor: String) async throws {
        let gateway = try RunningGateway(start: false)
        if !executor.isEmpty { gateway.environment["CAUSEWAY_EXECUTOR"] = executor }
        try gateway.start()
        defer { _ = gateway.stop() }
        try await gateway.waitUntilReady()
        let line = gateway.log.split(separator: "\n").first { $0.contains("swift concurrency executor") }
        let expected = executor.isEmpty ? "event-loops" : executor
        #expect(line?.contains(#""executor":"\#(expected)""#) == true, "\(gateway.log)")

        let fixtures = TestPaths.repository.appendingPathComponent("Mappings/stahlteile/fixtures/agreements")
        let document = Array(try Data(contentsOf: fixtures.appendingPathComponent("one-line.json")))
        let (code, answer) = try await gateway.request("POST", "/v1/agreements", body: document)
        let digest = try #require(answer?["digest"]?.stringValue, "\(code)")
        var shown: JSONValue?
        for _ in 0..<300 where shown?["status"]?.stringValue != "delivered" {
            shown = try await gateway.request("GET", "/v1/agreements/\(digest)", token: gateway.viewerToken).1
            if shown?["status"]?.stringValue != "delivered" { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(shown?["status"]?.stringValue == "delivered", "\(gateway.log)")
        let actions = shown?["actions"]?.arrayValue?.count ?? 0
        #expect(actions > 0 && shown?["receipts"]?.arrayValue?.count == actions, "one signed receipt per action: \(String(describing: shown))")

        let refused = try CommandRunner.causeway(["serve", "--config", gateway.configFile], in: gateway.directory,
                                                 environment: ["CAUSEWAY_EXECUTOR": "fibers"])
        #expect(refused.status == 2, "\(refused.description)")
        #expect(refused.stderr.contains("CAUSEWAY_EXECUTOR is 'fibers'; it must be event-loops (the default) or dispatch"), "\(refused.description)")
    }
}
