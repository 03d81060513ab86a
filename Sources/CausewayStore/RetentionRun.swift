public import CausewayCore
import Foundation
import Synchronization

/// One prune: every finished agreement older than `days` archived to one new file in the archive
/// folder and its body and attempts removed, batch by batch (``RetentionStore/pruneBatch(_:archive:)``).
/// Used by `causeway store prune` and by the gateway's scheduled prune.
public enum RetentionRun {
    /// What a prune did, or (dry run) would do.
    public struct Summary: Sendable {
        /// The agreements archived (or that would be), oldest first.
        public var digests: [ContentDigest] = []
        /// Attempt rows removed (or that would be).
        public var attempts = 0
        /// The archive file written, nil when nothing was archived (no file is made then) or in a dry run.
        public var file: String?
        /// A dry run stops after this many agreements; true when it reached the limit (there may be more).
        public var truncated = false

        public init() {}
    }

    /// Agreements per transaction.
    public static let batchSize = 200
    /// A dry run counts at most this many agreements.
    public static let dryRunLimit = 100_000

    /// Prunes `store`: agreements finished and last active more than `days` days before `now`
    /// (ms since the epoch). The archive file, `causeway-archive-<UTC time>-<random>.jsonl` in
    /// `archiveFolder` (mode 0600), is created with the first batch and fsynced after each batch,
    /// before that batch is removed.
    public static func prune(store: any RetentionStore, days: Int, archiveFolder: String, now: Int64, dryRun: Bool = false) async throws -> Summary {
        guard days >= 1 else { throw StoreError("retention.days: must be a whole number of days, 1 or more") }
        let cutoff = now - Int64(days) * 86_400_000
        var summary = Summary()
        if dryRun {
            let batch = try await store.pruneBatch(.init(cutoff: cutoff, now: now, archiveName: "", limit: dryRunLimit, dryRun: true),
                                                   archive: { _ in })
            summary.digests = batch.digests
            summary.attempts = batch.attempts
            summary.truncated = batch.digests.count >= dryRunLimit
            return summary
        }
        let name = archiveName(now: now)
        let writer = ArchiveWriter(path: URL(fileURLWithPath: archiveFolder).appendingPathComponent(name).path)
        defer { writer.close() }
        while true {
            let batch = try await store.pruneBatch(.init(cutoff: cutoff, now: now, archiveName: name, limit: batchSize),
                                                   archive: { lines in try writer.append(lines) })
            summary.digests += batch.digests
            summary.attempts += batch.attempts
            // A batch another instance raced for archives fewer than it found: look again.
            if batch.candidates < batchSize { break }
        }
        summary.file = writer.created ? writer.path : nil
        return summary
    }

    /// `causeway-archive-20261204T031500Z-1a2b3c4d.jsonl`: sorts by time; the random part keeps
    /// several instances (or runs within one second) apart.
    static func archiveName(now: Int64) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        let time = formatter.string(from: Date(timeIntervalSince1970: Double(now) / 1000))
        return "causeway-archive-\(time)-\(String(UInt32.random(in: 0...UInt32.max), radix: 16)).jsonl"
    }
}

/// Appends archive lines to one new file (created 0600, never overwritten) and fsyncs after each
/// batch; the folder is fsynced once the file is created, so the file's name is durable too.
final class ArchiveWriter: Sendable {
    let path: String
    private let descriptor = Mutex<Int32>(-1)

    init(path: String) { self.path = path }

    var created: Bool { descriptor.withLock { $0 >= 0 } }

    func append(_ lines: [JSONObject]) throws {
        try descriptor.withLock { (fd: inout Int32) throws -> Void in
            if fd < 0 {
                let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
                fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND, 0o600)
                guard fd >= 0 else {
                    throw StoreError("retention.archive: cannot create \(path): \(String(cString: strerror(errno))) "
                        + "(the folder must exist and be writable by the gateway's user)")
                }
                let directory = open(folder, O_RDONLY)
                if directory >= 0 {
                    _ = fsync(directory)
                    Foundation.close(directory)
                }
            }
            let bytes = Array(lines.map { JSONWriter.string(.object($0), style: .compact) + "\n" }.joined().utf8)
            var written = 0
            while written < bytes.count {
                let n = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress! + written, bytes.count - written) }
                if n < 0 {
                    if errno == EINTR { continue }
                    throw StoreError("retention.archive: writing \(path) failed: \(String(cString: strerror(errno))) (is the disk full?)")
                }
                written += n
            }
            guard fsync(fd) == 0 else {
                throw StoreError("retention.archive: fsync of \(path) failed: \(String(cString: strerror(errno)))")
            }
        }
    }

    func close() {
        descriptor.withLock { fd in
            if fd >= 0 { _ = Foundation.close(fd) }
        }
    }
}
