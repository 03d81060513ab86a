import CausewayCore
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Small HTTP helpers for `submit` and `status`.
enum GatewayClient {
    static func defaultGateway() -> String { ProcessInfo.processInfo.environment["CAUSEWAY_GATEWAY"] ?? "http://127.0.0.1:8080" }

    /// Sends a request; returns the status and the JSON body (nil when not JSON).
    static func send(_ method: String, _ url: String, body: [UInt8]? = nil, token: String? = nil) async throws(CLIError) -> (Int, JSONValue?) {
        guard let target = URL(string: url) else { throw CLIError("\(url): not a URL") }
        var request = URLRequest(url: target)
        request.httpMethod = method
        request.timeoutInterval = 30
        if let body {
            request.httpBody = Data(body)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        do {
            let (data, response) = try await URLSession.shared.data(for: request)
            return ((response as? HTTPURLResponse)?.statusCode ?? 0, try? JSONReader(limits: .init(maxBytes: 64 << 20)).read(Array(data)))
        } catch {
            throw CLIError("cannot reach the gateway at \(url): \(error.localizedDescription)")
        }
    }
}
