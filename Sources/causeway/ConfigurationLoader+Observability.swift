import CausewayGateway
import Foundation
import Yams

extension ConfigurationLoader {
    /// The `tracing:` section: `otlp_endpoint` (required), `service_name`, `sample_ratio`, `protocol`
    /// (Docs/operations.md, Traces). Every problem names the key and the fix.
    static func parseTracing(_ node: Node, at: (Node?) -> String, problems: inout [String]) -> GatewayConfiguration.TracingSettings? {
        guard case .mapping(let tracing) = node else {
            problems.append("\(at(node)): tracing: must map settings to values (otlp_endpoint, service_name, sample_ratio, protocol)")
            return nil
        }
        guard case .scalar(let endpoint)? = tracing["otlp_endpoint"] else {
            problems.append("\(at(node)): tracing.otlp_endpoint: required, the collector's OTLP/HTTP URL such as http://otel-collector:4318")
            return nil
        }
        var settings = GatewayConfiguration.TracingSettings(otlpEndpoint: endpoint.string)
        if let url = URL(string: endpoint.string), ["http", "https"].contains(url.scheme?.lowercased() ?? ""), url.host?.isEmpty == false,
            url.user == nil, url.password == nil, url.query == nil
        {
            // usable
        } else {
            problems.append("\(at(tracing["otlp_endpoint"])): tracing.otlp_endpoint: must be an http:// or https:// URL with a host "
                + "and no credentials or query, such as http://otel-collector:4318")
        }
        for (key, value) in tracing {
            switch key.string {
            case "otlp_endpoint": break
            case "service_name":
                guard case .scalar(let s) = value, !s.string.isEmpty, s.string.utf8.count <= 128 else {
                    problems.append("\(at(value)): tracing.service_name: must be a name of 1 to 128 characters, such as causeway")
                    continue
                }
                settings.serviceName = s.string
            case "sample_ratio":
                guard case .scalar(let s) = value, let ratio = Double(s.string), ratio >= 0, ratio <= 1 else {
                    problems.append("\(at(value)): tracing.sample_ratio: must be a number from 0 to 1 (1.0 records every trace)")
                    continue
                }
                settings.sampleRatio = ratio
            case "protocol":
                guard case .scalar(let s) = value, let wire = GatewayConfiguration.TracingSettings.WireProtocol(rawValue: s.string) else {
                    problems.append("\(at(value)): tracing.protocol: must be http/protobuf or http/json")
                    continue
                }
                settings.wireProtocol = wire
            default:
                problems.append("\(at(key)): tracing.\(key.string ?? "?"): unknown setting; known: otlp_endpoint, protocol, sample_ratio, service_name")
            }
        }
        return settings
    }
}
