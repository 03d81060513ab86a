import CausewayCore
import CausewayStore
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
                <nav aria-label="Main">\(link("/", "Overview"))\(link("/orders", "Orders"))\(link("/reconcile", "Reconciliation"))</nav>
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
            <link rel="stylesheet" href="/dashboard.css"><script src="/dashboard.js" defer></script>
            </head><body\(liveAttribute)>
            <header class="top"><a class="brand" href="/">Causeway</a>\(nav)</header>
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

    static func overview(session: Session, window: DashboardCharts.Window, starts: [Int64], counts: [AgreementStatus: Int],
                         activity: [ActivityBucket], partners: [String], targets: [String]) -> String {
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
            starts: starts, unit: "deliveries", summary: "\(delivered) deliveries committed in the \(window.label)")
        charts += DashboardCharts.bars(
            id: "chart-failures", title: "Failed attempts", series: [.init(name: "failed", cssClass: "bad", values: all.failed)],
            starts: starts, unit: "attempts", summary: "\(failed) failed attempts in the \(window.label)")
        charts += DashboardCharts.bars(
            id: "chart-latency", title: "Mean latency, intake to commit", series: [.init(name: "latency", cssClass: "time", values: all.latency)],
            starts: starts, unit: "", summary: "Mean time from intake to the target's commit, per interval",
            format: { HTML.duration(Int64($0)) })

        func group(_ title: String, _ id: String, _ names: [String], _ key: (ActivityBucket) -> String) -> String {
            var rows: [[String]] = []
            var figures = ""
            for (index, name) in names.enumerated() {
                let series = DashboardCharts.series(activity, starts: starts) { key($0) == name }
                let ok = Int(series.delivered.reduce(0, +)), bad = Int(series.failed.reduce(0, +))
                let latencies = activity.filter { key($0) == name }
                let committed = latencies.reduce(0) { $0 + $1.delivered }
                let mean = committed > 0 ? HTML.duration(latencies.reduce(0) { $0 + $1.latencyMilliseconds } / Int64(committed)) : "—"
                rows.append([HTML.escape(name), String(ok), String(bad), mean])
                figures += DashboardCharts.bars(
                    id: "\(id)-\(index)", title: name,
                    series: [.init(name: "committed", cssClass: "ok", values: series.delivered), .init(name: "failed", cssClass: "bad", values: series.failed)],
                    starts: starts, unit: "", summary: "\(name): \(ok) committed, \(bad) failed in the \(window.label)")
            }
            return "<section aria-labelledby=\"\(id)-h\"><h2 id=\"\(id)-h\">\(HTML.escape(title))</h2>"
                + HTML.table(caption: "\(title), \(window.label)", headers: ["Name", "Committed", "Failed", "Mean latency"], rows: rows,
                             empty: "None configured.", id: id)
                + "<div class=\"charts small\">\(figures)</div></section>"
        }
        return layout(title: "Overview", session: session, active: "Overview", live: "", """
            <div id="live">
            <section class="tiles" aria-label="Orders by status">\(tiles)</section>
            <p class="windows">Showing the \(windows)</p>
            <section aria-label="Activity"><div class="charts">\(charts)</div></section>
            \(group("Per partner", "partners", partners, \.partner))
            \(group("Per target", "targets", targets, \.target))
            </div>
            """)
    }

    // MARK: Orders list

    static func orders(session: Session, summaries: [AgreementSummary], form: [String: String], problems: [String], next: Int64?,
                       partners: [String], targets: [String], now: Int64) -> String {
        func select(_ name: String, _ label: String, _ options: [(String, String)]) -> String {
            var out = "<div class=\"field\"><label for=\"f-\(name)\">\(label)</label><select id=\"f-\(name)\" name=\"\(name)\"><option value=\"\">All</option>"
            for (value, text) in options {
                out += "<option value=\"\(HTML.escape(value))\"\(form[name] == value ? " selected" : "")>\(HTML.escape(text))</option>"
            }
            return out + "</select></div>"
        }
        let statuses: [AgreementStatus] = [.accepted, .delivering, .delivered, .retrying, .deadLetter]
        let filters = """
            <form method="get" action="/orders" class="filters" role="search" aria-label="Filter orders">
            \(select("partner", "Partner", partners.map { ($0, $0) }))
            \(select("status", "Status", statuses.map { ($0.rawValue, HTML.label($0)) }))
            \(select("target", "Target", targets.map { ($0, $0) }))
            <div class="field"><label for="f-from">Received from</label><input id="f-from" type="date" name="from" value="\(HTML.escape(form["from"] ?? ""))"></div>
            <div class="field"><label for="f-to">Received until</label><input id="f-to" type="date" name="to" value="\(HTML.escape(form["to"] ?? ""))"></div>
            <div class="field wide"><label for="f-q">Search</label><input id="f-q" type="search" name="q" value="\(HTML.escape(form["q"] ?? ""))"
              placeholder="Agreement id, digest or legacy reference (e.g. PO number)"></div>
            <div class="actions"><button type="submit">Apply</button> <a href="/orders">Clear</a></div>
            </form>
            """
        let errors = problems.isEmpty ? "" : "<ul class=\"error\" role=\"alert\">" + problems.map { "<li>\(HTML.escape($0))</li>" }.joined() + "</ul>"
        let rows = summaries.map { summary -> [String] in
            [
                "<a href=\"\(HTML.orderPath(summary.digest))\">\(HTML.escape(summary.agreementID))</a>",
                HTML.escape(summary.partner),
                "<span class=\"money\">\(HTML.escape(HTML.money(summary.total, summary.currency)))</span>",
                HTML.status(summary.status),
                HTML.escape(summary.targets.isEmpty ? "—" : Array(Set(summary.targets)).sorted().joined(separator: ", ")),
                HTML.escape(summary.references.isEmpty ? "—" : summary.references.joined(separator: ", ")),
                "<time datetime=\"\(HTML.escape(HTML.time(summary.receivedAt)))\" title=\"\(HTML.escape(HTML.time(summary.receivedAt)))\">\(HTML.age(summary.receivedAt, now: now))</time>",
            ]
        }
        var keep = form
        keep["before"] = nil
        let base = keep.sorted { $0.key < $1.key }.map { "\($0.key)=\(HTML.query($0.value))" }.joined(separator: "&")
        var paging = ""
        if form["before"] != nil { paging += "<a href=\"/orders\(base.isEmpty ? "" : "?" + base)\" id=\"page-newest\">Newest</a> " }
        if let next { paging += "<a href=\"/orders?\(base.isEmpty ? "" : base + "&")before=\(next)\" id=\"page-older\" rel=\"next\">Older →</a>" }
        let table = HTML.table(caption: "Orders, newest first", headers: ["Agreement", "Partner", "Total", "Status", "Target", "Legacy reference", "Age"],
                               rows: rows, empty: "No orders match.", id: "orders")
        return layout(title: "Orders", session: session, active: "Orders", live: "", """
            \(filters)\(errors)
            <div id="live">\(table)</div>
            <nav class="paging" aria-label="Pages">\(paging)</nav>
            """)
    }

    // MARK: Order detail

    static func order(session: Session, stored: StoredAgreement, receipts: [JSONObject], retried: Int?, now: Int64) -> String {
        let summary = stored.summary
        let document = try? JSONReader(limits: .init(maxBytes: 64 << 20, maxDepth: 128)).read(stored.document)

        // The agreement: parties and lines, then the document itself.
        var parties: [[String]] = []
        for (role, party) in document?["parties"]?.objectValue ?? JSONObject() {
            parties.append([HTML.escape(role), HTML.escape(party["name"]?.stringValue ?? "—"),
                            "<code>\(HTML.escape(party["id"]?.stringValue ?? "—"))</code>", HTML.escape(party["vatId"]?.stringValue ?? "—")])
        }
        let lines = (document?["lines"]?.arrayValue ?? []).map { line -> [String] in
            ["sku", "description", "quantity", "unit", "unitPrice"].map { HTML.escape(line[$0]?.stringValue ?? "—") }
        }
        let agreement = HTML.facts([
            ("Agreement id", "<code>\(HTML.escape(summary.agreementID))</code>"), ("Digest", "<code>\(HTML.escape(summary.digest.description))</code>"),
            ("Partner", HTML.escape(summary.partner)), ("Total", "<span class=\"money\">\(HTML.escape(HTML.money(summary.total, summary.currency)))</span>"),
            ("Issued", HTML.escape(document?["issued"]?.stringValue ?? "—")), ("Received", HTML.escape(HTML.time(summary.receivedAt))),
        ])
            + HTML.table(caption: "Parties", headers: ["Role", "Name", "Identifier", "VAT id"], rows: parties, empty: "No parties in the document.", id: "parties")
            + HTML.table(caption: "Lines", headers: ["SKU", "Description", "Quantity", "Unit", "Unit price"], rows: lines, empty: "No lines.", id: "lines")
            + "<details><summary>The agreement as received</summary>\(document.map(HTML.json) ?? "<p>(not JSON)</p>")</details>"

        // Verification: who signed which role, with which key, through which delegation.
        let verification = stored.verification
        let signers = (verification["signers"]?.arrayValue ?? []).map { signer -> [String] in
            let delegation: String
            if let d = signer["delegation"]?.objectValue {
                delegation = "agent <code>\(HTML.escape(d["agent"]?.stringValue ?? "?"))</code> for issuer <code>\(HTML.escape(d["issuer"]?.stringValue ?? "?"))</code>"
                    + (d["id"]?.stringValue.map { " (\(HTML.escape($0)))" } ?? "")
            } else {
                delegation = "direct"
            }
            return [HTML.escape(signer["role"]?.stringValue ?? "?"), "<code>\(HTML.escape(signer["did"]?.stringValue ?? "?"))</code>",
                    "<code class=\"key\">\(HTML.escape(signer["verificationMethod"]?.stringValue ?? "?"))</code>", delegation]
        }
        let findings = (verification["findings"]?.arrayValue ?? []).map {
            [HTML.escape($0["severity"]?.stringValue ?? ""), HTML.escape($0["code"]?.stringValue ?? ""), HTML.escape($0["message"]?.stringValue ?? "")]
        }
        let verified = verification["verified"]?.boolValue == true
        let verificationHTML = "<p class=\"\(verified ? "ok" : "bad")\" id=\"verified\">\(verified ? "Verified" : "Not verified")</p>"
            + HTML.table(caption: "Signers", headers: ["Role", "Signer", "Key", "Delegation"], rows: signers, empty: "No signers recorded.", id: "signers")
            + HTML.table(caption: "Findings", headers: ["Severity", "Code", "Message"], rows: findings, empty: "No findings.")

        // The mapping and the actions it produced.
        let receiptsByID = Dictionary(receipts.compactMap { receipt in receipt["id"]?.stringValue.map { ($0, receipt) } }, uniquingKeysWith: { a, _ in a })
        let actions = stored.entries.map { entry -> [String] in
            let reference = entry.legacyReference.flatMap { ref in ref["id"]?.stringValue.map { _ in
                [ref["system"]?.stringValue, ref["kind"]?.stringValue, ref["id"]?.stringValue].compactMap { $0 }.joined(separator: ":") } }
            return [String(entry.actionIndex), HTML.escape(entry.name), HTML.escape(entry.target), HTML.state(entry.state), String(entry.attempts),
                    HTML.escape(entry.lastError ?? "—"), HTML.escape(reference ?? "—"),
                    receiptsByID[entry.receiptID] != nil ? "<code>\(HTML.escape(entry.receiptID))</code>" : "pending"]
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
                                  ("Mapping digest", "<code>\(HTML.escape(stored.mappingDigest.description))</code>")])
            + HTML.table(caption: "Actions", headers: ["#", "Action", "Target", "State", "Attempts", "Last error", "Legacy reference", "Receipt"],
                         rows: actions, empty: "The mapping produced no actions.", id: "actions")

        // Attempts.
        let names = Dictionary(stored.entries.map { ($0.id, "\($0.actionIndex) \($0.name)") }, uniquingKeysWith: { a, _ in a })
        let attempts = stored.attempts.map { attempt -> [String] in
            [HTML.escape(names[attempt.entryID] ?? "?"), String(attempt.number), HTML.escape(HTML.time(attempt.startedAt)),
             HTML.escape(HTML.duration(attempt.finishedAt - attempt.startedAt)), "<span class=\"outcome-\(HTML.escape(attempt.outcome))\">\(HTML.escape(attempt.outcome))</span>",
             HTML.escape(attempt.detail ?? "—")]
        }

        // Receipts and provenance with the ledger position.
        let receiptRows = receipts.map { receipt -> [String] in
            let ref = receipt["legacyRef"]
            let label = [ref?["system"]?.stringValue, ref?["kind"]?.stringValue, ref?["id"]?.stringValue].compactMap { $0 }.joined(separator: ":")
            return ["<code>\(HTML.escape(receipt["id"]?.stringValue ?? "?"))</code>", HTML.escape(receipt["action"]?["target"]?.stringValue ?? "?"),
                    HTML.escape(label.isEmpty ? "—" : label), HTML.escape(receipt["issued"]?.stringValue ?? "?"),
                    receipt["ledger"]?["seq"]?.exactInt.map(String.init) ?? "?", "<code class=\"key\">\(HTML.escape(receipt["ledger"]?["leaf"]?.stringValue ?? "—"))</code>"]
        }
        var provenance = ""
        for entry in stored.entries {
            let position = receiptsByID[entry.receiptID].map { receipt in
                "ledger position \(receipt["ledger"]?["seq"]?.exactInt.map(String.init) ?? "?") of \(HTML.escape(receipt["ledger"]?["origin"]?.stringValue ?? "?"))"
            } ?? "not yet in the ledger"
            provenance += "<details><summary>Action \(entry.actionIndex) \(HTML.escape(entry.name)): \(position)</summary>\(HTML.json(entry.provenance))</details>"
        }

        return layout(title: "Order \(summary.agreementID)", session: session, active: "Orders", live: summary.digest.description, """
            <div id="live">
            <p class="status-line">\(HTML.status(summary.status)) <span>\(HTML.escape(summary.partner))</span>
              <span class="money">\(HTML.escape(HTML.money(summary.total, summary.currency)))</span></p>
            \(retry)
            <section aria-labelledby="h-agreement"><h2 id="h-agreement">Agreement</h2>\(agreement)</section>
            <section aria-labelledby="h-verification"><h2 id="h-verification">Verification</h2>\(verificationHTML)</section>
            <section aria-labelledby="h-mapping"><h2 id="h-mapping">Mapping and actions</h2>\(mapping)</section>
            <section aria-labelledby="h-attempts"><h2 id="h-attempts">Attempts</h2>
              \(HTML.table(caption: "Every delivery attempt", headers: ["Action", "#", "Started", "Took", "Outcome", "Error"], rows: attempts, empty: "No attempts yet.", id: "attempts"))</section>
            <section aria-labelledby="h-receipts"><h2 id="h-receipts">Receipts</h2>
              \(HTML.table(caption: "Signed receipts in the ledger", headers: ["Receipt", "Target", "Legacy reference", "Issued", "Ledger #", "Leaf"], rows: receiptRows, empty: "No receipts yet.", id: "receipts"))</section>
            <section aria-labelledby="h-provenance"><h2 id="h-provenance">Provenance</h2>\(provenance.isEmpty ? "<p class=\"empty\">No actions.</p>" : provenance)</section>
            </div>
            """)
    }

    // MARK: Reconciliation

    /// The last scheduled reconciliation: when, the count of each finding class, and every finding
    /// that is not `matched` (the first 500) with its agreement, target and evidence in words.
    static func reconciliation(_ schedule: ReconcileSchedule?, session: Session) -> String {
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
        let when = Timestamp(epochSeconds: run.finishedAt / 1000).text
        guard let report = run.report else {
            return layout(title: "Reconciliation", session: session, active: "Reconciliation", """
                <p id="reconcile-state" class="bad">The reconciliation of \(HTML.escape(when)) could not run: \(HTML.escape(run.failure ?? ""))</p>
                """)
        }
        let counts = report.counts.map { findingClass, count in
            "<tr><th scope=\"row\">\(HTML.escape(findingClass.rawValue))</th><td class=\"num\">\(count)</td></tr>"
        }.joined()
        let problems = report.findings.filter { $0.findingClass != .matched }
        let rows = problems.prefix(500).map { finding in
            let agreement = finding.digest.map { "<a href=\"/orders/\(HTML.escape($0))\"><code>\(HTML.escape(String($0.prefix(19))))…</code></a>" } ?? "—"
            return "<tr><td>\(HTML.escape(finding.findingClass.rawValue))</td><td>\(agreement)</td><td>\(HTML.escape(finding.target ?? "—"))</td>"
                + "<td>\(HTML.escape(finding.detail))</td></tr>"
        }.joined()
        let targets = report.targets.map { target in
            "<li>\(HTML.escape(target.target)): \(HTML.escape(target.state.rawValue))\(target.reason.map { " — " + HTML.escape($0) } ?? "")</li>"
        }.joined()
        return layout(title: "Reconciliation", session: session, active: "Reconciliation", """
            <p id="reconcile-state" class="\(report.isClean ? "good" : "bad")">\(report.isClean ? "Everything matched" : "Differences found")
            in the reconciliation of \(HTML.escape(when)): \(report.agreements) agreements, \(report.entries) actions,
            \(report.ledgerReceipts) receipts.</p>
            <table class="counts" aria-label="Findings by class"><tbody>\(counts)</tbody></table>
            <ul aria-label="Targets">\(targets)</ul>
            <h2>Findings</h2>
            \(problems.isEmpty ? "<p>None.</p>" : """
                <table id="findings"><thead><tr><th scope="col">Class</th><th scope="col">Agreement</th><th scope="col">Target</th>
                <th scope="col">Detail</th></tr></thead><tbody>\(rows)</tbody></table>
                """)
            <p>Repairs are a person's decision: <code>causeway reconcile --config causeway.yaml --repair</code> re-drives missing
            deliveries and changes nothing else.</p>
            """)
    }
}
