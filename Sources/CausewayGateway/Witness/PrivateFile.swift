import Foundation

/// Small state files that must survive a crash whole: written to a temporary file in the same
/// folder (mode 0600), flushed, then renamed over the old one, so a reader sees the old content or
/// the new, never a torn mix. The witness state, the collected cosignatures and the watcher's
/// state (`causeway ledger watch --state DIR`) are kept this way.
public enum PrivateFile {
    /// Writes `bytes` to `path` atomically with mode 0600, creating the folder (mode 0700) if needed.
    public static func write(_ bytes: [UInt8], to path: String) throws(PrivateFileError) {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw PrivateFileError("cannot create the folder \(folder): \(error.localizedDescription)")
        }
        let temporary = "\(path).tmp-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { throw PrivateFileError("cannot create \(temporary): \(String(cString: strerror(errno)))") }
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else {
                let reason = String(cString: strerror(errno))
                close(fd)
                unlink(temporary)
                throw PrivateFileError("cannot write \(temporary): \(reason)")
            }
            written += n
        }
        guard fsync(fd) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            unlink(temporary)
            throw PrivateFileError("cannot flush \(temporary): \(reason)")
        }
        close(fd)
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw PrivateFileError("cannot replace \(path): \(reason)")
        }
        // The rename itself is durable once the folder is flushed.
        let directory = open(folder, O_RDONLY)
        if directory >= 0 {
            _ = fsync(directory)
            close(directory)
        }
    }

    /// The file's bytes, nil when it does not exist; at most `maxBytes` (a larger file is an error).
    public static func read(_ path: String, maxBytes: Int = 1 << 20) throws(PrivateFileError) -> [UInt8]? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let handle = FileHandle(forReadingAtPath: path) else { throw PrivateFileError("cannot read \(path)") }
        defer { try? handle.close() }
        let data: Data
        do {
            data = try handle.read(upToCount: maxBytes + 1) ?? Data()
        } catch {
            throw PrivateFileError("cannot read \(path): \(error.localizedDescription)")
        }
        guard data.count <= maxBytes else { throw PrivateFileError("\(path) is larger than \(maxBytes) bytes; it is not a state file of Causeway's") }
        return [UInt8](data)
    }
}

/// A state file that cannot be read or written; the message names the path and the reason.
public struct PrivateFileError: Error, Sendable, CustomStringConvertible {
    public let message: String
    init(_ message: String) { self.message = message }
    public var description: String { message }
}
