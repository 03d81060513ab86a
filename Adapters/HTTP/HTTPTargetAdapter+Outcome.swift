import AdapterKit
import AsyncHTTPClient
import CausewayCore
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// Reading answers: the outcome class, the legacy reference, the target's own words.
extension HTTPTargetAdapter {
    func classify(_ answer: Answer, prepared: PreparedRequest, delivery: Delivery) -> DeliveryOutcome {
        let what = "\(prepared.method) \(prepared.displayPath)"
        // A SOAP fault is the target's refusal, whatever the status (1.1 uses 500, 1.2 also 400).
        if prepared.isSOAP || Self.isXML(answer), let fault = validator.soapFault(in: answer.body) {
            let code = fault.code.map { " [\($0)]" } ?? ""
            return .rejected("\(what): the target answered \(answer.status) with a SOAP fault\(code): \(redact(Self.shorten(fault.message)))")
        }
        switch answer.status {
        case 200..<300:
            return .delivered(reference(from: answer, prepared: prepared, key: delivery.idempotencyKey))
        case 408, 429, 500..<600:
            let message = excerpt(answer).map { ": \($0)" } ?? ""
            let after = Self.retryAfter(answer.headers.first(name: "Retry-After"))
            let hint = after.map { "; it asks to wait \($0.components.seconds) s" } ?? ""
            return .retryable("\(what): the target answered \(answer.status)\(message)\(hint)", after: after)
        case 409 where configuration.honoursIdempotencyKey:
            // The Idempotency-Key draft: the first request with this key is still being processed.
            return .retryable("\(what): the target answered 409, still processing an earlier request with this Idempotency-Key",
                              after: Self.retryAfter(answer.headers.first(name: "Retry-After")))
        case 300..<400:
            let location = answer.headers.first(name: "Location").map { " to \(Self.shorten($0))" } ?? ""
            return .rejected("\(what): the target redirects\(location) (\(answer.status)); redirects are not followed, set base_url to the final address")
        default:
            let message = excerpt(answer).map { ": \($0)" } ?? ""
            let hint = answer.status == 401 || answer.status == 403 ? " (check the target's auth, token, username and password settings)" : ""
            return .rejected("\(what): the target refused it with \(answer.status)\(message)\(hint)")
        }
    }

    /// Errors thrown before any answer. Only failures that certainly happened before the request
    /// reached the target are retryable; anything else may have been performed and is unknown.
    func classify(_ error: any Error, what: String) -> DeliveryOutcome {
        let connectFailure: String?
        switch error {
        case let e as HTTPClientError where e == .connectTimeout || e == .getConnectionFromPoolTimeout:
            connectFailure = "cannot connect within the connect_timeout"
        case let e as HTTPClientError where e == .tlsHandshakeTimeout:
            connectFailure = "the TLS handshake did not finish in time"
        case let e as HTTPClientError where e == .alreadyShutdown:
            connectFailure = "the adapter is shutting down"
        case let e as HTTPClientError where e == .deadlineExceeded || e == .readTimeout:
            return .unknown("\(what): no complete answer within the timeout after the request was sent; the target may have performed it, "
                + "so the key is looked up before any retry")
        case is NIOConnectionError:
            connectFailure = "cannot connect (refused or unreachable)"
        case ChannelError.connectTimeout:
            connectFailure = "cannot connect within the connect_timeout"
        case let e as IOError where [ECONNREFUSED, EHOSTUNREACH, ENETUNREACH, EADDRNOTAVAIL].contains(e.errnoCode):
            connectFailure = "cannot connect (\(String(cString: strerror(e.errnoCode))))"
        case is NIOSSLError, is BoringSSLError:
            // A TLS failure means the target's HTTP layer never read the request.
            connectFailure = "the TLS handshake failed (check ca_certificate, client_certificate and client_key)"
        default:
            connectFailure = nil
        }
        if let connectFailure { return .retryable("\(what): not sent, \(connectFailure)") }
        return .unknown("\(what): the connection failed after the request was sent (\(Self.errorName(error))); "
            + "the key is looked up before any retry")
    }

    /// The legacy reference in an answer: the action's capture field of a JSON body, else the
    /// `Location` (or `Content-Location`) header, else the idempotency key itself.
    func reference(from answer: Answer, prepared: PreparedRequest, key: String) -> LegacyReference {
        var id: String?
        if let capture = prepared.capture, let json = try? JSONReader().read(answer.body) {
            id = Self.evaluate(capture, in: json).flatMap(Self.referenceText)
        }
        if id == nil { id = answer.headers.first(name: "Location") ?? answer.headers.first(name: "Content-Location") }
        return LegacyReference(system: "http", kind: prepared.kind, id: id.flatMap { $0.isEmpty ? nil : $0 } ?? key)
    }

    static func referenceText(_ value: JSONValue) -> String? {
        switch value {
        case .string(let text): text
        case .number: JSONWriter.string(value)
        default: nil
        }
    }

    /// A JSONPath subset (`$.a.b`, `$.a[0]`, `$['a']`), a JSON pointer (`/a/0`), or a member name.
    static func evaluate(_ expression: String, in value: JSONValue) -> JSONValue? {
        if expression.hasPrefix("/") {
            var current: JSONValue? = value
            for raw in expression.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
                let token = raw.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
                if let array = current?.arrayValue { current = Int(token).flatMap { $0 >= 0 && $0 < array.count ? array[$0] : nil } }
                else { current = current?[token] }
            }
            return current
        }
        guard expression.hasPrefix("$") else { return value[expression] }
        var current: JSONValue? = value
        var rest = Substring(expression.dropFirst())
        while !rest.isEmpty {
            if rest.hasPrefix(".") {
                rest = rest.dropFirst()
                let name = rest.prefix { $0 != "." && $0 != "[" }
                rest = rest.dropFirst(name.count)
                current = current?[String(name)]
            } else if rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {
                let inner = rest[rest.index(after: rest.startIndex)..<close]
                rest = rest[rest.index(after: close)...]
                if let index = Int(inner) {
                    current = current?.arrayValue.flatMap { index >= 0 && index < $0.count ? $0[index] : nil }
                } else {
                    current = current?[inner.trimmingCharacters(in: CharacterSet(charactersIn: "'\""))]
                }
            } else {
                return nil
            }
        }
        return current
    }

    /// `Retry-After` as delay-seconds or an HTTP date (RFC 9110 §10.2.3), never negative.
    static func retryAfter(_ value: String?, now: Date = Date()) -> Duration? {
        guard let value = value?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        if let seconds = Int64(value), seconds >= 0 { return .seconds(seconds) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        // IMF-fixdate, then the obsolete RFC 850 and asctime forms recipients must accept.
        for format in ["EEE, dd MMM yyyy HH:mm:ss 'GMT'", "EEEE, dd-MMM-yy HH:mm:ss 'GMT'", "EEE MMM d HH:mm:ss yyyy"] {
            formatter.dateFormat = format
            if let date = formatter.date(from: value) {
                let milliseconds = max(0, Int64((date.timeIntervalSince(now) * 1000).rounded(.up)))
                return .milliseconds(milliseconds)
            }
        }
        return nil
    }

    /// The target's own words about a failure: problem+json `detail` or `title` (or a JSON
    /// `message`/`error`), else the start of a text body; secrets removed.
    func excerpt(_ answer: Answer) -> String? {
        guard !answer.body.isEmpty else { return nil }
        let type = answer.headers.first(name: "Content-Type")?.lowercased() ?? ""
        if type.contains("json"), let json = try? JSONReader().read(answer.body) {
            for member in ["detail", "title", "message", "error_description", "error"] {
                if let text = json[member]?.stringValue, !text.isEmpty { return redact(Self.shorten(text)) }
            }
            return nil
        }
        guard type.isEmpty || type.hasPrefix("text/") || type.contains("xml") else { return nil }
        let text = String(decoding: answer.body, as: UTF8.self)
        return redact(Self.shorten(text))
    }

    /// Removes the configured secrets (and their encodings) from text the target wrote.
    func redact(_ text: String) -> String {
        secrets.reduce(text) { $0.replacingOccurrences(of: $1, with: "[secret]") }
    }

    /// One line of at most 200 characters.
    static func shorten(_ text: String) -> String {
        let line = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            .joined(separator: " ")
        return line.count > 200 ? String(line.prefix(200)) + "…" : line
    }

    static func isXML(_ answer: Answer) -> Bool {
        (answer.headers.first(name: "Content-Type")?.lowercased()).map { $0.contains("xml") } ?? false
    }

    /// The error's type and case, never its payload.
    static func errorName(_ error: any Error) -> String {
        if let e = error as? HTTPClientError { return "\(e)" }
        return String(describing: type(of: error))
    }
}
