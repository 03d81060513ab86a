import ArgumentParser
import AsyncHTTPClient
import CausewayGateway
import CausewayStore
import Foundation
import NIOCore
import NIOHTTP1

/// `causeway audit`: the audit log of operator actions (Docs/operations.md, "Audit log").
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "The gateway's audit log of operator actions (sign-ins, retries, repairs, reloads).",
        subcommands: [Export.self])

    /// `causeway audit export`: every entry as JSON lines, oldest first, through `GET /v1/audit?format=jsonl`.
    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "export",
            abstract: "Write the audit log as JSON lines (one entry per line, oldest first).",
            discussion: """
                Needs an operator token in $CAUSEWAY_TOKEN. Each line: seq, at (RFC 3339 UTC), actor, channel, action, target, \
                outcome, remote, session, detail. Exit 0 on success, 2 when the gateway cannot be reached or refuses the token.
                """)

        @Option(name: .long, help: "The gateway's base URL (default $CAUSEWAY_GATEWAY or http://127.0.0.1:8080).")
        var gateway: String = GatewayClient.defaultGateway()

        @Option(name: .long, help: "Only entries at or after this time: RFC 3339 (2026-12-04T05:00:00Z) or a date (2026-12-04, UTC).")
        var since: String?

        @Option(name: .long, help: "Only entries before this time (RFC 3339 or a date).")
        var until: String?

        @Option(name: .long, help: "Only this action, such as dashboard.sign_in, agreement.retry, reconcile.repair, config.reload.")
        var action: String?

        @Option(name: .long, help: "Write to this file instead of standard output.")
        var out: String?

        func run() async throws {
            guard let token = GatewayClient.environmentToken() else {
                throw CLIError("set CAUSEWAY_TOKEN to an operator token of the gateway (the audit log is for operators)")
            }
            var components = URLComponents(string: gateway.hasSuffix("/") ? String(gateway.dropLast()) + "/v1/audit" : gateway + "/v1/audit")
            guard components?.scheme.map({ ["http", "https"].contains($0.lowercased()) }) == true, components?.host != nil else {
                throw CLIError("--gateway: \(SecretRedaction.redacted(url: gateway)) is not an http(s) URL")
            }
            var items = [URLQueryItem(name: "format", value: "jsonl")]
            if let since { items.append(URLQueryItem(name: "since", value: since)) }
            if let until { items.append(URLQueryItem(name: "until", value: until)) }
            if let action { items.append(URLQueryItem(name: "action", value: action)) }
            components?.queryItems = items
            guard let url = components?.string else { throw CLIError("--gateway: cannot build the URL") }
            let shown = SecretRedaction.redacted(url: gateway)

            let output: FileHandle
            if let out {
                guard FileManager.default.createFile(atPath: out, contents: nil, attributes: [.posixPermissions: 0o600]),
                    let handle = FileHandle(forWritingAtPath: out)
                else { throw CLIError("--out: cannot write \(out)") }
                output = handle
            } else {
                output = FileHandle.standardOutput
            }
            var request = HTTPClientRequest(url: url)
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
            let response: HTTPClientResponse
            do {
                response = try await GatewayClient.client.execute(request, timeout: .seconds(60))
            } catch {
                throw CLIError("cannot reach the gateway at \(shown): \(error) (--gateway or CAUSEWAY_GATEWAY gives its address)")
            }
            guard response.status.code == 200 else {
                let answer = (try? await response.body.collect(upTo: 64 * 1024)).map { String(buffer: $0) } ?? ""
                let hint = response.status.code == 401 ? " (CAUSEWAY_TOKEN is not a token of this gateway)"
                    : response.status.code == 403 ? " (the audit log needs an operator token)" : ""
                throw CLIError("the gateway at \(shown) answered \(response.status.code)\(hint): \(answer.prefix(500))")
            }
            var lines = 0
            do {
                for try await chunk in response.body {
                    lines += chunk.readableBytesView.reduce(0) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) }
                    try output.write(contentsOf: Data(chunk.readableBytesView))
                }
            } catch {
                throw CLIError("the export from \(shown) broke off after \(lines) entries: \(error)")
            }
            if out != nil {
                try? output.close()
                FileHandle.standardError.write(Data("\(lines) audit entries written to \(out ?? "")\n".utf8))
            }
        }
    }

    /// Records a reconcile repair run from the command line (one entry per repaired action, or one
    /// saying nothing needed repair), as `cli:$USER` from this host.
    static func recordRepair(_ repairs: [RepairRecord], store: any AgreementStore) async {
        let environment = ProcessInfo.processInfo.environment
        let actor = "cli:" + (environment["USER"] ?? environment["LOGNAME"] ?? "unknown")
        let host = ProcessInfo.processInfo.hostName
        let audit = AuditRecorder(store: store)
        if repairs.isEmpty {
            await audit.record(action: AuditEntry.Action.reconcileRepair, actor: actor, channel: "cli", remote: host, outcome: .success,
                               detail: "nothing missing, nothing re-queued")
        }
        for repair in repairs {
            await audit.record(action: AuditEntry.Action.reconcileRepair, actor: actor, channel: "cli", target: repair.digest, remote: host,
                               outcome: repair.action == .failed ? .failure : .success,
                               detail: "\(repair.action.rawValue) on \(repair.target): \(repair.detail)")
        }
    }
}
