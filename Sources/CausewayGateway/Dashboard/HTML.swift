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

    /// A UTC timestamp, e.g. `2026-12-01 21:05:03 UTC`: the one format of every time the
    /// dashboard shows (see ``timeTag(_:now:)``).
    static func time(_ milliseconds: Int64) -> String {
        let text = Date(timeIntervalSince1970: Double(milliseconds) / 1000).formatted(.iso8601)
        return text.replacingOccurrences(of: "T", with: " ").replacingOccurrences(of: "Z", with: " UTC")
    }

    /// A time as the dashboard shows every time: `2026-12-01 21:05:03 UTC` in a `<time>` element
    /// whose hover title says how long ago it was (with `now`) or what the source said (`original`).
    static func timeTag(_ milliseconds: Int64, now: Int64? = nil, original: String? = nil) -> String {
        let iso = Date(timeIntervalSince1970: Double(milliseconds) / 1000).formatted(.iso8601)
        var hover = now.map { age(milliseconds, now: $0) + " ago" }
        if let original { hover = "as written: " + original }
        return "<time datetime=\"\(escape(iso))\"\(hover.map { " title=\"\(escape($0))\"" } ?? "")>\(escape(time(milliseconds)))</time>"
    }

    /// An ISO 8601 date-time from a document or receipt (any offset, optional fractional seconds)
    /// in the dashboard's format, with the text as written on hover; other text is shown as it is.
    static func timeTag(iso text: String?) -> String {
        guard let text else { return "—" }
        let date = (try? Date(text, strategy: .iso8601))
            ?? (try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)))
        guard let date else { return escape(text) }
        return timeTag(Int64((date.timeIntervalSince1970 * 1000).rounded()), original: text)
    }

    /// A long identifier (a DID, key, digest, receipt id) cut to its start on screen with an
    /// ellipsis; the whole value stays in the text (select and copy take all of it) and on hover.
    static func ident(_ text: String?, link: String? = nil) -> String {
        guard let text, !text.isEmpty else { return "—" }
        let code = "<code class=\"ident\" title=\"\(escape(text))\">\(escape(text))</code>"
        return link.map { "<a href=\"\(escape($0))\">\(code)</a>" } ?? code
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
        case .cancelled: "cancelled"
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

    /// A table; `rows` are already HTML. `rowIDs`, when given, are the rows' `id`s (link anchors).
    static func table(caption: String, headers: [String], rows: [[String]], empty: String, id: String? = nil, rowIDs: [String]? = nil) -> String {
        guard !rows.isEmpty else { return "<p class=\"empty\">\(escape(empty))</p>" }
        var out = "<div class=\"scroll\"><table\(id.map { " id=\"\($0)\"" } ?? "")><caption>\(escape(caption))</caption><thead><tr>"
        for header in headers { out += "<th scope=\"col\">\(escape(header))</th>" }
        out += "</tr></thead><tbody>"
        for (index, row) in rows.enumerated() {
            let rowID = rowIDs.flatMap { index < $0.count ? $0[index] : nil }.map { " id=\"\(escape($0))\"" } ?? ""
            out += "<tr\(rowID)>" + row.map { "<td>\($0)</td>" }.joined() + "</tr>"
        }
        return out + "</tbody></table></div>"
    }

    /// The dashboard's search for a text (a legacy reference as listed finds its orders).
    static func searchPath(_ text: String) -> String { "/orders?q=\(query(text))" }

    /// A definition list of label → HTML value.
    static func facts(_ pairs: [(String, String)]) -> String {
        "<dl class=\"facts\">" + pairs.map { "<dt>\(escape($0.0))</dt><dd>\($0.1)</dd>" }.joined() + "</dl>"
    }
}
