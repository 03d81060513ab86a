import AdapterKit
import CausewayCore
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `strerror` text for an errno, with the number.
enum Errno {
    static func text(_ code: Int32) -> String { "\(String(cString: strerror(code))) (errno \(code))" }
}

/// How placing one file ended.
enum Placement {
    /// Written now, or found with the same bytes (an earlier delivery).
    case placed
    /// A file with this name holds other bytes.
    case conflict
    /// Visible, but the folder could not be synced: perhaps not durable.
    case unsynced(Int32)
    /// Not placed: the step and its errno.
    case failed(String, Int32)
    /// A file with this name exists but could not be read to compare.
    case unreadable(Int32)
}

extension FileDropAdapter {
    /// Places the provenance companion (first) and the file; runs on the adapter's queue.
    func publish(_ file: RenderedFile) -> DeliveryOutcome {
        removeTemporaries(of: file.name)
        if let provenance = file.provenance {
            removeTemporaries(of: file.provenanceName)
            if let outcome = outcome(of: place(file.provenanceName, provenance), name: file.provenanceName) { return outcome }
        }
        // An ERP that moves ingested files away: the file there is the earlier delivery.
        if let processed = configuration.processedFolder, exists(processed + "/" + file.name) == 0 {
            return .delivered(reference(file.name))
        }
        if let outcome = outcome(of: place(file.name, file.bytes), name: file.name) { return outcome }
        return .delivered(reference(file.name))
    }

    /// nil when placed; otherwise the delivery's outcome.
    func outcome(of placement: Placement, name: String) -> DeliveryOutcome? {
        let folder = configuration.folder
        switch placement {
        case .placed:
            return nil
        case .conflict:
            return .rejected("\(folder)/\(name) already exists with different content: an earlier delivery of this key wrote other bytes, "
                + "or another program used the name; compare the two and remove the stale file only if the ERP has not ingested it")
        case .unsynced(let code):
            return .unknown("\(folder)/\(name) was made visible but syncing the folder failed: \(Errno.text(code)); look it up before retrying")
        case .failed(let step, let code):
            return .retryable("\(folder): cannot \(step): \(Errno.text(code)); check that the folder exists, is writable and has free space")
        case .unreadable(let code):
            return .unknown("\(folder)/\(name) exists but cannot be read to compare: \(Errno.text(code))")
        }
    }

    /// Writes `bytes` under `name` without ever replacing a file: a temporary file in the same
    /// folder, fsync, `link(2)` to the final name (fails with EEXIST instead of overwriting),
    /// unlink the temporary name, fsync the folder.
    func place(_ name: String, _ bytes: [UInt8]) -> Placement {
        let folder = configuration.folder
        let final = folder + "/" + name
        switch exists(final) {
        case 0: return compare(final, bytes)
        case ENOENT: break
        case let code: return .failed("read \(name)", code)
        }
        let temporary = folder + "/." + name + "." + UUID().uuidString.lowercased() + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return .failed("create a temporary file", errno) }
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes { buffer in
                write(fd, buffer.baseAddress! + written, buffer.count - written)
            }
            if result < 0 {
                if errno == EINTR { continue }
                let code = errno
                close(fd)
                unlink(temporary)
                return .failed("write \(name)", code)
            }
            written += result
        }
        if fsync(fd) != 0 {
            let code = errno
            close(fd)
            unlink(temporary)
            return .failed("sync \(name)", code)
        }
        if close(fd) != 0 {
            let code = errno
            unlink(temporary)
            return .failed("close \(name)", code)
        }
        if link(temporary, final) != 0 {
            let code = errno
            unlink(temporary)
            if code == EEXIST { return compare(final, bytes) }  // a concurrent writer (another gateway) won
            return .failed("link \(name)", code)
        }
        unlink(temporary)
        if let code = syncFolder() { return .unsynced(code) }
        return .placed
    }

    /// 0 when `path` exists, else the errno (ENOENT when it does not).
    func exists(_ path: String) -> Int32 {
        var info = stat()
        return lstat(path, &info) == 0 ? 0 : errno
    }

    /// `.placed` when the file at `path` holds exactly `bytes`.
    func compare(_ path: String, _ bytes: [UInt8]) -> Placement {
        guard let handle = FileHandle(forReadingAtPath: path) else { return .unreadable(errno) }
        defer { try? handle.close() }
        do {
            let existing = try handle.readToEnd() ?? Data()
            return existing.elementsEqual(bytes) ? .placed : .conflict
        } catch {
            return .unreadable(EIO)
        }
    }

    /// fsync of the folder, so that the new name survives a crash; nil on success, else the errno.
    func syncFolder() -> Int32? {
        let fd = open(configuration.folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return errno }
        defer { close(fd) }
        return fsync(fd) == 0 ? nil : errno
    }

    /// Removes temporary files a crashed writer left for `name` (`.<name>.<uuid>.tmp`). This
    /// adapter's own writes run one at a time on its queue, so none of them is in flight.
    func removeTemporaries(of name: String) {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: configuration.folder) else { return }
        let start = "." + name + "."
        for entry in entries where entry.hasPrefix(start) && entry.hasSuffix(".tmp") {
            unlink(configuration.folder + "/" + entry)
        }
    }

    /// Whether the file exists (in the folder or the processed folder); runs on the adapter's queue.
    func find(_ name: String) -> LookupResult {
        let folder = configuration.folder
        var info = stat()
        if stat(folder, &info) != 0 { return .unavailable("\(folder): \(Errno.text(errno))") }
        removeTemporaries(of: name)
        for candidate in [folder] + (configuration.processedFolder.map { [$0] } ?? []) {
            switch exists(candidate + "/" + name) {
            case 0: return .found(reference(name))
            case ENOENT: continue
            case let code: return .unavailable("\(candidate)/\(name): \(Errno.text(code))")
            }
        }
        return .notFound
    }
}
