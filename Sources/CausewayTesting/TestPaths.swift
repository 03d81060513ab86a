public import Foundation

/// Where tests find the repository, the shared test vectors, and the tools they run.
///
/// The vectors live outside the repository (`../shared/vectors`, beside the checkout, as CI lays
/// them out); `CAUSEWAY_VECTORS` points elsewhere. A missing folder is a test failure, not a skip.
public enum TestPaths {
    /// The package root (the folder holding Package.swift).
    public static let repository: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
        }
        fatalError("Package.swift not found above \(#filePath)")
    }()

    /// The shared test vectors folder.
    public static var vectors: URL {
        if let override = ProcessInfo.processInfo.environment["CAUSEWAY_VECTORS"] {
            return URL(fileURLWithPath: override)
        }
        return repository.deletingLastPathComponent().appendingPathComponent("shared/vectors")
    }

    /// The shared benchmark tools folder (agreement generator, Python peer).
    public static var sharedBench: URL {
        if let override = ProcessInfo.processInfo.environment["CAUSEWAY_SHARED_BENCH"] {
            return URL(fileURLWithPath: override)
        }
        return repository.deletingLastPathComponent().appendingPathComponent("shared/bench")
    }

    /// Bytes of a vector file; throws a readable error naming the path when it is missing.
    public static func vector(_ relativePath: String) throws -> Data {
        let url = vectors.appendingPathComponent(relativePath)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw MissingTestInput(path: url.path,
                                   hint: "the shared test vectors must be beside the checkout (../shared/vectors) or named by CAUSEWAY_VECTORS")
        }
        return data
    }

    /// The Python interpreter for tests that drive an independent implementation
    /// (`CAUSEWAY_PYTHON`, set by scripts/test to a venv with pynacl and jcs).
    public static var python: String? { ProcessInfo.processInfo.environment["CAUSEWAY_PYTHON"] }
}

/// A test input that must exist does not.
public struct MissingTestInput: Error, CustomStringConvertible {
    public let path: String
    public let hint: String
    public init(path: String, hint: String) {
        self.path = path
        self.hint = hint
    }
    public var description: String { "missing test input \(path): \(hint)" }
}
