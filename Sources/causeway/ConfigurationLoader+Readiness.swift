import CausewayGateway
import Yams

extension ConfigurationLoader {
    /// The `readiness:` section: `targets`, `every_seconds`, `timeout_seconds` (Docs/configuration.md, Readiness).
    static func parseReadiness(_ node: Node, into settings: inout GatewayConfiguration.ReadinessSettings, at: (Node?) -> String,
                               problems: inout [String]) {
        guard case .mapping(let fields) = node else {
            problems.append("\(at(node)): readiness: must map settings to values (targets, every_seconds, timeout_seconds)")
            return
        }
        for (key, value) in fields {
            let text: String? = if case .scalar(let s) = value { s.string } else { nil }
            switch key.string {
            case "targets":
                guard let text, text == "true" || text == "false" else {
                    problems.append("\(at(value)): readiness.targets: must be true or false (false: failing targets do not make /readyz answer 503)")
                    continue
                }
                settings.targets = text == "true"
            case "every_seconds":
                guard let text, let number = Int(text), (1...3600).contains(number) else {
                    problems.append("\(at(value)): readiness.every_seconds: must be a whole number of seconds from 1 to 3600, such as 10")
                    continue
                }
                settings.everySeconds = number
            case "timeout_seconds":
                guard let text, let number = Int(text), (1...300).contains(number) else {
                    problems.append("\(at(value)): readiness.timeout_seconds: must be a whole number of seconds from 1 to 300, such as 5")
                    continue
                }
                settings.timeoutSeconds = number
            default:
                problems.append("\(at(key)): readiness.\(key.string ?? "?"): unknown setting; known: every_seconds, targets, timeout_seconds")
            }
        }
    }
}
