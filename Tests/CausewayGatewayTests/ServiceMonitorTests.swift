import AdapterKit
import AdapterKitTesting
import CausewayCore
@testable import CausewayGateway
import Foundation
import Logging
import Synchronization
import Testing

/// Supervision of long-lived services: a loop that throws or ends is logged by name, shown as
/// restarting with its error, and started again; one that is cancelled stops quietly. And the
/// runtime's adapter leases: a retired adapter's run loop stops only after its deliveries end.
@Suite("Service monitor and runtime")
struct ServiceMonitorTests {
    /// A counter and a flag that escaping closures can share.
    final class Counter: Sendable {
        let value = Atomic<Int>(0)
    }

    final class Flag: Sendable {
        let value = Atomic<Bool>(false)
        var isSet: Bool { value.load(ordering: .relaxed) }
    }

    struct Boom: Error, CustomStringConvertible {
        var description: String { "the target's connection broke" }
    }

    @Test("a throwing loop is restarted, its error and restarts shown by name; a loop ending early counts as a failure")
    func restartsAfterFailure() async throws {
        let monitor = ServiceMonitor(logger: Logger(label: "test"))
        let counter = Counter()
        let task = Task {
            await monitor.supervise("target:erp") {
                let run = counter.value.wrappingAdd(1, ordering: .relaxed).newValue
                if run == 1 { throw Boom() }
                if run == 2 { return }  // ended while the gateway runs
                try await Task.sleep(for: .seconds(3600))
            }
        }
        for _ in 0..<100 where counter.value.load(ordering: .relaxed) < 3 { try await Task.sleep(for: .milliseconds(50)) }
        #expect(counter.value.load(ordering: .relaxed) == 3)
        let status = try #require(monitor.snapshot["target:erp"])
        #expect(status.state == "running")
        #expect(status.restarts == 2)
        #expect(status.lastError == "it ended while the gateway runs")
        #expect(monitor.json["target:erp"]?["restarts"]?.numberValue == 2)

        task.cancel()
        await task.value
        #expect(monitor.snapshot["target:erp"]?.state == "stopped")
        #expect(counter.value.load(ordering: .relaxed) == 3, "a cancelled loop is not restarted")
    }

    @Test("failing rounds show as failing with the error and clear on the next good round")
    func failingRounds() {
        let monitor = ServiceMonitor(logger: Logger(label: "test"))
        monitor.running("delivery-worker-1")
        #expect(monitor.healthy)
        monitor.failing("delivery-worker-1", Boom())
        #expect(!monitor.healthy)
        #expect(monitor.snapshot["delivery-worker-1"]?.state == "failing")
        #expect(monitor.snapshot["delivery-worker-1"]?.lastError == "the target's connection broke")
        monitor.running("delivery-worker-1")
        #expect(monitor.healthy)
    }

    /// A run loop that records when it stopped.
    static func runLoop(_ stopped: Flag) async {
        while !Task.isCancelled { try? await Task.sleep(for: .milliseconds(20)) }
        stopped.value.store(true, ordering: .relaxed)
    }

    @Test("a target changed by a reload: new deliveries get the new adapter, the old one stops only after the delivery holding it ends")
    func retiredAdapterWaitsForItsDeliveries() async throws {
        let monitor = ServiceMonitor(logger: Logger(label: "test"))
        let old = InMemoryAdapter()
        let new = InMemoryAdapter()
        let oldStopped = Flag()
        let newStopped = Flag()
        let snapshot = RuntimeSnapshot(generation: 1, partners: PartnerRegistry(partners: []),
                                       targetConfigurations: ["erp": .init(adapter: "test", settings: ["v": "1"])], tokens: [:], tokenConfigurations: [])
        let runtime = GatewayRuntime(snapshot: snapshot,
                                     targets: ["erp": .init(kind: "test", built: .init(adapter: old, run: { await Self.runLoop(oldStopped) }))],
                                     monitor: monitor, logger: Logger(label: "test"))
        runtime.startAll(tasks: [:])
        let release = AsyncStream<Void>.makeStream()
        let holding = Task {
            try await runtime.withAdapter(for: "erp") { adapter -> Bool in
                for await _ in release.stream { break }
                return (adapter as? InMemoryAdapter) === old
            }
        }
        try await Task.sleep(for: .milliseconds(100))
        runtime.replace(snapshot: RuntimeSnapshot(generation: 2, partners: PartnerRegistry(partners: []),
                                                  targetConfigurations: ["erp": .init(adapter: "test", settings: ["v": "2"])], tokens: [:],
                                                  tokenConfigurations: []),
                        kept: [], built: ["erp": .init(kind: "test", built: .init(adapter: new, run: { await Self.runLoop(newStopped) }))], tasks: [:])
        let current = try await runtime.withAdapter(for: "erp") { adapter in (adapter as? InMemoryAdapter) === new }
        #expect(current)
        try await Task.sleep(for: .milliseconds(300))
        #expect(!oldStopped.isSet, "the old adapter stopped while a delivery held it")
        release.continuation.yield()
        #expect(try await holding.value)
        for _ in 0..<100 where !oldStopped.isSet { try await Task.sleep(for: .milliseconds(20)) }
        #expect(oldStopped.isSet)
        #expect(!newStopped.isSet)
        await runtime.stopAll()
        #expect(newStopped.isSet)
    }
}
