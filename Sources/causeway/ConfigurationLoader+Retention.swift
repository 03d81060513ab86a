import CausewayGateway
import Yams

extension ConfigurationLoader {
    /// The `retention:` section: `days`, `archive`, `every_seconds` (Docs/configuration.md, Retention).
    static func parseRetention(_ node: Node, at: (Node?) -> String, problems: inout [String]) -> GatewayConfiguration.RetentionSettings? {
        guard case .mapping(let fields) = node else {
            problems.append("\(at(node)): retention: must map settings to values (days, archive, every_seconds)")
            return nil
        }
        var days: Int?
        var archive: String?
        var every = 3600
        var valid = true
        for (key, value) in fields {
            let text: String? = if case .scalar(let s) = value { s.string } else { nil }
            switch key.string {
            case "days":
                guard let text, let number = Int(text), number >= 1, number <= 36_500 else {
                    problems.append("\(at(value)): retention.days: must be a whole number of days from 1 to 36500, such as 90")
                    valid = false
                    continue
                }
                days = number
            case "archive":
                guard let text, !text.isEmpty else {
                    problems.append("\(at(value)): retention.archive: must be the folder the archive files go to, such as /var/lib/causeway/archive")
                    valid = false
                    continue
                }
                archive = text
            case "every_seconds":
                guard let text, let number = Int(text), number >= 0 else {
                    problems.append("\(at(value)): retention.every_seconds: must be a whole number of seconds (0: prune only with causeway store prune)")
                    valid = false
                    continue
                }
                every = number
            default:
                problems.append("\(at(key)): retention.\(key.string ?? "?"): unknown setting; known: archive, days, every_seconds")
                valid = false
            }
        }
        if days == nil { problems.append("\(at(node)): retention.days: required (how many days finished agreements are kept, such as 90)"); valid = false }
        if archive == nil {
            problems.append("\(at(node)): retention.archive: required (the folder archive files are written to, such as /var/lib/causeway/archive)")
            valid = false
        }
        guard valid, let days, let archive else { return nil }
        return .init(days: days, archive: archive, everySeconds: every)
    }
}
