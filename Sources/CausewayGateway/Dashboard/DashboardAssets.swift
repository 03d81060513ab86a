/// The dashboard's stylesheet and its one small script, served from `/dashboard.css` and
/// `/dashboard.js` (the Content-Security-Policy allows scripts and styles only from the gateway).
enum DashboardAssets {
    static let css = """
        :root { --ink: #1d2430; --muted: #5b6575; --line: #d7dce3; --ok: #1f7a3f; --bad: #b3261e; --warn: #8a5a00; --accent: #0b5cad;
          font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); }
        body { margin: 0; background: #f6f7f9; }
        header.top { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem 1.5rem; padding: .6rem 1rem; background: #16202e; color: #fff; }
        header.top a { color: #fff; }
        .brand { font-weight: 700; text-decoration: none; font-size: 1.1rem; }
        nav a { margin-right: 1rem; }
        nav a[aria-current] { font-weight: 700; text-decoration: none; border-bottom: 2px solid #fff; }
        .who { margin-left: auto; display: flex; gap: .75rem; align-items: center; flex-wrap: wrap; font-size: .9rem; }
        .who form { display: inline; }
        button.link { background: none; border: 1px solid #fff; color: #fff; border-radius: 4px; padding: .2rem .6rem; cursor: pointer; }
        .live-status { color: #b8f0c8; }
        main { padding: 1rem; max-width: 1400px; margin: 0 auto; }
        h1 { font-size: 1.4rem; margin: .2rem 0 1rem; overflow-wrap: anywhere; }
        h2 { font-size: 1.1rem; margin-top: 1.5rem; }
        a { color: var(--accent); }
        code { font-size: .85em; overflow-wrap: anywhere; }
        .scroll { overflow-x: auto; background: #fff; border: 1px solid var(--line); border-radius: 6px; margin-bottom: 1rem; }
        table { border-collapse: collapse; width: 100%; font-size: .9rem; }
        caption { text-align: left; padding: .5rem .6rem; color: var(--muted); font-size: .85rem; }
        th, td { text-align: left; padding: .45rem .6rem; border-top: 1px solid var(--line); vertical-align: top; }
        th { background: #eef1f5; white-space: nowrap; }
        .money { font-variant-numeric: tabular-nums; white-space: nowrap; }
        .badge { display: inline-block; padding: .1rem .5rem; border-radius: 999px; font-size: .8rem; white-space: nowrap; background: #e6e9ef; }
        .status-delivered, .state-delivered { background: #d9f2e1; color: var(--ok); }
        .status-dead_letter, .state-dead_letter { background: #fbdcd9; color: var(--bad); font-weight: 700; }
        .status-retrying { background: #fff0cc; color: var(--warn); }
        .status-delivering, .state-in_flight { background: #dce9f9; color: var(--accent); }
        .filters { display: flex; flex-wrap: wrap; gap: .6rem 1rem; align-items: flex-end; background: #fff; border: 1px solid var(--line);
          border-radius: 6px; padding: .75rem; margin-bottom: 1rem; }
        .field { display: flex; flex-direction: column; gap: .2rem; font-size: .85rem; }
        .field.wide { flex: 1 1 18rem; }
        input, select, button { font: inherit; padding: .35rem .5rem; }
        button { cursor: pointer; }
        .paging a { margin-right: 1rem; }
        .tiles { display: flex; flex-wrap: wrap; gap: .75rem; margin-bottom: 1rem; }
        .tile { flex: 1 1 9rem; background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: .75rem; text-decoration: none; color: var(--ink); }
        .tile .number { display: block; font-size: 1.8rem; font-weight: 700; }
        .tile.dead { border-width: 2px; }
        .tile.dead.alert { border-color: var(--bad); background: #fdf0ef; color: var(--bad); }
        .charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 24rem), 1fr)); gap: 1rem; }
        .charts.small { grid-template-columns: repeat(auto-fit, minmax(min(100%, 18rem), 1fr)); }
        figure.chart { margin: 0; background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: .5rem; }
        figure.chart svg { width: 100%; height: auto; display: block; }
        figcaption { font-weight: 600; font-size: .9rem; margin-bottom: .25rem; }
        rect.ok, .key.ok { fill: var(--ok); background: var(--ok); }
        rect.bad, .key.bad { fill: var(--bad); background: var(--bad); }
        rect.time { fill: var(--accent); }
        .axis { stroke: var(--line); }
        .tick { font-size: 11px; fill: var(--muted); }
        .legend { font-size: .8rem; color: var(--muted); margin: .25rem 0 0; }
        .key { display: inline-block; width: .7rem; height: .7rem; margin: 0 .25rem 0 .5rem; border-radius: 2px; }
        dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .3rem 1rem; background: #fff; border: 1px solid var(--line);
          border-radius: 6px; padding: .75rem; }
        dl.facts dt { color: var(--muted); }
        dl.facts dd { margin: 0; overflow-wrap: anywhere; }
        pre.json { background: #fff; border: 1px solid var(--line); padding: .75rem; overflow-x: auto; font-size: .8rem; }
        details { margin: .4rem 0; }
        .ok { color: var(--ok); font-weight: 600; } .bad { color: var(--bad); font-weight: 600; }
        .error { color: var(--bad); } .notice { background: #e8f1fb; padding: .5rem .75rem; border-radius: 6px; }
        .hint, .empty { color: var(--muted); }
        form.login { display: flex; flex-direction: column; gap: .5rem; max-width: 24rem; background: #fff; padding: 1rem;
          border: 1px solid var(--line); border-radius: 8px; }
        .retry button { background: var(--bad); color: #fff; border: 0; border-radius: 4px; padding: .45rem .9rem; }
        @media (max-width: 640px) {
          main { padding: .6rem; }
          .who { margin-left: 0; }
          dl.facts { grid-template-columns: 1fr; }
          th, td { padding: .35rem .4rem; }
        }
        """

    /// Live updates: on a `change` event from `/events`, fetch this page again and swap its
    /// `#live` region (the filter form and anything being typed stay as they are).
    static let javascript = """
        (function () {
          "use strict";
          var scope = document.body.getAttribute("data-live");
          if (scope === null || !window.EventSource) { return; }
          var status = document.getElementById("live-status");
          var source = new EventSource("/events" + (scope ? "?digest=" + encodeURIComponent(scope) : ""));
          source.onopen = function () { if (status) { status.textContent = "Live"; } };
          source.onerror = function () { if (status) { status.textContent = "Reconnecting…"; } };
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
          source.addEventListener("change", refresh);
          window.addEventListener("pagehide", function () { source.close(); });
        })();
        """
}
