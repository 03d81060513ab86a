import CausewayStore
import Foundation

/// Bar charts for the overview, drawn on the server (no script, no chart library).
///
/// The bars are an SVG stretched to the plot's box (so they are proportionate at any width); the
/// axis labels, units and legend are HTML text at the page's own sizes, never scaled with the
/// drawing. Each bar has a `<title>` (its interval, value and unit on hover), and a chart without
/// any value says so in words instead of showing an empty frame.
enum DashboardCharts {
    /// One series of a chart: a name (for the legend and hover), a CSS class (its colour) and one value per bucket.
    struct Series {
        let name: String
        let cssClass: String
        let values: [Double]
    }

    /// The time window the overview shows.
    struct Window: Sendable {
        /// The query value (`1h`, `24h`, `7d`).
        let key: String
        let label: String
        let bucketMilliseconds: Int64
        let buckets: Int
        /// One bucket in words, for units ("per 5 minutes").
        let bucketLabel: String

        static let all = [
            Window(key: "1h", label: "last hour", bucketMilliseconds: 300_000, buckets: 12, bucketLabel: "5 minutes"),
            Window(key: "24h", label: "last 24 hours", bucketMilliseconds: 3_600_000, buckets: 24, bucketLabel: "hour"),
            Window(key: "7d", label: "last 7 days", bucketMilliseconds: 6 * 3_600_000, buckets: 28, bucketLabel: "6 hours"),
        ]

        /// The start of each bucket, oldest first, ending with the bucket holding `now`.
        func starts(now: Int64) -> [Int64] {
            let last = (now / bucketMilliseconds) * bucketMilliseconds
            return (0..<buckets).map { last - Int64(buckets - 1 - $0) * bucketMilliseconds }
        }
    }

    /// Sums activity into the window's buckets, for the rows `include` accepts.
    static func series(_ activity: [ActivityBucket], starts: [Int64], include: (ActivityBucket) -> Bool)
        -> (delivered: [Double], failed: [Double], latency: [Double])
    {
        var index: [Int64: Int] = [:]
        for (position, start) in starts.enumerated() { index[start] = position }
        var delivered = Array(repeating: 0.0, count: starts.count)
        var failed = delivered
        var latencySum = delivered
        for bucket in activity where include(bucket) {
            guard let position = index[bucket.start] else { continue }
            delivered[position] += Double(bucket.delivered)
            failed[position] += Double(bucket.failed)
            latencySum[position] += Double(bucket.latencyMilliseconds)
        }
        let latency = zip(latencySum, delivered).map { $1 > 0 ? $0 / $1 : 0 }
        return (delivered, failed, latency)
    }

    /// The smallest "nice" number (1, 2 or 5 times a power of ten) at or above `value`, at least 1.
    static func niceCeiling(_ value: Double) -> Double {
        guard value > 1 else { return 1 }
        let power = pow(10, floor(log10(value)))
        for step in [1.0, 2.0, 5.0, 10.0] where step * power >= value { return step * power }
        return 10 * power
    }

    /// A bar chart (series stacked) with a title, its unit (shown under the title and on hover),
    /// a y axis from 0 to a round maximum, and the first, middle and last interval's time.
    /// `summary` is its text alternative; `empty` what it says when every value is 0.
    static func bars(id: String, title: String, series: [Series], starts: [Int64], window: Window, unit: String, summary: String,
                     empty: String, format: (Double) -> String = { String(Int($0.rounded())) }) -> String
    {
        let count = max(1, starts.count)
        let totals = (0..<count).map { i in series.reduce(0.0) { $0 + (i < $1.values.count ? $1.values[i] : 0) } }
        let largest = totals.max() ?? 0
        // A round maximum whose half (the middle label) is round too: 2, 4, 10, 20, 40, 100, …
        let maximum = 2 * niceCeiling(largest / 2)
        // The drawing: 10 units per interval, 100 high, stretched to the box (preserveAspectRatio none).
        let width = Double(count) * 10
        var svg = """
            <svg viewBox="0 0 \(fmt(width)) 100" preserveAspectRatio="none" role="img" aria-labelledby="\(id)-title \(id)-desc" focusable="false">
            <title id="\(id)-title">\(HTML.escape(title))</title><desc id="\(id)-desc">\(HTML.escape(summary))</desc>
            <g class="grid"><line x1="0" y1="50" x2="\(fmt(width))" y2="50" vector-effect="non-scaling-stroke"/></g>
            """
        for i in 0..<starts.count {
            var y = 100.0
            var parts: [String] = []
            for entry in series {
                let value = i < entry.values.count ? entry.values[i] : 0
                parts.append("\(entry.name) \(format(value))")
            }
            let interval = "\(HTML.time(starts[i])) + \(window.bucketLabel)"
            for entry in series {
                let value = i < entry.values.count ? entry.values[i] : 0
                guard value > 0 else { continue }
                let h = max(1.5, 100 * value / maximum)
                y -= h
                svg += "<rect class=\"\(entry.cssClass)\" x=\"\(fmt(Double(i) * 10 + 1.5))\" y=\"\(fmt(y))\" width=\"7\" height=\"\(fmt(h))\">"
                svg += "<title>\(HTML.escape("\(interval): \(parts.joined(separator: ", "))\(unit.isEmpty ? "" : " " + unit)"))</title></rect>"
            }
        }
        svg += "</svg>"
        let nodata = largest > 0 ? "" : "<p class=\"nodata\">\(HTML.escape(empty))</p>"
        let middle = starts.isEmpty ? "" : "<span>\(HTML.escape(shortTime(starts[starts.count / 2])))</span>"
        let axisNote = unit.isEmpty ? "" : "\(unit) per \(window.bucketLabel)"
        var out = """
            <figure class="chart" id="\(id)"><figcaption>\(HTML.escape(title))<span class="unit">\(HTML.escape(axisNote.isEmpty ? "per \(window.bucketLabel)" : axisNote)), times in UTC</span></figcaption>
            <div class="plot"><div class="y-axis" aria-hidden="true"><span>\(HTML.escape(format(maximum)))</span><span>\(HTML.escape(format(maximum / 2)))</span><span>0</span></div>
            <div class="bars">\(svg)\(nodata)</div>
            <div class="x-axis" aria-hidden="true"><span>\(HTML.escape(starts.first.map(shortTime) ?? ""))</span>\(middle)<span>now</span></div></div>
            """
        if series.count > 1 {
            out += "<p class=\"legend\">" + series.map { "<span class=\"key \($0.cssClass)\"></span>\(HTML.escape($0.name))" }.joined(separator: " ") + "</p>"
        }
        return out + "</figure>"
    }

    static func fmt(_ value: Double) -> String { String(format: "%.1f", value) }

    /// An axis label: `12-01 21:05` (month-day hour:minute, UTC).
    static func shortTime(_ milliseconds: Int64) -> String {
        let full = HTML.time(milliseconds)  // 2026-12-01 21:05:03 UTC
        let parts = full.split(separator: " ")
        guard parts.count >= 2 else { return full }
        return "\(parts[0].dropFirst(5)) \(parts[1].prefix(5))"
    }
}
