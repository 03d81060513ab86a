import CausewayGateway
import Foundation
import Yams

extension ConfigurationLoader {
    /// The keys of `http.tls` (Docs/configuration.md, Listener TLS).
    static let listenerTLSKeys = ["certificate", "key", "client_ca", "client_certificates"]

    /// The `http.tls:` section: `certificate`, `key` and `client_ca` as `file:PATH` references
    /// (a bare path is taken for the two certificates, never for the key), `client_certificates`
    /// `none | optional | required`. The files are then read and checked as `serve` reads them
    /// (missing, unreadable, not PEM, expired, key not the certificate's), each problem naming the
    /// setting. `CAUSEWAY_TLS_CERTIFICATE`, `CAUSEWAY_TLS_KEY` and `CAUSEWAY_TLS_CLIENT_CA` override
    /// the file's values (and turn TLS on by themselves when both the certificate and key are set).
    static func parseListenerTLS(_ node: Node?, environment: [String: String], into settings: inout GatewayConfiguration.ListenerTLSSettings?,
                                 at: (Node?) -> String, problems: inout [String]) {
        var values: [String: (text: String, node: Node?)] = [:]
        if let node {
            guard case .mapping(let tls) = node else {
                problems.append("\(at(node)): http.tls: must map settings to values: certificate, key (file:PATH), client_ca, client_certificates")
                return
            }
            for (key, value) in tls {
                guard let name = key.string, listenerTLSKeys.contains(name) else {
                    problems.append("\(at(key)): http.tls.\(key.string ?? "?"): unknown setting; known: \(listenerTLSKeys.sorted().joined(separator: ", "))")
                    continue
                }
                guard case .scalar(let s) = value, !s.string.isEmpty else {
                    problems.append("\(at(value)): http.tls.\(name): must be a single value")
                    continue
                }
                values[name] = (s.string, value)
            }
        }
        for (variable, name) in [("CAUSEWAY_TLS_CERTIFICATE", "certificate"), ("CAUSEWAY_TLS_KEY", "key"), ("CAUSEWAY_TLS_CLIENT_CA", "client_ca")] {
            if let value = environment[variable], !value.isEmpty { values[name] = (value, nil) }
        }
        guard !values.isEmpty else { return }
        var complete = true
        func path(_ name: String, fileOnly: Bool) -> String? {
            guard let (text, node) = values[name] else { return nil }
            if text.hasPrefix("file:") {
                let path = String(text.dropFirst("file:".count))
                if !path.isEmpty { return path }
            } else if !fileOnly, !text.contains(":") {
                return text
            }
            problems.append("\(at(node)): http.tls.\(name): "
                + (fileOnly ? "the private key is given only as file:PATH (never in the configuration or the environment)" : "must be file:PATH"))
            complete = false
            return nil
        }
        let certificate = path("certificate", fileOnly: false)
        let key = path("key", fileOnly: true)
        let clientCA = path("client_ca", fileOnly: false)
        var mode: GatewayConfiguration.ListenerTLSSettings.ClientCertificates?
        if let (text, node) = values["client_certificates"] {
            mode = .init(rawValue: text)
            if mode == nil {
                problems.append("\(at(node)): http.tls.client_certificates: '\(text)' is none, optional or required")
                complete = false
            }
        }
        for (name, value) in [("certificate", certificate), ("key", key)] where value == nil && values[name] == nil {
            problems.append("\(at(node)): http.tls.\(name): required with http.tls (file:PATH of the PEM "
                + (name == "key" ? "private key)" : "certificate chain, server certificate first)"))
            complete = false
        }
        guard complete, let certificate, let key else { return }
        let configured = GatewayConfiguration.ListenerTLSSettings(certificate: certificate, key: key, clientCA: clientCA, clientCertificates: mode)
        settings = configured
        problems += ListenerTLS.problems(configured).map { "\(at(node)): \($0)" }
    }
}
