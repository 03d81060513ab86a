import ArgumentParser
import AsyncHTTPClient
import CausewayCore
import CausewayTrust
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A real `causeway serve` under steady valid load with hostile traffic mixed in, for minutes:
/// its memory over time, its crashes, and the latency of the valid agreements.
///
/// Everything goes to 127.0.0.1. Every loop ends at the run's deadline and every connection has a
/// bound (count and time), so the benchmark stops by itself whatever the gateway does.
struct SoakBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "soak",
        abstract: "Valid load plus hostile traffic against a real `causeway serve`: RSS over time, crashes, p99 (goal: RSS flat within 10 %, no crash, p99 < 100 ms at 100/s).",
        discussion: """
            Starts `causeway serve` on loopback (embedded SQLite store, SQLite staging target, the stahlteile \
            mapping trusting keys generated for the run) and for --minutes offers --rate signed agreements per \
            second, open loop, while sending malformed JSON, duplicate keys, bodies over intake.max_bytes (with \
            and without Connection: close, the whole body written), amplification attempts (many proofs, \
            previousProof with duplicate ids, many delegation credentials, one at a time), bad bearer tokens, and \
            holding up to --slow-clients slow or idle connections (headers byte by byte, bodies never finished, \
            idle). Samples the gateway's VmRSS every 2 s, restarts it after a crash (each one counted) and prints \
            a table and a verdict: RSS of the last minute within 10 % of the first minute after warm-up, no \
            crash, p99 of the valid agreements under 100 ms. Exit status 1 when the goal is not met. Run from \
            the repository root; build with -c release for figures to hold against the goal.
            """)

    @Option(help: "Minutes of load, warm-up included.")
    var minutes: Double = 10

    @Option(help: "Valid agreements offered per second (open loop: sent on schedule whatever the answers).")
    var rate: Int = 100

    @Option(parsing: .upToNextOption,
            help: ArgumentHelp("The gateway's store: a new embedded SQLite file, or a new database on a PostgreSQL server (dropped at the end unless --keep).",
                               valueName: "sqlite | postgres URL"))
    var store: [String] = ["sqlite"]

    @Option(help: "Slow or idle connections held open at once.")
    var slowClients: Int = 200

    @Option(help: "Seconds of warm-up before the first RSS window (default 30, or a sixth of a run under 3 minutes).")
    var warmUp: Double?

    @Option(help: "Size in KiB of each amplification attempt's body.")
    var attackKib: Int = 256

    @Option(help: "Kill the gateway (and count it as a crash) when its RSS passes this many MiB, to protect the machine.")
    var rssLimitMib: Int = 4096

    @Option(help: "Also write the report, with every RSS sample, as JSON to this file.")
    var json: String?

    @Option(help: "The stahlteile mapping folder.")
    var mapping: String = "Mappings/stahlteile"

    @Option(help: "The SQLite staging schema for the target.")
    var erpSchema: String = "Deploy/examples/erp-staging.sqlite.sql"

    @Flag(help: "Keep the work folder (and the PostgreSQL database).")
    var keep = false

    /// `intake.max_bytes` the gateway is started with; oversized bodies go 64 KiB past it.
    static let maxBytes = 1 << 20
    /// Seconds between RSS samples.
    static let sampleEvery = 2.0

    func validate() throws {
        guard minutes > 0, minutes <= 24 * 60 else { throw ValidationError("--minutes must be above 0 and at most 1440") }
        guard rate >= 1, rate <= 10_000 else { throw ValidationError("--rate must be 1 to 10000 agreements per second") }
        guard slowClients >= 0, slowClients <= 1000 else { throw ValidationError("--slow-clients must be 0 to 1000") }
        guard attackKib >= 1, attackKib * 1024 <= Self.maxBytes else { throw ValidationError("--attack-kib must be 1 to \(Self.maxBytes / 1024)") }
        if let warmUp, warmUp < 0 || warmUp > minutes * 30 { throw ValidationError("--warm-up must be 0 to half the run's seconds") }
        guard rssLimitMib >= 64 else { throw ValidationError("--rss-limit-mib must be at least 64") }
        switch store.first {
        case "sqlite" where store.count == 1: break
        case "postgres" where store.count == 2 && store[1].hasPrefix("postgres"): break
        default: throw ValidationError("--store takes sqlite, or postgres and a postgresql:// URL")
        }
    }

    func run() async throws {
        let duration = minutes * 60
        let work = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("causeway-soak-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        let seller = SigningIdentity()
        let buyer = SigningIdentity()
        try GatewayBench.writePartner(in: work, mapping: mapping, seller: seller.didKey.did, buyer: buyer.didKey.did)
        _ = try Spawned.run(["sqlite3", work.appendingPathComponent("erp.sqlite").path, ".read \(URL(fileURLWithPath: erpSchema).path)"])

        var storeURL = "sqlite:causeway.sqlite"
        var database: (server: String, name: String)?
        if store.first == "postgres" {
            let name = "soak_store_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(10)
            try GatewayBench.run("psql", [store[1], "-qc", "CREATE DATABASE \(name)"])
            database = (store[1], name)
            storeURL = GatewayBench.replacingDatabase(in: store[1], with: name)
        }
        defer {
            if !keep {
                if let database { _ = try? GatewayBench.run("psql", [database.server, "-qc", "DROP DATABASE IF EXISTS \(database.name) WITH (FORCE)"]) }
                try? FileManager.default.removeItem(at: work)
            }
        }

        let count = Int((duration * Double(rate)).rounded(.up))
        progress("signing \(count) agreements and the hostile payloads")
        let payloads = try SoakPayloads(seller: seller, buyer: buyer, attackBytes: attackKib * 1024)
        let valid = try payloads.validAgreements(count: count)

        let server = try GatewayBench.startServe(in: work, store: storeURL, targets: "  erp-staging: {adapter: sqlite, path: erp.sqlite}",
                                                 more: "intake:\n  max_bytes: \(Self.maxBytes)")
        let gateway = SoakGateway(server.process, work: work)
        // Two clients, so that hostile requests never queue in front of valid ones.
        let validClient = HTTPClient(configuration: .init(connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)))
        let hostileClient = HTTPClient(configuration: .init(connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 40)))
        let report: SoakReport
        do {
            try await GatewayBench.waitUntilReady(validClient, server.base)
            guard let port = Int(server.base.split(separator: ":").last ?? "") else { throw CLIError("no port in \(server.base)") }
            let soak = SoakRun(port: port, base: server.base, duration: duration, rate: rate, payloads: payloads, gateway: gateway,
                               rssLimitKiB: rssLimitMib * 1024, slowClients: slowClients, warmUp: warmUp ?? min(30, duration / 6))
            progress("soak: \(rate)/s valid for \(Self.formatted(minutes)) min with hostile traffic, gateway pid \(gateway.pid)")
            report = await soak.run(valid: valid, validClient: validClient, hostileClient: hostileClient)
        } catch {
            gateway.stop()
            try? await validClient.shutdown()
            try? await hostileClient.shutdown()
            throw error
        }
        gateway.stop()
        try? await validClient.shutdown()
        try? await hostileClient.shutdown()

        var build = "release build"
        #if DEBUG
        build = "debug build"
        #endif
        let storeName = database == nil ? "SQLite store" : "PostgreSQL store at \(GatewayBench.redacted(store[1]))"
        print(report.table(title: "causeway bench soak — \(ProcessInfo.processInfo.activeProcessorCount) cores, \(build), \(storeName), "
                           + "\(Self.formatted(minutes)) min at \(rate)/s"))
        if let json {
            try Data((JSONWriter.string(report.json(build: build, store: storeName), style: .pretty) + "\n").utf8).write(to: URL(fileURLWithPath: json))
        }
        if keep { progress("work folder kept: \(work.path)") }
        if !report.goalMet { throw ExitCode(1) }
    }

    func progress(_ message: String) {
        FileHandle.standardError.write(Data("bench: \(message)\n".utf8))
    }

    static func formatted(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(format: "%.2f", value)
    }
}

// MARK: - Payloads

/// The run's agreements: valid ones signed by the partner's two keys, and the hostile bodies.
struct SoakPayloads: Sendable {
    let seller: SigningIdentity
    let buyer: SigningIdentity
    /// The benchmark agreement without proofs, its parties being the run's keys.
    let template: JSONObject
    let malformed: [[UInt8]]
    let duplicateKeys: [UInt8]
    /// A signed agreement whose proof set repeats one proof until the body has the attack size.
    let manyProofs: [UInt8]
    /// Two proofs; the second's `previousProof` names the first again and again.
    let previousProofs: [UInt8]
    /// Proofs by 32 agents each presenting a delegation, and `delegations` filled with their credentials.
    let manyDelegations: [UInt8]

    init(seller: SigningIdentity, buyer: SigningIdentity, attackBytes: Int) throws {
        self.seller = seller
        self.buyer = buyer
        let (benchBytes, _) = try BenchAgreement.make()
        guard var template = try JSONReader().read(benchBytes).objectValue?.removing("proof"),
              case .object(var parties)? = template["parties"],
              case .object(var buyerParty)? = parties["buyer"], case .object(var sellerParty)? = parties["seller"]
        else { throw CLIError("the benchmark agreement has no parties") }
        buyerParty["id"] = .string(buyer.didKey.did)
        sellerParty["id"] = .string(seller.didKey.did)
        parties["buyer"] = .object(buyerParty)
        parties["seller"] = .object(sellerParty)
        template["parties"] = .object(parties)
        self.template = template

        let now = CLIInput.now()
        let signed = try Self.sign(template, id: RandomUUID.urn(), seller: seller, buyer: buyer, at: now)
        let text = Array(JSONWriter.string(.object(signed), style: .compact).utf8)
        var random = SystemRandomNumberGenerator()
        malformed = [
            Array(text.prefix(text.count / 2)),
            Array("{".utf8),
            Array(#"{"type": "PurchaseAgreement", "id": }"#.utf8),
            (0..<2048).map { _ in UInt8.random(in: 0...255, using: &random) },
            Array(repeating: UInt8(ascii: "["), count: 200_000),
            Array(#"{"type": "PurchaseAgreement", "total": 1e999999}"#.utf8),
            [0x7B, 0x22, 0xC3, 0x28, 0x22, 0x3A, 0x31, 0x7D],
            [],
            Array("null".utf8),
            Array(#"{"type": "PurchaseAgreement", "id": "\ud800"}"#.utf8),
        ]
        // The same signed agreement with `total` twice: the first one is what a lax reader keeps.
        duplicateKeys = Array(#"{"total": "0.01","#.utf8) + text.dropFirst()

        guard case .array(let proofs)? = signed["proof"], let sellerProof = proofs.first else { throw CLIError("the agreement has no proof") }
        var repeated: [JSONValue] = []
        var size = text.count
        let proofSize = JSONWriter.string(sellerProof, style: .compact).utf8.count + 1
        while size + proofSize < attackBytes {
            repeated.append(sellerProof)
            size += proofSize
        }
        manyProofs = Self.bytes(signed, proofs: repeated)

        let first = try EddsaJcs2022.addProof(to: template, signer: seller, options: .init(created: now, id: "urn:p0"))
        let chained = try EddsaJcs2022.addProof(to: first, signer: buyer, options: .init(created: now, id: "urn:p1", previousProof: ["urn:p0"]))
        guard case .array(var chain)? = chained["proof"], chain.count == 2, case .object(var second) = chain[1] else {
            throw CLIError("the chained agreement has no two proofs")
        }
        let room = max(1, (attackBytes - JSONWriter.string(.object(chained), style: .compact).utf8.count) / 9)
        second["previousProof"] = .array(Array(repeating: .string("urn:p0"), count: room))
        chain[1] = .object(second)
        previousProofs = Self.bytes(chained, proofs: chain)

        var delegated = try EddsaJcs2022.addProof(to: template, signer: buyer, options: .init(created: now))
        var credentials: [JSONValue] = []
        for _ in 0..<32 {
            let agent = SigningIdentity()
            let credential: JSONObject = [
                "type": "DelegationCredential", "v": 1, "id": .string(RandomUUID.urn()),
                "issuer": .string(seller.didKey.did), "agent": .string(agent.didKey.did),
                "validFrom": "2020-01-01T00:00:00Z", "validUntil": "2099-01-01T00:00:00Z",
                "scope": ["roles": ["seller"], "agreementTypes": ["PurchaseAgreement"]],
            ]
            let signedCredential = try EddsaJcs2022.addProof(to: credential, signer: seller, options: .init(created: now))
            credentials.append(.object(signedCredential))
            delegated = try EddsaJcs2022.addProof(to: delegated, signer: agent,
                                                  options: .init(created: now, extraMembers: [("delegation", .object(signedCredential))]))
        }
        var attached: [JSONValue] = []
        size = JSONWriter.string(.object(delegated), style: .compact).utf8.count
        let credentialSize = JSONWriter.string(credentials[0], style: .compact).utf8.count + 1
        while size + credentialSize < attackBytes {
            attached.append(credentials[attached.count % credentials.count])
            size += credentialSize
        }
        delegated["delegations"] = .array(attached)
        manyDelegations = Array(JSONWriter.string(.object(delegated), style: .compact).utf8)
    }

    static func bytes(_ document: JSONObject, proofs: [JSONValue]) -> [UInt8] {
        var copy = document
        copy["proof"] = .array(proofs)
        return Array(JSONWriter.string(.object(copy), style: .compact).utf8)
    }

    static func sign(_ template: JSONObject, id: String, seller: SigningIdentity, buyer: SigningIdentity, at now: String) throws -> JSONObject {
        var document = template
        document["id"] = .string(id)
        document["issued"] = .string(now)
        let bySeller = try EddsaJcs2022.addProof(to: document, signer: seller, options: .init(created: now))
        return try EddsaJcs2022.addProof(to: bySeller, signer: buyer, options: .init(created: now))
    }

    /// `count` distinct signed agreements (compact JSON), signed on every core.
    func validAgreements(count: Int) throws -> [[UInt8]] {
        let lanes = max(1, ProcessInfo.processInfo.activeProcessorCount)
        let results = Locked<[[UInt8]]>([])
        let failure = Locked<String?>(nil)
        let now = CLIInput.now()
        DispatchQueue.concurrentPerform(iterations: lanes) { lane in
            var mine: [[UInt8]] = []
            do {
                for _ in stride(from: lane, to: count, by: lanes) {
                    let signed = try Self.sign(template, id: RandomUUID.urn(), seller: seller, buyer: buyer, at: now)
                    mine.append(Array(JSONWriter.string(.object(signed), style: .compact).utf8))
                }
            } catch {
                failure.withLock { $0 = "\(error)" }
            }
            results.withLock { $0 += mine }
        }
        if let problem = failure.withLock({ $0 }) { throw CLIError("cannot sign the benchmark agreements: \(problem)") }
        return results.withLock { $0 }
    }
}

/// A value behind a mutex, shareable between tasks and threads.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result { try mutex.withLock { try body(&$0) } }
}

// MARK: - The gateway process

/// The gateway under test: notices its exit, restarts it, and keeps the count.
final class SoakGateway: Sendable {
    struct Crash: Sendable {
        let second: Double
        /// The exit status; nil while the process still writes its crash report.
        var status: Int32?
        let cause: String
        var logTail: String
    }

    private struct State: Sendable {
        var process: Spawned
        var generation = 1
        var crashes: [Crash] = []
        var exited = false
        /// Bytes of the current process's error log already searched for a crash report.
        var logOffset: UInt64 = 0
        /// Whether the current process's crash is recorded already (from its log, before it exited).
        var crashRecorded = false
    }

    private let state: Locked<State>
    let work: URL

    init(_ process: Spawned, work: URL) {
        state = Locked(State(process: process))
        self.work = work
    }

    var pid: pid_t { state.withLock { $0.process.pid } }
    var generation: Int { state.withLock { $0.generation } }
    var crashes: [Crash] { state.withLock { $0.crashes } }
    /// Whether the current process has ended (and was not restarted yet).
    var hasExited: Bool { state.withLock { $0.exited } }

    /// Whether the process has ended since the last look; an end is recorded as a crash.
    func checkExit(at second: Double, cause: String? = nil) -> Bool {
        state.withLock { s in
            guard !s.exited else { return false }
            var status: Int32 = 0
            guard waitpid(s.process.pid, &status, WNOHANG) == s.process.pid else { return false }
            s.exited = true
            let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
            let tail = (try? String(contentsOf: s.process.errors, encoding: .utf8))
                .map { $0.suffix(600).split(separator: "\n").suffix(4).joined(separator: "\n") } ?? ""
            if s.crashRecorded, !s.crashes.isEmpty {
                s.crashes[s.crashes.count - 1].status = code
                return true
            }
            s.crashes.append(Crash(second: second, status: code, cause: cause ?? ((status & 0x7f) == 0 ? "exited" : "signal \(status & 0x7f)"),
                                   logTail: tail))
            return true
        }
    }

    /// Whether the current process has written a crash report since the last look (the Swift
    /// runtime's `*** Program crashed: …`). The process lives on, frozen, while it writes the
    /// backtrace — many seconds in a debug build — so its log tells of the crash before its exit does.
    func checkLog(at second: Double) -> Bool {
        state.withLock { s in
            guard !s.crashRecorded, let handle = try? FileHandle(forReadingFrom: s.process.errors) else { return false }
            defer { try? handle.close() }
            // Read again the last bytes of the previous look, in case the marker straddled it.
            let from = s.logOffset > 32 ? s.logOffset - 32 : 0
            guard (try? handle.seek(toOffset: from)) != nil, let data = try? handle.read(upToCount: 8 << 20), !data.isEmpty else { return false }
            s.logOffset = from + UInt64(data.count)
            guard let found = data.range(of: Data("Program crashed".utf8)) else { return false }
            let line = String(decoding: data[found.lowerBound...].prefix(200), as: UTF8.self).split(separator: "\n").first.map(String.init)
            s.crashRecorded = true
            s.crashes.append(Crash(second: second, status: nil, cause: line ?? "Program crashed",
                                   logTail: String(decoding: data[found.lowerBound...].prefix(600), as: UTF8.self)))
            return true
        }
    }

    /// Kills the process (the RSS guard); the kill is recorded as a crash with `cause`.
    func kill(at second: Double, cause: String) {
        let pid = self.pid
        _ = Glibc.kill(pid, SIGKILL)
        for _ in 0..<100 {
            if checkExit(at: second, cause: cause) { return }
            usleep(20_000)
        }
    }

    /// Starts the gateway again in the same folder with the same configuration.
    func restart() throws {
        try state.withLock { s in
            s.generation += 1
            let executable = Bundle.main.executablePath ?? CommandLine.arguments[0]
            s.process = try Spawned.start([executable, "serve", "--config", "causeway.yaml"], in: work,
                                          output: work.appendingPathComponent("serve-\(s.generation).log"),
                                          errors: work.appendingPathComponent("serve-\(s.generation).err"))
            s.exited = false
            s.logOffset = 0
            s.crashRecorded = false
        }
    }

    /// SIGTERM, then SIGKILL if it is still there after 30 s.
    func stop() {
        let (pid, exited) = state.withLock { ($0.process.pid, $0.exited) }
        guard !exited else { return }
        _ = Glibc.kill(pid, SIGTERM)
        var status: Int32 = 0
        for _ in 0..<300 {
            if waitpid(pid, &status, WNOHANG) == pid { return }
            usleep(100_000)
        }
        _ = Glibc.kill(pid, SIGKILL)
        _ = waitpid(pid, &status, 0)
    }

    /// Resident set size in KiB (`VmRSS` of `/proc/PID/status`).
    static func rssKiB(of pid: pid_t) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        else { return nil }
        return Int(line.dropFirst(6).trimmingCharacters(in: .whitespaces).split(separator: " ").first ?? "")
    }
}

// MARK: - Tallies

/// What one kind of hostile request got back: answers by status code or by what happened instead.
struct HostileKind: Sendable {
    var sent = 0
    var outcomes: [String: Int] = [:]
    /// The largest answer body, in bytes.
    var largestAnswer = 0
    /// Seconds until the server closed a slow connection.
    var closedAfter: [Double] = []
}

final class SoakTally: Sendable {
    let hostile = Locked<[String: HostileKind]>([:])
    /// Valid agreements: milliseconds from the scheduled send to the answer, of the accepted ones.
    let latencies = Locked<[Double]>([])
    /// Valid agreements by answer (status code, or what happened instead).
    let validOutcomes = Locked<[String: Int]>([:])
    /// RSS samples: second of the run, KiB, generation of the process.
    let rss = Locked<[(second: Double, kib: Int, generation: Int)]>([])
    let cpuSeconds = Locked<Double>(0)

    func sent(_ kind: String) {
        hostile.withLock { $0[kind, default: HostileKind()].sent += 1 }
    }

    func record(_ kind: String, _ outcome: String, answerBytes: Int = 0, closedAfter: Double? = nil, sent: Bool = true) {
        hostile.withLock { all in
            var entry = all[kind] ?? HostileKind()
            if sent { entry.sent += 1 }
            entry.outcomes[outcome, default: 0] += 1
            entry.largestAnswer = max(entry.largestAnswer, answerBytes)
            if let closedAfter { entry.closedAfter.append(closedAfter) }
            all[kind] = entry
        }
    }
}

// MARK: - The run

struct SoakRun: Sendable {
    let port: Int
    let base: String
    let duration: Double
    let rate: Int
    let payloads: SoakPayloads
    let gateway: SoakGateway
    let rssLimitKiB: Int
    let slowClients: Int
    let warmUp: Double
    let tally = SoakTally()
    let start = ContinuousClock.now

    /// Valid requests in flight at most; beyond it an agreement is not sent (and counted).
    static let maxValidInFlight = 2000
    static let maxRestarts = 10

    var elapsed: Double { (ContinuousClock.now - start).seconds }
    var end: ContinuousClock.Instant { start + .seconds(duration) }

    func run(valid: [[UInt8]], validClient: HTTPClient, hostileClient: HTTPClient) async -> SoakReport {
        await withDiscardingTaskGroup { group in
            group.addTask { await offer(valid, client: validClient) }
            group.addTask { await hostileRequests(client: hostileClient) }
            group.addTask { await sample(client: validClient) }
            group.addTask { await onThread("soak-slow") { SlowClients(soak: self).run() } }
            group.addTask { await onThread("soak-oversized") { oversized() } }
        }
        // A crash in the last seconds.
        _ = gateway.checkLog(at: elapsed)
        _ = gateway.checkExit(at: elapsed)
        return SoakReport(duration: duration, rate: rate, tally: tally, crashes: gateway.crashes, slowClients: slowClients, warmUp: warmUp)
    }

    /// Runs blocking socket work on a thread of its own, off the cooperative pool.
    func onThread(_ name: String, _ body: @escaping @Sendable () -> Void) async {
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            let thread = Thread {
                body()
                done.resume()
            }
            thread.name = name
            thread.start()
        }
    }

    // MARK: Valid load

    /// Open loop: agreement i is sent at start + i/rate whatever happened to the others.
    func offer(_ documents: [[UInt8]], client: HTTPClient) async {
        let clock = ContinuousClock()
        let inFlight = Locked(0)
        await withDiscardingTaskGroup { group in
            for (index, document) in documents.enumerated() {
                let at = start + .seconds(Double(index) / Double(rate))
                guard at < end else { break }
                try? await clock.sleep(until: at)
                guard inFlight.withLock({ count in
                    guard count < Self.maxValidInFlight else { return false }
                    count += 1
                    return true
                }) else {
                    tally.validOutcomes.withLock { $0["not sent (\(Self.maxValidInFlight) in flight)", default: 0] += 1 }
                    continue
                }
                group.addTask {
                    let (outcome, _) = await Self.send(client, base + "/v1/agreements", body: document, timeout: .seconds(30))
                    let milliseconds = (ContinuousClock.now - at).seconds * 1000
                    inFlight.withLock { $0 -= 1 }
                    tally.validOutcomes.withLock { $0[outcome, default: 0] += 1 }
                    if outcome == "202" || outcome == "200" { tally.latencies.withLock { $0.append(milliseconds) } }
                }
            }
        }
    }

    /// Sends one request; its status code (or what happened instead) and the answer's size.
    static func send(_ client: HTTPClient, _ url: String, method: HTTPMethod = .POST, body: [UInt8]? = nil,
                     headers: [(String, String)] = [], timeout: TimeAmount) async -> (String, Int) {
        var request = HTTPClientRequest(url: url)
        request.method = method
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        do {
            let response = try await client.execute(request, timeout: timeout)
            var size = 0
            var start: [UInt8] = []
            for try await chunk in response.body {
                size += chunk.readableBytes
                if start.count < 4096 { start += chunk.readableBytesView.prefix(4096 - start.count) }
            }
            // A refusal says which: `503 server.busy` and `503 store.unavailable` are different stories.
            let code = response.status.code >= 400 ? (try? JSONReader().read(start))?["code"]?.stringValue : nil
            return (code.map { "\(response.status.code) \($0)" } ?? String(response.status.code), size)
        } catch let error as HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout: return ("timeout (\(timeout.nanoseconds / 1_000_000_000) s)", 0)
            case .remoteConnectionClosed: return ("closed without answer", 0)
            case .connectTimeout: return ("connect timeout", 0)
            default: return ("client error: \(error)", 0)
            }
        } catch {
            let text = "\(error)"
            if text.contains("connectionRefused") || text.contains("Connection refused") { return ("connection refused", 0) }
            if text.contains("reset") { return ("connection reset", 0) }
            return ("error: \(text.prefix(80))", 0)
        }
    }

    // MARK: Hostile requests over HTTP

    /// Ten ticks a second: malformed JSON and bad tokens 5/s each, duplicate keys 2/s, and an
    /// amplification attempt every 3 s when the previous one has been answered.
    func hostileRequests(client: HTTPClient) async {
        let clock = ContinuousClock()
        let inFlight = Locked(0)
        let amplifying = Locked(false)
        let amplifications = [("amplification: many proofs", payloads.manyProofs),
                              ("amplification: previousProof duplicates", payloads.previousProofs),
                              ("amplification: many delegations", payloads.manyDelegations)]
        var tokenNumber = 0
        await withDiscardingTaskGroup { group in
            var tick = 0
            while true {
                let at = start + .milliseconds(100 * tick + 50)
                guard at < end else { break }
                try? await clock.sleep(until: at)
                var jobs: [(kind: String, method: HTTPMethod, path: String, body: [UInt8]?, headers: [(String, String)])] = []
                if tick % 2 == 0 {
                    jobs.append(("malformed JSON", .POST, "/v1/agreements", payloads.malformed[(tick / 2) % payloads.malformed.count], []))
                } else {
                    tokenNumber += 1
                    let token: String
                    switch tokenNumber % 3 {
                    case 0: token = "Bearer " + String(repeating: "x", count: 10_000)
                    case 1: token = "bearer " + UUID().uuidString
                    default: token = "Bearer " + UUID().uuidString + UUID().uuidString
                    }
                    jobs.append(("bad token (GET /v1/agreements)", .GET, "/v1/agreements?limit=5", nil, [("Authorization", token)]))
                }
                if tick % 5 == 2 { jobs.append(("duplicate keys", .POST, "/v1/agreements", payloads.duplicateKeys, [])) }
                for job in jobs {
                    guard inFlight.withLock({ count in
                        guard count < 32 else { return false }
                        count += 1
                        return true
                    }) else {
                        tally.record(job.kind, "not sent (32 in flight)", sent: false)
                        continue
                    }
                    group.addTask {
                        let (outcome, size) = await Self.send(client, base + job.path, method: job.method, body: job.body, headers: job.headers,
                                                              timeout: .seconds(10))
                        inFlight.withLock { $0 -= 1 }
                        tally.record(job.kind, outcome, answerBytes: size)
                    }
                }
                if tick % 30 == 15 {
                    let (kind, body) = amplifications[(tick / 30) % amplifications.count]
                    if amplifying.withLock({ busy in
                        guard !busy else { return false }
                        busy = true
                        return true
                    }) {
                        group.addTask {
                            let (outcome, size) = await Self.send(client, base + "/v1/agreements", body: body, timeout: .seconds(30))
                            amplifying.withLock { $0 = false }
                            tally.record(kind, outcome, answerBytes: size)
                        }
                    } else {
                        tally.record(kind, "not sent (the previous attempt still runs)", sent: false)
                    }
                }
                tick += 1
            }
        }
    }

    // MARK: Sampling and crashes

    /// Every 2 s: has the gateway ended (then restart it), and its RSS and CPU.
    func sample(client: HTTPClient) async {
        let clock = ContinuousClock()
        var next = start
        var cpuBase = 0.0
        while true {
            next = next + .seconds(SoakBench.sampleEvery)
            guard next < end else { break }
            try? await clock.sleep(until: next)
            let second = elapsed
            if gateway.checkLog(at: second) {
                FileHandle.standardError.write(Data("bench: the gateway crashed at \(Int(second)) s (its log has a crash report)\n".utf8))
            }
            _ = gateway.checkExit(at: second)
            if gateway.hasExited {
                cpuBase = tally.cpuSeconds.withLock { $0 }
                guard gateway.crashes.count <= Self.maxRestarts, second < duration - 10 else { continue }
                FileHandle.standardError.write(Data("bench: the gateway ended at \(Int(second)) s; restarting it\n".utf8))
                do {
                    try gateway.restart()
                    try await GatewayBench.waitUntilReady(client, base)
                } catch {
                    FileHandle.standardError.write(Data("bench: the restart failed: \(error)\n".utf8))
                }
                continue
            }
            let pid = gateway.pid
            guard let kib = SoakGateway.rssKiB(of: pid) else { continue }
            let generation = gateway.generation
            tally.rss.withLock { $0.append((second, kib, generation)) }
            let cpu = GatewayBench.cpuSeconds(of: pid)
            tally.cpuSeconds.withLock { $0 = cpuBase + cpu }
            if kib > rssLimitKiB {
                gateway.kill(at: second, cause: "killed by the bench: RSS \(kib / 1024) MiB over --rss-limit-mib \(rssLimitKiB / 1024)")
            }
        }
    }

    // MARK: Oversized bodies

    /// Every 2.5 s a body 64 KiB over the limit, written whole before the answer is read, in turn
    /// with and without `Connection: close`.
    func oversized() {
        let size = SoakBench.maxBytes + 64 * 1024
        let body = [UInt8](repeating: UInt8(ascii: " "), count: size - 2) + Array("{}".utf8)
        var turn = 0
        while true {
            let at = start + .milliseconds(2500 * turn + 1000)
            guard at < end else { return }
            let wait = (at - ContinuousClock.now).seconds
            if wait > 0 { usleep(UInt32(wait * 1e6)) }
            let close = turn % 2 == 1
            turn += 1
            let kind = close ? "oversized, Connection: close" : "oversized, keep-alive"
            let head = "POST /v1/agreements HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(size)\r\n"
                + (close ? "Connection: close\r\n" : "") + "\r\n"
            let socket: LoopbackSocket
            do {
                socket = try LoopbackSocket(port: port, timeout: 10)
            } catch {
                tally.record(kind, error.description)
                continue
            }
            defer { socket.close() }
            let wrote = socket.send(Array(head.utf8) + body)
            let (answer, ending) = socket.receiveHead(limit: 16_384)
            var outcome = answer.flatMap(LoopbackSocket.status(of:)).map(String.init) ?? ending.description
            if !wrote { outcome += " (body write cut off)" }
            tally.record(kind, outcome, answerBytes: answer?.count ?? 0)
        }
    }
}

// MARK: - Slow clients

/// Up to `slowClients` connections held at once, in turn: request headers sent a byte every
/// 500 ms, a body announced as 100,000 bytes of which 100 are sent, or nothing at all. Each is
/// held until the server closes it or for 60 s; one poll loop on one thread serves them all.
struct SlowClients {
    enum Kind: Int, CaseIterable {
        case slowHeaders, unfinishedBody, idle
        var name: String {
            switch self {
            case .slowHeaders: "slow client: headers byte by byte"
            case .unfinishedBody: "slow client: body never finished"
            case .idle: "slow client: idle connection"
            }
        }
    }

    struct Connection {
        let socket: LoopbackSocket
        let kind: Kind
        let opened: ContinuousClock.Instant
        var pending: [UInt8]
        var nextByte: ContinuousClock.Instant
        var received: [UInt8] = []
    }

    let soak: SoakRun
    static let hold = 60.0
    static let headers = Array("POST /v1/agreements HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}".utf8)

    func run() {
        guard soak.slowClients > 0 else { return }
        var open: [Connection] = []
        var turn = 0
        while ContinuousClock.now < soak.end {
            // Top the pool up, at most 20 new connections per round (about 400/s).
            for _ in 0..<min(20, soak.slowClients - open.count) {
                let kind = Kind.allCases[turn % Kind.allCases.count]
                turn += 1
                do {
                    let socket = try LoopbackSocket(port: soak.port, timeout: 2)
                    socket.setNonBlocking()
                    var connection = Connection(socket: socket, kind: kind, opened: .now, pending: [], nextByte: .now)
                    switch kind {
                    case .slowHeaders: connection.pending = Self.headers
                    case .unfinishedBody:
                        _ = socket.send(Array("POST /v1/agreements HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n".utf8)
                                        + [UInt8](repeating: UInt8(ascii: " "), count: 100))
                    case .idle: break
                    }
                    soak.tally.sent(kind.name)
                    open.append(connection)
                } catch {
                    soak.tally.record(kind.name, error.description, sent: true)
                }
            }
            var polls = open.map { pollfd(fd: $0.socket.fd, events: Int16(POLLIN), revents: 0) }
            _ = poll(&polls, nfds_t(polls.count), 50)
            var keep: [Connection] = []
            let now = ContinuousClock.now
            for (index, original) in open.enumerated() {
                var connection = original
                let age = (now - connection.opened).seconds
                var ended: String?
                if polls[index].revents != 0 {
                    switch connection.socket.receiveAvailable(into: &connection.received) {
                    case .closed, .reset:
                        let status = LoopbackSocket.status(of: connection.received).map { "answered \($0), then closed by the server" }
                        ended = status ?? "closed by the server without an answer"
                    case .open: break
                    }
                }
                if ended == nil, !connection.pending.isEmpty, now >= connection.nextByte {
                    if connection.socket.send([connection.pending.removeFirst()]) {
                        connection.nextByte = now + .milliseconds(500)
                    } else {
                        ended = LoopbackSocket.status(of: connection.received).map { "answered \($0), then closed by the server" }
                            ?? "closed by the server without an answer"
                    }
                }
                if ended == nil, age >= Self.hold {
                    ended = LoopbackSocket.status(of: connection.received).map { "answered \($0), still open at \(Int(Self.hold)) s (closed by us)" }
                        ?? "still open at \(Int(Self.hold)) s (closed by us)"
                }
                if let ended {
                    connection.socket.close()
                    let closedByServer = ended.hasSuffix("closed by the server") || ended.hasSuffix("without an answer")
                    soak.tally.record(connection.kind.name, ended, closedAfter: closedByServer ? age : nil, sent: false)
                } else {
                    keep.append(connection)
                }
            }
            open = keep
        }
        for connection in open {
            connection.socket.close()
            soak.tally.record(connection.kind.name, "open at the end of the run", sent: false)
        }
    }
}

// MARK: - Loopback sockets

/// A blocking TCP connection to 127.0.0.1, for clients that misbehave on purpose (the soak
/// benchmark's slow and oversized clients, the intake fuzz test). `timeout` bounds the connect,
/// each send and each receive.
struct LoopbackSocket: Sendable {
    let fd: Int32

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// How a receive or a read of a response ended.
    enum Ending: Sendable, CustomStringConvertible {
        case complete, closed, reset, timeout, limit
        var description: String {
            switch self {
            case .complete: "answered"
            case .closed: "closed without answer"
            case .reset: "connection reset"
            case .timeout: "no answer (read timeout)"
            case .limit: "answer too long"
            }
        }
    }

    init(port: Int, timeout: Double) throws(Failure) {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket failed: \(String(cString: strerror(errno)))") }
        setTimeout(timeout)
        let fd = fd
        let connected = Loopback.withAddress(port: port) { Glibc.connect(fd, $0, $1) }
        guard connected == 0 else {
            let problem = errno == ECONNREFUSED ? "connection refused" : errno == EINPROGRESS || errno == EAGAIN ? "connect timeout"
                : "connect failed: \(String(cString: strerror(errno)))"
            Glibc.close(fd)
            throw Failure(description: problem)
        }
    }

    /// Bounds each later send and receive (and the connect) to `seconds`.
    func setTimeout(_ seconds: Double) {
        var time = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - seconds.rounded(.down)) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
    }

    func setNonBlocking() {
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    }

    /// Writes all of `bytes`; false when the peer closed or the send timed out.
    func send(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { return false }
            offset += written
        }
        return true
    }

    /// No more bytes from us; the peer reads end of file.
    func shutdownWrite() { _ = shutdown(fd, Int32(SHUT_WR)) }

    func close() { _ = Glibc.close(fd) }

    enum State { case open, closed, reset }

    /// Reads what is there without waiting (a non-blocking socket), keeping the first 4 KiB.
    func receiveAvailable(into received: inout [UInt8]) -> State {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if count > 0 {
                if received.count < 4096 { received += buffer.prefix(min(count, 4096 - received.count)) }
                continue
            }
            if count == 0 { return .closed }
            if errno == EINTR { continue }
            return errno == EAGAIN || errno == EWOULDBLOCK ? .open : .reset
        }
    }

    /// Reads until `isComplete` holds for what arrived, the peer closes, a receive times out, or
    /// `limit` bytes came. What arrived (nil when nothing did) and how it ended.
    func receive(limit: Int, until isComplete: ([UInt8]) -> Bool) -> ([UInt8]?, Ending) {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16_384)
        while true {
            if isComplete(received) { return (received, .complete) }
            if received.count >= limit { return (received, .limit) }
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if count > 0 {
                received += buffer.prefix(count)
                continue
            }
            if count < 0 && errno == EINTR { continue }
            let ending: Ending = count == 0 ? .closed : (errno == EAGAIN || errno == EWOULDBLOCK) ? .timeout : .reset
            return (received.isEmpty ? nil : received, ending)
        }
    }

    /// Reads a response's status line and headers (up to the blank line).
    func receiveHead(limit: Int) -> ([UInt8]?, Ending) {
        receive(limit: limit) { Self.headEnd(in: $0) != nil }
    }

    /// The index just past `\r\n\r\n`, if the bytes hold one.
    static func headEnd(in bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for index in 3..<bytes.count where bytes[index] == 10 && bytes[index - 1] == 13 && bytes[index - 2] == 10 && bytes[index - 3] == 13 {
            return index + 1
        }
        return nil
    }

    /// The status code of an `HTTP/1.x NNN` status line at the start of `bytes`.
    static func status(of bytes: [UInt8]) -> Int? {
        let prefix = Array("HTTP/1.".utf8)
        guard bytes.count >= 12, Array(bytes[0..<7]) == prefix, bytes[8] == UInt8(ascii: " ") else { return nil }
        let digits = bytes[9..<12]
        guard digits.allSatisfy({ (48...57).contains($0) }), bytes.count == 12 || bytes[12] == UInt8(ascii: " ") || bytes[12] == 13 else { return nil }
        return Int(String(decoding: digits, as: UTF8.self))
    }
}

// MARK: - Report

struct SoakReport: Sendable {
    let duration: Double
    let rate: Int
    let hostile: [String: HostileKind]
    let latencies: [Double]
    let validOutcomes: [String: Int]
    let rss: [(second: Double, kib: Int, generation: Int)]
    let cpuSeconds: Double
    let crashes: [SoakGateway.Crash]
    let slowClients: Int
    /// Seconds before the first RSS window.
    let warmUp: Double

    init(duration: Double, rate: Int, tally: SoakTally, crashes: [SoakGateway.Crash], slowClients: Int, warmUp: Double) {
        self.warmUp = warmUp
        self.duration = duration
        self.rate = rate
        hostile = tally.hostile.withLock { $0 }
        latencies = tally.latencies.withLock { $0 }.sorted()
        validOutcomes = tally.validOutcomes.withLock { $0 }
        rss = tally.rss.withLock { $0 }
        cpuSeconds = tally.cpuSeconds.withLock { $0 }
        self.crashes = crashes
        self.slowClients = slowClients
    }

    /// After warm-up, the first and the last window of up to a minute each, not overlapping.
    var window: Double { min(60, (duration - warmUp) / 2) }

    static func median(_ values: [Int]) -> Double? {
        values.isEmpty ? nil : GatewayBench.median(values.map(Double.init))
    }

    /// Median RSS (KiB) of the first window after warm-up and of the last window; nil after a restart.
    var rssWindows: (first: Double, last: Double)? {
        guard crashes.isEmpty else { return nil }
        let first = Self.median(rss.filter { $0.second >= warmUp && $0.second < warmUp + window }.map(\.kib))
        let last = Self.median(rss.filter { $0.second >= duration - window }.map(\.kib))
        guard let first, let last, first > 0 else { return nil }
        return (first, last)
    }

    var rssGrowth: Double? { rssWindows.map { ($0.last - $0.first) / $0.first * 100 } }

    /// Valid agreements sent (or due to be) and the accepted among them.
    var validOffered: Int { validOutcomes.values.reduce(0, +) }
    var validAccepted: Int { latencies.count }

    /// Percentile of the valid agreements' latency, every one not accepted counting as infinitely slow.
    func validPercentile(_ p: Double) -> Double {
        let all = latencies + Array(repeating: Double.infinity, count: validOffered - validAccepted)
        return GatewayBench.percentile(all, p)
    }

    var rssFlat: Bool { (rssGrowth ?? .infinity) <= 10 }
    var noCrash: Bool { crashes.isEmpty }
    var latencyMet: Bool { rate >= 100 && validPercentile(0.99) < 100 }
    var goalMet: Bool { rssFlat && noCrash && latencyMet }

    static func mib(_ kib: Double) -> String { String(format: "%.1f MiB", kib / 1024) }
    static func ms(_ value: Double) -> String {
        value.isNaN ? "—" : value.isFinite ? String(format: "%.1f ms", value) : "∞ (not accepted)"
    }
    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }
    static func outcomes(_ counts: [String: Int]) -> String {
        counts.sorted { $0.value > $1.value || ($0.value == $1.value && $0.key < $1.key) }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", ")
    }

    func table(title: String) -> String {
        var lines = [title]
        let first = rss.first.map { Self.mib(Double($0.kib)) } ?? "—"
        let last = rss.last.map { Self.mib(Double($0.kib)) } ?? "—"
        let peak = rss.map(\.kib).max().map { Self.mib(Double($0)) } ?? "—"
        lines.append("gateway  crashes \(crashes.count)  ·  RSS first \(first), max \(peak), last \(last) (\(rss.count) samples every "
                     + "\(Int(SoakBench.sampleEvery)) s)  ·  CPU \(String(format: "%.0f", cpuSeconds / duration * 100)) % of one core")
        if let windows = rssWindows, let growth = rssGrowth {
            lines.append("         RSS median \(Self.mib(windows.first)) in \(Int(warmUp))–\(Int(warmUp + window)) s, \(Self.mib(windows.last)) in "
                         + "\(Int(duration - window))–\(Int(duration)) s: \(String(format: "%+.1f", growth)) %")
        }
        for crash in crashes {
            lines.append("         crash at \(Int(crash.second)) s: \(crash.cause), "
                         + (crash.status.map { "exit status \($0)" } ?? "still writing its crash report at the end")
                         + "; log: " + crash.logTail.split(separator: "\n").prefix(4).joined(separator: " | "))
        }
        lines.append("valid    \(validOffered) offered at \(rate)/s, \(validAccepted) accepted  ·  p50 \(Self.ms(validPercentile(0.5)))  ·  "
                     + "p99 \(Self.ms(validPercentile(0.99)))  ·  max \(Self.ms(latencies.last ?? .nan))")
        lines.append("         answers: \(Self.outcomes(validOutcomes))")
        lines.append("hostile  (kind: sent; answers)")
        for (kind, entry) in hostile.sorted(by: { $0.key < $1.key }) {
            var detail = "\(Self.pad(kind, 42)) \(String(format: "%6d", entry.sent)); \(Self.outcomes(entry.outcomes))"
            if entry.largestAnswer > 64 * 1024 { detail += "; largest answer \(entry.largestAnswer / 1024) KiB" }
            if !entry.closedAfter.isEmpty {
                let sorted = entry.closedAfter.sorted()
                detail += String(format: "; server closed after p50 %.1f s", GatewayBench.percentile(sorted, 0.5))
            }
            lines.append("  " + detail)
        }
        lines.append("verdict")
        lines.append("  RSS flat within 10 %           \(rssFlat ? "PASS" : "FAIL")  (\(rssGrowth.map { String(format: "%+.1f %%", $0) } ?? "not measurable: \(crashes.isEmpty ? "too few samples" : "the gateway crashed")"))")
        lines.append("  zero crashes                   \(noCrash ? "PASS" : "FAIL")  (\(crashes.count))")
        lines.append("  valid p99 < 100 ms at 100/s    \(latencyMet ? "PASS" : "FAIL")  (p99 \(Self.ms(validPercentile(0.99)))\(rate < 100 ? ", but offered only \(rate)/s" : ""))")
        lines.append(goalMet ? "  → goal met" : "  → goal NOT met")
        return lines.joined(separator: "\n")
    }

    func json(build: String, store: String) -> JSONValue {
        func number(_ value: Double?) -> JSONValue { value.flatMap { $0.isFinite ? JSONValue.number(($0 * 10).rounded() / 10) : nil } ?? .null }
        var kinds = JSONObject()
        for (kind, entry) in hostile {
            var outcomes = JSONObject()
            for (outcome, count) in entry.outcomes { outcomes[outcome] = .number(Double(count)) }
            kinds[kind] = ["sent": .number(Double(entry.sent)), "answers": .object(outcomes), "largest_answer_bytes": .number(Double(entry.largestAnswer))]
        }
        var valid = JSONObject()
        for (outcome, count) in validOutcomes { valid[outcome] = .number(Double(count)) }
        return [
            "benchmark": "soak", "build": .string(build), "store": .string(store), "minutes": .number(duration / 60),
            "rate": .number(Double(rate)), "slow_clients": .number(Double(slowClients)), "warm_up_seconds": number(warmUp),
            "crashes": .array(crashes.map { ["second": number($0.second), "status": $0.status.map { .number(Double($0)) } ?? .null,
                                             "cause": .string($0.cause)] }),
            "rss_first_mib": number(rss.first.map { Double($0.kib) / 1024 }), "rss_max_mib": number(rss.map(\.kib).max().map { Double($0) / 1024 }),
            "rss_last_mib": number(rss.last.map { Double($0.kib) / 1024 }),
            "rss_first_window_median_mib": number(rssWindows.map { $0.first / 1024 }),
            "rss_last_window_median_mib": number(rssWindows.map { $0.last / 1024 }), "rss_growth_percent": number(rssGrowth),
            "rss_samples": .array(rss.map { [number($0.second), number(Double($0.kib) / 1024), .number(Double($0.generation))] }),
            "gateway_cpu_percent": number(cpuSeconds / duration * 100),
            "valid_offered": .number(Double(validOffered)), "valid_accepted": .number(Double(validAccepted)), "valid_answers": .object(valid),
            "valid_p50_ms": number(validPercentile(0.5)), "valid_p99_ms": number(validPercentile(0.99)), "valid_max_ms": number(latencies.last),
            "hostile": .object(kinds),
            "goal": ["rss_flat": .bool(rssFlat), "no_crash": .bool(noCrash), "p99_under_100ms": .bool(latencyMet), "met": .bool(goalMet)],
        ]
    }
}
