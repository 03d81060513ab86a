import CausewayCore
import CausewayTesting
import Foundation
import Testing

/// The dashboard of a real `causeway serve` over an agreement with a life: a signed original, a
/// change (a quantity and a price changed, a line added, one removed, delivery and payment changed)
/// and a cancellation, built and signed with `causeway amend` and `causeway cancel`. The list shows
/// one row per agreement at its current version; an order's page shows the chain as a timeline.
@Suite("causeway serve: the dashboard shows an agreement's versions", .serialized)
struct DashboardVersionsTests {
    /// The page's text as a person reads it: tags dropped, the escapes the dashboard writes undone,
    /// runs of white space made one space.
    static func text(_ html: String) -> String {
        var out = html.replacingOccurrences(of: "<[^>]*>", with: "", options: .regularExpression)
        for (escaped, plain) in [("&lt;", "<"), ("&gt;", ">"), ("&quot;", "\""), ("&#39;", "'"), ("&amp;", "&")] {
            out = out.replacingOccurrences(of: escaped, with: plain)
        }
        return out.replacingOccurrences(of: "\\s+", with: " ", options: .regularExpression)
    }

    /// A query value, percent-encoded.
    static func query(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~:")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }

    /// The orders list's rows (each row's HTML).
    static func rows(_ html: String) -> [String] {
        guard let body = html.range(of: "<table id=\"orders\">").flatMap({ html[$0.upperBound...].range(of: "<tbody>") }),
            let end = html[body.upperBound...].range(of: "</tbody>")
        else { return [] }
        return html[body.upperBound..<end.lowerBound].components(separatedBy: "</tr>").filter { $0.contains("<td>") }
    }

    /// One version's card in the timeline (its HTML), by version number.
    static func card(_ html: String, version: Int) -> String? {
        guard let start = html.range(of: "id=\"version-\(version)\"") else { return nil }
        let rest = html[start.upperBound...]
        return String(rest[..<(rest.range(of: "</li><li class=\"version")?.lowerBound ?? rest.range(of: "</ol>")?.lowerBound ?? rest.endIndex)])
    }

    /// A signed original, a change of it, a cancellation of the change (buyer alone, a reason with
    /// markup in it), and an unrelated order, all through one gateway.
    struct Chain {
        let gateway: RunningGateway
        let parties: RevisionParties
        let v1: String, v2: String, v3: String, other: String
        let v2ID = "urn:uuid:dash-versions-2"
        let v3ID = "urn:uuid:dash-versions-3"
        static let reason = "Projekt gestoppt <b>& verschoben</b> — \"bis 2037\""

        /// `target`: the kind of the gateway's store and staging target (SQLite or PostgreSQL). The
        /// gateway is stopped when anything here fails; otherwise the test stops it.
        init(target: StagingTarget = .sqlite) async throws {
            let parties = try RevisionParties()
            let gateway = try target.gateway(parties, prefix: "dashver").0
            self.parties = parties
            self.gateway = gateway
            do {
                (v1, v2, v3, other) = try await Self.make(gateway, parties, v2ID: v2ID, v3ID: v3ID)
            } catch {
                _ = gateway.stop()
                throw error
            }
        }

        /// Submits the versions and the other order, each once the one before is delivered; returns their digests.
        static func make(_ gateway: RunningGateway, _ parties: RevisionParties, v2ID: String, v3ID: String) async throws
            -> (String, String, String, String)
        {
            try await gateway.waitUntilReady()
            let original = try parties.original("urn:uuid:dash-versions-1", deliveryDate: "2036-12-15")
            let v1 = try RevisionParties.digest(original)
            try #require(try await RevisionGatewayTests.submit(gateway, original).0 == 202)
            _ = try await RevisionGatewayTests.wait(gateway, v1, for: "delivered")

            let terms = parties.file("v2.terms.json")
            try Data("""
                {"lines": [
                  {"sku": "STL-6205-2RS", "description": "Rillenkugellager 6205-2RS, abgedichtet", "quantity": "250", "unit": "pcs", "unitPrice": "7.60"},
                  {"sku": "STL-NU205", "description": "Zylinderrollenlager NU205 — Käfig aus Messing", "quantity": "40.000", "unit": "pcs", "unitPrice": "31.2"},
                  {"sku": "STL-51105", "description": "Axial-Rillenkugellager 51105", "quantity": "30", "unit": "pcs", "unitPrice": "4.10"}],
                 "delivery": {"incoterm": "DAP", "place": "Tampere, FI", "date": "2036-12-20"},
                 "payment": {"terms": "NET45"}}
                """.utf8).write(to: URL(fileURLWithPath: terms))
            let changed = parties.file("v2.json")
            let amend = try CommandRunner.causeway(["amend", original, "--terms", terms, "--id", v2ID, "--reason", "more 6205, no 22205",
                                                    "--key", parties.sellerKey, "--key", parties.buyerKey, "-o", changed])
            try #require(amend.status == 0, "\(amend)")
            let v2 = try RevisionParties.digest(changed)
            try #require(try await RevisionGatewayTests.submit(gateway, changed).0 == 202)
            _ = try await RevisionGatewayTests.wait(gateway, v2, for: "delivered")

            let cancelled = parties.file("v3.json")
            let cancel = try CommandRunner.causeway(["cancel", changed, "--reason", reason, "--id", v3ID, "--key", parties.buyerKey,
                                                     "-o", cancelled])
            try #require(cancel.status == 0, "\(cancel)")
            let v3 = try RevisionParties.digest(cancelled)
            try #require(try await RevisionGatewayTests.submit(gateway, cancelled).0 == 202)
            _ = try await RevisionGatewayTests.wait(gateway, v3, for: "cancelled")

            let unrelated = try parties.original("urn:uuid:dash-versions-other", deliveryDate: "2036-11-30")
            let other = try RevisionParties.digest(unrelated)
            try #require(try await RevisionGatewayTests.submit(gateway, unrelated).0 == 202)
            _ = try await RevisionGatewayTests.wait(gateway, other, for: "delivered")
            return (v1, v2, v3, other)
        }
    }

    @Test("over HTTP: one row per agreement at its current version (v3, cancelled); the search finds any version; the timeline with diff, reason, receipts and links",
          arguments: StagingTarget.allCases)
    func listAndTimeline(target: StagingTarget) async throws {
        let chain = try await Chain(target: target)
        let gateway = chain.gateway
        defer { _ = gateway.stop() }
        let (cookie, _) = try DashboardTests.signIn(gateway, token: gateway.viewerToken)
        func page(_ path: String) throws -> DashboardTests.Exchange { try DashboardTests.curl(gateway, "GET", path, cookie: cookie) }

        // The list: the chain is one row, the original's id with "v3" beside it, cancelled, linking the current version;
        // the change's and the cancellation's own ids are no rows of their own.
        let list = try page("/orders")
        #expect(list.status == 200)
        let rows = Self.rows(list.body)
        #expect(rows.count == 2, "\(rows)")
        let row = try #require(rows.first { $0.contains("urn:uuid:dash-versions-1") }, "\(rows)")
        #expect(row.contains("href=\"/orders/\(chain.v3)\""), "\(row)")
        #expect(row.contains("<span class=\"version-tag\" title=\"version 3, a cancellation\">v3</span>"), "\(row)")
        #expect(row.contains("<span class=\"badge status-cancelled\">cancelled</span>"), "\(row)")
        #expect(row.contains("2036-12-20"), "the delivery date of the terms in force (the change's): \(row)")
        #expect(!list.body.contains(chain.v2ID) && !list.body.contains(chain.v3ID))
        let otherRow = try #require(rows.first { $0.contains("urn:uuid:dash-versions-other") })
        #expect(!otherRow.contains("version-tag") && otherRow.contains("status-delivered"), "\(otherRow)")

        // The search finds the agreement by any version's digest or business id, shown at its current version.
        // (and by the ERP reference every version's action wrote to: the one staging row, updated in place).
        let reference = try #require(row.firstMatch(of: />([a-z]+:erp_purchase_order:[0-9]+)<\/code>/).map { String($0.1) }, "\(row)")
        for q in [chain.v1, chain.v2, chain.v3, "urn:uuid:dash-versions-1", chain.v2ID, chain.v3ID, reference] {
            let found = Self.rows(try page("/orders?q=\(Self.query(q))").body)
            #expect(found.count == 1 && found[0].contains("href=\"/orders/\(chain.v3)\"") && found[0].contains(">v3</span>"), "q=\(q): \(found)")
        }
        // Filters apply to the current version: cancelled finds it, delivered only the other order (its first two versions are
        // delivered, but superseded); a search and a filter together.
        #expect(Self.rows(try page("/orders?status=cancelled").body).map { $0.contains("dash-versions-1") } == [true])
        #expect(Self.rows(try page("/orders?status=delivered").body).map { $0.contains("dash-versions-other") } == [true])
        #expect(Self.rows(try page("/orders?status=delivered&q=\(Self.query(chain.v1))").body).isEmpty)
        #expect(Self.rows(try page("/orders?status=cancelled&q=\(Self.query(chain.v1))").body).count == 1)
        #expect(try page("/orders?status=cancelled").body.contains("<option value=\"cancelled\" selected>cancelled</option>"))

        // The current version's page: three versions, oldest first, this one marked.
        let current = try page("/orders/\(chain.v3)")
        #expect(current.status == 200)
        #expect(current.body.contains("<h1>Order urn:uuid:dash-versions-1, version 3</h1>"))
        #expect(current.body.components(separatedBy: "<li class=\"version").count - 1 == 3)
        #expect(!current.body.contains("id=\"superseded\""))
        let first = try #require(Self.card(current.body, version: 1))
        let second = try #require(Self.card(current.body, version: 2))
        let third = try #require(Self.card(current.body, version: 3))
        #expect(Self.text(first).contains("Version 1 · original"))
        #expect(first.contains("href=\"/orders/\(chain.v1)\""))
        #expect(Self.text(second).contains("Version 2 · change"))
        #expect(second.contains("href=\"/orders/\(chain.v2)\""))
        #expect(third.contains("aria-current=\"page\"") && Self.text(third).contains("Version 3 · cancellation (this page)"))
        #expect(first.contains("status-delivered") && second.contains("status-delivered") && third.contains("status-cancelled"))

        // The change's diff in words, decimals compared as decimals (40.000 and 31.2 are the same as 40 and 31.20).
        let diff = Self.text(second)
        for words in ["changed line STL-6205-2RS: quantity was 200 → now 250; unit price was 7.85 → now 7.60",
                      "added line STL-51105 Axial-Rillenkugellager 51105: 30 pcs at 4.10",
                      "removed line STL-22205-E Pendelrollenlager 22205-E, Fett lose (Gebinde) (was 12.5 kg at 18.40)",
                      "changed total was 3048.00 → now 3271.00", "changed delivery date was 2036-12-15 → now 2036-12-20",
                      "changed payment terms was NET30 → now NET45", "Reason: more 6205, no 22205"] {
            #expect(diff.contains(words), "\(words)\n\(diff)")
        }
        #expect(!diff.contains("STL-NU205"), "an unchanged line (40.000 = 40, 31.2 = 31.20) is not listed: \(diff)")

        // The cancellation's reason, escaped; the cancelled version named.
        #expect(third.contains("Projekt gestoppt &lt;b&gt;&amp; verschoben&lt;/b&gt; — &quot;bis 2037&quot;"), "\(third)")
        #expect(!current.body.contains("<b>& verschoben"))
        #expect(Self.text(third).contains("Cancelled at version 2. Reason: \(Chain.reason)"))

        // Each version's receipts link the receipt pages; the change's receipt names its version and links the original's.
        let receiptLink = /href="(\/orders\/sha256:[0-9a-f]{64}\/receipts\/[^"]+)"/
        let firstReceipts = first.matches(of: receiptLink).map { String($0.1) }
        let secondReceipts = second.matches(of: receiptLink).map { String($0.1) }
        #expect(firstReceipts.count == 1 && firstReceipts.allSatisfy { $0.hasPrefix("/orders/\(chain.v1)/receipts/") }, "\(firstReceipts)")
        #expect(secondReceipts.count == 1 && secondReceipts.allSatisfy { $0.hasPrefix("/orders/\(chain.v2)/receipts/") }, "\(secondReceipts)")
        #expect(third.matches(of: receiptLink).count == 1, "the cancellation's action is delivered too")
        let receipt = try page(try #require(secondReceipts.first))
        #expect(receipt.status == 200)
        let json = try JSONReader().read(Array(receipt.body.utf8))
        #expect(json["agreement"]?["version"]?.exactInt == 2)
        #expect(json["agreement"]?["supersedes"]?.stringValue == chain.v1)
        let firstID = try #require(firstReceipts.first?.split(separator: "/").last.map { String($0).removingPercentEncoding ?? String($0) })
        #expect(json["previousReceipt"]?.stringValue == firstID)

        // A superseded version's page says so and links the current version; its timeline is the same chain.
        for (digest, version, kind) in [(chain.v1, 1, "original"), (chain.v2, 2, "change")] {
            let old = try page("/orders/\(digest)")
            #expect(old.body.contains("id=\"superseded\""))
            #expect(Self.text(old.body).contains("This is version \(version) (\(kind)) of 3, superseded. The current version is version 3, the cancellation (cancelled)."))
            #expect(old.body.contains("<a href=\"/orders/\(chain.v3)\" id=\"current-version\">"))
            #expect(old.body.contains("<h1>Order urn:uuid:dash-versions-1, version \(version)</h1>"))
            #expect(try #require(Self.card(old.body, version: version)).contains("aria-current=\"page\""))
        }
        // An agreement without later versions has no timeline.
        let single = try page("/orders/\(chain.other)")
        #expect(single.status == 200 && !single.body.contains("id=\"versions\"") && single.body.contains("<h1>Order urn:uuid:dash-versions-other</h1>"))
    }

    @Test("in Chromium: the list and the timeline at desktop and phone width — nothing overflows, a superseded version links the current one")
    func inTheBrowser() async throws {
        guard let python = TestPaths.python else {
            throw MissingTestInput(path: "CAUSEWAY_PYTHON", hint: "scripts/test sets up a venv with selenium")
        }
        for program in ["/usr/bin/chromium", "/usr/bin/chromedriver"] where !FileManager.default.fileExists(atPath: program) {
            throw MissingTestInput(path: program, hint: "apt-get install -y chromium chromium-driver (scripts/test does)")
        }
        let chain = try await Chain()
        let gateway = chain.gateway
        defer { _ = gateway.stop() }
        let shots = TestPaths.repository.appendingPathComponent("test-artifacts/dashboard/versions")
        try? FileManager.default.removeItem(at: shots)
        let script = TestPaths.repository.appendingPathComponent("Tests/CausewayCLITests/Support/versions_browser.py").path
        let run = try CommandRunner.run(python, [script, "--base", "http://127.0.0.1:\(gateway.port)", "--viewer", gateway.viewerToken,
                                                 "--agreement-id", "urn:uuid:dash-versions-1", "--superseded", chain.v1, "--shots", shots.path],
                                        environment: ["SE_AVOID_STATS": "true"])
        let seen = try #require(try? JSONReader(limits: .init(maxBytes: 8 << 20, maxDepth: 64)).read(run.stdout), "\(run.description)")
        #expect(seen["error"] == nil, "\(seen["error"]?.stringValue ?? "")")

        let rows = (seen["rows"]?.arrayValue ?? []).map { ($0.arrayValue ?? []).compactMap(\.stringValue) }
        #expect(rows.count == 2, "\(rows)")
        #expect(rows.contains { $0.first == "urn:uuid:dash-versions-1 v3" && $0.dropFirst(3).first == "cancelled" }, "\(rows)")
        #expect(seen["current_path"]?.stringValue == "/orders/\(chain.v3)")
        #expect(seen["current_title"]?.stringValue == "Order urn:uuid:dash-versions-1, version 3")
        #expect(seen["current_superseded_notices"]?.numberValue == 0)
        let cards = seen["current_timeline"]?.arrayValue ?? []
        #expect(cards.compactMap { $0["heading"]?.stringValue } == ["Version 1 · original", "Version 2 · change", "Version 3 · cancellation (this page)"])
        #expect(cards.map { $0["here"]?.boolValue == true } == [false, false, true])
        #expect(cards.dropFirst().first?["text"]?.stringValue?.contains("quantity was 200 → now 250") == true)
        #expect(cards.last?["text"]?.stringValue?.contains(Chain.reason) == true)
        #expect(cards.map { $0["receipts"]?.arrayValue?.count ?? 0 } == [1, 1, 1])
        #expect(seen["superseded_notice"]?.stringValue?.hasPrefix("This is version 1 (original) of 3, superseded.") == true)
        #expect((seen["superseded_timeline"]?.arrayValue ?? []).map { $0["here"]?.boolValue == true } == [true, false, false])
        #expect(seen["followed_to_current"]?.stringValue == "/orders/\(chain.v3)")

        for page in ["versions-orders", "versions-current", "versions-superseded"] {
            for width in ["desktop", "phone"] {
                let layout = seen["layout"]?["\(page)-\(width)"]
                let scrollWidth = layout?["scrollWidth"]?.numberValue ?? .infinity, clientWidth = layout?["clientWidth"]?.numberValue ?? 0
                #expect(scrollWidth <= clientWidth, "\(page) \(width): the page scrolls sideways (\(scrollWidth) > \(clientWidth))")
                #expect(layout?["squeezed"]?.arrayValue?.isEmpty == true, "\(page) \(width): \(layout?["squeezed"].map { "\($0)" } ?? "?")")
                #expect(layout?["outside"]?.arrayValue?.isEmpty == true, "\(page) \(width): \(layout?["outside"].map { "\($0)" } ?? "?")")
                #expect(FileManager.default.fileExists(atPath: shots.appendingPathComponent("\(page)-\(width).png").path))
            }
            // At a desktop's width no table needs to scroll (the order page's wide tables fit).
            let scrolled = seen["layout"]?["\(page)-desktop"]?["scrolled"]?.arrayValue ?? []
            #expect(scrolled.isEmpty, "\(page) desktop: \(scrolled)")
        }
    }
}
