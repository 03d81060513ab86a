import CausewayCore
import CausewayTrust
import Foundation

/// Reading files and standard input for commands, with errors that name the file.
enum CLIInput {
    /// The bytes of a file, or standard input for `-`.
    static func bytes(_ path: String) throws(CLIError) -> [UInt8] {
        if path == "-" { return Array(FileHandle.standardInput.readDataToEndOfFile()) }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw CLIError("\(path): no such file")
        }
        guard !isDirectory.boolValue else { throw CLIError("\(path): is a directory, expected a file") }
        guard let data = FileManager.default.contents(atPath: path) else { throw CLIError("\(path): cannot be read") }
        return Array(data)
    }

    /// A strict JSON object from a file.
    static func jsonObject(_ path: String, limits: JSONReader.Limits = .default) throws(CLIError) -> JSONObject {
        let bytes = try bytes(path)
        let value: JSONValue
        do {
            value = try JSONReader(limits: limits).read(bytes)
        } catch {
            throw CLIError("\(path):\(error.line):\(error.column): \(error.message) (\(error.code))")
        }
        guard case .object(let object) = value else { throw CLIError("\(path): expected a JSON object, found \(value.typeName)") }
        return object
    }

    /// Writes text to a file (atomically) or to standard output when `path` is nil.
    static func write(_ text: String, to path: String?) throws(CLIError) {
        guard let path else {
            FileHandle.standardOutput.write(Data(text.utf8))
            return
        }
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw CLIError("\(path): cannot be written")
        }
    }

    /// The signing key in a key file made by `causeway keys new`.
    static func signingIdentity(keyFile path: String) throws(CLIError) -> SigningIdentity {
        do {
            return try SigningIdentity(contentsOfKeyFile: path)
        } catch {
            throw CLIError("\(path): \(error.message)")
        }
    }

    static func printError(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    /// The current time as RFC 3339 UTC with whole seconds.
    static func now() -> String {
        Timestamp(epochSeconds: Int64(Date().timeIntervalSince1970.rounded(.down))).text
    }
}
