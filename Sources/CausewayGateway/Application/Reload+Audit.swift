import CausewayStore

extension GatewayReloader {
    /// Records every reload in the store's audit log (action `config.reload`): who asked (the
    /// token's name, or `SIGHUP`), through what (`api`, `signal`), from where, and how it ended
    /// (`success` with what changed, or `failure` with how many problems).
    func recordInAuditLog(_ recorder: AuditRecorder) {
        observe { request, outcome in
            let (result, detail): (AuditEntry.Outcome, String) = switch outcome {
            case .applied(let summary):
                (.success, "generation \(summary.generation); partners \(summary.partners.text); targets \(summary.targets.text); "
                    + "tokens \(summary.tokens.text)" + (summary.restartRequired.isEmpty ? "" : "; needs a restart: \(summary.restartRequired.joined(separator: ", "))"))
            case .refused(let problems):
                (.failure, "refused with \(problems.count) problem\(problems.count == 1 ? "" : "s"); the running configuration stays")
            }
            await recorder.record(action: AuditEntry.Action.configReload, actor: request.caller, channel: request.channel,
                                  remote: request.remote, outcome: result, detail: String(detail.prefix(1000)))
        }
    }
}
