import CausewayStore

extension DashboardPages {
    /// KERI duplicity on the overview: each time an AID was offered with a different event at a
    /// sequence number the gateway had already accepted (newest first). Shown only when there is
    /// any: duplicity means the AID's controller (or its keys) signed two histories.
    static func keriDuplicity(_ duplicities: [KELDuplicity], now: Int64) -> String {
        guard !duplicities.isEmpty else { return "" }
        let rows = duplicities.map { duplicity -> [String] in
            [HTML.ident(duplicity.aid), String(duplicity.sn), HTML.ident(duplicity.knownSAID), HTML.ident(duplicity.offeredSAID),
             HTML.escape(duplicity.source), HTML.timeTag(duplicity.seenAt, now: now)]
        }
        return "<section aria-labelledby=\"keri-h\"><h2 id=\"keri-h\">KERI duplicity</h2>"
            + HTML.table(caption: "Key event logs offered with a different event at a known sequence number (refused; the first-seen KEL stays in force)",
                         headers: ["AID", "sn", "Kept event", "Offered event", "Source", "Seen at"], rows: rows, empty: "", id: "keri-duplicity")
            + "</section>"
    }
}
