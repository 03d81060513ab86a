import ArgumentParser
import AsyncHTTPClient
import CausewayCore
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// The gateway end to end over HTTP against the Python peer, in one run on one PostgreSQL.
///
/// Both sides do the same work for the same generated stahlteile agreements: verify the proofs,
/// write the purchase order and its lines into the staging schema with a provenance record, one
/// transaction per agreement. The gateway additionally stores every agreement durably before
/// answering, runs the mapping, keeps the outbox and attempts, and issues a signed receipt into
/// the hash-chained ledger — its figures are "submit to receipt". `--receipts-peer` adds a second
/// baseline that keeps those promises too, written by hand (decision 29).
struct GatewayBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gateway",
        abstract: "Agreements/s and submit→receipt latency of a real `causeway serve`, against ../shared/bench/peer.py.",
        discussion: """
            Needs a PostgreSQL it may create databases on (--postgres), psql, and a Python with pynacl, jcs \
            and psycopg for the generator and the peer (--python); sqlite3 for --store sqlite. Run from the \
            repository root, built with -c release: swift run -c release causeway bench gateway. Phase 1 \
            sends --count agreements as fast as --concurrency clients allow and reports sustained \
            agreements/s (first submit to last receipt), the gateway's CPU per agreement and, on PostgreSQL, \
            the store's and the ERP's transactions and the store's rows written per agreement; the peer \
            processes the same agreements with --peer-workers processes on PostgreSQL; the ratio is \
            gateway/peer. Phase 2 offers each of --rates agreements/s, then 80 % of the measured maximum, \
            for --seconds each (open loop: sends on schedule whatever the answers) and reports p50/p99 from \
            the scheduled send to the receipt's issue time. With --rounds N, phase 1 alternates the peer \
            and the gateway N times on fresh agreements and reports medians with their ranges: on a \
            shared machine, one round's ratio can be off by a tenth. With --receipts-peer, each round also \
            runs scripts/bench/peer-with-receipts.py (peer.py plus the agreement stored and a signed receipt \
            in a hash-chained ledger, one transaction per agreement) and reports the gateway's ratio to it.
            """)

    @Option(help: "A PostgreSQL URL with the right to create databases.")
    var postgres: String = ProcessInfo.processInfo.environment["CAUSEWAY_BENCH_POSTGRES"]
        ?? ProcessInfo.processInfo.environment["CAUSEWAY_TEST_POSTGRES"] ?? "postgresql://causeway@127.0.0.1:54329/postgres"

    @Option(help: "Agreements in the throughput phase.")
    var count: Int = 3000

    @Option(help: "Clients sending at once in the throughput phase.")
    var concurrency: Int = 32

    @Option(help: "Agreements per second offered in the latency phase, comma-separated; 80 % of the measured maximum is always added.")
    var rates: String = "100,200,500"

    @Option(help: "Seconds of each latency run.")
    var seconds: Int = 10

    @Option(help: "The gateway's store: postgresql (a database on --postgres, the ERP staging schema there too) or sqlite (a file, delivering into the SQLite twin of the staging schema).")
    var store: BenchStore = .postgresql

    @Option(help: "The SQLite twin of the staging schema (for --store sqlite).")
    var sqliteSchema: String = "Deploy/examples/erp-staging.sqlite.sql"

    @Option(help: "Worker processes of the Python peer (the machine's cores is fair).")
    var peerWorkers: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Deliveries of one partner in flight at once in the gateway.")
    var partnerConcurrency: Int = 16

    @Option(help: "Python with pynacl, jcs and psycopg.")
    var python: String = ProcessInfo.processInfo.environment["CAUSEWAY_PYTHON"] ?? "python3"

    @Option(help: "The folder with gen_agreements.py, peer.py and staging.sql.")
    var benchFolder: String = "../shared/bench"

    @Option(help: "The stahlteile mapping folder.")
    var mapping: String = "Mappings/stahlteile"

    @Option(help: "Throughput rounds: the peer and the gateway take turns this many times, each round on agreements of its own; the figures reported are the rounds' medians, with their ranges.")
    var rounds: Int = 1

    @Flag(help: "Also run scripts/bench/peer-with-receipts.py in each round: peer.py with the gateway's guarantees added the straightforward way (the agreement stored, a signed receipt appended to a hash-chained ledger, one transaction per agreement), and report the gateway's ratio to it too.")
    var receiptsPeer = false

    @Flag(help: "Keep the work folder and databases.")
    var keep = false

    @Flag(help: "Print JSON.")
    var json = false

    enum BenchStore: String, ExpressibleByArgument, CaseIterable {
        case postgresql, sqlite
    }

    /// The offered rates of the latency phase, as given.
    var offeredRates: [Int] { rates.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }

    func validate() throws {
        if count < 1 || concurrency < 1 || seconds < 1 || peerWorkers < 1 || partnerConcurrency < 1 || rounds < 1 {
            throw ValidationError("--count, --concurrency, --seconds, --peer-workers, --partner-concurrency and --rounds must be positive")
        }
        let given = rates.split(separator: ",")
        if offeredRates.count != given.count || offeredRates.contains(where: { $0 < 1 }) {
            throw ValidationError("--rates: give positive whole numbers separated by commas, e.g. 100,200,500")
        }
    }

    func run() async throws {
        let work = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("causeway-bench-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        let bench = URL(fileURLWithPath: benchFolder)
        let staging = bench.appendingPathComponent("staging.sql").path
        let tag = UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(10)
        let databases = (store: "bench_store_\(tag)", erp: "bench_erp_\(tag)", peer: "bench_peer_\(tag)", receiptsPeer: "bench_rpeer_\(tag)")
        let database = { (name: String) in Self.replacingDatabase(in: postgres, with: name) }

        let total = count * rounds
        progress("generating \(total) signed agreements with \(bench.path)/gen_agreements.py")
        let generated = work.appendingPathComponent("throughput.jsonl")
        try Self.run(python, [bench.appendingPathComponent("gen_agreements.py").path, "--count", String(total), "--seed", "1",
                              "--out", generated.path])
        // Each round its own agreements: a second submission of one would only be answered as known.
        let allDocuments = try Self.lines(generated)
        guard allDocuments.count == total else { throw CLIError("the generator wrote \(allDocuments.count) agreements for \(total)") }
        let roundDocuments = (0..<rounds).map { Array(allDocuments[($0 * count)..<(($0 + 1) * count)]) }
        let roundFiles = try roundDocuments.enumerated().map { round, documents -> URL in
            let file = work.appendingPathComponent("throughput-\(round + 1).jsonl")
            try Data(documents.map { $0 + [UInt8(ascii: "\n")] }.joined()).write(to: file)
            return file
        }

        let created = (store == .postgresql ? [databases.store, databases.erp, databases.peer] : [databases.peer])
            + (receiptsPeer ? [databases.receiptsPeer] : [])
        for name in created { try Self.run("psql", [postgres, "-qc", "CREATE DATABASE \(name)"]) }
        defer {
            if !keep {
                for name in created { _ = try? Self.run("psql", [postgres, "-qc", "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"]) }
                try? FileManager.default.removeItem(at: work)
            }
        }
        for name in created where name != databases.store {
            try Self.run("psql", [database(name), "-qX", "-v", "ON_ERROR_STOP=1", "-f", staging])
        }

        // The peer first, alone on the machine; with more rounds, the peer and the gateway take
        // turns (the gateway idles, polling, during the peer's later rounds), so that both sides
        // of each round's ratio meet the same moment of a shared machine.
        typealias PeerRound = (rate: Double, machineCPU: Double, postgres: Double)
        var peerRounds: [PeerRound] = [], receiptsPeerRounds: [PeerRound] = []
        /// One round of a Python baseline on its own database: its rate, and the machine's and
        /// PostgreSQL's CPU per agreement while it ran. Each of `tables` must then hold a row for
        /// every agreement so far.
        func runBaseline(_ script: String, _ name: String, _ arguments: [String], on databaseName: String, round: Int,
                         tables: [String]) throws -> PeerRound {
            progress("\(name): \(count) agreements, \(peerWorkers) worker process(es)\(rounds > 1 ? ", round \(round + 1) of \(rounds)" : "")")
            let machineBefore = Self.machineBusySeconds(), postgresBefore = Self.postgresSeconds()
            let output = try Self.run(python, [script] + arguments + ["--dsn", database(databaseName),
                                                                      "--input", roundFiles[round].path, "--workers", String(peerWorkers)])
            // Its backends have exited with its processes: PostgreSQL's share is in the postmaster's reaped time.
            let machineCPU = (Self.machineBusySeconds() - machineBefore) / Double(count) * 1000
            let postgresCPU = (Self.postgresSeconds() - postgresBefore) / Double(count) * 1000
            guard let rate = Self.peerRate(output) else { throw CLIError("cannot read \(name)'s rate from: \(output)") }
            for table in tables {
                let rows = try Self.scalar(database(databaseName), "SELECT count(*) FROM \(table)")
                guard rows == String(count * (round + 1)) else {
                    throw CLIError("\(name) wrote \(rows) rows into \(table) for \(count * (round + 1)) agreements")
                }
            }
            return (rate, machineCPU, postgresCPU)
        }
        func runPeer(_ round: Int) throws {
            peerRounds.append(try runBaseline(bench.appendingPathComponent("peer.py").path, "peer.py", [], on: databases.peer,
                                              round: round, tables: ["erp_purchase_order"]))
            guard receiptsPeer else { return }
            receiptsPeerRounds.append(try runBaseline(
                "scripts/bench/peer-with-receipts.py", "peer-with-receipts.py", ["--bench-folder", bench.path],
                on: databases.receiptsPeer, round: round, tables: ["erp_purchase_order", "peer_ledger"]))
            // Its ledger is one unbroken chain: each entry links to the hash of the one before.
            let broken = try Self.scalar(database(databases.receiptsPeer), """
                SELECT count(*) FROM peer_ledger l LEFT JOIN peer_ledger p ON p.seq = l.seq - 1
                WHERE l.prev <> COALESCE(p.hash, repeat('0', 64))
                """)
            guard broken == "0" else { throw CLIError("peer-with-receipts.py left \(broken) broken links in its ledger") }
        }
        try runPeer(0)

        // The gateway: a real `causeway serve` on the chosen store, delivering into the staging schema.
        let side = try gatewaySide(in: work, databases: (databases.store, databases.erp))
        let server = try startGateway(in: work, store: side.store, target: side.target)
        defer {
            server.process.terminate()
            _ = server.process.wait()
        }
        let client = HTTPClient.shared
        try await Self.waitUntilReady(client, server.base)

        var gatewayRounds: [(rate: Double, intake: Double, cpu: Double, machine: Double, postgres: Double, clients: Double)] = []
        let workBefore = try side.work()
        for round in 0..<rounds {
            if round > 0 { try runPeer(round) }
            progress("gateway: \(count) agreements through \(concurrency) clients (\(store.rawValue) store)"
                + (rounds > 1 ? ", round \(round + 1) of \(rounds)" : ""))
            // The bench's own threads are its HTTP clients (its Python children are counted apart, when reaped).
            let cpuBefore = Self.cpuSeconds(of: server.process.pid), clientsBefore = Self.cpuSeconds(of: getpid())
            let machineBefore = Self.machineBusySeconds(), postgresBefore = Self.postgresSeconds()
            let started = ContinuousClock.now
            try await Self.submitAll(roundDocuments[round], concurrency: concurrency, client: client, base: server.base)
            let intakeElapsed = ContinuousClock.now - started
            try await Self.waitForReceipts(count * (round + 1), client: client, base: server.base, log: server.log)
            let elapsed = ContinuousClock.now - started
            gatewayRounds.append((rate: Double(count) / elapsed.seconds, intake: Double(count) / intakeElapsed.seconds,
                                  cpu: (Self.cpuSeconds(of: server.process.pid) - cpuBefore) / Double(count) * 1000,
                                  machine: (Self.machineBusySeconds() - machineBefore) / Double(count) * 1000,
                                  postgres: (Self.postgresSeconds() - postgresBefore) / Double(count) * 1000,
                                  clients: (Self.cpuSeconds(of: getpid()) - clientsBefore) / Double(count) * 1000))
        }
        // PostgreSQL publishes a busy backend's counts at most once a second and an idle one's within
        // 10 s (PGSTAT_IDLE_INTERVAL): the ERP's connections go idle after the phase, so the counts
        // are read 11 s later. The store's figure then includes the workers' idle polling of those
        // seconds (about 20 transactions a second: +0.04 per agreement at 6,000 agreements), and of
        // the peer's later rounds.
        if store == .postgresql { try await Task.sleep(for: .seconds(11)) }
        let workAfter = try side.work()
        let perAgreement = zip(workBefore, workAfter).map { before, after -> (transactions: Double, rows: Double, statements: Double?) in
            var statements: Double?
            if let first = before.statements, let last = after.statements { statements = Double(last - first) / Double(total) }
            return (Double(after.transactions - before.transactions) / Double(total), Double(after.rows - before.rows) / Double(total), statements)
        }
        let erpRows = try side.erpRows()
        guard erpRows == String(total) else { throw CLIError("the gateway wrote \(erpRows) purchase orders for \(total) agreements") }
        // Each figure is the median of the rounds (the one round's value when there is one).
        let gatewayRate = Self.median(gatewayRounds.map(\.rate)), peerRate = Self.median(peerRounds.map(\.rate))
        let intakeRate = Self.median(gatewayRounds.map(\.intake)), cpuPerAgreement = Self.median(gatewayRounds.map(\.cpu))
        let gatewayCPU = (machine: Self.median(gatewayRounds.map(\.machine)), postgres: Self.median(gatewayRounds.map(\.postgres)),
                          clients: Self.median(gatewayRounds.map(\.clients)))
        let peerMachineCPU = Self.median(peerRounds.map(\.machineCPU)), peerPostgresCPU = Self.median(peerRounds.map(\.postgres))
        let roundRatios = zip(gatewayRounds, peerRounds).map { $0.rate / $1.rate }
        // Against the peer with receipts (empty without --receipts-peer).
        let receiptsRatios = zip(gatewayRounds, receiptsPeerRounds).map { $0.rate / $1.rate }
        let receiptsBaseline = receiptsPeerRounds.isEmpty ? nil : (
            rate: Self.median(receiptsPeerRounds.map(\.rate)), ratio: Self.median(receiptsRatios),
            machineCPU: Self.median(receiptsPeerRounds.map(\.machineCPU)), postgres: Self.median(receiptsPeerRounds.map(\.postgres)))

        // Open-loop latency at each offered rate, and at 80 % of the maximum just measured.
        var latency: [(rate: Int, p50: Double, p99: Double, samples: Int)] = []
        var issuedSoFar = total
        for (index, rate) in (offeredRates + [max(1, Int(gatewayRate * 0.8))]).enumerated() {
            let file = work.appendingPathComponent("latency-\(index).jsonl")
            try Self.run(python, [bench.appendingPathComponent("gen_agreements.py").path, "--count", String(rate * seconds),
                                  "--seed", String(2 + index), "--out", file.path, "--keys", work.path])
            progress("gateway: \(rate) agreements/s offered for \(seconds) s")
            let documents = try Self.lines(file)
            let sent = try await Self.offer(documents, rate: rate, client: client, base: server.base)
            issuedSoFar += documents.count
            try await Self.waitForReceipts(issuedSoFar, client: client, base: server.base, log: server.log)
            let issued = try side.receiptTimes()
            var latencies: [Double] = []
            for (digest, sentAt) in sent {
                guard let at = issued[digest] else { throw CLIError("no receipt for \(digest)") }
                latencies.append((at - sentAt) * 1000)
            }
            latencies.sort()
            latency.append((rate, Self.percentile(latencies, 0.50), Self.percentile(latencies, 0.99), latencies.count))
        }
        let ratio = Self.median(roundRatios)
        let rounded = { (value: Double, places: Double) -> JSONValue in .number((value * places).rounded() / places) }
        let receiptsJSON = { (rate: Double, ratio: Double, machineCPU: Double, postgres: Double) -> JSONValue in
            ["per_second": rounded(rate, 1), "ratio": rounded(ratio, 100),
             "machine_cpu_ms_per_agreement": rounded(machineCPU, 100), "postgres_cpu_ms_per_agreement": rounded(postgres, 100)]
        }

        if json {
            var report: JSONObject = [
                "store": .string(store.rawValue), "agreements": .number(Double(count)), "round_count": .number(Double(rounds)), "gateway_per_second": rounded(gatewayRate, 1),
                "peer_per_second": rounded(peerRate, 1), "intake_per_second": rounded(intakeRate, 1),
                "gateway_cpu_ms_per_agreement": rounded(cpuPerAgreement, 100), "ratio": rounded(ratio, 100),
                "machine_cpu_ms_per_agreement": ["gateway_run": rounded(gatewayCPU.machine, 100), "peer_run": rounded(peerMachineCPU, 100)],
                "postgres_cpu_ms_per_agreement": rounded(gatewayCPU.postgres, 100),
                "bench_clients_cpu_ms_per_agreement": rounded(gatewayCPU.clients, 100),
                "peer_postgres_cpu_ms_per_agreement": rounded(peerPostgresCPU, 100),
                "rounds": .array(zip(gatewayRounds, peerRounds).enumerated().map { index, pair in
                    let (gateway, peer) = pair
                    var round: JSONObject = [
                        "gateway_per_second": rounded(gateway.rate, 1), "peer_per_second": rounded(peer.rate, 1),
                        "ratio": rounded(gateway.rate / peer.rate, 100), "intake_per_second": rounded(gateway.intake, 1),
                        "gateway_cpu_ms_per_agreement": rounded(gateway.cpu, 100),
                        "machine_cpu_ms_per_agreement": ["gateway_run": rounded(gateway.machine, 100), "peer_run": rounded(peer.machineCPU, 100)],
                        "postgres_cpu_ms_per_agreement": rounded(gateway.postgres, 100),
                        "bench_clients_cpu_ms_per_agreement": rounded(gateway.clients, 100),
                        "peer_postgres_cpu_ms_per_agreement": rounded(peer.postgres, 100),
                    ]
                    if index < receiptsPeerRounds.count {
                        let other = receiptsPeerRounds[index]
                        round["receipts_peer"] = receiptsJSON(other.rate, gateway.rate / other.rate, other.machineCPU, other.postgres)
                    }
                    return .object(round)
                }),
                "latency": .array(latency.map { run in
                    ["offered_per_second": .number(Double(run.rate)), "p50_ms": rounded(run.p50, 10), "p99_ms": rounded(run.p99, 10),
                     "samples": .number(Double(run.samples))]
                }),
            ]
            if let baseline = receiptsBaseline {
                report["receipts_peer"] = receiptsJSON(baseline.rate, baseline.ratio, baseline.machineCPU, baseline.postgres)
            }
            if perAgreement.count == 2 {
                report["store_transactions_per_agreement"] = rounded(perAgreement[0].transactions, 100)
                report["store_rows_written_per_agreement"] = rounded(perAgreement[0].rows, 100)
                report["erp_transactions_per_agreement"] = rounded(perAgreement[1].transactions, 100)
                if let store = perAgreement[0].statements, let erp = perAgreement[1].statements {
                    report["store_statements_per_agreement"] = rounded(store, 100)
                    report["erp_statements_per_agreement"] = rounded(erp, 100)
                }
            }
            print(JSONWriter.string(.object(report), style: .pretty))
        } else {
            let statements = { (value: Double?) in value.map { ", " + String(format: "%.1f", $0) + " statements" } ?? "" }
            var database = perAgreement.count == 2
                ? "\n              (per agreement: store \(String(format: "%.2f", perAgreement[0].transactions)) transactions"
                    + "\(statements(perAgreement[0].statements)), \(String(format: "%.1f", perAgreement[0].rows)) rows written; "
                    + "ERP \(String(format: "%.2f", perAgreement[1].transactions)) transactions\(statements(perAgreement[1].statements)))"
                : ""
            if perAgreement.count == 2, perAgreement[0].statements == nil {
                database += "\n              (statements not counted: start PostgreSQL with shared_preload_libraries = pg_stat_statements)"
            }
            print("""
                causeway bench gateway — \(ProcessInfo.processInfo.activeProcessorCount) cores, \(store.rawValue) store, peer on PostgreSQL at \(Self.redacted(postgres))
                  throughput  gateway  \(Int(gatewayRate.rounded())) agreements/s  (\(count) agreements, submit → receipt, \(concurrency) clients)
                              (intake alone: all \(count) acknowledged at \(Int(intakeRate.rounded())) agreements/s; \
                gateway process CPU \(String(format: "%.2f", cpuPerAgreement)) ms per agreement)\(database)
                              (the machine's CPU per agreement: \(String(format: "%.2f", gatewayCPU.machine)) ms in this run, \
                PostgreSQL's processes \(String(format: "%.2f", gatewayCPU.postgres)) ms of it and the bench's HTTP clients \
                \(String(format: "%.2f", gatewayCPU.clients)) ms; \(String(format: "%.2f", peerMachineCPU)) ms in the peer's, \
                PostgreSQL \(String(format: "%.2f", peerPostgresCPU)) ms of it)
                              peer.py  \(Int(peerRate.rounded())) agreements/s  (\(peerWorkers) worker process(es))
                              ratio    \(String(format: "%.2f", ratio))×  (goal ≥ 2×)
                """)
            if let baseline = receiptsBaseline {
                print("""
                                  peer-with-receipts.py  \(Int(baseline.rate.rounded())) agreements/s  (peer.py with the agreement stored and a \
                    signed receipt in a hash-chained ledger, one transaction each; the machine's CPU \(String(format: "%.2f", baseline.machineCPU)) ms \
                    per agreement, PostgreSQL \(String(format: "%.2f", baseline.postgres)) ms of it)
                                  ratio    \(String(format: "%.2f", baseline.ratio))×  against it
                    """)
            }
            if rounds > 1 {
                let range = { (values: [Double], format: String) in
                    String(format: format, values.min() ?? .nan) + "–" + String(format: format, values.max() ?? .nan)
                }
                print("              rounds   \(rounds), the peer and the gateway in turn (the figures above are medians): gateway "
                    + range(gatewayRounds.map(\.rate), "%.0f") + "/s, peer " + range(peerRounds.map(\.rate), "%.0f") + "/s, ratio "
                    + range(roundRatios, "%.2f") + "×, gateway CPU " + range(gatewayRounds.map(\.cpu), "%.2f") + " ms"
                    + (receiptsRatios.isEmpty ? "" : "; peer-with-receipts " + range(receiptsPeerRounds.map(\.rate), "%.0f")
                        + "/s, ratio " + range(receiptsRatios, "%.2f") + "×"))
            }
            for run in latency {
                print("  latency     at \(run.rate)/s offered for \(seconds) s: p50 \(String(format: "%.1f", run.p50)) ms, "
                    + "p99 \(String(format: "%.1f", run.p99)) ms  (goal p99 < 50 ms at 500/s, < 100 ms at 80 % of the maximum)")
            }
        }
    }

    /// The gateway's store and ERP target, and how to read what was written to them.
    struct GatewaySide {
        let store: String
        let target: String
        /// Transactions, rows written and statements so far in the store and the ERP database (PostgreSQL only; empty for SQLite).
        let work: () throws -> [(transactions: Int, rows: Int, statements: Int?)]
        let erpRows: () throws -> String
        let receiptTimes: () throws -> [String: Double]
    }

    /// `databases`: the names of the store's and the ERP's databases on `--postgres` (PostgreSQL only).
    func gatewaySide(in work: URL, databases: (store: String, erp: String)) throws -> GatewaySide {
        let admin = postgres
        switch store {
        case .postgresql:
            let (storeURL, erpURL) = (Self.replacingDatabase(in: admin, with: databases.store), Self.replacingDatabase(in: admin, with: databases.erp))
            // Statements are counted when the server loads pg_stat_statements; without it this fails
            // and the counts are reported as not counted.
            _ = try? Self.run("psql", [admin, "-qc", "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"])
            return GatewaySide(
                store: storeURL, target: "{adapter: postgresql, url: \"\(erpURL)\"}",
                work: { try [databases.store, databases.erp].map { try Self.databaseWork(admin, $0) } },
                erpRows: { try Self.scalar(erpURL, "SELECT count(*) FROM erp_purchase_order") },
                receiptTimes: { try Self.receiptTimes(Self.run("psql", [storeURL, "-qAtX", "-F", " ", "-c",
                                                                        "SELECT digest, receipt::json->>'issued' FROM ledger"])) })
        case .sqlite:
            let storeFile = work.appendingPathComponent("causeway.sqlite").path
            let erpFile = work.appendingPathComponent("erp.sqlite").path
            guard FileManager.default.fileExists(atPath: sqliteSchema) else {
                throw CLIError("--sqlite-schema: \(sqliteSchema) not found (run from the repository root)")
            }
            // The twin in write-ahead-log mode, as a database that an application writes while
            // others read it would be (the adapter keeps whatever mode a file has).
            try Self.run("sqlite3", [erpFile, ".read \(sqliteSchema)", "PRAGMA journal_mode=WAL"])
            return GatewaySide(
                store: "sqlite:\(storeFile)", target: "{adapter: sqlite, path: \"\(erpFile)\"}", work: { [] },
                erpRows: { try Self.run("sqlite3", [erpFile, "SELECT count(*) FROM erp_purchase_order"]).trimmingCharacters(in: .whitespacesAndNewlines) },
                receiptTimes: { try Self.receiptTimes(Self.run("sqlite3", ["-separator", " ", storeFile,
                                                                           "SELECT digest, json_extract(receipt, '$.issued') FROM ledger"])) })
        }
    }

    func progress(_ message: String) {
        FileHandle.standardError.write(Data("bench: \(message)\n".utf8))
    }

    // MARK: The gateway process

    struct Server {
        let process: Spawned
        let base: String
        let log: URL
    }

    func startGateway(in work: URL, store: String, target: String) throws -> Server {
        let dids = try JSONReader().read(Array(try Data(contentsOf: work.appendingPathComponent("dids.json"))))
        try Self.writePartner(in: work, mapping: mapping, seller: dids["seller"]?.stringValue ?? "?", buyer: dids["buyer"]?.stringValue ?? "?")
        return try Self.startServe(in: work, store: store, targets: "  erp-staging: \(target)",
                                   more: "delivery:\n  partner_concurrency: \(partnerConcurrency)")
    }

    /// Writes `work/partners/stahlteile`: the mapping folder at `mapping` with a partner.yaml that
    /// trusts the benchmark's `seller` and `buyer` DIDs and allows any EUR total.
    static func writePartner(in work: URL, mapping: String, seller: String, buyer: String) throws {
        let partner = work.appendingPathComponent("partners/stahlteile")
        try FileManager.default.createDirectory(at: partner.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: URL(fileURLWithPath: mapping), to: partner)
        try Data("""
            name: stahlteile
            display_name: Stahlteile GmbH (benchmark keys)
            roles:
              seller: [\(seller)]
              buyer: [\(buyer)]
            mapping: purchase-order.yaml
            limits: {max_total: "99999999.00", currencies: [EUR]}
            accepts: [PurchaseAgreement]
            """.utf8).write(to: partner.appendingPathComponent("partner.yaml"))
    }

    /// Starts `causeway serve` in `work` (which holds `partners/`) with a new identity key, on a
    /// loopback port below the ephemeral range. `targets`: YAML lines under `targets:`; `more`:
    /// further top-level YAML.
    static func startServe(in work: URL, store: String, targets: String, more: String = "") throws -> Server {
        let executable = Bundle.main.executablePath ?? CommandLine.arguments[0]
        try Self.run(executable, ["keys", "new", "--out", work.appendingPathComponent("key.json").path])
        let port = Int.random(in: 20_000...32_000)  // below the ephemeral range
        try Data("""
            listen: 127.0.0.1:\(port)
            store: \(store)
            identity: key.json
            partners: partners
            targets:
            \(targets)
            \(more)
            """.utf8).write(to: work.appendingPathComponent("causeway.yaml"))
        let log = work.appendingPathComponent("serve.log")
        let process = try Spawned.start([executable, "serve", "--config", "causeway.yaml"], in: work, output: log,
                                        errors: work.appendingPathComponent("serve.err"))
        return Server(process: process, base: "http://127.0.0.1:\(port)", log: log)
    }

    static func waitUntilReady(_ client: HTTPClient, _ base: String) async throws {
        for _ in 0..<300 {
            if let response = try? await client.execute(HTTPClientRequest(url: base + "/readyz"), timeout: .seconds(2)), response.status == .ok {
                return
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw CLIError("the gateway did not become ready at \(base) within 30 s")
    }

    static func post(_ document: [UInt8], client: HTTPClient, base: String) async throws -> String {
        var request = HTTPClientRequest(url: base + "/v1/agreements")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: document))
        let response = try await client.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 1 << 20)
        guard response.status == .accepted || response.status == .ok,
              let digest = (try? JSONReader().read(Array(buffer: body)))?["digest"]?.stringValue
        else { throw CLIError("the gateway answered \(response.status.code): \(String(buffer: body))") }
        return digest
    }

    /// Closed loop: `concurrency` clients, each sending its next agreement when the last is answered.
    static func submitAll(_ documents: [[UInt8]], concurrency: Int, client: HTTPClient, base: String) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for lane in 0..<concurrency {
                group.addTask {
                    for index in stride(from: lane, to: documents.count, by: concurrency) {
                        _ = try await post(documents[index], client: client, base: base)
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    /// Open loop: agreement i is sent at start + i/rate whatever happened to the others, so a slow
    /// answer cannot hide the queueing it causes. Returns each digest's scheduled send time (Unix s).
    static func offer(_ documents: [[UInt8]], rate: Int, client: HTTPClient, base: String) async throws -> [String: Double] {
        let start = Date().timeIntervalSince1970 + 0.2
        let clock = ContinuousClock()
        let origin = clock.now + .milliseconds(200)
        return try await withThrowingTaskGroup(of: (String, Double).self) { group in
            for (index, document) in documents.enumerated() {
                let offset = Double(index) / Double(rate)
                try await clock.sleep(until: origin + .seconds(offset))
                group.addTask { (try await post(document, client: client, base: base), start + offset) }
            }
            var sent: [String: Double] = [:]
            for try await (digest, at) in group { sent[digest] = at }
            return sent
        }
    }

    /// Waits until the gateway has issued `expected` receipts, reading its `/metrics` counter (a
    /// cheap HTTP request, where starting a database client many times a second would take CPU
    /// from the gateway being measured).
    static func waitForReceipts(_ expected: Int, client: HTTPClient, base: String, log: URL) async throws {
        let deadline = ContinuousClock.now + .seconds(600)
        while ContinuousClock.now < deadline {
            if let have = try? await issuedReceipts(client: client, base: base), have >= expected { return }
            try await Task.sleep(for: .milliseconds(25))
        }
        let tail = (try? String(contentsOf: log.deletingLastPathComponent().appendingPathComponent("serve.err"), encoding: .utf8))?.suffix(2000) ?? ""
        throw CLIError("not all \(expected) receipts were issued within 600 s; the gateway's log ends:\n\(tail)")
    }

    /// `causeway_receipts_issued_total` from the gateway's `/metrics`.
    static func issuedReceipts(client: HTTPClient, base: String) async throws -> Int? {
        let response = try await client.execute(HTTPClientRequest(url: base + "/metrics"), timeout: .seconds(5))
        let text = String(buffer: try await response.body.collect(upTo: 8 << 20))
        let line = text.split(separator: "\n").first { $0.hasPrefix("causeway_receipts_issued_total ") }
        return line.flatMap { $0.split(separator: " ").last }.flatMap { Double($0) }.map { Int($0) }
    }

    /// Each receipt's issue time (Unix seconds, millisecond precision), by agreement digest, from
    /// lines `DIGEST ISSUED`.
    static func receiptTimes(_ output: String) throws -> [String: Double] {
        let format = ISO8601DateFormatter()
        format.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        var times: [String: Double] = [:]
        for line in output.split(separator: "\n") {
            let parts = line.split(separator: " ")
            guard parts.count == 2, let date = format.date(from: String(parts[1])) else { continue }
            times[String(parts[0])] = date.timeIntervalSince1970
        }
        return times
    }

    // MARK: Helpers

    /// Transactions (committed and rolled back) and rows written (inserted, updated, deleted) in
    /// one database so far, as PostgreSQL counts them (`pg_stat_database`), and the statements
    /// its clients sent (`pg_stat_statements`, top-level statements, `BEGIN` and `COMMIT` included;
    /// nil when the server does not load that module; ``gatewaySide(in:databases:)`` creates the extension).
    static func databaseWork(_ admin: String, _ name: String) throws -> (transactions: Int, rows: Int, statements: Int?) {
        let line = try scalar(admin, """
            SELECT xact_commit + xact_rollback, tup_inserted + tup_updated + tup_deleted FROM pg_stat_database WHERE datname = '\(name)'
            """).split(separator: "|")
        guard line.count == 2, let transactions = Int(line[0]), let rows = Int(line[1]) else {
            throw CLIError("cannot read pg_stat_database for \(name)")
        }
        let statements = (try? scalar(admin, """
            SELECT COALESCE(sum(calls), 0) FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = '\(name)')
            """)).flatMap { Int($0) }
        return (transactions, rows, statements)
    }

    /// CPU seconds the whole machine has been busy so far, all cores (Linux `/proc/stat`: all
    /// time but idle and I/O wait). The bench's own clients are included: compare runs, not processes.
    static func machineBusySeconds() -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
              let line = stat.split(separator: "\n").first, line.hasPrefix("cpu ") else { return 0 }
        let ticks = line.split(separator: " ").dropFirst().compactMap { Double($0) }
        guard ticks.count >= 5 else { return 0 }
        return (ticks.reduce(0, +) - ticks[3] - ticks[4]) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// CPU seconds used so far by the processes named `postgres` that this machine shows (a server
    /// elsewhere counts zero), with those of the backends that have exited: the postmaster reaps
    /// them, and the kernel adds a reaped child's time to its parent's (`cutime`, `cstime`). So a
    /// backend that lives through a phase counts in its own line, and one that exits in it (the
    /// peer's, with its worker processes) in the postmaster's: a difference of two readings is
    /// PostgreSQL's CPU in between either way.
    static func postgresSeconds() -> Double {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return 0 }
        var total = 0.0
        for entry in entries {
            guard let pid = pid_t(entry),
                  let name = try? String(contentsOfFile: "/proc/\(entry)/comm", encoding: .utf8),
                  name.trimmingCharacters(in: .whitespacesAndNewlines) == "postgres" else { continue }
            total += cpuSeconds(of: pid, withReapedChildren: true)
        }
        return total
    }

    /// User plus system CPU seconds a process has used so far (Linux `/proc/PID/stat`), and with
    /// `withReapedChildren` those of its children it has waited for.
    static func cpuSeconds(of pid: pid_t, withReapedChildren: Bool = false) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return 0 }
        // Fields after the command name: state is field 3; utime and stime are fields 14 and 15,
        // cutime and cstime 16 and 17.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 15, let user = Double(fields[11]), let system = Double(fields[12]),
              let children = Double(fields[13]), let childrenSystem = Double(fields[14]) else { return 0 }
        return (user + system + (withReapedChildren ? children + childrenSystem : 0)) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// The middle value (the mean of the two middle ones for an even count); NaN for none.
    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return .nan }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    static func percentile(_ sorted: [Double], _ p: Double) -> Double {
        guard !sorted.isEmpty else { return .nan }
        return sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)]
    }

    static func peerRate(_ output: String) -> Double? {
        // "peer: N agreements in S s = R agreements/s"
        guard let range = output.range(of: "= ") else { return nil }
        return Double(output[range.upperBound...].prefix { $0.isNumber || $0 == "." })
    }

    static func lines(_ file: URL) throws -> [[UInt8]] {
        try Data(contentsOf: file).split(separator: UInt8(ascii: "\n")).map { Array($0) }
    }

    static func replacingDatabase(in url: String, with name: String) -> String {
        guard let slash = url.lastIndex(of: "/"), url[..<slash].hasSuffix("//") == false else { return url + "/" + name }
        let query = url[slash...].firstIndex(of: "?").map { String(url[$0...]) } ?? ""
        return String(url[..<slash]) + "/" + name + query
    }

    static func redacted(_ url: String) -> String {
        guard let at = url.firstIndex(of: "@"), let scheme = url.range(of: "://") else { return url }
        let user = url[scheme.upperBound..<at].prefix { $0 != ":" }
        return String(url[..<scheme.upperBound]) + user + String(url[at...])
    }

    static func scalar(_ url: String, _ sql: String) throws -> String {
        try run("psql", [url, "-qAtX", "-c", sql]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Runs a program to its end; its standard output, or an error with its output.
    @discardableResult
    static func run(_ program: String, _ arguments: [String]) throws -> String {
        try Spawned.run([program] + arguments)
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
