public import AdapterKit
public import CausewayCore
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Drops one file per action into a folder that an ERP ingests: XML, JSON or CSV, written
/// atomically and named by the agreement digest and action index.
///
/// The file name is the idempotency key made safe for a file system
/// (`sha256-<hex>-<index>.<format>`, after an optional prefix), so a retry can never make a
/// second file: a file is written under a temporary name, synced, and made visible with
/// `link(2)`, which never replaces an existing file. An existing file with the same name and
/// the same bytes is the earlier delivery; one with other bytes is a conflict and rejected.
///
/// ```swift
/// let adapter = try FileDropAdapter(settings: settings)   // folder: /srv/erp/inbox, format: xml
/// let outcome = await adapter.deliver(delivery)            // delivered file:xml:sha256-….xml
/// ```
public final class FileDropAdapter: Adapter {
    /// What the files hold.
    public enum Format: String, Sendable, Hashable, CaseIterable {
        /// An `xml` action's document, as ``XMLSerializer`` writes it.
        case xml
        /// The action's JSON form with its idempotency key and agreement (rows, purchase orders, HTTP bodies).
        case json
        /// A header line and one record per row, RFC 4180 (rows and purchase orders).
        case csv

        /// The action kinds a file of this format can express.
        public var actionKinds: Set<LegacyAction.Kind> {
            switch self {
            case .xml: [.xml]
            case .json: [.rows, .erpPurchaseOrder, .http]
            case .csv: [.rows, .erpPurchaseOrder]
            }
        }
    }

    /// A target's settings, typed.
    public struct Configuration: Sendable, Hashable {
        /// The folder the ERP ingests; it must exist and be writable.
        public var folder: String
        public var format: Format
        /// Whether to write `<name>.provenance.json` (the record's canonical bytes) beside each file, before it.
        public var provenance: Bool
        /// Put in front of every file name (`po-`); no `/`, not starting with `.`.
        public var prefix: String
        /// Where the ERP moves files it has ingested, if it does: a name found there counts as delivered too.
        public var processedFolder: String?
        /// The CSV field separator (`,` by default; `;` for many European spreadsheets).
        public var csvDelimiter: UInt8

        public init(folder: String, format: Format, provenance: Bool = false, prefix: String = "", processedFolder: String? = nil,
                    csvDelimiter: UInt8 = UInt8(ascii: ",")) {
            self.folder = folder
            self.format = format
            self.provenance = provenance
            self.prefix = prefix
            self.processedFolder = processedFolder
            self.csvDelimiter = csvDelimiter
        }
    }

    /// The kind `file`, every action kind some format can express, and the settings.
    public static let descriptor = AdapterDescriptor(
        kind: "file",
        summary: "XML, JSON or CSV files written atomically into a folder an ERP ingests, one per action, named by its key.",
        actionKinds: [.xml, .rows, .erpPurchaseOrder, .http],
        schema: ConfigurationSchema([
            .init("folder", .string, required: true, help: "the folder the ERP ingests; it must exist and be writable"),
            .init("format", .string, required: true, help: "xml, json or csv"),
            .init("provenance", .boolean, default: "false", help: "write <name>.provenance.json beside each file"),
            .init("prefix", .string, help: "put in front of every file name, such as po-"),
            .init("processed_folder", .string, help: "where the ERP moves ingested files; names found there count as delivered"),
            .init("csv_delimiter", .string, default: ",", help: "the CSV field separator: one character such as , or ;"),
        ]))

    /// This target's descriptor: the action kinds narrowed to what its format can express.
    public let descriptor: AdapterDescriptor
    public let configuration: Configuration
    /// Every file operation of this adapter runs here, one at a time, off the cooperative pool.
    let queue = DispatchQueue(label: "causeway.adapter.file")

    /// An adapter for a configuration, without checking the folder (``init(settings:)`` checks it).
    public init(configuration: Configuration) {
        self.configuration = configuration
        descriptor = AdapterDescriptor(kind: Self.descriptor.kind, summary: Self.descriptor.summary,
                                       actionKinds: configuration.format.actionKinds, schema: Self.descriptor.schema)
    }

    /// From a target's validated settings; the folder must exist, be a folder and be writable.
    public convenience init(settings: AdapterSettings) throws(AdapterConfigurationError) {
        var problems: [String] = []
        let folder = settings["folder"] ?? ""
        if folder.isEmpty {
            problems.append("folder: required (the folder the ERP ingests)")
        } else if let problem = Self.checkFolder(folder, key: "folder") {
            problems.append(problem)
        }
        let format = Format(rawValue: settings["format"] ?? "")
        if format == nil { problems.append("format: must be xml, json or csv") }
        let prefix = settings["prefix"] ?? ""
        if prefix.contains("/") || prefix.hasPrefix(".") || prefix.utf8.contains(0) {
            problems.append("prefix: must not contain / nor start with . (temporary files start with .)")
        }
        let processed = settings["processed_folder"].flatMap { $0.isEmpty ? nil : $0 }
        if let processed, Self.isDirectory(processed) == false {
            problems.append("processed_folder: \(processed) is not a folder; create it or leave the setting out")
        }
        let delimiter = Array((settings["csv_delimiter"] ?? ",").utf8)
        if delimiter.count != 1 || [UInt8(ascii: "\""), 10, 13].contains(delimiter[0]) {
            problems.append("csv_delimiter: must be one ASCII character other than a quote or a line break, such as , or ;")
        }
        guard problems.isEmpty, let format else { throw AdapterConfigurationError(problems: problems) }
        self.init(configuration: Configuration(folder: folder, format: format, provenance: settings["provenance"] == "true", prefix: prefix,
                                               processedFolder: processed, csvDelimiter: delimiter[0]))
    }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// Why `path` cannot receive files, naming the setting and the fix; nil when it can.
    static func checkFolder(_ path: String, key: String) -> String? {
        var info = stat()
        if stat(path, &info) != 0 {
            return "\(key): \(path): \(Errno.text(errno)); create the folder or point \(key) at the ERP's import folder"
        }
        if (info.st_mode & S_IFMT) != S_IFDIR { return "\(key): \(path) is not a folder" }
        if access(path, W_OK | X_OK) != 0 {
            return "\(key): \(path) is not writable by this process (\(Errno.text(errno))); grant write permission to the gateway's user"
        }
        return nil
    }

    // MARK: Adapter

    public func deliver(_ delivery: Delivery) async -> DeliveryOutcome {
        let file: RenderedFile
        switch render(delivery) {
        case .success(let rendered): file = rendered
        case .failure(let problem): return .rejected(problem.reason)
        }
        return await onQueue { self.publish(file) }
    }

    public func lookup(_ delivery: Delivery) async -> LookupResult {
        let name = fileName(for: delivery)
        return await onQueue { self.find(name) }
    }

    /// The legacy reference of a file: `file:<format>:<name>`.
    func reference(_ name: String) -> LegacyReference { LegacyReference(system: "file", kind: configuration.format.rawValue, id: name) }

    /// Runs blocking file work on the adapter's queue and waits for it without blocking a cooperative thread.
    func onQueue<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: work()) }
        }
    }
}
