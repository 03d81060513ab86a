import ArgumentParser
import CausewayCore
import Foundation

struct SubmitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "submit",
        abstract: "Post agreements to a gateway, concurrently, and print the digest and status of each.",
        discussion: """
            A folder submits its *.json files; a .jsonl file one agreement per line. An agreement answered 503 or 429 \
            (gateway busy) is sent again, up to 30 times a second apart. A refusal prints its code and each reason it \
            carries (finding or mapping error: code, path in the agreement, message). With $CAUSEWAY_TOKEN set, the \
            token is sent along, and the gateway answers with the full detail (without it: codes and paths only). \
            Exit 1 if any was refused, 2 if a file or the gateway cannot be read.
            """)

    @Option(name: .long, help: "The gateway's base URL (default $CAUSEWAY_GATEWAY or http://127.0.0.1:8080).")
    var gateway: String = GatewayClient.defaultGateway()

    @Option(name: .long, help: "Agreements in flight at once (at most 256).")
    var concurrency: Int = 8

    /// Sends of one agreement while the gateway answers 503 or 429 (one second apart).
    static let busyRetries = 30

    @Argument(help: "Agreement files, .jsonl files, or folders of .json files.")
    var paths: [String]

    func validate() throws {
        if paths.isEmpty { throw ValidationError("give at least one agreement file or folder") }
        if !(1...256).contains(concurrency) { throw ValidationError("--concurrency must be from 1 to 256") }
    }

    func run() async throws {
        var items: [(name: String, bytes: [UInt8])] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw CLIError("\(path): no such file") }
            if isDirectory.boolValue {
                let names = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { $0.hasSuffix(".json") }.sorted()
                for name in names { items.append(("\(path)/\(name)", try CLIInput.bytes("\(path)/\(name)"))) }
            } else if path.hasSuffix(".jsonl") {
                let lines = try CLIInput.bytes(path).split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true)
                for (number, line) in lines.enumerated() { items.append(("\(path):\(number + 1)", Array(line))) }
            } else {
                items.append((path, try CLIInput.bytes(path)))
            }
        }
        let endpoint = gateway.hasSuffix("/") ? gateway + "v1/agreements" : gateway + "/v1/agreements"
        // Intake needs no token; with one the gateway shows the refusals' whole detail.
        let token = GatewayClient.environmentToken()
        var refused = 0
        var failed: CLIError?
        await withTaskGroup(of: (Int, String, Result<(Int, JSONValue?), CLIError>).self) { group in
            var next = 0
            var results: [(Int, String, Result<(Int, JSONValue?), CLIError>)] = []
            func add() {
                guard next < items.count else { return }
                let (index, item) = (next, items[next])
                next += 1
                group.addTask {
                    do throws(CLIError) {
                        // A saturated gateway answers 503 (or 429): wait and send again, a bounded number of times.
                        var answer = try await GatewayClient.send("POST", endpoint, body: item.bytes, token: token)
                        var tries = 1
                        while answer.0 == 503 || answer.0 == 429, tries < Self.busyRetries {
                            try? await Task.sleep(for: .seconds(1))
                            answer = try await GatewayClient.send("POST", endpoint, body: item.bytes, token: token)
                            tries += 1
                        }
                        return (index, item.name, .success(answer))
                    } catch {
                        return (index, item.name, .failure(error))
                    }
                }
            }
            for _ in 0..<concurrency { add() }
            for await result in group {
                results.append(result)
                add()
            }
            for (_, name, result) in results.sorted(by: { $0.0 < $1.0 }) {
                switch result {
                case .failure(let error): failed = error
                case .success(let (status, body)):
                    if status == 200 || status == 202 {
                        print("\(body?["digest"]?.stringValue ?? "?")  \(body?["status"]?.stringValue ?? "?")  \(name)")
                    } else {
                        refused += 1
                        print(Self.refusal(status: status, body: body, name: name, withToken: token != nil))
                    }
                }
            }
        }
        if let failed { throw failed }
        if refused > 0 { throw ExitCode(1) }
    }

    /// A refusal as printed: `REFUSED  code  file: message`, then one indented line per finding or
    /// mapping error the answer carries (`code at path: message`), and a hint for the common causes.
    static func refusal(status: Int, body: JSONValue?, name: String, withToken: Bool) -> String {
        let code = body?["code"]?.stringValue ?? "HTTP \(status)"
        var lines = ["REFUSED  \(code)  \(name): \(body?["detail"]?.stringValue ?? body?["title"]?.stringValue ?? "")"]
        var shortened = false
        for key in ["findings", "errors"] {
            for item in body?[key]?.arrayValue ?? [] {
                var line = "  - \(item["code"]?.stringValue ?? "?")"
                if let path = item["path"]?.stringValue { line += " at \(path)" }
                if let message = item["message"]?.stringValue { line += ": \(message)" } else { shortened = true }
                lines.append(line)
            }
            if let omitted = body?[key + "Omitted"]?.exactInt, omitted > 0 { lines.append("  … and \(omitted) more") }
        }
        if let reason = body?["reason"]?.stringValue { lines.append("  - \(reason)") }
        if code == "intake.unknown_partner" {
            lines.append("  hint: no partner folder of this gateway lists these parties' DIDs; sign the agreement with keys a partner trusts "
                + "(for the demo: causeway sign --key causeway-demo/seller-key.json --role seller …, then the buyer's key)")
        }
        if shortened {
            lines.append(withToken
                ? "  hint: the gateway did not accept the token in CAUSEWAY_TOKEN, so it sent codes and paths only"
                : "  hint: set CAUSEWAY_TOKEN to a viewer or operator token to see each reason's message")
        }
        return lines.joined(separator: "\n")
    }
}

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show one agreement's status, actions and receipts, or the latest agreements.",
        discussion: "The token is read from $CAUSEWAY_TOKEN (a viewer token suffices).")

    @Option(name: .long, help: "The gateway's base URL (default $CAUSEWAY_GATEWAY or http://127.0.0.1:8080).")
    var gateway: String = GatewayClient.defaultGateway()

    @Flag(name: .long, help: "Print the gateway's JSON.")
    var json = false

    @Argument(help: "An agreement digest (sha256:…); without it, the latest agreements.")
    var digest: String?

    func run() async throws {
        guard let token = GatewayClient.environmentToken() else {
            throw CLIError("""
                no token: status needs a viewer or operator token in CAUSEWAY_TOKEN (the gateway answers \
                auth.token_required without one), e.g. export CAUSEWAY_TOKEN="$(cat causeway-demo/operator.token)" \
                for the demo
                """)
        }
        let base = gateway.hasSuffix("/") ? String(gateway.dropLast()) : gateway
        let (status, body) = try await GatewayClient.send("GET", base + (digest.map { "/v1/agreements/\($0)" } ?? "/v1/agreements"), token: token)
        guard status == 200, let body else {
            var message = "the gateway answered \(status): \(body?["code"]?.stringValue ?? "") \(body?["detail"]?.stringValue ?? body?["title"]?.stringValue ?? "")"
            if status == 401 {
                message += "\nthe token in CAUSEWAY_TOKEN is not one of this gateway's tokens (tokens: in its causeway.yaml; the demo's is in causeway-demo/operator.token)"
            }
            throw CLIError(message)
        }
        if json {
            print(JSONWriter.string(body, style: .pretty))
            return
        }
        if digest != nil {
            print("\(body["digest"]?.stringValue ?? "")  \(body["status"]?.stringValue ?? "")  \(body["partner"]?.stringValue ?? "")  \(body["id"]?.stringValue ?? "")")
            if let version = body["version"]?.exactInt, version > 1 || body["supersededBy"]?.stringValue != nil {
                let superseded = body["supersededBy"]?.stringValue.map { "; superseded by \($0)" } ?? "; the current version"
                print("  version \(version) (\(body["revision"]?.stringValue ?? "original"))\(superseded)")
            }
            for action in body["actions"]?.arrayValue ?? [] {
                let reference = action["legacyRef"]?["id"]?.stringValue.map { " ref \($0)" } ?? ""
                let error = action["lastError"]?.stringValue.map { " — \($0)" } ?? ""
                print("  action \(action["index"]?.exactInt ?? 0) \(action["name"]?.stringValue ?? "") → \(action["target"]?.stringValue ?? ""): \(action["state"]?.stringValue ?? "") after \(action["attempts"]?.exactInt ?? 0) attempt(s)\(reference)\(error)")
            }
            for receipt in body["receipts"]?.arrayValue ?? [] {
                print("  receipt \(receipt["id"]?.stringValue ?? "") ledger #\(receipt["ledger"]?["seq"]?.exactInt ?? -1)")
            }
            // The chain of changes and cancellation, when there is more than the original.
            let versions = body["versions"]?.arrayValue ?? []
            if versions.count > 1 {
                print("  versions:")
                for version in versions {
                    let kind = version["revision"]?.stringValue ?? "original"
                    let this = version["digest"]?.stringValue == body["digest"]?.stringValue ? "  ← this" : ""
                    let label = "v\(version["version"]?.exactInt ?? 0) \(kind)".padding(toLength: 18, withPad: " ", startingAt: 0)
                    let state = (version["status"]?.stringValue ?? "").padding(toLength: 11, withPad: " ", startingAt: 0)
                    print("    \(label)\(state)\(version["digest"]?.stringValue ?? "")\(this)")
                }
            }
        } else {
            for agreement in body["agreements"]?.arrayValue ?? [] {
                print("\(agreement["digest"]?.stringValue ?? "")  \(agreement["status"]?.stringValue ?? "")  \(agreement["partner"]?.stringValue ?? "")  \(agreement["id"]?.stringValue ?? "")")
            }
        }
    }
}
