import CausewayCore
import CausewayTesting
import Foundation
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Traces through a real `causeway serve`: an OTLP/HTTP receiver stand-in on loopback (the HTTP
/// adapter tests' recording server, answering `POST /v1/traces` as a collector does) records the
/// exported spans; an HTTP target on loopback records what the delivery sent.
@Suite("Traces: intake to receipt over OTLP/HTTP", .serialized)
struct TracingTests {
    /// One exported span, as the OTLP JSON encoding has it.
    struct ExportedSpan {
        let name: String
        let traceID: String
        let spanID: String
        let parentSpanID: String
        let attributes: [String: String]
        let serviceName: String?
    }

    /// A recording server with a behaviour file; returns the process, its port and its request log.
    static func recordingServer(in directory: URL, config: String? = nil) async throws -> (Process, port: String, log: URL) {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let portFile = directory.appendingPathComponent("port")
        let log = directory.appendingPathComponent("requests.jsonl")
        var arguments = [TestPaths.repository.appendingPathComponent("Tests/HTTPAdapterTests/Support/recording_server.py").path,
                         "--port-file", portFile.path, "--log", log.path]
        if let config {
            let file = directory.appendingPathComponent("behaviour.json")
            try Data(config.utf8).write(to: file)
            arguments += ["--config", file.path]
        }
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        server.arguments = arguments
        try server.run()
        for _ in 0..<100 {
            if let port = try? String(contentsOf: portFile, encoding: .utf8), !port.isEmpty {
                return (server, port.trimmingCharacters(in: .whitespacesAndNewlines), log)
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        kill(server.processIdentifier, SIGKILL)
        throw MissingTestInput(path: "recording_server.py", hint: "did not start")
    }

    static func requests(_ log: URL) -> [JSONValue] {
        ((try? String(contentsOf: log, encoding: .utf8)) ?? "").split(separator: "\n").compactMap { try? JSONReader().read(Array($0.utf8)) }
    }

    /// OTLP JSON ids: hex per the OTLP specification, or base64 as protobuf's JSON mapping writes bytes.
    static func hexID(_ text: String?) -> String {
        guard let text, !text.isEmpty else { return "" }
        if text.count % 2 == 0, text.allSatisfy(\.isHexDigit), text.count == 32 || text.count == 16 { return text.lowercased() }
        guard let data = Data(base64Encoded: text) else { return "?" + text }
        return data.map { String(format: "%02x", $0) }.joined()
    }

    /// Every span in the `POST /v1/traces` bodies the receiver recorded.
    static func spans(_ log: URL) -> [ExportedSpan] {
        var found: [ExportedSpan] = []
        for request in requests(log) where request["path"]?.stringValue == "/v1/traces" {
            guard let text = request["body"]?.stringValue, let body = try? JSONReader().read(Array(text.utf8)) else { continue }
            for resourceSpans in body["resourceSpans"]?.arrayValue ?? [] {
                let service = (resourceSpans["resource"]?["attributes"]?.arrayValue ?? [])
                    .first { $0["key"]?.stringValue == "service.name" }?["value"]?["stringValue"]?.stringValue
                for scope in resourceSpans["scopeSpans"]?.arrayValue ?? [] {
                    for span in scope["spans"]?.arrayValue ?? [] {
                        var attributes: [String: String] = [:]
                        for attribute in span["attributes"]?.arrayValue ?? [] {
                            guard let key = attribute["key"]?.stringValue, let value = attribute["value"] else { continue }
                            attributes[key] = value["stringValue"]?.stringValue ?? value["intValue"]?.stringValue
                                ?? value["intValue"].map { JSONWriter.string($0, style: .compact) } ?? ""
                        }
                        found.append(ExportedSpan(name: span["name"]?.stringValue ?? "", traceID: hexID(span["traceId"]?.stringValue),
                                                  spanID: hexID(span["spanId"]?.stringValue), parentSpanID: hexID(span["parentSpanId"]?.stringValue),
                                                  attributes: attributes, serviceName: service))
                    }
                }
            }
        }
        return found
    }

    static func randomHex(bytes: Int) -> String {
        (0..<bytes).map { _ in String(format: "%02x", UInt8.random(in: 1...255)) }.joined()
    }

    /// The stahlteile partner with a second action: a JSON notification to an HTTP target `portal`.
    static func partners(in directory: URL) throws -> URL {
        let partners = directory.appendingPathComponent("partners")
        let folder = partners.appendingPathComponent("stahlteile")
        try FileManager.default.createDirectory(at: partners, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: TestPaths.repository.appendingPathComponent("Mappings/stahlteile"), to: folder)
        // Its fixtures expect one action; this copy has two.
        try FileManager.default.removeItem(at: folder.appendingPathComponent("fixtures"))
        let mapping = folder.appendingPathComponent("purchase-order.yaml")
        var text = try String(contentsOf: mapping, encoding: .utf8)
        text += """

              - name: notify-portal
                target: portal
                http:
                  method: POST
                  path: /notifications
                  body:
                    object:
                      orderReference: {agreement: "$.id"}

            """
        try Data(text.utf8).write(to: mapping)
        return partners
    }

    /// `POST /v1/agreements` with the given extra headers.
    static func submit(_ gateway: RunningGateway, _ document: [UInt8], headers: [String: String]) async throws -> (Int, JSONValue?) {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(gateway.port)/v1/agreements")!)
        request.httpMethod = "POST"
        request.httpBody = Data(document)
        request.timeoutInterval = 20
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, data.isEmpty ? nil : try? JSONReader().read(Array(data)))
    }

    static func waitDelivered(_ gateway: RunningGateway, digest: String, receipts: Int) async throws -> JSONValue? {
        var detail: JSONValue?
        for _ in 0..<300 {
            detail = try? await gateway.request("GET", "/v1/agreements/\(digest)", token: gateway.viewerToken).1
            if detail?["status"]?.stringValue == "delivered", detail?["receipts"]?.arrayValue?.count == receipts { return detail }
            try await Task.sleep(for: .milliseconds(200))
        }
        return detail
    }

    @Test("a traceparent at intake makes one trace: intake, delivery and receipt spans reach the OTLP receiver, the HTTP target gets the trace, the provenance names it",
          arguments: ["sqlite", "postgresql"])
    func oneTraceFromIntakeToReceipt(store: String) async throws {
        let work = try CommandRunner.temporaryDirectory("tracing")
        let (collector, collectorPort, collected) = try await Self.recordingServer(
            in: work.appendingPathComponent("otlp"),
            config: #"{"paths": {"/v1/traces": {"kind": "fixed", "status": 200, "body": "{}", "content_type": "application/json"}}}"#)
        defer { kill(collector.processIdentifier, SIGKILL) }
        let (target, targetPort, targetLog) = try await Self.recordingServer(in: work.appendingPathComponent("target"))
        defer { kill(target.processIdentifier, SIGKILL) }

        let gateway = try RunningGateway(
            store: store == "postgresql" ? try ReliabilityTests.database("causeway_trace") : nil,
            targets: """
                  erp-staging: {adapter: sqlite, path: erp.sqlite}
                  portal: {adapter: http, base_url: "http://127.0.0.1:\(targetPort)", honours_idempotency_key: true}
                """,
            partners: try Self.partners(in: work),
            extra: """
                tracing:
                  otlp_endpoint: http://127.0.0.1:\(collectorPort)
                  service_name: causeway-tracing-test
                  sample_ratio: 1.0
                  protocol: http/json
                """,
            start: false)
        defer { _ = gateway.stop() }
        let schema = try String(contentsOf: TestPaths.repository.appendingPathComponent("Deploy/examples/erp-staging.sqlite.sql"), encoding: .utf8)
        let erp = gateway.directory.appendingPathComponent("erp.sqlite")
        let created = try CommandRunner.run("/usr/bin/sqlite3", [erp.path], stdin: schema)
        try #require(created.status == 0, "\(created)")
        try gateway.start()
        try await gateway.waitUntilReady()

        // Traced by the sender: its trace id and span id (the intake span's parent).
        let traceID = Self.randomHex(bytes: 16)
        let senderSpan = Self.randomHex(bytes: 8)
        let fixtures = TestPaths.repository.appendingPathComponent("Mappings/stahlteile/fixtures/agreements")
        let document = Array(try Data(contentsOf: fixtures.appendingPathComponent("one-line.json")))
        let digest = try Agreement(bytes: document).digest.description
        let (status, body) = try await Self.submit(gateway, document, headers: [
            "traceparent": "00-\(traceID)-\(senderSpan)-01", "tracestate": "partner=stahlteile",
        ])
        #expect(status == 202, "\(String(describing: body))\n\(gateway.log.suffix(2000))")
        let detail = try await Self.waitDelivered(gateway, digest: digest, receipts: 2)
        #expect(detail?["status"]?.stringValue == "delivered", "\(String(describing: detail))\n\(gateway.log.suffix(3000))")

        // Not traced by the sender: intake starts a trace of its own.
        let untraced = Array(try Data(contentsOf: fixtures.appendingPathComponent("multi-line.json")))
        let untracedDigest = try Agreement(bytes: untraced).digest.description
        #expect(try await Self.submit(gateway, untraced, headers: [:]).0 == 202)
        _ = try await Self.waitDelivered(gateway, digest: untracedDigest, receipts: 2)

        // A graceful stop flushes the batch of spans not yet exported.
        #expect(gateway.stop() == 0, "\(gateway.log.suffix(3000))")
        let spans = Self.spans(collected)
        let ours = spans.filter { $0.traceID == traceID }
        let intake = try #require(ours.first { $0.name == "causeway.intake" }, "spans received: \(spans.map { "\($0.name) \($0.traceID)" })")
        #expect(intake.parentSpanID == senderSpan, "the intake span is a child of the sender's span")
        #expect(intake.attributes["http.response.status_code"] == "202")
        #expect(intake.serviceName == "causeway-tracing-test")
        let deliveries = ours.filter { $0.name == "causeway.delivery" }
        #expect(Set(deliveries.compactMap { $0.attributes["causeway.target"] }) == ["erp-staging", "portal"], "\(ours.map(\.name))")
        #expect(deliveries.allSatisfy { $0.parentSpanID == intake.spanID && $0.attributes["causeway.outcome"] == "delivered" })
        let receipts = ours.filter { $0.name == "causeway.receipt" }
        #expect(receipts.count == 2, "\(ours.map(\.name))")
        #expect(receipts.allSatisfy { $0.parentSpanID == intake.spanID && $0.attributes["causeway.agreement.digest"] == digest })
        #expect(Set(ours.map(\.spanID)).count == ours.count, "every span has its own id")

        // The HTTP target got the portal delivery span's context, and the provenance record names the trace.
        let posted = try #require(Self.requests(targetLog).first { $0["method"]?.stringValue == "POST" && $0["headers"]?["idempotency-key"]?.stringValue == "\(digest)/1" })
        let portalSpan = try #require(deliveries.first { $0.attributes["causeway.target"] == "portal" })
        #expect(posted["headers"]?["traceparent"]?.stringValue == "00-\(traceID)-\(portalSpan.spanID)-01")
        #expect(posted["headers"]?["tracestate"]?.stringValue == "partner=stahlteile")
        let encoded = try #require(posted["headers"]?["causeway-provenance"]?.stringValue)
        var base64 = encoded.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        let provenance = try JSONReader().read(Array(try #require(Data(base64Encoded: base64))))
        #expect(provenance["traceId"]?.stringValue == traceID)
        // The record the rows target stored holds it too, and reads back as a provenance record.
        let stored = try CommandRunner.run("/usr/bin/sqlite3", [erp.path, "SELECT provenance FROM erp_purchase_order WHERE agreement_digest = '\(digest)'"])
        let storedRecord = try ProvenanceRecord(json: try JSONReader().read(Array(stored.stdout.trimmingCharacters(in: .whitespacesAndNewlines).utf8)))
        #expect(storedRecord.traceID == traceID)

        // The untraced agreement: a new trace, rooted at intake, its id in the provenance.
        let other = try CommandRunner.run("/usr/bin/sqlite3", [erp.path, "SELECT provenance FROM erp_purchase_order WHERE agreement_digest = '\(untracedDigest)'"])
        let otherRecord = try ProvenanceRecord(json: try JSONReader().read(Array(other.stdout.trimmingCharacters(in: .whitespacesAndNewlines).utf8)))
        let otherTrace = try #require(otherRecord.traceID)
        #expect(otherTrace != traceID)
        let otherIntake = spans.first { $0.traceID == otherTrace && $0.name == "causeway.intake" }
        #expect(otherIntake != nil && otherIntake?.parentSpanID == "")
        #expect(spans.filter { $0.traceID == otherTrace && $0.name == "causeway.receipt" }.count == 2)
    }

    @Test("a collector that does not answer costs spans, not deliveries: the agreement is delivered and receipted, the gateway stops cleanly")
    func collectorDown() async throws {
        let closed = TestPorts.free(in: 32_001...40_000)  // nothing listens there
        let gateway = try RunningGateway(extra: """
            tracing:
              otlp_endpoint: http://127.0.0.1:\(closed)
            """)
        defer { _ = gateway.stop() }
        try await gateway.waitUntilReady()
        let document = Array(try Data(contentsOf: TestPaths.repository.appendingPathComponent("Mappings/stahlteile/fixtures/agreements/one-line.json")))
        let digest = try Agreement(bytes: document).digest.description
        let traceID = Self.randomHex(bytes: 16)
        #expect(try await Self.submit(gateway, document, headers: ["traceparent": "00-\(traceID)-\(Self.randomHex(bytes: 8))-01"]).0 == 202)
        let detail = try await Self.waitDelivered(gateway, digest: digest, receipts: 1)
        #expect(detail?["status"]?.stringValue == "delivered", "\(String(describing: detail))\n\(gateway.log.suffix(3000))")
        let stored = try CommandRunner.run("/usr/bin/sqlite3", [gateway.directory.appendingPathComponent("erp.sqlite").path,
                                                               "SELECT provenance FROM erp_purchase_order WHERE agreement_digest = '\(digest)'"])
        let record = try ProvenanceRecord(json: try JSONReader().read(Array(stored.stdout.trimmingCharacters(in: .whitespacesAndNewlines).utf8)))
        #expect(record.traceID == traceID)
        #expect(gateway.stop() == 0, "\(gateway.log.suffix(3000))")
    }

    @Test("tracing settings: problems name the key and the fix", arguments: [
        ("tracing: {service_name: x}", "tracing.otlp_endpoint: required"),
        ("tracing: {otlp_endpoint: ftp://collector:4318}", "tracing.otlp_endpoint: must be an http:// or https:// URL"),
        ("tracing: {otlp_endpoint: http://collector:4318, sample_ratio: 1.5}", "tracing.sample_ratio: must be a number from 0 to 1"),
        ("tracing: {otlp_endpoint: http://collector:4318, protocol: grpc}", "tracing.protocol: must be http/protobuf or http/json"),
        ("tracing: {otlp_endpoint: http://collector:4318, exporter: otlp}", "tracing.exporter: unknown setting"),
    ])
    func settingsProblems(section: String, expected: String) throws {
        let work = try CommandRunner.temporaryDirectory("tracing-config")
        _ = try CommandRunner.causeway(["keys", "new", "--out", "key.json"], in: work)
        try FileManager.default.createDirectory(at: work.appendingPathComponent("partners"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: TestPaths.repository.appendingPathComponent("Mappings/stahlteile"),
                                         to: work.appendingPathComponent("partners/stahlteile"))
        try Data("""
            identity: key.json
            partners: partners
            targets:
              erp-staging: {adapter: sqlite, path: erp.sqlite}
            \(section)
            """.utf8).write(to: work.appendingPathComponent("causeway.yaml"))
        let result = try CommandRunner.causeway(["config", "check", "--config", "causeway.yaml"], in: work)
        #expect(result.status == 1, "\(result)")
        #expect(result.stderr.contains(expected), "\(result.stderr)")
    }
}
