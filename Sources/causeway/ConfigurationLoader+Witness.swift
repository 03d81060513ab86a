import CausewayGateway
import CausewayTrust
import Yams

extension ConfigurationLoader {
    /// The `witness:` section: `name`, `state`, and `logs: [{origin, key}]` (Docs/configuration.md).
    static func parseWitness(_ node: Node, into settings: inout GatewayConfiguration.WitnessSettings, at: (Node?) -> String,
                             problems: inout [String]) {
        guard case .mapping(let witness) = node else {
            problems.append("\(at(node)): witness: must map settings to values (name, state, logs)")
            return
        }
        for (key, value) in witness {
            switch key.string {
            case "name":
                guard case .scalar(let s) = value, !s.string.isEmpty, !s.string.contains(where: { $0 == "+" || $0.isWhitespace }) else {
                    problems.append("\(at(value)): witness.name: must be a key name without spaces or '+', such as erp.acme.example/witness")
                    continue
                }
                settings.name = s.string
            case "state":
                guard case .scalar(let s) = value, !s.string.isEmpty else {
                    problems.append("\(at(value)): witness.state: must be a folder path")
                    continue
                }
                settings.state = s.string
            case "logs":
                guard case .sequence(let logs) = value else {
                    problems.append("\(at(value)): witness.logs: must be a list of {origin, key}")
                    continue
                }
                for log in logs {
                    guard case .mapping(let fields) = log, case .scalar(let origin)? = fields["origin"], case .scalar(let logKey)? = fields["key"],
                        fields.count == 2
                    else {
                        problems.append("\(at(log)): witness.logs: each log is {origin: ORIGIN, key: VKEY or did:key}")
                        continue
                    }
                    if settings.logs.contains(where: { $0.origin == origin.string }) {
                        problems.append("\(at(log)): witness.logs: the origin \(origin.string) is listed twice")
                        continue
                    }
                    let log = GatewayConfiguration.WitnessedLog(origin: origin.string, key: logKey.string)
                    if case .failure(let problem) = log.noteKey() {
                        problems.append("\(at(fields["key"])): witness.logs[\(origin.string)].key: \(problem.message)")
                        continue
                    }
                    settings.logs.append(log)
                }
            default:
                problems.append("\(at(key)): witness.\(key.string ?? "?"): unknown setting; known: logs, name, state")
            }
        }
    }
}
