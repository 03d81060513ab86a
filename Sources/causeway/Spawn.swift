import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Starts programs with a clean signal state, their output in files.
///
/// Foundation's `Process` on Linux can leave signals blocked in the child: a Python
/// `multiprocessing` pool started that way never sees the SIGTERM that ends its workers and hangs
/// at exit. `posix_spawn` with an empty signal mask and default handlers avoids it; files instead
/// of pipes avoid a child blocking on a full pipe nobody reads.
struct Spawned {
    let pid: pid_t
    let output: URL
    let errors: URL

    /// Starts `arguments[0]` (looked up on PATH) in `directory`.
    static func start(_ arguments: [String], in directory: URL? = nil, output: URL, errors: URL) throws -> Spawned {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, errors.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        // A working folder through the shell (glibc's addchdir_np is not visible from Swift).
        let argv = directory.map { ["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", $0.path] + arguments } ?? arguments
        var cArguments = argv.map { strdup($0) } + [nil]
        defer { for argument in cArguments { free(argument) } }
        var pid = pid_t()
        let status = posix_spawnp(&pid, argv[0], &actions, &attributes, &cArguments, environ)
        guard status == 0 else { throw CLIError("cannot start \(arguments[0]): \(String(cString: strerror(status)))") }
        return Spawned(pid: pid, output: output, errors: errors)
    }

    /// Waits for the program to end; its exit status (128 + signal when killed).
    func wait() -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }

    func terminate() { kill(pid, SIGTERM) }

    /// Runs a program to its end and returns its standard output, or throws with its errors.
    static func run(_ arguments: [String]) throws -> String {
        let folder = URL(fileURLWithPath: NSTemporaryDirectory())
        let tag = UUID().uuidString
        let output = folder.appendingPathComponent("causeway-run-\(tag).out")
        let errors = folder.appendingPathComponent("causeway-run-\(tag).err")
        defer {
            try? FileManager.default.removeItem(at: output)
            try? FileManager.default.removeItem(at: errors)
        }
        let process = try start(arguments, output: output, errors: errors)
        let status = process.wait()
        let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        guard status == 0 else {
            let problem = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
            throw CLIError("\(arguments.prefix(3).joined(separator: " ")) failed (exit \(status)): \(problem.suffix(2000))\(text.suffix(500))")
        }
        return text
    }
}
