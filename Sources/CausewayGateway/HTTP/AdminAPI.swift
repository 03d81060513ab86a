import CausewayCore
import Foundation
import Hummingbird

/// Operator actions on the running gateway itself (Docs/operations.md, "Live reload").
///
/// `POST /v1/admin/reload` (operator token): reads `causeway.yaml` and the partner folders again
/// and, when all of it checks, swaps in the new partners, targets and tokens. Answers 200 with
/// what changed, or 422 `reload.invalid` with every problem in `problems` (nothing changed).
struct AdminAPI: Sendable {
    let reloader: GatewayReloader
    let tokens: TokenAuthenticator
    let throttle: AuthThrottle
    /// Also reloads the listener's certificate, when the listener has TLS (nil otherwise).
    var reloadCertificates: (@Sendable () async throws -> Void)? = nil

    func register(on router: Router<GatewayRequestContext>) {
        let operators = router.group("/v1/admin").add(middleware: BearerAuthentication(tokens: tokens, throttle: throttle, role: .operator))
        operators.post("reload") { _, context in
            try await self.reload(ReloadRequest(caller: context.caller?.name ?? "operator", channel: "api", remote: context.clientAddress))
        }
    }

    func reload(_ request: ReloadRequest) async throws -> Response {
        switch await reloader.reload(request) {
        case .applied(let summary):
            var body = summary.object
            if let reloadCertificates {
                do {
                    try await reloadCertificates()
                    body["certificate"] = "reloaded"
                } catch {
                    throw Problem(422, "reload.certificate_invalid", "The listener certificate was not reloaded",
                                  "the configuration was reloaded, but the certificate was not: \(error)")
                }
            }
            return GatewayAPI.json(.object(body))
        case .refused(let problems):
            throw Problem(422, "reload.invalid", "The new configuration was refused",
                          "nothing changed; the running configuration stays. Fix every problem listed and reload again",
                          extra: ["problems": .array(problems.map(JSONValue.string))])
        }
    }
}
