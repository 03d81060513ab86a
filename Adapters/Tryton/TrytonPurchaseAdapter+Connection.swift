public import AdapterKit
import CausewayCore

extension TrytonPurchaseAdapter {
    /// Logs in (once; the session is kept) and reads the user's preferences: Tryton down, the
    /// database missing, or the login refused throws, naming `url`, `password` or `company`.
    public func checkConnection() async throws(AdapterConfigurationError) {
        do throws(TrytonFailure) {
            _ = try await connection.call("model.res.user.get_preferences", [true])
        } catch {
            let problem: String = switch error {
            case .notSent(let reason): "url: cannot reach Tryton at \(connection.endpoint): \(reason) (is trytond running? check the url)"
            case .noAnswer(let reason): "url: Tryton at \(connection.endpoint) did not answer: \(reason) (check the url and timeout)"
            case .loginRefused(let reason): "password: \(reason) (check user and the password secret)"
            case .status(let code, let reason): "url: Tryton answered HTTP \(code): \(reason)"
            case .invalid(let reason): "company: \(reason)"
            case .userError(let reason), .serverError(let reason), .malformed(let reason): "url: Tryton refused the check: \(reason)"
            }
            throw AdapterConfigurationError(problems: [problem])
        }
    }
}
