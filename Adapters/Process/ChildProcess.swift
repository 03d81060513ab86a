import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One running instance of the configured program, with its three streams.
///
/// Standard output and standard error are read by two dedicated threads with blocking reads, so
/// nothing ever blocks the cooperative thread pool; writes go through a serial queue. Standard
/// input is one end of a Unix socket pair rather than a pipe, so that writing to a program that
/// has died fails with EPIPE instead of raising SIGPIPE in the gateway.
final class ChildProcess: Sendable {
    /// What the reader threads report, in the order the program wrote it.
    enum Event: Sendable {
        /// One line of standard output, without its line end.
        case line([UInt8])
        /// A line longer than the limit; it is not a protocol message.
        case overlong(Int)
        /// The program has exited (and its output has been read, or the program left it open).
        case exited(String)
    }

    /// Longest line read from the program: 8 MiB.
    static let maxLine = 8 << 20

    /// Counts starts; each child has its own, so late events of a dead child are recognised.
    let generation: Int
    let processID: Int32
    private let process: Process
    private let input: Int32
    private let writer: DispatchQueue
    /// Set once the exit was reported; guards the single `.exited` event.
    private let exit = ExitLatch()
    private let onEvent: @Sendable (Int, Event) -> Void

    /// Starts `command`. `onEvent` receives the generation and each event, from a reader thread;
    /// `onStandardError` each line the program writes to standard error.
    init(generation: Int, command: String, arguments: [String], environment: [String: String], workingDirectory: String?,
         onEvent: @escaping @Sendable (Int, Event) -> Void, onStandardError: @escaping @Sendable (String) -> Void) throws {
        self.generation = generation
        self.onEvent = onEvent
        var sockets: [Int32] = [0, 0]
        var outPipe: [Int32] = [0, 0]
        var errPipe: [Int32] = [0, 0]
        #if canImport(Glibc)
        let stream = Int32(SOCK_STREAM.rawValue)
        #else
        let stream = SOCK_STREAM
        #endif
        guard socketpair(AF_UNIX, stream, 0, &sockets) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        guard pipe(&outPipe) == 0 else {
            let code = errno
            close(sockets[0]); close(sockets[1])
            throw POSIXError(POSIXErrorCode(rawValue: code) ?? .EIO)
        }
        guard pipe(&errPipe) == 0 else {
            let code = errno
            for fd in sockets + outPipe { close(fd) }
            throw POSIXError(POSIXErrorCode(rawValue: code) ?? .EIO)
        }
        // None of these may leak into other programs the gateway starts; dup2 into 0, 1, 2 clears the flag for the child.
        for fd in sockets + outPipe + errPipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        #if canImport(Darwin)
        var on: Int32 = 1
        _ = setsockopt(sockets[0], SOL_SOCKET, SO_NOSIGPIPE, &on, socklen_t(MemoryLayout<Int32>.size))
        #endif

        let process = Process()
        process.executableURL = URL(fileURLWithPath: command)
        process.arguments = arguments
        process.environment = environment
        if let workingDirectory { process.currentDirectoryURL = URL(fileURLWithPath: workingDirectory) }
        process.standardInput = FileHandle(fileDescriptor: sockets[1], closeOnDealloc: false)
        process.standardOutput = FileHandle(fileDescriptor: outPipe[1], closeOnDealloc: false)
        process.standardError = FileHandle(fileDescriptor: errPipe[1], closeOnDealloc: false)
        let exit = self.exit
        process.terminationHandler = { finished in
            let status = finished.terminationReason == .uncaughtSignal
                ? "killed by signal \(finished.terminationStatus)" : "exit status \(finished.terminationStatus)"
            let report = exit.state.withLock { state -> Bool in
                state.status = status
                return state.outputClosed
            }
            if report {
                ChildProcess.reportExit(exit, generation: generation, onEvent: onEvent)
            } else {
                // A grandchild may hold standard output open: report the exit anyway, shortly.
                DispatchQueue.global().asyncAfter(deadline: .now() + 0.5) {
                    ChildProcess.reportExit(exit, generation: generation, onEvent: onEvent)
                }
            }
        }
        do {
            try process.run()
        } catch {
            for fd in sockets + outPipe + errPipe { close(fd) }
            throw error
        }
        close(sockets[1])
        close(outPipe[1])
        close(errPipe[1])
        self.process = process
        processID = process.processIdentifier
        input = sockets[0]
        writer = DispatchQueue(label: "causeway.adapter.process.writer.\(generation)")

        let outFD = outPipe[0], errFD = errPipe[0]
        Thread {
            ChildProcess.readLines(outFD, limit: ChildProcess.maxLine) { line in onEvent(generation, line) }
            close(outFD)
            let report = exit.state.withLock { state -> Bool in
                state.outputClosed = true
                return state.status != nil
            }
            if report { ChildProcess.reportExit(exit, generation: generation, onEvent: onEvent) }
        }.start()
        Thread {
            ChildProcess.readLines(errFD, limit: 64 << 10) { event in
                switch event {
                case .line(let bytes): onStandardError(String(decoding: bytes, as: UTF8.self))
                case .overlong(let count): onStandardError("(a line of \(count) bytes, not shown)")
                case .exited: break
                }
            }
            close(errFD)
        }.start()
    }

    private static func reportExit(_ exit: ExitLatch, generation: Int,
                                   onEvent: @Sendable (Int, Event) -> Void) {
        let status = exit.state.withLock { state -> String? in
            guard !state.reported else { return nil }
            state.reported = true
            return state.status ?? "exited"
        }
        if let status { onEvent(generation, .exited(status)) }
    }

    /// Reads `fd` to its end, handing over each line (an unterminated last line too).
    private static func readLines(_ fd: Int32, limit: Int, _ handle: (Event) -> Void) {
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        var line: [UInt8] = []
        var overlong = 0
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            var start = 0
            for index in 0..<count where buffer[index] == 10 {
                if overlong > 0 {
                    handle(.overlong(overlong + index - start))
                    overlong = 0
                } else {
                    line.append(contentsOf: buffer[start..<index])
                    if line.last == 13 { line.removeLast() }
                    handle(.line(line))
                }
                line.removeAll(keepingCapacity: true)
                start = index + 1
            }
            if overlong > 0 {
                overlong += count - start
            } else {
                line.append(contentsOf: buffer[start..<count])
                if line.count > limit {
                    overlong = line.count
                    line.removeAll()
                }
            }
        }
        if overlong > 0 { handle(.overlong(overlong)) } else if !line.isEmpty { handle(.line(line)) }
    }

    /// Writes bytes to the program's standard input, in order; failures (a dead program) are
    /// ignored here: the exit is reported by the reader.
    func send(_ bytes: [UInt8]) {
        writer.async { [self] in
            // `self` is kept until the write is done: its descriptor stays open (and ours) meanwhile.
            let fd = self.input
            var written = 0
            while written < bytes.count {
                let result = bytes.withUnsafeBytes { socketSend(fd, $0.baseAddress! + written, $0.count - written) }
                if result < 0 {
                    if errno == EINTR { continue }
                    return
                }
                written += result
            }
        }
    }

    /// Stops the program at once (SIGKILL): a hung or confused program gets no second chance.
    func kill() {
        if process.isRunning { signalProcess(processID, SIGKILL) }
    }

    /// Asks the program to stop: closes its input, then SIGTERM; SIGKILL after `grace`.
    func terminate(grace: Duration = .seconds(2)) {
        writer.async { [input] in _ = shutdown(input, Int32(SHUT_WR)) }
        if process.isRunning { signalProcess(processID, SIGTERM) }
        let seconds = Double(grace.components.seconds) + Double(grace.components.attoseconds) / 1e18
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { [self] in self.kill() }
    }

    deinit { close(input) }
}

/// When a child has both exited and closed its output; reported once.
final class ExitLatch: Sendable {
    let state = Mutex<(outputClosed: Bool, status: String?, reported: Bool)>((false, nil, false))
}

/// `send(2)` without SIGPIPE: a dead reader is an EPIPE error, never a signal.
private func socketSend(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    send(fd, bytes, count, Int32(MSG_NOSIGNAL))
    #else
    send(fd, bytes, count, 0)
    #endif
}

private func signalProcess(_ pid: Int32, _ signal: Int32) {
    _ = kill(pid, signal)
}
