import AdapterKit
import CausewayCore
import CausewayMapping
import CausewayTesting
import Foundation
import Testing
@testable import TrytonAdapter

#if canImport(Glibc)
import Glibc
#endif

/// The Tryton that scripts/tryton-start runs (scripts/test starts it): its address and users,
/// adapters connected to it, and a separate session for inspecting what the adapter wrote.
enum TrytonTestServer {
    static let hint = #"the Tryton adapter tests need the Tryton ERP on loopback: run eval "$(scripts/tryton-start)" (scripts/test does it)"#

    struct Environment {
        let url: String
        let user: String
        let password: String
        let pidfile: String
    }

    static func environment() throws -> Environment {
        let env = ProcessInfo.processInfo.environment
        guard let url = env["CAUSEWAY_TEST_TRYTON"], let user = env["CAUSEWAY_TEST_TRYTON_USER"],
              let password = env["CAUSEWAY_TEST_TRYTON_PASSWORD"], let pidfile = env["CAUSEWAY_TEST_TRYTON_PIDFILE"]
        else { throw MissingTestInput(path: "CAUSEWAY_TEST_TRYTON", hint: hint) }
        return Environment(url: url, user: user, password: password, pidfile: pidfile)
    }

    /// An adapter for the test server; fails (never skips) when the server does not answer.
    static func adapter(timeout: Duration = .seconds(30)) async throws -> TrytonPurchaseAdapter {
        let env = try environment()
        let settings = try TrytonPurchaseAdapter.descriptor.schema.validate(
            ["url": env.url, "user": env.user, "password": "env:CAUSEWAY_TEST_TRYTON_PASSWORD",
             "timeout": "\(timeout.components.seconds)"], prefix: "targets.erp").get()
        let adapter = try TrytonPurchaseAdapter(settings: settings, password: env.password)
        do {
            _ = try await adapter.connection.context()
        } catch {
            throw MissingTestInput(path: env.url, hint: "Tryton does not answer (\(error)); \(hint)")
        }
        return adapter
    }

    /// A session of its own, to read what the adapter wrote.
    static func inspector() throws -> TrytonConnection {
        let env = try environment()
        return TrytonConnection(url: env.url, user: env.user, password: env.password, company: nil, timeout: .seconds(30))
    }

    /// Purchases whose reference is `key`: id, state, number.
    static func purchases(_ key: String) async throws -> [JSONValue] {
        let found = try await inspector().call("model.purchase.purchase.search_read", [
            [["reference", "=", .string(key)]], 0, .null, [["id", "ASC"]], ["id", "state", "number", "description", "lines"],
        ])
        return found.arrayValue ?? []
    }

    /// Stops trytond by its pidfile and waits until it is gone.
    static func stop() throws {
        let env = try environment()
        let text = try String(contentsOfFile: env.pidfile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let pid = try #require(pid_t(text), "pidfile \(env.pidfile) holds no pid")
        kill(pid, SIGTERM)
        for _ in 0..<50 where kill(pid, 0) == 0 { usleep(100_000) }
        if kill(pid, 0) == 0 {
            kill(pid, SIGKILL)
            for _ in 0..<50 where kill(pid, 0) == 0 { usleep(100_000) }
        }
        #expect(kill(pid, 0) != 0, "trytond (pid \(pid)) did not stop")
    }

    /// Starts it again with scripts/tryton-start (the same database comes back), and waits until
    /// the gateway user can log in. Readiness is polled rather than waiting for the script's exit:
    /// the script leaves trytond running in the background.
    static func start() async throws {
        let env = try environment()
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("tryton-start-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let output = try FileHandle(forWritingTo: log)
        defer { try? output.close() }
        let process = Process()
        process.executableURL = TestPaths.repository.appendingPathComponent("scripts/tryton-start")
        var environment = ProcessInfo.processInfo.environment
        environment["CAUSEWAY_TRYTON_PASSWORD"] = env.password
        process.environment = environment
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let probe = TrytonConnection(url: env.url, user: env.user, password: env.password, company: nil, timeout: .seconds(5))
        for _ in 0..<180 {
            try await Task.sleep(for: .milliseconds(500))
            if (try? await probe.context()) != nil { return }
        }
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        throw MissingTestInput(path: "scripts/tryton-start", hint: "Tryton did not come back within 90 s:\n\(text)")
    }
}

/// Deliveries of the nordic-fasteners mapping's purchase-order action for its fixture
/// agreements, mapped through the real mapping, each with a fresh digest.
enum NordicDeliveries {
    static let folder = TestPaths.repository.appendingPathComponent("Mappings/nordic-fasteners")

    static func delivery(fixture: String = "one-line", nonce: String = UUID().uuidString,
                         change: (ERPPurchaseOrderAction) -> ERPPurchaseOrderAction = { $0 }) throws -> Delivery {
        let partner = try PartnerConfiguration.load(folder: folder)
        let mapping = try partner.loadMappings()[0]
        let bytes = Array(try Data(contentsOf: folder.appendingPathComponent("fixtures/agreements/\(fixture).json")))
        let agreement = try Agreement(bytes: bytes)
        // A distinct digest per nonce: the Tryton database outlives test runs.
        let digest = ContentDigest(of: agreement.digest.bytes + Array(nonce.utf8))
        let result = mapping.map(.object(agreement.document), context: MappingContext(digest: digest, partner: "nordic-fasteners"))
        let mapped = try #require(result.actions.first { $0.kind == .erpPurchaseOrder }, "the mapping produced no purchase order")
        guard case .erpPurchaseOrder(let order) = mapped.payload else { throw MissingTestInput(path: fixture, hint: "not a purchase order") }
        let action = LegacyAction(index: mapped.index, name: mapped.name, target: mapped.target, payload: .erpPurchaseOrder(change(order)))
        let provenance = ProvenanceRecord(
            receiptID: "urn:uuid:\(UUID().uuidString.lowercased())", generated: "2026-11-22T10:00:00.000Z", action: action,
            adapter: "tryton", agreementID: agreement.id!, agreementType: "PurchaseAgreement", agreementDigest: digest, signers: [],
            plan: .init(partner: "nordic-fasteners", mapping: mapping.id, version: mapping.version, digest: mapping.digest,
                        actionIndex: action.index),
            gateway: "did:key:z6MkTest", software: "causeway-test")
        return Delivery(agreementDigest: digest, agreementID: agreement.id!, action: action, provenance: provenance, signedAgreement: bytes)
    }

    static func order(_ delivery: Delivery) throws -> ERPPurchaseOrderAction {
        guard case .erpPurchaseOrder(let order) = delivery.action.payload else { throw MissingTestInput(path: "action", hint: "not a purchase order") }
        return order
    }
}

extension ERPPurchaseOrderAction {
    func with(workflow: Workflow? = nil, lines: [Line]? = nil) -> ERPPurchaseOrderAction {
        ERPPurchaseOrderAction(supplier: supplier, reference: reference, currency: currency, orderDate: orderDate, lines: lines ?? self.lines,
                               workflow: workflow ?? self.workflow, attachments: attachments)
    }
}
