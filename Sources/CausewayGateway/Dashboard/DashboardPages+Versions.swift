import CausewayCore
import CausewayStore
import Foundation

/// An agreement's chain of versions as an order's page shows it: the original, its changes and
/// its cancellation, oldest first, each with its receipts and (for a change) what it changed.
struct VersionChain: Sendable {
    struct Version: Sendable {
        let summary: AgreementSummary
        /// The stored document (nil when it cannot be read back, e.g. archived).
        let document: JSONValue?
        /// The version's signed receipts, one per delivered action.
        let receipts: [JSONObject]
        /// For a change: what it changed against the version it supersedes (nil when either
        /// document cannot be read back).
        let diff: TermsDiff?
        /// The version it supersedes (nil for the original).
        let supersedes: AgreementSummary?
    }

    /// The versions shown, oldest first (at most ``Dashboard/timelineVersions`` plus the one viewed).
    let versions: [Version]
    /// How many versions the chain has in all.
    let count: Int
    /// The original agreement (version 1).
    let original: AgreementSummary
    /// The latest version (the chain's head).
    let head: AgreementSummary

    /// Versions of the chain not shown (a very long chain shows its original and its latest ones).
    var omitted: Int { count - versions.count }
}

/// One row of the orders list: an agreement as it stands now.
struct OrderRow: Sendable {
    /// The chain's latest version: its digest is the row's link, its status the row's status.
    let head: AgreementSummary
    /// The business id the agreement is known by: the original's `id`.
    let agreementID: String
    /// The version whose terms are in force (the head, or for a cancellation the version it
    /// cancelled): the total and delivery date shown.
    let terms: AgreementSummary
}

extension DashboardPages {
    /// The words for a version's kind.
    static func kind(_ summary: AgreementSummary) -> String {
        switch summary.revision {
        case "change": "change"
        case "cancellation": "cancellation"
        case let other?: other
        case nil: "original"
        }
    }

    /// `v3` next to an agreement's id in the list (only once it has a later version than the original).
    static func versionTag(_ summary: AgreementSummary) -> String {
        guard summary.version > 1 else { return "" }
        return " <span class=\"version-tag\" title=\"version \(summary.version), a \(kind(summary))\">v\(summary.version)</span>"
    }

    /// The notice at the top of a superseded version's page, linking the current version.
    static func supersededNotice(_ summary: AgreementSummary, chain: VersionChain?) -> String {
        guard summary.supersededBy != nil, let chain else { return "" }
        let head = chain.head
        return "<p class=\"notice superseded\" id=\"superseded\" role=\"note\">This is version \(summary.version) (\(kind(summary))) of \(chain.count), "
            + "superseded. The current version is <a href=\"\(HTML.orderPath(head.digest))\" id=\"current-version\">version \(head.version), "
            + "the \(kind(head))</a> (\(HTML.escape(HTML.label(head.status)))).</p>"
    }

    /// A decimal or text value of the diff as written, or *none* when absent.
    private static func value(_ text: String?) -> String {
        text.map { "<q>\(HTML.escape($0))</q>" } ?? "<em>none</em>"
    }

    /// One field's change in words: `quantity was 200 → now 250`.
    static func fieldChange(_ field: TermsDiff.Field) -> String {
        // A short value (a number, a date, a code) stays on one line; a long one may wrap.
        let plain = { (text: String?) in
            text.map { "<span class=\"was-now\($0.count <= 24 ? " nowrap" : "")\">\(HTML.escape($0))</span>" } ?? "<em>none</em>"
        }
        let shown = field.name == "description" ? value : plain
        return "\(HTML.escape(field.name)) was \(shown(field.was)) → now \(shown(field.now))"
    }

    /// A change's differences against version `previous` as a list of sentences, each starting with
    /// its kind in words (`added`, `removed`, `changed`).
    static func diff(_ diff: TermsDiff, against previous: Int, id: String) -> String {
        guard !diff.isEmpty else { return "<p class=\"hint\" id=\"\(id)\">The terms are the same as in version \(previous).</p>" }
        func tag(_ word: String) -> String { "<span class=\"diff-tag diff-\(word)\">\(word)</span>" }
        func line(_ sku: String, _ description: String) -> String {
            "line <code>\(HTML.escape(sku))</code>" + (description.isEmpty ? "" : " <span class=\"line-name\">\(HTML.escape(description))</span>")
        }
        var items: [String] = []
        for change in diff.lines {
            switch change {
            case .added(let sku, let description, let quantity, let unit, let price):
                items.append("<li>\(tag("added")) \(line(sku, description)): \(HTML.escape(quantity)) \(HTML.escape(unit)) at \(HTML.escape(price))</li>")
            case .removed(let sku, let description, let quantity, let unit, let price):
                items.append("<li>\(tag("removed")) \(line(sku, description)) (was \(HTML.escape(quantity)) \(HTML.escape(unit)) at \(HTML.escape(price)))</li>")
            case .changed(let sku, _, let fields):
                items.append("<li>\(tag("changed")) \(line(sku, "")): \(fields.map(fieldChange).joined(separator: "; "))</li>")
            }
        }
        for field in diff.terms { items.append("<li>\(tag("changed")) \(fieldChange(field))</li>") }
        return "<ul class=\"diff\" id=\"\(id)\" aria-label=\"Changes against version \(previous)\">\(items.joined())</ul>"
    }

    /// The chain as a timeline, oldest first; the version shown on this page is marked.
    static func timeline(_ chain: VersionChain, viewing: ContentDigest, now: Int64) -> String {
        var items: [String] = []
        for (index, version) in chain.versions.enumerated() {
            let summary = version.summary
            if index > 0, chain.versions[index - 1].summary.version + 1 < summary.version {
                let gap = summary.version - chain.versions[index - 1].summary.version - 1
                items.append("<li class=\"gap\">\(gap) version\(gap == 1 ? "" : "s") not shown (see <code>causeway status</code>)</li>")
            }
            let here = summary.digest == viewing
            let title = "Version \(summary.version) · \(kind(summary))"
            let heading = here ? "\(title) <span class=\"this-page\">(this page)</span>"
                : "<a href=\"\(HTML.orderPath(summary.digest))\">\(title)</a>"
            var body = "<p class=\"version-meta\">\(HTML.status(summary.status)) <span>received \(HTML.timeTag(summary.receivedAt, now: now))</span>"
            if summary.revision != "cancellation" {
                body += " <span class=\"money\">\(HTML.escape(HTML.money(summary.total, summary.currency)))</span>"
            }
            body += "</p><p class=\"version-ids\">id <code class=\"ident\" title=\"\(HTML.escape(summary.agreementID))\">\(HTML.escape(summary.agreementID))</code>"
                + " · digest \(HTML.ident(summary.digest.description))</p>"
            let reason = version.document?["reason"]?.stringValue
            if summary.revision == "cancellation" {
                body += "<p class=\"reason\" id=\"reason-\(summary.version)\"><strong>Cancelled</strong>"
                    + (version.supersedes.map { " at version \($0.version)" } ?? "") + ". Reason: "
                    + (reason.map { "<q>\(HTML.escape($0))</q>" } ?? "<em>none given</em>") + "</p>"
            } else if let reason {
                body += "<p class=\"reason\" id=\"reason-\(summary.version)\">Reason: <q>\(HTML.escape(reason))</q></p>"
            }
            if summary.revision == "change", let previous = version.supersedes {
                body += "<h4>Changed against version \(previous.version)</h4>"
                body += version.diff.map { diff($0, against: previous.version, id: "diff-\(summary.version)") }
                    ?? "<p class=\"hint\" id=\"diff-\(summary.version)\">The documents cannot be read back (archived), so the changes cannot be shown.</p>"
            }
            let receipts = version.receipts.map { receipt -> String in
                let id = receipt["id"]?.stringValue ?? "?"
                let target = receipt["action"]?["target"]?.stringValue ?? "?"
                return "<li>\(HTML.escape(target)): \(HTML.ident(id, link: receiptPath(summary.digest, id)))"
                    + " issued \(HTML.timeTag(iso: receipt["issued"]?.stringValue))</li>"
            }
            body += receipts.isEmpty
                ? "<p class=\"hint\">No receipts\(summary.status == .cancelled && summary.revision != "cancellation" ? " (voided: nothing was done in the legacy system)" : " yet").</p>"
                : "<p class=\"receipts-h\">Receipts:</p><ul class=\"version-receipts\">\(receipts.joined())</ul>"
            items.append("""
                <li class="version\(here ? " here" : "")\(summary.supersededBy == nil ? " head" : "")" id="version-\(summary.version)"\(here ? " aria-current=\"page\"" : "")>
                <h3>\(heading)</h3>\(body)</li>
                """)
        }
        let omitted = chain.omitted > 0 ? " (\(chain.omitted) not shown)" : ""
        return """
            <section aria-labelledby="h-versions"><h2 id="h-versions">Versions</h2>
            <p class="hint">\(chain.count) versions, oldest first\(omitted); each change is compared with the version it supersedes.</p>
            <ol class="timeline" id="versions">\(items.joined())</ol></section>
            """
    }
}
