import CausewayCore
import CausewayStore
import Foundation

/// Building blocks of the dashboard's server-rendered HTML. Every value from outside (agreement
/// content, errors, names) goes through ``HTML/escape(_:)``; nothing else writes raw text.
enum HTML {
    /// Escapes text for element content and double-quoted attribute values.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }

    /// Percent-encodes a query value.
    static func query(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~:")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }

    /// The path of an agreement's detail page.
    static func orderPath(_ digest: ContentDigest) -> String { "/orders/\(query(digest.description))" }

    /// A UTC timestamp, e.g. `2026-12-01 21:05:03 UTC`.
    static func time(_ milliseconds: Int64) -> String {
        let text = Date(timeIntervalSince1970: Double(milliseconds) / 1000).formatted(.iso8601)
        return text.replacingOccurrences(of: "T", with: " ").replacingOccurrences(of: "Z", with: " UTC")
    }

    /// How long ago, shortly: `42 s`, `5 min`, `3 h`, `2 d`.
    static func age(_ milliseconds: Int64, now: Int64) -> String {
        let seconds = max(0, (now - milliseconds) / 1000)
        if seconds < 60 { return "\(seconds) s" }
        if seconds < 3600 { return "\(seconds / 60) min" }
        if seconds < 86_400 { return "\(seconds / 3600) h" }
        return "\(seconds / 86_400) d"
    }

    /// A duration in milliseconds, readably.
    static func duration(_ milliseconds: Int64) -> String {
        if milliseconds < 1000 { return "\(milliseconds) ms" }
        if milliseconds < 60_000 { return String(format: "%.1f s", Double(milliseconds) / 1000) }
        return String(format: "%.1f min", Double(milliseconds) / 60_000)
    }

    /// Decimal text and currency as stored (money is never a Double).
    static func money(_ total: String?, _ currency: String?) -> String {
        guard let total else { return "—" }
        return [total, currency].compactMap { $0 }.joined(separator: " ")
    }

    /// A status badge; the text is the status in words, the class colours it.
    static func status(_ status: AgreementStatus) -> String {
        "<span class=\"badge status-\(status.rawValue)\">\(escape(label(status)))</span>"
    }

    static func label(_ status: AgreementStatus) -> String {
        switch status {
        case .accepted: "accepted"
        case .delivering: "delivering"
        case .delivered: "delivered"
        case .retrying: "retrying"
        case .deadLetter: "dead letter"
        case .rejected: "rejected"
        }
    }

    /// An outbox entry's state as a badge.
    static func state(_ state: OutboxState) -> String {
        let text = state == .deadLetter ? "dead letter" : state == .inFlight ? "in flight" : state.rawValue
        return "<span class=\"badge state-\(state.rawValue)\">\(escape(text))</span>"
    }

    /// JSON shown pretty in a `<pre>`.
    static func json(_ value: JSONValue) -> String {
        "<pre class=\"json\">\(escape(JSONWriter.string(value, style: .pretty)))</pre>"
    }

    /// A table; `rows` are already HTML.
    static func table(caption: String, headers: [String], rows: [[String]], empty: String, id: String? = nil) -> String {
        guard !rows.isEmpty else { return "<p class=\"empty\">\(escape(empty))</p>" }
        var out = "<div class=\"scroll\"><table\(id.map { " id=\"\($0)\"" } ?? "")><caption>\(escape(caption))</caption><thead><tr>"
        for header in headers { out += "<th scope=\"col\">\(escape(header))</th>" }
        out += "</tr></thead><tbody>"
        for row in rows { out += "<tr>" + row.map { "<td>\($0)</td>" }.joined() + "</tr>" }
        return out + "</tbody></table></div>"
    }

    /// A definition list of label → HTML value.
    static func facts(_ pairs: [(String, String)]) -> String {
        "<dl class=\"facts\">" + pairs.map { "<dt>\(escape($0.0))</dt><dd>\($0.1)</dd>" }.joined() + "</dl>"
    }
}
