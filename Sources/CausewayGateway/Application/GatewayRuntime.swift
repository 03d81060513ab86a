public import AdapterKit
import CausewayCore
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// What a live reload can replace: the partners (folders, mappings, crosswalks, schemas,
/// policies), the targets (adapters and their settings) and the API tokens. Read once per request
/// (intake, authentication) and once per delivery (the worker); a reload swaps it whole.
struct RuntimeSnapshot: Sendable {
    /// Counts reloads: 1 at start-up.
    let generation: Int
    let partners: PartnerRegistry
    /// Target name → its configuration as written (compared by a reload to find changed targets).
    let targetConfigurations: [String: GatewayConfiguration.TargetConfiguration]
    /// Target name → adapter kind (what intake records in provenance).
    var targetKinds: [String: String] { targetConfigurations.mapValues(\.adapter) }
    let tokens: [String: (name: String, role: GatewayConfiguration.TokenConfiguration.Role)]
    /// The configured token definitions (names, roles, secret references; never the secrets).
    let tokenConfigurations: [GatewayConfiguration.TokenConfiguration]
}

/// The gateway's live parts behind one lock: the ``RuntimeSnapshot`` and the built adapters.
///
/// Deliveries borrow an adapter (``withAdapter(for:_:)``): a reload that removes or changes a
/// target swaps the new adapter in at once, and the old one is shut down (its run loop cancelled)
/// only after every delivery that borrowed it has finished. Adapters' run loops (connection
/// pools, child processes) and the receipt pusher are tasks of this runtime, supervised under
/// their names (`target:NAME`, `receipt-pusher`); ``service`` stops them all at shutdown.
final class GatewayRuntime: DeliveryTargets, Sendable {
    /// One built target: its adapter, the deliveries holding it now, and its run loop.
    final class Slot: Sendable {
        let name: String
        let adapter: any Adapter
        let run: (@Sendable () async -> Void)?
        let borrowed = Atomic<Int>(0)
        /// The run loop's task once started.
        let task = Mutex<Task<Void, Never>?>(nil)

        init(name: String, adapter: any Adapter, run: (@Sendable () async -> Void)?) {
            self.name = name
            self.adapter = adapter
            self.run = run
        }
    }

    private struct State {
        var snapshot: RuntimeSnapshot
        var slots: [String: Slot]
        /// Other named runtime tasks (the receipt pusher), replaced by a reload.
        var tasks: [String: Task<Void, Never>] = [:]
        var stopping = false
    }

    private let state: Mutex<State>
    let monitor: ServiceMonitor
    let logger: Logger

    init(snapshot: RuntimeSnapshot, targets: [String: AdapterRegistry.Target], monitor: ServiceMonitor, logger: Logger) {
        var slots: [String: Slot] = [:]
        for (name, target) in targets { slots[name] = Slot(name: name, adapter: target.built.adapter, run: target.built.run) }
        state = Mutex(State(snapshot: snapshot, slots: slots))
        self.monitor = monitor
        self.logger = logger
    }

    /// The current snapshot.
    var snapshot: RuntimeSnapshot { state.withLock { $0.snapshot } }

    /// The current adapters by target name (for parts that are not reloaded, such as reconciliation).
    var adapters: [String: any Adapter] { state.withLock { $0.slots.mapValues(\.adapter) } }

    // MARK: DeliveryTargets

    func withAdapter<T: Sendable>(for target: String, _ body: ((any Adapter)?) async throws -> T) async throws -> T {
        let slot = state.withLock { state -> Slot? in
            guard let slot = state.slots[target] else { return nil }
            // Borrowed under the lock, so a reload that swaps the slot sees it borrowed.
            slot.borrowed.wrappingAdd(1, ordering: .sequentiallyConsistent)
            return slot
        }
        defer { slot?.borrowed.wrappingSubtract(1, ordering: .sequentiallyConsistent) }
        return try await body(slot?.adapter)
    }

    // MARK: Replacing

    /// Swaps in a new snapshot with these targets: `kept` stay as they are (same slot, same run
    /// loop), `built` are new or changed and start now, every other old target is retired once
    /// the deliveries borrowing it have finished. `tasks` replace the named runtime tasks of the
    /// same name.
    func replace(snapshot: RuntimeSnapshot, kept: Set<String>, built: [String: AdapterRegistry.Target],
                 tasks: [String: @Sendable () async throws -> Void]) {
        let (started, retired, stoppedTasks) = state.withLock { state -> ([Slot], [Slot], [Task<Void, Never>]) in
            var slots: [String: Slot] = [:]
            var retired: [Slot] = []
            for (name, slot) in state.slots {
                if kept.contains(name) { slots[name] = slot } else { retired.append(slot) }
            }
            var started: [Slot] = []
            for (name, target) in built {
                let slot = Slot(name: name, adapter: target.built.adapter, run: target.built.run)
                slots[name] = slot
                started.append(slot)
            }
            state.slots = slots
            state.snapshot = snapshot
            var stopped: [Task<Void, Never>] = []
            for name in tasks.keys { if let old = state.tasks.removeValue(forKey: name) { stopped.append(old) } }
            return (started, retired, stopped)
        }
        for task in stoppedTasks { task.cancel() }
        for (name, body) in tasks { startTask(name, body) }
        for slot in started { start(slot) }
        for slot in retired { retire(slot) }
    }

    // MARK: Run loops

    /// Starts every target's run loop and the named tasks; called once by ``service``.
    func startAll(tasks: [String: @Sendable () async throws -> Void]) {
        for slot in state.withLock({ Array($0.slots.values) }) { start(slot) }
        for (name, body) in tasks { startTask(name, body) }
    }

    private func start(_ slot: Slot) {
        guard let run = slot.run else { return }
        let monitor = monitor
        let task = Task { await monitor.supervise("target:\(slot.name)", markStopped: false) { await run() } }
        let stale = slot.task.withLock { current -> Task<Void, Never>? in
            defer { current = task }
            return current
        }
        stale?.cancel()
    }

    private func startTask(_ name: String, _ body: @escaping @Sendable () async throws -> Void) {
        let monitor = monitor
        let task = Task { await monitor.supervise(name, markStopped: false, body) }
        let stopping = state.withLock { state -> Bool in
            if !state.stopping { state.tasks[name] = task }
            return state.stopping
        }
        if stopping { task.cancel() }
    }

    /// Waits until no delivery holds the retired adapter, then stops its run loop (which shuts
    /// its connections down). A delivery answers within the claim lease, so the wait is bounded.
    private func retire(_ slot: Slot) {
        let logger = logger
        let monitor = monitor
        Task {
            while slot.borrowed.load(ordering: .sequentiallyConsistent) > 0 {
                try? await Task.sleep(for: .milliseconds(50))
            }
            let task = slot.task.withLock { $0 }
            task?.cancel()
            await task?.value
            if slot.run != nil, self.state.withLock({ $0.slots[slot.name] == nil }) { monitor.remove("target:\(slot.name)") }
            logger.info("target retired by a reload: its deliveries finished and its connections are closed",
                        metadata: ["target": .string(slot.name)])
        }
    }

    /// Stops every run loop and named task and waits for them (graceful shutdown).
    func stopAll() async {
        let (slots, tasks) = state.withLock { state -> ([Slot], [String: Task<Void, Never>]) in
            state.stopping = true
            return (Array(state.slots.values), state.tasks)
        }
        let all = slots.compactMap { slot in slot.task.withLock { $0 } } + Array(tasks.values)
        for task in all { task.cancel() }
        for task in all { await task.value }
        for slot in slots where slot.run != nil { monitor.stopped("target:\(slot.name)") }
        for name in tasks.keys { monitor.stopped(name) }
    }

    /// The runtime's tasks as one Service of the group: started with the group and stopped when
    /// it shuts down gracefully (listed before the delivery workers, so stopped after them).
    func service(tasks: [String: @Sendable () async throws -> Void]) -> any Service {
        RuntimeService(runtime: self, tasks: tasks)
    }

    struct RuntimeService: Service {
        let runtime: GatewayRuntime
        let tasks: [String: @Sendable () async throws -> Void]
        func run() async throws {
            runtime.startAll(tasks: tasks)
            try? await gracefulShutdown()
            await runtime.stopAll()
        }
    }
}

/// A target as parts built once at start-up see it (scheduled reconciliation): every call goes to
/// the target's adapter current at that moment, borrowed like a delivery's, so a reload that
/// replaces the adapter is followed and the retired one is never called after it was shut down.
class LiveAdapter: Adapter, @unchecked Sendable {  // immutable after init: a name, the runtime and a descriptor
    let target: String
    let runtime: GatewayRuntime
    let descriptor: AdapterDescriptor

    init(target: String, runtime: GatewayRuntime, descriptor: AdapterDescriptor) {
        self.target = target
        self.runtime = runtime
        self.descriptor = descriptor
    }

    /// One proxy per target the runtime has now; an inventory proxy where the adapter keeps one.
    static func proxies(of runtime: GatewayRuntime) -> [String: any Adapter] {
        runtime.adapters.reduce(into: [:]) { proxies, pair in
            proxies[pair.key] = pair.value is any LegacyInventory
                ? LiveInventoryAdapter(target: pair.key, runtime: runtime, descriptor: pair.value.descriptor)
                : LiveAdapter(target: pair.key, runtime: runtime, descriptor: pair.value.descriptor)
        }
    }

    func deliver(_ delivery: Delivery) async -> DeliveryOutcome {
        let outcome: DeliveryOutcome? = try? await runtime.withAdapter(for: target) { adapter in await adapter?.deliver(delivery) }
        return outcome ?? .rejected("no target named '\(target)' is configured since the last reload")
    }

    func lookup(_ delivery: Delivery) async -> LookupResult {
        let result: LookupResult? = try? await runtime.withAdapter(for: target) { adapter in await adapter?.lookup(delivery) }
        return result ?? .unavailable("no target named '\(target)' is configured since the last reload")
    }

    func checkConnection() async throws(AdapterConfigurationError) {
        let failure: AdapterConfigurationError? = try? await runtime.withAdapter(for: target) { adapter in
            do throws(AdapterConfigurationError) { try await adapter?.checkConnection() } catch { return error }
            return nil
        }
        if let failure { throw failure }
    }
}

/// ``LiveAdapter`` for a target whose adapter lists what it wrote (reconciliation).
final class LiveInventoryAdapter: LiveAdapter, LegacyInventory, @unchecked Sendable {  // immutable, as LiveAdapter
    func inventory(expected: [ExpectedDocument]) async throws(InventoryError) -> [LegacyDocument] {
        let result: Result<[LegacyDocument], InventoryError>
        do {
            result = try await runtime.withAdapter(for: target) { adapter in
                guard let inventory = adapter as? any LegacyInventory else {
                    return .failure(InventoryError("target '\(self.target)' no longer lists what it wrote since the last reload"))
                }
                do throws(InventoryError) { return .success(try await inventory.inventory(expected: expected)) } catch { return .failure(error) }
            }
        } catch {
            throw InventoryError("\(error)")
        }
        return try result.get()
    }

    func differences(_ document: LegacyDocument, from action: LegacyAction) -> [FieldDifference] {
        (runtime.adapters[target] as? any LegacyInventory)?.differences(document, from: action) ?? []
    }
}
