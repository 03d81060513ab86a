import CausewayGateway
import Logging
import Yams

extension ConfigurationLoader {
    /// The `logging:` section: `format` (json | logfmt) and `level` (Docs/operations.md, "Logs").
    /// `CAUSEWAY_LOG_FORMAT` and `CAUSEWAY_LOG_LEVEL` in the environment override the file.
    static func parseLogging(_ node: Node?, environment: [String: String], into settings: inout LoggingSettings, at: (Node?) -> String,
                             problems: inout [String]) {
        let levels = Logger.Level.allCases.map(\.rawValue)
        func format(_ text: String, _ origin: String) {
            guard let parsed = LoggingSettings.Format(rawValue: text) else {
                problems.append("\(origin): logging.format: '\(text)' is not a format; use json or logfmt")
                return
            }
            settings.format = parsed
        }
        func level(_ text: String, _ origin: String) {
            guard let parsed = Logger.Level(rawValue: text) else {
                problems.append("\(origin): logging.level: '\(text)' is not a level; use one of \(levels.joined(separator: ", "))")
                return
            }
            settings.level = parsed
        }
        if let node {
            guard case .mapping(let logging) = node else {
                problems.append("\(at(node)): logging: must map settings to values (format, level)")
                return
            }
            for (key, value) in logging {
                guard case .scalar(let scalar) = value else {
                    problems.append("\(at(value)): logging.\(key.string ?? "?"): must be a single value")
                    continue
                }
                switch key.string {
                case "format": format(scalar.string, at(value))
                case "level": level(scalar.string, at(value))
                default: problems.append("\(at(key)): logging.\(key.string ?? "?"): unknown setting; known: format, level")
                }
            }
        }
        if let text = environment["CAUSEWAY_LOG_FORMAT"], !text.isEmpty { format(text, "CAUSEWAY_LOG_FORMAT") }
        if let text = environment["CAUSEWAY_LOG_LEVEL"], !text.isEmpty { level(text, "CAUSEWAY_LOG_LEVEL") }
    }
}
