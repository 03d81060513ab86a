/// The dashboard's stylesheet and its one small script, served from `/dashboard.css` and
/// `/dashboard.js` (the Content-Security-Policy allows scripts and styles only from the gateway).
enum DashboardAssets {
    static let css = """
        :root { --ink: #1d2430; --muted: #5b6575; --line: #d7dce3; --ok: #1f7a3f; --bad: #b3261e; --warn: #8a5a00; --accent: #0b5cad;
          font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); }
        body { margin: 0; background: #f6f7f9; }
        header.top { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem 1.5rem; padding: .6rem 1rem; background: #16202e; color: #fff; }
        header.top a { color: #fff; }
        .brand { font-weight: 700; text-decoration: none; font-size: 1.1rem; display: inline-flex; align-items: center; gap: .4rem; }
        .brand img { width: 20px; height: 20px; }
        nav a { margin-right: 1rem; }
        nav a[aria-current] { font-weight: 700; text-decoration: none; border-bottom: 2px solid #fff; }
        .who { margin-left: auto; display: flex; gap: .75rem; align-items: center; flex-wrap: wrap; font-size: .9rem; }
        .who form { display: inline; }
        button.link { background: none; border: 1px solid #fff; color: #fff; border-radius: 4px; padding: .2rem .6rem; cursor: pointer; }
        .live-status { color: #b8f0c8; }
        main { padding: 1rem; max-width: 1400px; margin: 0 auto; }
        h1 { font-size: 1.4rem; margin: .2rem 0 1rem; overflow-wrap: anywhere; }
        h2 { font-size: 1.1rem; margin-top: 1.5rem; }
        h3 { font-size: 1rem; margin: 0 0 .5rem; }
        a { color: var(--accent); }
        /* A font list, not bare monospace: browsers shrink bare monospace to 13 px before .9em applies. */
        code { font-family: ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: .9em; overflow-wrap: break-word; }
        /* A long identifier: one line, cut with an ellipsis; the whole value is in the text and the title. */
        .ident { display: inline-block; max-width: 16em; overflow: hidden; text-overflow: ellipsis; white-space: nowrap;
          vertical-align: bottom; overflow-wrap: normal; }
        dd .ident { max-width: min(100%, 36em); }
        .story .ident { max-width: 12em; }
        #orders td { white-space: nowrap; padding-left: .5rem; padding-right: .5rem; }
        #orders .ident { max-width: 11em; }
        /* Names and identifiers stay on one line (no break at a hyphen); a narrow screen scrolls the table's box. */
        #partners td, #targets td, #signers td, #actions td, #attempts td, #receipts td, #lines td:first-child { white-space: nowrap; }
        #actions td:nth-child(6), #attempts td:last-child { white-space: normal; min-width: 12em; }
        .scroll { overflow-x: auto; background: #fff; border: 1px solid var(--line); border-radius: 6px; margin-bottom: 1rem; }
        table { border-collapse: collapse; width: 100%; font-size: .9rem; }
        caption { text-align: left; padding: .5rem .6rem; color: var(--muted); font-size: .85rem; }
        th, td { text-align: left; padding: .45rem .6rem; border-top: 1px solid var(--line); vertical-align: top; }
        th { background: #eef1f5; white-space: nowrap; }
        td { min-width: 2ch; }
        td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
        td time, td .money, td .date { white-space: nowrap; }
        td .sub { display: block; color: var(--muted); font-size: .8rem; }
        tr:target { background: #fff8d6; }
        .money { font-variant-numeric: tabular-nums; white-space: nowrap; }
        .badge { display: inline-block; padding: .1rem .5rem; border-radius: 999px; font-size: .8rem; white-space: nowrap; background: #e6e9ef; }
        .status-delivered, .state-delivered { background: #d9f2e1; color: var(--ok); }
        .status-dead_letter, .state-dead_letter { background: #fbdcd9; color: var(--bad); font-weight: 700; }
        .status-retrying { background: #fff0cc; color: var(--warn); }
        .status-delivering, .state-in_flight { background: #dce9f9; color: var(--accent); }
        .status-cancelled, .state-void { background: #ece8f4; color: #4b3f72; text-decoration: none; }
        .filters { display: flex; flex-wrap: wrap; gap: .6rem 1rem; align-items: flex-end; background: #fff; border: 1px solid var(--line);
          border-radius: 6px; padding: .75rem; margin-bottom: 1rem; }
        .field { display: flex; flex-direction: column; gap: .2rem; font-size: .85rem; min-width: 0; }
        .field.wide { flex: 1 1 18rem; }
        input, select, button { font: inherit; padding: .35rem .5rem; max-width: 100%; box-sizing: border-box; }
        button { cursor: pointer; }
        .paging a { margin-right: 1rem; }
        .tiles { display: flex; flex-wrap: wrap; gap: .75rem; margin-bottom: 1rem; }
        .tile { flex: 1 1 9rem; background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: .75rem; text-decoration: none; color: var(--ink); }
        .tile .number { display: block; font-size: 1.8rem; font-weight: 700; }
        .tile.dead { border-width: 2px; }
        .tile.dead.alert { border-color: var(--bad); background: #fdf0ef; color: var(--bad); }
        /* Charts: the bars are an SVG stretched to the plot's box; every label is HTML text at its own size. */
        .charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 22rem), 1fr)); gap: 1rem; }
        .charts.small { grid-template-columns: repeat(auto-fill, minmax(min(100%, 17rem), 1fr)); }
        figure.chart { margin: 0; background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: .6rem .75rem; min-width: 0; }
        figcaption { font-weight: 600; font-size: .9rem; margin-bottom: .4rem; }
        figcaption .unit { display: block; font-weight: 400; color: var(--muted); font-size: .8rem; }
        .plot { display: grid; grid-template-columns: auto 1fr; grid-template-rows: 8rem auto; column-gap: .4rem; }
        .charts.small .plot { grid-template-rows: 5.5rem auto; }
        .y-axis { display: flex; flex-direction: column; justify-content: space-between; align-items: flex-end; font-size: .75rem;
          color: var(--muted); line-height: 1; font-variant-numeric: tabular-nums; }
        .bars { position: relative; border-left: 1px solid var(--line); border-bottom: 1px solid var(--line); }
        .bars svg { position: absolute; inset: 0; width: 100%; height: 100%; display: block; }
        .bars .nodata { position: absolute; inset: 0; display: flex; align-items: center; justify-content: center; color: var(--muted);
          font-size: .85rem; text-align: center; padding: 0 .5rem; }
        .x-axis { grid-column: 2; display: flex; justify-content: space-between; font-size: .75rem; color: var(--muted); margin-top: .2rem; }
        .grid line { stroke: #eef1f5; }
        rect.ok, .key.ok { fill: var(--ok); background: var(--ok); }
        rect.bad, .key.bad { fill: var(--bad); background: var(--bad); }
        rect.time, .key.time { fill: var(--accent); background: var(--accent); }
        .bars rect:hover { opacity: .75; }
        .legend { font-size: .8rem; color: var(--muted); margin: .35rem 0 0; }
        .key { display: inline-block; width: .7rem; height: .7rem; margin: 0 .25rem 0 .5rem; border-radius: 2px; }
        .legend .key:first-child { margin-left: 0; }
        dl.facts { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: .3rem 1rem; background: #fff; border: 1px solid var(--line);
          border-radius: 6px; padding: .75rem; }
        dl.facts dt { color: var(--muted); }
        dl.facts dd { margin: 0; overflow-wrap: anywhere; min-width: 0; }
        .story { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: .75rem 1rem; margin-bottom: 1rem; }
        .story ol, .story ul { margin: .25rem 0; padding-left: 1.25rem; }
        .story li { margin: .3rem 0; overflow-wrap: anywhere; }
        pre.json { background: #fff; border: 1px solid var(--line); padding: .75rem; overflow-x: auto; font-size: .8rem; max-height: 30rem; }
        details { margin: .4rem 0; }
        summary { cursor: pointer; color: var(--accent); }
        .ok { color: var(--ok); font-weight: 600; } .bad { color: var(--bad); font-weight: 600; } .good { color: var(--ok); font-weight: 600; }
        .error { color: var(--bad); } .notice { background: #e8f1fb; padding: .5rem .75rem; border-radius: 6px; }
        .hint, .empty { color: var(--muted); }
        .nowrap { white-space: nowrap; }
        .status-line { display: flex; flex-wrap: wrap; gap: .4rem 1rem; align-items: center; }
        .awaiting { color: var(--muted); font-style: italic; }
        form.login { display: flex; flex-direction: column; gap: .5rem; max-width: 24rem; background: #fff; padding: 1rem;
          border: 1px solid var(--line); border-radius: 8px; }
        .retry button { background: var(--bad); color: #fff; border: 0; border-radius: 4px; padding: .45rem .9rem; }
        table.counts { width: auto; background: #fff; border: 1px solid var(--line); margin-bottom: 1rem; }
        /* An agreement's versions: a vertical timeline of cards; every change is said in words, colour only helps. */
        .version-tag { display: inline-block; font-size: .75rem; font-weight: 600; padding: 0 .35rem; border: 1px solid var(--muted); border-radius: 4px;
          color: var(--muted); vertical-align: bottom; white-space: nowrap; }
        ol.timeline { list-style: none; margin: 0 0 1rem .4rem; padding: 0 0 0 1.1rem; border-left: 3px solid var(--line); }
        ol.timeline > li { position: relative; background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: .6rem .85rem;
          margin-bottom: .75rem; overflow-wrap: anywhere; }
        ol.timeline > li::before { content: ""; position: absolute; left: calc(-1.1rem - 9px); top: .85rem; width: 11px; height: 11px;
          border-radius: 50%; background: #fff; border: 2px solid var(--muted); }
        ol.timeline > li.head::before { background: var(--accent); border-color: var(--accent); }
        ol.timeline > li.here { border-color: var(--accent); box-shadow: 0 0 0 1px var(--accent); }
        ol.timeline > li.gap { background: none; border-style: dashed; color: var(--muted); }
        ol.timeline h3 { margin: 0 0 .35rem; }
        ol.timeline h4 { font-size: .9rem; margin: .6rem 0 .25rem; }
        .this-page { font-weight: 400; color: var(--muted); font-size: .85rem; }
        .version-meta { display: flex; flex-wrap: wrap; gap: .3rem .8rem; align-items: center; margin: .2rem 0; }
        .version-ids { margin: .2rem 0; font-size: .85rem; color: var(--muted); }
        .version-ids .ident { max-width: min(100%, 22em); }
        .reason { margin: .4rem 0; }
        ul.diff { margin: .2rem 0; padding-left: 0; list-style: none; }
        ul.diff li { margin: .25rem 0; }
        .diff-tag { display: inline-block; min-width: 4.2em; text-align: center; font-size: .75rem; font-weight: 600; padding: 0 .3rem; border-radius: 4px; }
        .diff-added { background: #d9f2e1; color: var(--ok); }
        .diff-removed { background: #fbdcd9; color: var(--bad); }
        .diff-changed { background: #fff0cc; color: var(--warn); }
        .was-now { font-variant-numeric: tabular-nums; font-weight: 600; }
        .line-name { color: var(--muted); }
        .receipts-h { margin: .5rem 0 .1rem; }
        ul.version-receipts { margin: 0; padding-left: 1.1rem; }
        .notice.superseded { border-left: 4px solid var(--warn); }
        @media (max-width: 640px) {
          main { padding: .6rem; }
          .who { margin-left: 0; }
          dl.facts { grid-template-columns: minmax(0, 1fr); }
          dl.facts dt { margin-top: .3rem; }
          th, td { padding: .35rem .4rem; }
          .ident { max-width: 11em; }
          .story .ident { max-width: 9em; }
        }
        """

    /// The icon: a dark tile with a white causeway deck on two green piers (no external fetch).
    static let faviconSVG = """
        <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#16202e"/>\
        <rect x="2" y="5" width="12" height="2" fill="#ffffff"/><rect x="3" y="7" width="2" height="6" fill="#b8f0c8"/>\
        <rect x="11" y="7" width="2" height="6" fill="#b8f0c8"/></svg>
        """

    /// The same icon as a 16×16 32-bit ICO for `/favicon.ico` (what browsers ask for by themselves).
    static let faviconICO: [UInt8] = {
        func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF)] }
        func le32(_ v: Int) -> [UInt8] { le16(v & 0xFFFF) + le16((v >> 16) & 0xFFFF) }
        let size = 16
        // BGRA of one pixel, x from the left, y from the top.
        func pixel(_ x: Int, _ y: Int) -> [UInt8] {
            let corner = (x == 0 || x == size - 1) && (y == 0 || y == size - 1)
            if corner { return [0, 0, 0, 0] }
            if (2..<14).contains(x), (5..<7).contains(y) { return [0xFF, 0xFF, 0xFF, 0xFF] }
            if (x == 3 || x == 4 || x == 11 || x == 12), (7..<13).contains(y) { return [0xC8, 0xF0, 0xB8, 0xFF] }
            return [0x2E, 0x20, 0x16, 0xFF]
        }
        var pixels: [UInt8] = []
        for y in stride(from: size - 1, through: 0, by: -1) { for x in 0..<size { pixels += pixel(x, y) } }  // rows bottom-up
        let mask = [UInt8](repeating: 0, count: size * 4)  // AND mask, 32-bit aligned rows; alpha decides
        let bitmap = le32(40) + le32(size) + le32(size * 2) + le16(1) + le16(32) + le32(0) + le32(pixels.count + mask.count)
            + le32(0) + le32(0) + le32(0) + le32(0) + pixels + mask
        let header = le16(0) + le16(1) + le16(1)
        let entry: [UInt8] = [UInt8(size), UInt8(size), 0, 0] + le16(1) + le16(32) + le32(bitmap.count) + le32(6 + 16)
        return header + entry + bitmap
    }()

    /// Live updates: on a `change` event from `/events`, fetch this page again and swap its
    /// `#live` region (the filter form and anything being typed stay as they are).
    static let javascript = """
        (function () {
          "use strict";
          var scope = document.body.getAttribute("data-live");
          if (scope === null || !window.EventSource) { return; }
          var status = document.getElementById("live-status");
          var source = null, wait = 5000;
          // The browser reconnects a dropped stream by itself, but not one the gateway refused (a
          // session may hold only a few streams at once): then try again later, waiting longer each time.
          function connect() {
            source = new EventSource("/events" + (scope ? "?digest=" + encodeURIComponent(scope) : ""));
            source.onopen = function () { wait = 5000; if (status) { status.textContent = "Live"; } };
            source.onerror = function () {
              if (status) { status.textContent = "Reconnecting…"; }
              if (source.readyState === EventSource.CLOSED) {
                setTimeout(connect, wait);
                wait = Math.min(wait * 2, 60000);
              }
            };
            source.addEventListener("change", refresh);
          }
          var busy = false, again = false;
          function refresh() {
            if (busy) { again = true; return; }
            busy = true;
            fetch(location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
              .then(function (response) { return response.ok ? response.text() : null; })
              .then(function (html) {
                if (!html) { return; }
                var next = new DOMParser().parseFromString(html, "text/html").getElementById("live");
                var live = document.getElementById("live");
                if (next && live) { live.replaceWith(document.importNode(next, true)); }
              })
              .catch(function () {})
              .then(function () { busy = false; if (again) { again = false; refresh(); } });
          }
          connect();
          window.addEventListener("pagehide", function () { if (source) { source.close(); } });
        })();
        """
}
