import AdapterKit
import CausewayCore
import Foundation
import NIOHTTP1

/// Building the request for an action: URL, headers, body; XML is validated here, before anything is sent.
extension HTTPTargetAdapter {
    /// A request ready to send, and what is needed to read its answer.
    struct PreparedRequest: Sendable {
        let method: String
        let url: String
        /// The path as the mapping wrote it, for reasons (never with the query's values filled in).
        let displayPath: String
        let headers: HTTPHeaders
        let body: [UInt8]?
        /// Where the legacy reference is in a JSON answer (`$.notificationId`, `/id`).
        let capture: String?
        /// The reference's `kind`: the action's path without its query.
        let kind: String
        let isSOAP: Bool
    }

    /// Why an action cannot be sent; `reason` names the field and the fix.
    struct PreparationProblem: Error {
        let reason: String
    }

    /// Headers the adapter sets itself; an action may not set them.
    static let reservedHeaders: Set<String> = [
        "idempotency-key", "authorization", "content-type", "content-length", "host", "transfer-encoding", "connection", "soapaction",
        "traceparent", "tracestate",
    ]

    static let methods: Set<String> = ["GET", "POST", "PUT", "PATCH", "DELETE"]

    func prepare(_ delivery: Delivery) -> Result<PreparedRequest, PreparationProblem> {
        var headers = HTTPHeaders()
        switch delivery.action.payload {
        case .http(let http):
            let method = http.method.uppercased()
            guard Self.methods.contains(method) else {
                return .failure(.init(reason: "http.method: '\(http.method)' is not one of \(Self.methods.sorted().joined(separator: ", "))"))
            }
            if let problem = Self.checkPath(http.path, field: "http.path") { return .failure(problem) }
            for header in http.headers {
                let lower = header.name.lowercased()
                if Self.reservedHeaders.contains(lower) || lower.hasPrefix("causeway-") {
                    return .failure(.init(reason: "http.headers.\(header.name): set by the adapter; remove it from the mapping"))
                }
                guard Self.isToken(header.name) else { return .failure(.init(reason: "http.headers: '\(header.name)' is not a valid header name")) }
                guard Self.isSafeHeaderValue(header.value) else {
                    return .failure(.init(reason: "http.headers.\(header.name): the value has control characters"))
                }
                headers.add(name: header.name, value: header.value)
            }
            var body: [UInt8]?
            if let json = http.body {
                body = JCS.canonicalize(json)
                headers.add(name: "Content-Type", value: "application/json")
            }
            headers.add(name: "Accept", value: "application/json, application/problem+json;q=0.9, */*;q=0.5")
            addCommonHeaders(to: &headers, delivery)
            return .success(PreparedRequest(method: method, url: configuration.baseURL + http.path, displayPath: http.path, headers: headers,
                                            body: body, capture: http.captureReference, kind: Self.referenceKind(of: delivery.action),
                                            isSOAP: false))

        case .xml(let xml):
            let path = xml.path ?? ""
            if let problem = Self.checkPath(path, field: "xml.path") { return .failure(problem) }
            if let schema = xml.schema {
                if let problem = validate(xml, schema: schema, partner: delivery.provenance.plan.partner) { return .failure(problem) }
            }
            let document = XMLSerializer.document(xml)
            switch xml.soap?.version {
            case nil:
                headers.add(name: "Content-Type", value: "application/xml; charset=utf-8")
                headers.add(name: "Accept", value: "application/xml, text/xml;q=0.9, */*;q=0.5")
            case "1.1":
                headers.add(name: "Content-Type", value: "text/xml; charset=utf-8")
                // SOAP 1.1 §6.1.1: the header is a quoted URI, and present (empty) even without an action.
                headers.add(name: "SOAPAction", value: "\"" + Self.headerSafe(xml.soap?.action ?? "").replacingOccurrences(of: "\"", with: "%22") + "\"")
                headers.add(name: "Accept", value: "text/xml")
            case "1.2":
                var type = "application/soap+xml; charset=utf-8"
                if let action = xml.soap?.action {
                    type += "; action=\"" + Self.headerSafe(action).replacingOccurrences(of: "\"", with: "%22") + "\""
                }
                headers.add(name: "Content-Type", value: type)
                headers.add(name: "Accept", value: "application/soap+xml")
            case let other?:
                return .failure(.init(reason: "xml.soap.version: '\(other)' is not 1.1 or 1.2"))
            }
            addCommonHeaders(to: &headers, delivery)
            return .success(PreparedRequest(method: "POST", url: configuration.baseURL + path, displayPath: path.isEmpty ? "/" : path,
                                            headers: headers, body: Array(document.utf8), capture: nil,
                                            kind: Self.referenceKind(of: delivery.action), isSOAP: xml.soap != nil))

        default:
            return .failure(.init(reason: "the http adapter performs http and xml actions, not \(delivery.action.kind.rawValue)"))
        }
    }

    /// Validates the bare document (the envelope is not part of the partner's schema) against the
    /// XSD at `partners/<partner>/<schema>`.
    func validate(_ xml: XMLDocumentAction, schema: String, partner: String) -> PreparationProblem? {
        let components = schema.split(separator: "/")
        guard !schema.hasPrefix("/"), !components.contains(".."), !partner.isEmpty, !partner.contains("/"), partner != ".." else {
            return .init(reason: "xml.schema: '\(schema)' must be a path inside the partner folder \(partner)")
        }
        let url = configuration.partnersFolder.appendingPathComponent(partner).appendingPathComponent(schema)
        guard FileManager.default.fileExists(atPath: url.path) else {
            return .init(reason: "xml.schema: \(schema) not found in the partner folder (looked for \(url.standardizedFileURL.path)); "
                + "check the target's partners setting")
        }
        let bare = XMLSerializer.document(XMLDocumentAction(root: xml.root, soap: nil, schema: nil, path: nil))
        switch validator.validate(bare, schemaURL: url, within: configuration.partnersFolder.appendingPathComponent(partner), pinned: xml.schemaDigest) {
        case .valid: return nil
        case .unusableSchema(let why): return .init(reason: "xml.schema: \(schema) cannot be used: \(why)")
        case .invalid(let problems):
            let shown = problems.prefix(5).map(\.description).joined(separator: "; ")
            let more = problems.count > 5 ? " (and \(problems.count - 5) more)" : ""
            return .init(reason: "the XML document does not conform to \(schema), not sent: \(shown)\(more)")
        }
    }

    /// Idempotency and provenance headers, and authentication: on every call, lookups included.
    func addCommonHeaders(to headers: inout HTTPHeaders, _ delivery: Delivery) {
        headers.add(name: "Idempotency-Key", value: delivery.idempotencyKey)
        headers.add(name: "Causeway-Agreement-Digest", value: delivery.agreementDigest.description)
        headers.add(name: "Causeway-Agreement-ID", value: Self.headerSafe(delivery.agreementID))
        headers.add(name: "Causeway-Receipt-ID", value: Self.headerSafe(delivery.provenance.receiptID))
        headers.add(name: "Causeway-Provenance-Digest", value: delivery.provenance.digest.description)
        headers.add(name: "Causeway-Provenance", value: Self.base64URL(delivery.provenance.canonicalBytes))
        // W3C trace context: the target's own spans join the delivery's trace.
        if let traceparent = delivery.traceparent, Self.isSafeHeaderValue(traceparent) {
            headers.add(name: "traceparent", value: traceparent)
            if let tracestate = delivery.tracestate, !tracestate.isEmpty, Self.isSafeHeaderValue(tracestate) {
                headers.add(name: "tracestate", value: tracestate)
            }
        }
        switch configuration.authentication {
        case .none: break
        case .bearer(let token): headers.add(name: "Authorization", value: "Bearer " + token)
        case .basic(let username, let password):
            headers.add(name: "Authorization", value: "Basic " + Data("\(username):\(password)".utf8).base64EncodedString())
        }
    }

    /// A path appended to `base_url`: empty or starting with `/`, no `..` segment, no spaces or controls.
    static func checkPath(_ path: String, field: String) -> PreparationProblem? {
        if path.isEmpty { return nil }
        let pathPart = path.split(separator: "?", maxSplits: 1).first.map(String.init) ?? ""
        guard path.hasPrefix("/"), !pathPart.split(separator: "/").contains(".."),
            path.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F })
        else {
            return .init(reason: "\(field): must start with / and hold only visible ASCII characters, without .. segments")
        }
        return nil
    }

    /// The reference kind of an action: its path without the query (`/api/v1/order-notifications`).
    static func referenceKind(of action: LegacyAction) -> String {
        let path: String
        switch action.payload {
        case .http(let http): path = http.path
        case .xml(let xml): path = xml.path ?? "/"
        default: path = "/"
        }
        let bare = path.split(separator: "?", maxSplits: 1).first.map(String.init) ?? "/"
        return bare.isEmpty ? "/" : bare
    }

    static func capture(of action: LegacyAction) -> String? {
        if case .http(let http) = action.payload { return http.captureReference }
        return nil
    }

    /// RFC 7230 token characters (header names).
    static func isToken(_ text: String) -> Bool {
        !text.isEmpty && text.unicodeScalars.allSatisfy { s in
            (s.value > 0x20 && s.value < 0x7F) && !"()<>@,;:\\\"/[]?={}".unicodeScalars.contains(s)
        }
    }

    static func isSafeHeaderValue(_ text: String) -> Bool {
        text.unicodeScalars.allSatisfy { $0.value == 0x09 || ($0.value >= 0x20 && $0.value != 0x7F) }
    }

    /// Visible ASCII kept, everything else percent-encoded as UTF-8: identifiers travel in headers unharmed.
    static func headerSafe(_ text: String) -> String {
        var output = ""
        for byte in text.utf8 {
            if byte >= 0x20, byte < 0x7F, byte != UInt8(ascii: "%") {
                output.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                output += String(format: "%%%02X", byte)
            }
        }
        return output
    }

    /// RFC 4648 §5 base64url without padding.
    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
