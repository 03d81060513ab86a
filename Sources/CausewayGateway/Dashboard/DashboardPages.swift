import CausewayCore
import CausewayStore
import CausewayTrust
import Foundation

/// The dashboard's pages as HTML text. Each takes what the store returned and renders it; no
/// page reads the store itself.
enum DashboardPages {
    typealias Session = DashboardSessions.Session

    /// The frame of every page: title, navigation, who is signed in, sign-out.
    static func layout(title: String, session: Session?, active: String = "", live: String? = nil, _ body: String) -> String {
        var nav = ""
        if let session {
            let link = { (path: String, name: String) in
                "<a href=\"\(path)\"\(active == name ? " aria-current=\"page\"" : "")>\(HTML.escape(name))</a>"
            }
            nav = """
                <nav aria-label="Main">\(link("/", "Overview"))\(link("/orders", "Orders"))\(link("/reconcile", "Reconciliation"))\(session.role == .operator ? link("/audit", "Audit") : "")</nav>
                <div class="who"><span id="signed-in">Signed in as \(HTML.escape(session.name)) (\(session.role.rawValue))</span>
                <form method="post" action="/logout"><input type="hidden" name="csrf" value="\(session.csrf)">
                <button type="submit" class="link">Sign out</button></form>
                <span id="live-status" class="live-status" role="status" aria-live="polite"></span></div>
                """
        }
        let liveAttribute = live.map { " data-live=\"\(HTML.escape($0))\"" } ?? ""
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(HTML.escape(title)) · Causeway</title>
            <link rel="icon" href="/favicon.svg" type="image/svg+xml"><link rel="alternate icon" href="/favicon.ico">
            <link rel="stylesheet" href="/dashboard.css"><script src="/dashboard.js" defer></script>
            </head><body\(liveAttribute)>
            <header class="top"><a class="brand" href="/"><img src="/favicon.svg" alt="">Causeway</a>\(nav)</header>
            <main id="main"><h1>\(HTML.escape(title))</h1>
            \(body)
            </main></body></html>
            """
    }

    static func message(title: String, text: String) -> String {
        layout(title: title, session: nil, "<p class=\"notice\">\(HTML.escape(text))</p><p><a href=\"/\">Back to the dashboard</a></p>")
    }

    // MARK: Sign-in

    static func login(next: String, error: String?) -> String {
        let alert = error.map { "<p class=\"error\" role=\"alert\" id=\"login-error\">\(HTML.escape($0))</p>" } ?? ""
        return layout(title: "Sign in", session: nil, """
            \(alert)
            <form method="post" action="/login" class="login">
            <input type="hidden" name="next" value="\(HTML.escape(next))">
            <label for="token">API token</label>
            <input id="token" name="token" type="password" autocomplete="current-password" required>
            <p class="hint">A viewer or operator token from the gateway's <code>tokens</code> setting. The browser keeps only a session cookie.</p>
            <button type="submit">Sign in</button>
            </form>
            """)
    }

    // MARK: Overview

    /// The ledger as the overview shows it: how many receipts the tree holds, the last signed
    /// checkpoint, and each witness's latest cosignature.
    struct LedgerState {
        var treeSize: Int
        var checkpoint: StoredCheckpoint?
        var cosignatures: [CosignatureBook.Cosigned]
    }

    static func ledger(_ ledger: LedgerState, now: Int64) -> String {
        let checkpoint = ledger.checkpoint.map { checkpoint in
            "<span id=\"checkpoint-size\">\(checkpoint.size)</span> entr\(checkpoint.size == 1 ? "y" : "ies"), signed \(HTML.timeTag(checkpoint.createdAt, now: now)) "
                + "(<span id=\"checkpoint-age\">\(HTML.age(checkpoint.createdAt, now: now)) ago</span>)"
                + (checkpoint.size < ledger.treeSize ? "; \(ledger.treeSize - checkpoint.size) newer receipt\(ledger.treeSize - checkpoint.size == 1 ? "" : "s") awaiting the next" : "")
        } ?? "none yet (the gateway signs one within seconds of its first receipt)"
        let rows = ledger.cosignatures.map { cosigned -> [String] in
            let current = ledger.checkpoint.map { $0.size == cosigned.size && $0.root == cosigned.root } ?? false
            return [HTML.ident(cosigned.witness.name), String(cosigned.size) + (current ? " (the latest)" : ""),
                    HTML.timeTag(Int64(cosigned.timestamp) * 1000, now: now)]
        }
        return "<section aria-labelledby=\"ledger-h\"><h2 id=\"ledger-h\">Ledger</h2>"
            + HTML.facts([("Tree size", "<span id=\"tree-size\">\(ledger.treeSize)</span> receipt\(ledger.treeSize == 1 ? "" : "s")"),
                          ("Last checkpoint", checkpoint)])
            + HTML.table(caption: "Witness cosignatures of this gateway's checkpoints (times in UTC)", headers: ["Witness", "Cosigned size", "Cosigned at"],
                         rows: rows, empty: "No witness has cosigned a checkpoint (witnesses are listed per partner: ledger.witnesses in partner.yaml).",
                         id: "cosignatures")
            + "</section>"
    }

    static func overview(session: Session, window: DashboardCharts.Window, starts: [Int64], counts: [AgreementStatus: Int],
                         activity: [ActivityBucket], partners: [String], targets: [String], names: [String: String], ledger: LedgerState,
                         now: Int64, duplicities: [KELDuplicity] = []) -> String {
        let deadLetters = counts[.deadLetter] ?? 0
        var tiles = """
            <a class="tile dead\(deadLetters > 0 ? " alert" : "")" href="/orders?status=dead_letter" id="dead-letter-tile">
            <span class="number" id="dead-letter-count">\(deadLetters)</span><span class="what">dead letter\(deadLetters == 1 ? "" : "s")</span></a>
            """
        for status in [AgreementStatus.accepted, .delivering, .retrying, .delivered] {
            tiles += """
                <a class="tile" href="/orders?status=\(status.rawValue)" id="count-\(status.rawValue)">
                <span class="number">\(counts[status] ?? 0)</span><span class="what">\(HTML.label(status))</span></a>
                """
        }
        let windows = DashboardCharts.Window.all.map { option in
            option.key == window.key ? "<strong aria-current=\"true\">\(option.label)</strong>"
                : "<a href=\"/?window=\(option.key)\">\(option.label)</a>"
        }.joined(separator: " · ")

        let all = DashboardCharts.series(activity, starts: starts) { _ in true }
        let delivered = Int(all.delivered.reduce(0, +)), failed = Int(all.failed.reduce(0, +))
        var charts = DashboardCharts.bars(
            id: "chart-throughput", title: "Deliveries committed", series: [.init(name: "committed", cssClass: "ok", values: all.delivered)],
            starts: starts, window: window, unit: "deliveries", summary: "\(delivered) deliveries committed in the \(window.label)",
            empty: "No deliveries in the \(window.label).")
        charts += DashboardCharts.bars(
            id: "chart-failures", title: "Failed attempts", series: [.init(name: "failed", cssClass: "bad", values: all.failed)],
            starts: starts, window: window, unit: "attempts", summary: "\(failed) failed attempts in the \(window.label)",
            empty: "No failed attempts in the \(window.label).")
        charts += DashboardCharts.bars(
            id: "chart-latency", title: "Mean latency, intake to commit", series: [.init(name: "latency", cssClass: "time", values: all.latency)],
            starts: starts, window: window, unit: "mean", summary: "Mean time from intake to the target's commit, per interval",
            empty: "Nothing committed in the \(window.label).", format: { HTML.duration(Int64($0.rounded())) })

        func group(_ title: String, _ id: String, _ list: [String], _ display: [String: String], _ key: (ActivityBucket) -> String) -> String {
            var rows: [[String]] = []
            var figures = ""
            for (index, name) in list.enumerated() {
                let series = DashboardCharts.series(activity, starts: starts) { key($0) == name }
                let ok = Int(series.delivered.reduce(0, +)), bad = Int(series.failed.reduce(0, +))
                let latencies = activity.filter { key($0) == name }
                let committed = latencies.reduce(0) { $0 + $1.delivered }
                let mean = committed > 0 ? HTML.duration(latencies.reduce(0) { $0 + $1.latencyMilliseconds } / Int64(committed)) : "—"
                rows.append([partner(name, display), String(ok), String(bad), mean])
                figures += DashboardCharts.bars(
                    id: "\(id)-\(index)", title: display[name] ?? name,
                    series: [.init(name: "committed", cssClass: "ok", values: series.delivered), .init(name: "failed", cssClass: "bad", values: series.failed)],
                    starts: starts, window: window, unit: "actions", summary: "\(name): \(ok) committed, \(bad) failed in the \(window.label)",
                    empty: "No attempts in the \(window.label).")
            }
            return "<section aria-labelledby=\"\(id)-h\"><h2 id=\"\(id)-h\">\(HTML.escape(title))</h2>"
                + HTML.table(caption: "\(title), \(window.label)", headers: ["Name", "Committed", "Failed", "Mean latency"], rows: rows,
                             empty: "None configured.", id: id)
                + "<div class=\"charts small\">\(figures)</div></section>"
        }
        return layout(title: "Overview", session: session, active: "Overview", live: "", """
            <div id="live">
            <section class="tiles" aria-label="Orders by status">\(tiles)</section>
            <p class="windows">Showing the \(windows) · as of \(HTML.timeTag(now))</p>
            <section aria-label="Activity"><div class="charts">\(charts)</div></section>
            \(group("Per partner", "partners", partners, names, \.partner))
            \(group("Per target", "targets", targets, [:], \.target))
            \(Self.ledger(ledger, now: now))
            \(Self.keriDuplicity(duplicities, now: now))
            </div>
            """)
    }

    // MARK: Orders list

    /// A partner as a person knows it: its display name, with the configured name underneath.
    static func partner(_ name: String, _ names: [String: String]) -> String {
        guard let display = names[name], display != name else { return HTML.escape(name) }
        return "\(HTML.escape(display))<span class=\"sub\">\(HTML.escape(name))</span>"
    }

    /// A legacy reference as listed (`system:kind:id`), linked to the orders that carry it.
    static func reference(_ label: String) -> String {
        "<a href=\"\(HTML.escape(HTML.searchPath(label)))\" title=\"Orders with this reference\"><code>\(HTML.escape(label))</code></a>"
    }

    /// The orders list: one row per agreement, its latest version (``OrderRow``).
    static func orders(session: Session, rows orderRows: [OrderRow], form: [String: String], problems: [String], next: Int64?,
                       partners: [String], targets: [String], names: [String: String], now: Int64) -> String {
        func select(_ name: String, _ label: String, _ options: [(String, String)]) -> String {
            var out = "<div class=\"field\"><label for=\"f-\(name)\">\(label)</label><select id=\"f-\(name)\" name=\"\(name)\"><option value=\"\">All</option>"
            for (value, text) in options {
                out += "<option value=\"\(HTML.escape(value))\"\(form[name] == value ? " selected" : "")>\(HTML.escape(text))</option>"
            }
            return out + "</select></div>"
        }
        let statuses: [AgreementStatus] = [.accepted, .delivering, .delivered, .retrying, .deadLetter, .cancelled]
        let filters = """
            <form method="get" action="/orders" class="filters" role="search" aria-label="Filter orders">
            \(select("partner", "Partner", partners.map { ($0, names[$0] ?? $0) }))
            \(select("status", "Status", statuses.map { ($0.rawValue, HTML.label($0)) }))
            \(select("target", "Target", targets.map { ($0, $0) }))
            <div class="field"><label for="f-from">Received from (UTC)</label><input id="f-from" type="date" name="from" value="\(HTML.escape(form["from"] ?? ""))"></div>
            <div class="field"><label for="f-to">Received until (UTC)</label><input id="f-to" type="date" name="to" value="\(HTML.escape(form["to"] ?? ""))"></div>
            <div class="field wide"><label for="f-q">Search</label><input id="f-q" type="search" name="q" value="\(HTML.escape(form["q"] ?? ""))"
              placeholder="Agreement id, digest or ERP reference" title="An agreement id, a digest, or an ERP reference as listed (sqlite:erp_purchase_order:3) or its id alone (3)"></div>
            <div class="actions"><button type="submit">Apply</button> <a href="/orders">Clear</a></div>
            </form>
            """
        let errors = problems.isEmpty ? "" : "<ul class=\"error\" role=\"alert\">" + problems.map { "<li>\(HTML.escape($0))</li>" }.joined() + "</ul>"
        let rows = orderRows.map { row -> [String] in
            let summary = row.head
            return [
                "<a href=\"\(HTML.orderPath(summary.digest))\" class=\"ident\" title=\"\(HTML.escape(row.agreementID))\">\(HTML.escape(row.agreementID))</a>"
                    + versionTag(summary),
                names[summary.partner].map { "<span title=\"\(HTML.escape(summary.partner))\">\(HTML.escape($0))</span>" } ?? HTML.escape(summary.partner),
                "<span class=\"money\">\(HTML.escape(HTML.money(row.terms.total, row.terms.currency)))</span>",
                HTML.status(summary.status),
                HTML.escape(summary.targets.isEmpty ? "—" : Array(Set(summary.targets)).sorted().joined(separator: ", ")),
                summary.references.isEmpty ? "—" : summary.references.map(reference).joined(separator: "<br>"),
                row.terms.deliveryDate.map { "<span class=\"date\">\(HTML.escape($0))</span>" } ?? "—",
                HTML.timeTag(summary.receivedAt, now: now),
            ]
        }
        let paging = pagingLinks(path: "/orders", form: form, next: next, ids: ("page-newest", "page-older")).links
        let table = HTML.table(caption: "Orders at their latest version, newest first (times in UTC)",
                               headers: ["Agreement", "Partner", "Total", "Status", "Target", "ERP reference", "Delivery", "Received"],
                               rows: rows, empty: "No orders match.", id: "orders")
        return layout(title: "Orders", session: session, active: "Orders", live: "", """
            \(filters)\(errors)
            <div id="live">\(table)</div>
            <nav class="paging" aria-label="Pages">\(paging)</nav>
            """)
    }

    /// The links of a paged list: *Newest* when on a later page, *Older →* when there is one (with the
    /// filters kept); `query` is the filters without the cursor, for other links of the page.
    static func pagingLinks(path: String, form: [String: String], next: Int64?, ids: (newest: String, older: String))
        -> (links: String, query: String)
    {
        var keep = form
        keep["before"] = nil
        let base = keep.sorted { $0.key < $1.key }.map { "\($0.key)=\(HTML.query($0.value))" }.joined(separator: "&")
        var paging = ""
        if form["before"] != nil { paging += "<a href=\"\(path)\(base.isEmpty ? "" : "?" + base)\" id=\"\(ids.newest)\">Newest</a> " }
        if let next { paging += "<a href=\"\(path)?\(base.isEmpty ? "" : base + "&")before=\(next)\" id=\"\(ids.older)\" rel=\"next\">Older →</a>" }
        return (paging, base)
    }

    // MARK: Order detail

    /// The path of one receipt's JSON.
    static func receiptPath(_ digest: ContentDigest, _ id: String) -> String { "\(HTML.orderPath(digest))/receipts/\(HTML.query(id))" }

    /// The path of one receipt's bundle (receipt, inclusion proof, checkpoint) to download.
    static func bundlePath(_ digest: ContentDigest, _ id: String) -> String { receiptPath(digest, id) + "/bundle" }

    /// A receipt's proof status: the first checkpoint covering it and its bundle, or that it awaits one.
    static func proofStatus(_ checkpoint: StoredCheckpoint?, digest: ContentDigest, id: String) -> String {
        guard let checkpoint else { return "<span class=\"awaiting\">awaiting checkpoint</span>" }
        return "<span title=\"the first signed checkpoint covering this receipt: the tree of its first \(checkpoint.size) entries\">in checkpoint \(checkpoint.size)</span> · <a href=\"\(HTML.escape(bundlePath(digest, id)))\" download>bundle</a>"
    }

    static func order(session: Session, stored: StoredAgreement, receipts: [JSONObject], checkpoints: [String: StoredCheckpoint] = [:],
                      retried: Int?, partnerName: String?, now: Int64, archive: ArchiveRecord? = nil, chain: VersionChain? = nil) -> String {
        let summary = stored.summary
        // A pruned agreement (retention): its document and attempts are in an archive file.
        let archived = archive.map {
            "<p class=\"archived\" id=\"archived\">Archived \(HTML.timeTag($0.archivedAt, now: now)) to <code>\(HTML.escape($0.file))</code>: "
                + "the document and its \($0.attempts) attempt\($0.attempts == 1 ? "" : "s") were moved out of the store; the receipts remain.</p>"
        } ?? ""
        let document = try? JSONReader(limits: .init(maxBytes: 64 << 20, maxDepth: 128)).read(stored.document)
        let partyObjects = document?["parties"]?.objectValue ?? JSONObject()
        let partnerShown = partnerName.map { "\(HTML.escape($0)) (\(HTML.escape(summary.partner)))" } ?? HTML.escape(summary.partner)

        // The agreement: parties and lines, then the document itself.
        var parties: [[String]] = []
        for (role, party) in partyObjects {
            parties.append([HTML.escape(role), HTML.escape(party["name"]?.stringValue ?? "—"), HTML.ident(party["id"]?.stringValue),
                            HTML.escape(party["vatId"]?.stringValue ?? "—")])
        }
        let lines = (document?["lines"]?.arrayValue ?? []).map { line -> [String] in
            ["sku", "description", "quantity", "unit", "unitPrice"].map { HTML.escape(line[$0]?.stringValue ?? "—") }
        }
        let delivery = document?["delivery"]
        let deliveryText = [delivery?["date"]?.stringValue, delivery?["place"]?.stringValue, delivery?["incoterm"]?.stringValue]
            .compactMap { $0 }.joined(separator: " · ")
        let versionFact: [(String, String)] = chain.map { chain in
            [("Version", "\(summary.version) of \(chain.count), the \(kind(summary))"
                + (summary.version > 1 ? " of agreement <code>\(HTML.escape(chain.original.agreementID))</code>" : ""))]
        } ?? []
        let agreement = HTML.facts([
            ("Agreement id", "<code>\(HTML.escape(summary.agreementID))</code>"), ("Digest", HTML.ident(summary.digest.description))]
            + versionFact + (document?["reason"]?.stringValue.map { [("Reason", HTML.escape($0))] } ?? []) + [
            ("Partner", partnerShown), ("Total", "<span class=\"money\">\(HTML.escape(HTML.money(summary.total, summary.currency)))</span>"),
            ("Delivery", HTML.escape(deliveryText.isEmpty ? "—" : deliveryText)),
            ("Payment", HTML.escape(document?["payment"]?["terms"]?.stringValue ?? "—")),
            ("Issued", HTML.timeTag(iso: document?["issued"]?.stringValue)), ("Received", HTML.timeTag(summary.receivedAt, now: now)),
        ])
            + HTML.table(caption: "Parties", headers: ["Role", "Name", "Identifier", "VAT id"], rows: parties, empty: "No parties in the document.", id: "parties")
            + HTML.table(caption: "Lines", headers: ["SKU", "Description", "Quantity", "Unit", "Unit price"], rows: lines, empty: "No lines.", id: "lines")
            + "<details><summary>The agreement as received (JSON)</summary>\(document.map(HTML.json) ?? "<p>(not JSON)</p>")</details>"

        // Verification: who signed which role, with which key, through which delegation.
        let verification = stored.verification
        let signerObjects = verification["signers"]?.arrayValue ?? []
        func delegationText(_ signer: JSONValue) -> String? {
            guard let d = signer["delegation"]?.objectValue else { return nil }
            return "agent \(HTML.ident(d["agent"]?.stringValue))<br>for issuer \(HTML.ident(d["issuer"]?.stringValue))"
                + (d["id"]?.stringValue.map { "<br>delegation \(HTML.ident($0))" } ?? "")
        }
        let signers = signerObjects.map { signer -> [String] in
            [HTML.escape(signer["role"]?.stringValue ?? "?"), HTML.ident(signer["did"]?.stringValue), HTML.ident(signer["verificationMethod"]?.stringValue),
             delegationText(signer) ?? "direct"]
        }
        let findings = (verification["findings"]?.arrayValue ?? []).map {
            [HTML.escape($0["severity"]?.stringValue ?? ""), HTML.escape($0["code"]?.stringValue ?? ""), HTML.escape($0["message"]?.stringValue ?? "")]
        }
        let verified = verification["verified"]?.boolValue == true
        let verificationHTML = "<p class=\"\(verified ? "ok" : "bad")\" id=\"verified\">\(verified ? "Verified" : "Not verified")</p>"
            + HTML.table(caption: "Signers", headers: ["Role", "Signer", "Key", "Delegation"], rows: signers, empty: "No signers recorded.", id: "signers")
            + HTML.table(caption: "Findings", headers: ["Severity", "Code", "Message"], rows: findings, empty: "No findings.")

        // The mapping and the actions it produced; each row links its receipt and reference.
        let receiptsByID = Dictionary(receipts.compactMap { receipt in receipt["id"]?.stringValue.map { ($0, receipt) } }, uniquingKeysWith: { a, _ in a })
        func label(_ ref: JSONValue?) -> String? {
            guard let ref, let id = ref["id"]?.stringValue else { return nil }
            return [ref["system"]?.stringValue, ref["kind"]?.stringValue, id].compactMap { $0 }.joined(separator: ":")
        }
        let actions = stored.entries.map { entry -> [String] in
            [String(entry.actionIndex), "<a href=\"#provenance-\(entry.actionIndex)\">\(HTML.escape(entry.name))</a>", HTML.escape(entry.target),
             HTML.state(entry.state), String(entry.attempts), HTML.escape(entry.lastError ?? "—"), label(entry.legacyReference).map(reference) ?? "—",
             receiptsByID[entry.receiptID] != nil ? HTML.ident(entry.receiptID, link: "#receipt-\(entry.actionIndex)") : "pending"]
        }
        var retry = ""
        if let retried {
            retry += "<p class=\"notice\" role=\"status\" id=\"retry-result\">Retry requested: \(retried) action\(retried == 1 ? "" : "s") re-queued.</p>"
        }
        if summary.status == .deadLetter {
            if session.role == .operator {
                retry += """
                    <form method="post" action="\(HTML.orderPath(summary.digest))/retry" class="retry">
                    <input type="hidden" name="csrf" value="\(session.csrf)">
                    <button type="submit" id="retry">Retry dead-lettered actions</button></form>
                    """
            } else {
                retry += "<p class=\"hint\" id=\"retry-denied\">Retrying needs the operator role.</p>"
            }
        }
        let mapping = HTML.facts([("Mapping", "<code>\(HTML.escape(stored.mappingID))</code>"), ("Version", HTML.escape(stored.mappingVersion)),
                                  ("Mapping digest", HTML.ident(stored.mappingDigest.description))])
            + HTML.table(caption: "Actions", headers: ["#", "Action", "Target", "State", "Attempts", "Last error", "ERP reference", "Receipt"],
                         rows: actions, empty: "The mapping produced no actions.", id: "actions", rowIDs: stored.entries.map { "action-\($0.actionIndex)" })

        // Attempts.
        let names = Dictionary(stored.entries.map { ($0.id, "\($0.actionIndex) \($0.name)") }, uniquingKeysWith: { a, _ in a })
        let attempts = stored.attempts.map { attempt -> [String] in
            [HTML.escape(names[attempt.entryID] ?? "?"), String(attempt.number), HTML.timeTag(attempt.startedAt, now: now),
             HTML.escape(HTML.duration(attempt.finishedAt - attempt.startedAt)), "<span class=\"outcome-\(HTML.escape(attempt.outcome))\">\(HTML.escape(attempt.outcome))</span>",
             HTML.escape(attempt.detail ?? "—")]
        }

        // Receipts with their ledger position; each links its JSON.
        let indexByReceipt = Dictionary(stored.entries.map { ($0.receiptID, $0.actionIndex) }, uniquingKeysWith: { a, _ in a })
        let receiptRows = receipts.map { receipt -> [String] in
            let id = receipt["id"]?.stringValue ?? "?"
            return [HTML.ident(id, link: receiptPath(summary.digest, id)), HTML.escape(receipt["action"]?["target"]?.stringValue ?? "?"),
                    label(receipt["legacyRef"]).map(reference) ?? "—", HTML.timeTag(iso: receipt["issued"]?.stringValue),
                    receipt["ledger"]?["seq"]?.exactInt.map(String.init) ?? "?", proofStatus(checkpoints[id], digest: summary.digest, id: id)]
        }
        let receiptIDs = receipts.map { receipt in "receipt-" + (receipt["id"]?.stringValue.flatMap { indexByReceipt[$0] }.map(String.init) ?? "x") }

        // Provenance in words, per action, with the record itself behind a toggle.
        var provenance = ""
        for entry in stored.entries {
            let record = entry.provenance
            let receipt = receiptsByID[entry.receiptID]
            var story: [String] = []
            let signedBy = (record["signers"]?.arrayValue ?? signerObjects).map { signer -> String in
                let role = signer["role"]?.stringValue ?? "?"
                let name = partyObjects[role]?["name"]?.stringValue.map { " \(HTML.escape($0))" } ?? ""
                let delegation = signerObjects.first { $0["role"]?.stringValue == role }?["delegation"]
                if let delegation, let agent = delegation["agent"]?.stringValue {
                    return "the \(HTML.escape(role))\(name) through its agent \(HTML.ident(agent))"
                        + (delegation["id"]?.stringValue.map { " (delegation \(HTML.ident($0)))" } ?? "")
                }
                return "the \(HTML.escape(role))\(name) (key \(HTML.ident(signer["verificationMethod"]?.stringValue)))"
            }
            story.append("<li><strong>Signed</strong> by \(signedBy.isEmpty ? "nobody recorded" : signedBy.joined(separator: " and ")); "
                + (verified ? "signatures verified on receipt." : "signatures <strong>not</strong> verified.") + "</li>")
            let plan = record["plan"]
            story.append("<li><strong>Mapped</strong> by <code>\(HTML.escape(plan?["mapping"]?.stringValue ?? stored.mappingID))</code> "
                + "version \(HTML.escape(plan?["version"]?.stringValue ?? stored.mappingVersion)) as action \(entry.actionIndex), "
                + "<em>\(HTML.escape(entry.name))</em> (\(stored.entries.count) action\(stored.entries.count == 1 ? "" : "s") in all).</li>")
            let subject = record["subject"]
            story.append("<li><strong>Written</strong> to <strong>\(HTML.escape(entry.target))</strong> through the "
                + "\(HTML.escape(subject?["adapter"]?.stringValue ?? entry.adapter)) adapter (\(HTML.escape(subject?["kind"]?.stringValue ?? entry.kind))): "
                + (entry.state == .delivered
                    ? (label(entry.legacyReference).map { "record \(reference($0))" } ?? "committed")
                        + (entry.deliveredAt.map { ", committed \(HTML.timeTag($0, now: now))" } ?? "")
                    : "not yet (\(HTML.state(entry.state)), \(entry.attempts) attempt\(entry.attempts == 1 ? "" : "s")"
                        + (entry.lastError.map { "; last error: \(HTML.escape($0))" } ?? "") + ")")
                + ".</li>")
            if let receipt {
                let seq = receipt["ledger"]?["seq"]?.exactInt.map(String.init) ?? "?"
                story.append("<li><strong>Receipt</strong> <a href=\"#receipt-\(entry.actionIndex)\">\(HTML.ident(entry.receiptID))</a>, "
                    + "ledger position \(seq) of <code>\(HTML.escape(receipt["ledger"]?["origin"]?.stringValue ?? "?"))</code>, "
                    + proofStatus(checkpoints[entry.receiptID], digest: summary.digest, id: entry.receiptID) + " · "
                    + "<a href=\"\(HTML.escape(receiptPath(summary.digest, entry.receiptID)))\">signed receipt (JSON)</a></li>")
            } else {
                story.append("<li><strong>Receipt</strong>: none yet, so not yet in the ledger (it is issued once the target commits).</li>")
            }
            provenance += """
                <div class="story" id="provenance-\(entry.actionIndex)"><h3>Action \(entry.actionIndex): <span class="nowrap">\(HTML.escape(entry.name))</span> → <span class="nowrap">\(HTML.escape(entry.target))</span></h3>
                <ul>\(story.joined())</ul>
                <details><summary>Provenance record of action \(entry.actionIndex) (JSON, travels with the written record)</summary>\(HTML.json(record))</details></div>
                """
        }

        let title = chain.map { "Order \($0.original.agreementID), version \(summary.version)" } ?? "Order \(summary.agreementID)"
        return layout(title: title, session: session, active: "Orders", live: summary.digest.description, """
            <div id="live">
            \(supersededNotice(summary, chain: chain))
            <p class="status-line">\(HTML.status(summary.status))\(chain.map { " <span class=\"version-tag\">version \(summary.version) of \($0.count), \(kind(summary))</span>" } ?? "") <span>\(partnerShown)</span>
              \(summary.revision == "cancellation" ? "" : "<span class=\"money\">\(HTML.escape(HTML.money(summary.total, summary.currency)))</span>")
              \(summary.deliveryDate.map { "<span>delivery \(HTML.escape($0))</span>" } ?? "")</p>
            \(retry)
            \(chain.map { timeline($0, viewing: summary.digest, now: now) } ?? "")
            <section aria-labelledby="h-provenance"><h2 id="h-provenance">What happened</h2>\(provenance.isEmpty ? "<p class=\"empty\">No actions.</p>" : provenance)</section>
            <section aria-labelledby="h-agreement"><h2 id="h-agreement">Agreement</h2>\(archived)\(agreement)</section>
            <section aria-labelledby="h-verification"><h2 id="h-verification">Verification</h2>\(verificationHTML)</section>
            <section aria-labelledby="h-mapping"><h2 id="h-mapping">Mapping and actions</h2>\(mapping)</section>
            <section aria-labelledby="h-attempts"><h2 id="h-attempts">Attempts</h2>
              \(HTML.table(caption: "Every delivery attempt (times in UTC)", headers: ["Action", "#", "Started", "Took", "Outcome", "Error"], rows: attempts, empty: "No attempts yet.", id: "attempts"))</section>
            <section aria-labelledby="h-receipts"><h2 id="h-receipts">Receipts</h2>
              \(HTML.table(caption: "Signed receipts in the ledger", headers: ["Receipt", "Target", "ERP reference", "Issued", "Ledger #", "Proof"], rows: receiptRows, empty: "No receipts yet.", id: "receipts", rowIDs: receiptIDs))</section>
            </div>
            """)
    }

    // MARK: Reconciliation

    /// The last scheduled reconciliation: when, the count of each finding class, and every finding
    /// that is not `matched` (the first 500) with its agreement, target and evidence in words.
    static func reconciliation(_ schedule: ReconcileSchedule?, session: Session, now: Int64) -> String {
        guard let schedule else {
            return layout(title: "Reconciliation", session: session, active: "Reconciliation", """
                <p>Scheduled reconciliation is off (<code>reconcile.every_seconds: 0</code>). Run
                <code>causeway reconcile --config causeway.yaml</code> instead.</p>
                """)
        }
        guard let run = schedule.lastRun else {
            return layout(title: "Reconciliation", session: session, active: "Reconciliation",
                          "<p id=\"reconcile-state\">The first reconciliation has not finished yet.</p>")
        }
        let when = HTML.timeTag(run.finishedAt, now: now)
        guard let report = run.report else {
            return layout(title: "Reconciliation", session: session, active: "Reconciliation", """
                <p id="reconcile-state" class="bad">The reconciliation of \(when) could not run: \(HTML.escape(run.failure ?? ""))</p>
                """)
        }
        let counts = report.counts.map { findingClass, count in
            "<tr><th scope=\"row\">\(HTML.escape(findingClass.rawValue))</th><td class=\"num\">\(count)</td></tr>"
        }.joined()
        let problems = report.findings.filter { $0.findingClass != .matched }
        let rows = problems.prefix(500).map { finding in
            let agreement = finding.digest.map { HTML.ident($0, link: "/orders/\($0)") } ?? "—"
            return "<tr><td>\(HTML.escape(finding.findingClass.rawValue))</td><td>\(agreement)</td><td>\(HTML.escape(finding.target ?? "—"))</td>"
                + "<td>\(HTML.escape(finding.detail))</td></tr>"
        }.joined()
        let targets = report.targets.map { target in
            "<li>\(HTML.escape(target.target)): \(HTML.escape(target.state.rawValue))\(target.reason.map { " — " + HTML.escape($0) } ?? "")</li>"
        }.joined()
        return layout(title: "Reconciliation", session: session, active: "Reconciliation", """
            <p id="reconcile-state" class="\(report.isClean ? "good" : "bad")">\(report.isClean ? "Everything matched" : "Differences found")
            in the reconciliation of \(when): \(report.agreements) agreements, \(report.entries) actions,
            \(report.ledgerReceipts) receipts.</p>
            <table class="counts" aria-label="Findings by class"><tbody>\(counts)</tbody></table>
            <ul aria-label="Targets">\(targets)</ul>
            <h2>Findings</h2>
            \(problems.isEmpty ? "<p>None.</p>" : """
                <div class="scroll"><table id="findings"><thead><tr><th scope="col">Class</th><th scope="col">Agreement</th><th scope="col">Target</th>
                <th scope="col">Detail</th></tr></thead><tbody>\(rows)</tbody></table></div>
                """)
            <p>Repairs are a person's decision: <code>causeway reconcile --config causeway.yaml --repair</code> re-drives missing
            deliveries and changes nothing else.</p>
            """)
    }
}
