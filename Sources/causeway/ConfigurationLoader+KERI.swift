import CausewayGateway
import Yams

extension ConfigurationLoader {
    /// The `keri:` section: `webs`, `refresh_seconds`, `max_kel_bytes`, `insecure_loopback` (Docs/keri.md).
    static func parseKERI(_ node: Node, into settings: inout GatewayConfiguration.KERISettings, at: (Node?) -> String,
                          problems: inout [String]) {
        guard case .mapping(let keri) = node else {
            problems.append("\(at(node)): keri: must map settings to values (webs, refresh_seconds, max_kel_bytes, insecure_loopback)")
            return
        }
        for (key, value) in keri {
            let text: String? = if case .scalar(let s) = value { s.string } else { nil }
            switch key.string {
            case "webs":
                guard let text, !text.isEmpty, !text.contains(where: { $0 == "/" || $0.isWhitespace }) else {
                    problems.append("\(at(value)): keri.webs: must be HOST[:PATH] as in did:webs (a port as %3A), such as erp.acme.example:causeway")
                    continue
                }
                settings.webs = text
            case "refresh_seconds":
                guard let text, let seconds = Double(text), seconds >= 0, seconds <= 86400 else {
                    problems.append("\(at(value)): keri.refresh_seconds: must be a number of seconds from 0 (never) to 86400")
                    continue
                }
                settings.keeper.refreshIntervalSeconds = seconds
            case "max_kel_bytes":
                guard let text, let bytes = Int(text), bytes >= 1024, bytes <= 16 << 20 else {
                    problems.append("\(at(value)): keri.max_kel_bytes: must be a whole number of bytes from 1024 to 16777216")
                    continue
                }
                settings.keeper.maxKELBytes = bytes
            case "insecure_loopback":
                guard let text, text == "true" || text == "false" else {
                    problems.append("\(at(value)): keri.insecure_loopback: must be true or false")
                    continue
                }
                settings.keeper.allowInsecureLoopback = text == "true"
            default:
                problems.append("\(at(key)): keri.\(key.string ?? "?"): unknown setting; known: insecure_loopback, max_kel_bytes, refresh_seconds, webs")
            }
        }
    }
}
