import ArgumentParser
import CausewayCore
import CausewayMapping
import Foundation

struct PathCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "path",
        abstract: "Run an RFC 9535 JSONPath query and print the selected values (or their normalized paths) as a JSON array.",
        discussion: "Exit 0 on success (also when nothing matches), 2 for an invalid query or unreadable JSON.")

    @Flag(name: .long, help: "Print normalized paths instead of values.")
    var paths = false

    @Argument(help: "The query, e.g. '$.lines[?@.unit == \"kg\"].sku'.")
    var query: String

    @Argument(help: "A JSON file; standard input when omitted.")
    var file: String?

    func run() throws {
        let compiled: JSONPathQuery
        do {
            compiled = try JSONPathQuery(query)
        } catch {
            throw CLIError("invalid JSONPath at column \(error.column): \(error.message)\n  \(query)\n  \(String(repeating: " ", count: error.offset))^")
        }
        let bytes = try CLIInput.bytes(file ?? "-")
        let document: JSONValue
        do {
            document = try JSONReader().read(bytes)
        } catch {
            throw CLIError("\(file ?? "<stdin>"):\(error.line):\(error.column): \(error.message) (\(error.code))")
        }
        let nodes = compiled.select(document)
        let output: JSONValue = paths ? .array(nodes.map { .string($0.path.description) }) : .array(nodes.map(\.value))
        print(JSONWriter.string(output, style: .pretty))
    }
}
