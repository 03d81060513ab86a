import AdapterKit
import CausewayCore
import Foundation
import Synchronization

/// Starts the program, keeps it running, and matches answers to requests by id.
///
/// Every request in flight belongs to one child (its generation). When that child exits, is
/// killed for not answering in time, or writes a line that is not a protocol message, each of
/// its requests ends as `lost`: the program may or may not have acted on it. The next request
/// (or the supervising `run()` loop) starts a new child after a backoff that doubles with each
/// consecutive failure and resets with the first good answer.
final class ProcessSupervisor: Sendable {
    /// How one request ended.
    enum Reply: Sendable {
        case answer(Answer)
        /// Sent, but the program died, hung or misbehaved before answering: it may have acted.
        case lost(String)
        /// Not sent: the program could not be started (or is waiting out its restart backoff).
        case notSent(String, retryAfter: Duration?)
        /// The program does not perform this action kind.
        case unsupported(ProgramInfo)
    }

    /// A well-formed answer.
    enum Answer: Sendable {
        case outcome(DeliveryOutcome)
        case lookup(LookupResult)
    }

    enum RequestKind: String, Sendable { case deliver, lookup }

    enum Handshake: Sendable {
        case answer(JSONValue?)
        case timeout
    }

    struct Pending {
        let generation: Int
        let kind: RequestKind
        let continuation: CheckedContinuation<Reply, Never>
    }

    enum StartDecision: Sendable {
        case ready(ChildProcess)
        case failed(String, retryAfter: Duration?)
        case start(after: Duration?)
    }

    struct State {
        var child: ChildProcess?
        var ready = false
        var program: ProgramInfo?
        var starting = false
        var startWaiters: [CheckedContinuation<StartDecision, Never>] = []
        var describeWaiter: (generation: Int, continuation: CheckedContinuation<JSONValue?, Never>)?
        var generation = 0
        var starts = 0
        var pending: [Int: Pending] = [:]
        var nextID = 0
        /// Consecutive failures (exits, failed starts); reset by a good answer.
        var failures = 0
        var notBefore = ContinuousClock.now
        /// Why a child was killed, by generation: what its lost requests report.
        var killReasons: [Int: String] = [:]
        /// The last child that exited and how: a child can exit (a program that fails at once)
        /// before its handshake has begun waiting, and must not leave the handshake waiting.
        var exited: (generation: Int, status: String)?
        var stopped = false
    }

    let configuration: ExternalProcessAdapter.Configuration
    let log: @Sendable (String) -> Void
    let state = Mutex(State())

    init(configuration: ExternalProcessAdapter.Configuration, log: @escaping @Sendable (String) -> Void) {
        self.configuration = configuration
        self.log = log
    }

    /// The program's own text with the secret (if any) blotted out: reasons and standard error
    /// pass through here before they reach an outcome or the log.
    func redact(_ text: String) -> String {
        guard let secret = configuration.secret, !secret.isEmpty else { return text }
        return text.replacingOccurrences(of: secret, with: "[secret]")
    }

    /// Backoff after `failures` consecutive failures: 0.25 s, doubling, at most 30 s.
    static func backoff(_ failures: Int) -> Duration {
        guard failures > 0 else { return .zero }
        return .milliseconds(min(250 << min(failures - 1, 10), 30_000))
    }

    var status: (processID: Int32?, program: ProgramInfo?, starts: Int) {
        state.withLock { ($0.ready ? $0.child?.processID : nil, $0.program, $0.starts) }
    }

    // MARK: Starting

    /// The running, described child; starts one if needed. `maxWait` bounds the backoff a caller
    /// accepts (a request's timeout); nil waits as long as the backoff says (the run loop).
    func child(maxWait: Duration?) async -> Result<ChildProcess, StartFailure> {
        let decision: StartDecision = await withCheckedContinuation { continuation in
            let decided: StartDecision? = state.withLock { s in
                if s.stopped { return .failed("the adapter has been stopped", retryAfter: nil) }
                if let child = s.child, s.ready { return .ready(child) }
                if s.starting {
                    s.startWaiters.append(continuation)
                    return nil
                }
                let now = ContinuousClock.now
                let delay = s.notBefore > now ? s.notBefore - now : nil
                if let delay, let maxWait, delay > maxWait {
                    return .failed("the program is being restarted after \(s.failures) failure(s); the next start is in \(delay.seconds) s",
                                   retryAfter: delay)
                }
                s.starting = true
                return .start(after: delay)
            }
            if let decided { continuation.resume(returning: decided) }
        }
        switch decision {
        case .ready(let child): return .success(child)
        case .failed(let reason, let after): return .failure(StartFailure(reason: reason, retryAfter: after))
        case .start(let delay): return await start(after: delay)
        }
    }

    struct StartFailure: Error {
        let reason: String
        let retryAfter: Duration?
    }

    /// Starts a child and asks it to describe itself; only the caller that set `starting` runs this.
    private func start(after delay: Duration?) async -> Result<ChildProcess, StartFailure> {
        if let delay { try? await Task.sleep(for: delay) }
        let generation = state.withLock { s -> Int? in
            if s.stopped { return nil }
            s.generation += 1
            return s.generation
        }
        guard let generation else { return finishStart(.failure(StartFailure(reason: "the adapter has been stopped", retryAfter: nil))) }
        let child: ChildProcess
        do {
            child = try ChildProcess(
                generation: generation, command: configuration.command, arguments: configuration.arguments,
                environment: configuration.childEnvironment, workingDirectory: configuration.workingDirectory,
                onEvent: { [weak self] generation, event in self?.handle(event, generation: generation) },
                onStandardError: { [weak self] line in
                    guard let self else { return }
                    self.log("stderr: \(self.redact(line))")
                })
        } catch {
            let after = state.withLock { s -> Duration in
                s.failures += 1
                s.notBefore = .now + Self.backoff(s.failures)
                return Self.backoff(s.failures)
            }
            let reason = "cannot start \(configuration.command): \(error.localizedDescription)"
            log(reason)
            return finishStart(.failure(StartFailure(reason: reason, retryAfter: after)))
        }
        state.withLock { s in
            if s.exited?.generation != generation { s.child = child }
            s.ready = false
        }
        // The handshake: the first line must be the answer to describe.
        let answer: JSONValue? = await withTaskGroup(of: Handshake.self) { group in
            group.addTask {
                .answer(await withCheckedContinuation { continuation in
                    let gone = self.state.withLock { s -> Bool in
                        if s.exited?.generation == generation { return true }
                        s.describeWaiter = (generation, continuation)
                        return false
                    }
                    if gone { continuation.resume(returning: nil) } else {
                        child.send(Array((JSONWriter.string(["type": "describe", "protocol": 1]) + "\n").utf8))
                    }
                })
            }
            group.addTask {
                try? await Task.sleep(for: self.configuration.timeout)
                return .timeout
            }
            let first = await group.next() ?? .timeout
            group.cancelAll()
            guard case .answer(let answer) = first else {
                // No answer in time: release the waiting task.
                let waiter = state.withLock { s -> CheckedContinuation<JSONValue?, Never>? in
                    guard let waiter = s.describeWaiter, waiter.generation == generation else { return nil }
                    s.describeWaiter = nil
                    return waiter.continuation
                }
                waiter?.resume(returning: nil)
                return nil
            }
            return answer
        }
        switch Self.program(from: answer) {
        case .success(let program):
            log("started \(configuration.command) (pid \(child.processID)): \(program.name) \(program.version), "
                + "kinds \(program.kinds.map(\.rawValue).sorted().joined(separator: ", "))")
            state.withLock { s in
                s.ready = true
                s.program = program
                s.starts += 1
            }
            return finishStart(.success(child))
        case .failure(let problem):
            let exitStatus = state.withLock { s in s.exited?.generation == generation ? s.exited?.status : nil }
            let reason = if answer == nil, let exitStatus {
                "the program exited (\(exitStatus)) before answering describe"
            } else if answer == nil {
                "the program did not answer describe within \(configuration.timeout.seconds) s"
            } else {
                "the program's answer to describe is not protocol 1: \(redact(problem.reason))"
            }
            log(reason)
            stop(child, because: reason)
            state.withLock { s in
                if s.child?.generation == generation { s.child = nil }
            }
            return finishStart(.failure(StartFailure(reason: reason, retryAfter: Self.backoff(1))))
        }
    }

    /// Clears `starting` and hands the result to every caller that waited for this start.
    private func finishStart(_ result: Result<ChildProcess, StartFailure>) -> Result<ChildProcess, StartFailure> {
        let waiters = state.withLock { s in
            s.starting = false
            defer { s.startWaiters = [] }
            return s.startWaiters
        }
        let decision: StartDecision
        switch result {
        case .success(let child): decision = .ready(child)
        case .failure(let failure): decision = .failed(failure.reason, retryAfter: failure.retryAfter)
        }
        for waiter in waiters { waiter.resume(returning: decision) }
        return result
    }

    /// The program's description from its describe answer.
    static func program(from answer: JSONValue?) -> Result<ProgramInfo, ProtocolProblem> {
        guard let answer, answer["type"]?.stringValue == "describe" else {
            return .failure(ProtocolProblem(reason: "expected {\"type\":\"describe\",…}"))
        }
        guard answer["protocol"]?.numberValue == 1 else {
            return .failure(ProtocolProblem(reason: "protocol must be 1, the program said \(answer["protocol"].map { JSONWriter.string($0) } ?? "nothing")"))
        }
        guard let name = answer["name"]?.stringValue, !name.isEmpty, let version = answer["version"]?.stringValue,
            let kindNames = answer["kinds"]?.arrayValue
        else { return .failure(ProtocolProblem(reason: "name, version and kinds are required")) }
        var kinds: Set<LegacyAction.Kind> = []
        for value in kindNames {
            guard let kind = value.stringValue.flatMap(LegacyAction.Kind.init(rawValue:)) else {
                return .failure(ProtocolProblem(reason: "kinds must be among \(LegacyAction.Kind.allCases.map(\.rawValue).joined(separator: ", "))"))
            }
            kinds.insert(kind)
        }
        return .success(ProgramInfo(name: name, version: version, kinds: kinds))
    }

    // MARK: Requests

    /// Sends one request and waits for its answer, at most the configured timeout.
    func request(_ kind: RequestKind, actionKind: LegacyAction.Kind, fields: [(String, JSONValue)]) async -> Reply {
        let timeout = configuration.timeout
        let child: ChildProcess
        switch await self.child(maxWait: timeout) {
        case .success(let running): child = running
        case .failure(let failure): return .notSent(failure.reason, retryAfter: failure.retryAfter)
        }
        if kind == .deliver, let program = state.withLock({ $0.program }), !program.kinds.contains(actionKind) {
            return .unsupported(program)
        }
        let id = state.withLock { s -> Int in
            s.nextID += 1
            return s.nextID
        }
        let message = JSONObject([("type", .string(kind.rawValue)), ("id", .number(Double(id)))] + fields)
        let line = Array((JSONWriter.string(.object(message)) + "\n").utf8)
        return await withTaskGroup(of: Reply?.self) { group in
            group.addTask {
                await withCheckedContinuation { continuation in
                    let registered = self.state.withLock { s -> Bool in
                        guard s.child?.generation == child.generation, s.ready else { return false }
                        s.pending[id] = Pending(generation: child.generation, kind: kind, continuation: continuation)
                        return true
                    }
                    if registered {
                        child.send(line)
                    } else {
                        continuation.resume(returning: .notSent("the program exited before the request could be sent", retryAfter: nil))
                    }
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            if let first { return first }
            // No answer in time: the request is lost, and the program is taken to be hung.
            let reason = "no answer from the program within \(timeout.seconds) s; it was stopped and will be restarted"
            let pending = state.withLock { $0.pending.removeValue(forKey: id) }
            if let pending {
                pending.continuation.resume(returning: .lost(reason))
                log("request \(id) (\(kind.rawValue)) had no answer within \(timeout.seconds) s; stopping pid \(child.processID)")
                stop(child, because: "the program was stopped after not answering request \(id) in time")
                return .lost(reason)
            }
            // It was answered (or lost) at the very last moment: the first task has its reply.
            if let late = await group.next(), let reply = late { return reply }
            return .lost(reason)
        }
    }

    /// Kills a child; its requests in flight will report `reason`.
    func stop(_ child: ChildProcess, because reason: String) {
        state.withLock { s in
            if s.killReasons[child.generation] == nil { s.killReasons[child.generation] = reason }
            if s.child?.generation == child.generation { s.ready = false }
        }
        child.kill()
    }

    // MARK: Events from the reader threads

    func handle(_ event: ChildProcess.Event, generation: Int) {
        switch event {
        case .line(let bytes):
            received(bytes, generation: generation)
        case .overlong(let count):
            malformed(generation: generation, id: nil, "a line of \(count) bytes, longer than the limit")
        case .exited(let status):
            exited(generation: generation, status: status)
        }
    }

    func received(_ bytes: [UInt8], generation: Int) {
        if bytes.allSatisfy({ $0 == 32 || $0 == 9 }) { return }  // blank lines are allowed
        let json: JSONValue
        do {
            json = try JSONReader(limits: .init(maxBytes: ChildProcess.maxLine, maxDepth: 128)).read(bytes)
        } catch {
            malformed(generation: generation, id: nil, "a line of \(bytes.count) bytes that is not JSON (\(error))")
            return
        }
        if json["type"]?.stringValue == "describe" {
            let waiter = state.withLock { s -> CheckedContinuation<JSONValue?, Never>? in
                guard let waiter = s.describeWaiter, waiter.generation == generation else { return nil }
                s.describeWaiter = nil
                return waiter.continuation
            }
            if let waiter { waiter.resume(returning: json) } else { log("an unrequested describe answer was ignored") }
            return
        }
        guard let number = json["id"]?.numberValue, let id = Int(exactly: number) else {
            malformed(generation: generation, id: nil, "an object without a whole-number id")
            return
        }
        let pending = state.withLock { s -> Pending? in
            guard let pending = s.pending[id], pending.generation == generation else { return nil }
            s.pending[id] = nil
            return pending
        }
        guard let pending else {
            log("an answer to request \(id), which is not waiting (answered late or never sent), was ignored")
            return
        }
        switch Self.answer(json, kind: pending.kind, redact: redact) {
        case .success(let answer):
            state.withLock { $0.failures = 0 }
            pending.continuation.resume(returning: .answer(answer))
        case .failure(let problem):
            let reason = "the program's answer to request \(id) is not a protocol 1 \(pending.kind.rawValue) answer (\(problem.reason)); "
                + "it was restarted"
            pending.continuation.resume(returning: .lost(reason))
            malformed(generation: generation, id: id, problem.reason)
        }
    }

    /// A line that is not a protocol message: logged, and the child restarted (its other requests are lost).
    func malformed(generation: Int, id: Int?, _ problem: String) {
        log("malformed output from the program\(id.map { " for request \($0)" } ?? ""): \(redact(problem)); restarting it")
        let child = state.withLock { s -> ChildProcess? in
            if s.killReasons[generation] == nil {
                s.killReasons[generation] = "the program wrote a malformed line (\(redact(problem))) and was restarted"
            }
            guard s.child?.generation == generation else { return nil }
            s.ready = false
            return s.child
        }
        child?.kill()
    }

    func exited(generation: Int, status: String) {
        let (lost, describe, reason, delay) = state.withLock { s in
            s.exited = (generation, status)
            if s.child?.generation == generation {
                s.child = nil
                s.ready = false
            }
            let lost = s.pending.filter { $0.value.generation == generation }
            for id in lost.keys { s.pending[id] = nil }
            var describe: CheckedContinuation<JSONValue?, Never>?
            if let waiter = s.describeWaiter, waiter.generation == generation {
                describe = waiter.continuation
                s.describeWaiter = nil
            }
            s.failures += 1
            let delay = Self.backoff(s.failures)
            s.notBefore = .now + delay
            let reason = s.killReasons.removeValue(forKey: generation) ?? "the program exited (\(status)) with the request in flight"
            return (lost.values.map(\.continuation), describe, reason, delay)
        }
        if !state.withLock({ $0.stopped }) {
            log("the program (generation \(generation)) ended: \(status); \(lost.count) request(s) lost; next start in \(delay.seconds) s")
        }
        for continuation in lost { continuation.resume(returning: .lost(reason)) }
        describe?.resume(returning: nil)
    }

    /// Stops for good: no new starts; the running child is asked to terminate.
    func shutdown() {
        let child = state.withLock { s in
            s.stopped = true
            return s.child
        }
        child?.terminate()
    }

    // MARK: Answers

    struct ProtocolProblem: Error {
        let reason: String
    }

    static func reference(_ value: JSONValue?) -> LegacyReference? {
        guard let system = value?["system"]?.stringValue, let kind = value?["kind"]?.stringValue, let id = value?["id"]?.stringValue,
            !system.isEmpty, !id.isEmpty
        else { return nil }
        return LegacyReference(system: system, kind: kind, id: id)
    }

    /// A deliver or lookup answer, checked against protocol 1.
    static func answer(_ json: JSONValue, kind: RequestKind, redact: (String) -> String) -> Result<Answer, ProtocolProblem> {
        let reason = json["reason"]?.stringValue.map(redact)
        switch kind {
        case .deliver:
            switch json["outcome"]?.stringValue {
            case "delivered":
                guard let reference = reference(json["reference"]) else {
                    return .failure(ProtocolProblem(reason: "delivered needs reference {system, kind, id} with strings"))
                }
                return .success(.outcome(.delivered(reference)))
            case "retryable":
                var after: Duration?
                if let seconds = json["retry_after_seconds"] {
                    guard let value = seconds.numberValue, value >= 0, value <= 86_400 else {
                        return .failure(ProtocolProblem(reason: "retry_after_seconds must be a number of seconds from 0 to 86400"))
                    }
                    after = .milliseconds(Int64(value * 1000))
                }
                return .success(.outcome(.retryable(reason ?? "the program said retryable, without a reason", after: after)))
            case "rejected":
                return .success(.outcome(.rejected(reason ?? "the program rejected the action, without a reason")))
            case "unknown":
                return .success(.outcome(.unknown(reason ?? "the program does not know whether the action was performed")))
            default:
                return .failure(ProtocolProblem(reason: "outcome must be delivered, retryable, rejected or unknown"))
            }
        case .lookup:
            if let error = json["error"]?.stringValue { return .success(.lookup(.unavailable(redact(error)))) }
            switch json["found"]?.boolValue {
            case true?:
                guard let reference = reference(json["reference"]) else {
                    return .failure(ProtocolProblem(reason: "found: true needs reference {system, kind, id} with strings"))
                }
                return .success(.lookup(.found(reference)))
            case false?:
                return .success(.lookup(.notFound))
            case nil:
                return .failure(ProtocolProblem(reason: "a lookup answer needs found: true or false (or error)"))
            }
        }
    }
}

extension Duration {
    /// Seconds as short decimal text ("2.5").
    var seconds: String {
        let value = Double(components.seconds) + Double(components.attoseconds) / 1e18
        return value == value.rounded() ? String(Int(value)) : String(format: "%.3g", value)
    }
}
