import CausewayCore
import CausewayTesting
import Foundation
import Testing

/// `causeway bench gateway` end to end at a tiny size: the peer and a real gateway take turns
/// (`--rounds`), and the report's figures are the rounds' medians. Speed is not asserted here
/// (benchmarks report ratios, never pass or fail on time); what is asserted is that every round
/// ran on agreements of its own and the report is consistent with its rounds.
@Suite("causeway bench gateway: rounds in turn")
struct GatewayBenchTests {
    @Test("two rounds: both sides (and the peer with receipts) ran twice on fresh agreements, the reported figures are the rounds' medians",
          arguments: ["sqlite", "postgresql"])
    func rounds(_ store: String) throws {
        let admin = try #require(ProcessInfo.processInfo.environment["CAUSEWAY_TEST_POSTGRES"], "CAUSEWAY_TEST_POSTGRES is needed")
        let python = try #require(TestPaths.python, "CAUSEWAY_PYTHON is needed (a venv with pynacl, jcs and psycopg; scripts/test makes it)")
        let repository = TestPaths.repository
        let result = try CommandRunner.causeway([
            "bench", "gateway", "--postgres", admin, "--python", python, "--store", store, "--count", "30", "--rounds", "2",
            "--concurrency", "4", "--seconds", "1", "--rates", "10", "--json", "--receipts-peer",
            "--bench-folder", TestPaths.sharedBench.path, "--mapping", repository.appendingPathComponent("Mappings/stahlteile").path,
            "--sqlite-schema", repository.appendingPathComponent("Deploy/examples/erp-staging.sqlite.sql").path,
        ], in: repository)
        #expect(result.status == 0, "\(result.description)")
        let report = try JSONReader().read(Array(result.stdout.utf8))
        #expect(report["round_count"]?.numberValue == 2)
        #expect(report["agreements"]?.numberValue == 30)
        let rounds = try #require(report["rounds"]?.arrayValue, "\(result.stdout)")
        #expect(rounds.count == 2)
        var ratios: [Double] = []
        for round in rounds {
            let gateway = try #require(round["gateway_per_second"]?.numberValue)
            let peer = try #require(round["peer_per_second"]?.numberValue)
            #expect(gateway > 0 && peer > 0, "\(round)")
            let ratio = try #require(round["ratio"]?.numberValue)
            #expect(abs(ratio - gateway / peer) < 0.01, "a round's ratio is its own gateway over its own peer: \(round)")
            ratios.append(ratio)
        }
        // Two rounds: the median is their mean (each figure is rounded to 1/100 in the report).
        let median = (ratios[0] + ratios[1]) / 2
        #expect(abs((report["ratio"]?.numberValue ?? -1) - median) <= 0.011, "\(result.stdout)")
        let rates = rounds.compactMap { $0["gateway_per_second"]?.numberValue }
        #expect(abs((report["gateway_per_second"]?.numberValue ?? -1) - (rates[0] + rates[1]) / 2) <= 0.51, "rates are whole numbers: \(result.stdout)")
        // The latency phase at 10/s and at 80 % of the median maximum, every agreement receipted.
        let latency = try #require(report["latency"]?.arrayValue)
        #expect(latency.count == 2 && latency.first?["offered_per_second"]?.numberValue == 10, "\(result.stdout)")
        #expect(latency.first?["samples"]?.numberValue == 10)
        // The peer's PostgreSQL share (its backends, exited with its processes, counted through the
        // postmaster's reaped time) is part of the peer run's machine CPU: at most all of it, give or
        // take one clock tick (10 ms) over 30 agreements.
        for round in rounds {
            let machine = try #require(round["machine_cpu_ms_per_agreement"]?["peer_run"]?.numberValue, "\(round)")
            let postgres = try #require(round["peer_postgres_cpu_ms_per_agreement"]?.numberValue, "\(round)")
            #expect(postgres >= 0 && postgres <= machine + 10.0 / 30 + 0.01, "\(round)")
            // So is the bench's own HTTP clients' share of the gateway's run.
            let gatewayRun = try #require(round["machine_cpu_ms_per_agreement"]?["gateway_run"]?.numberValue, "\(round)")
            let clients = try #require(round["bench_clients_cpu_ms_per_agreement"]?.numberValue, "\(round)")
            #expect(clients >= 0 && clients <= gatewayRun + 10.0 / 30 + 0.01, "\(round)")
        }
        // The second baseline (--receipts-peer) ran in each round too; the bench has checked its rows
        // and its ledger's chain. Its ratio is the gateway's own rate over its rate, per round.
        var receiptsRatios: [Double] = []
        for round in rounds {
            let other = try #require(round["receipts_peer"], "\(round)")
            let rate = try #require(other["per_second"]?.numberValue)
            let gateway = try #require(round["gateway_per_second"]?.numberValue)
            #expect(rate > 0 && abs((other["ratio"]?.numberValue ?? -1) - gateway / rate) < 0.01, "\(round)")
            receiptsRatios.append(other["ratio"]?.numberValue ?? 0)
        }
        #expect(abs((report["receipts_peer"]?["ratio"]?.numberValue ?? -1) - (receiptsRatios[0] + receiptsRatios[1]) / 2) <= 0.011,
                "\(result.stdout)")
        if store == "postgresql" {
            // The store's and the ERP's work per agreement, over both rounds' agreements.
            #expect((report["store_rows_written_per_agreement"]?.numberValue ?? 0) > 5, "\(result.stdout)")
            #expect((report["erp_transactions_per_agreement"]?.numberValue ?? 0) > 0, "\(result.stdout)")
        }
    }
}
