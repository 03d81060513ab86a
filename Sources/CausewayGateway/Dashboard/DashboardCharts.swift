import CausewayStore
import Foundation

/// Inline SVG charts for the overview, drawn on the server (no script, no chart library).
enum DashboardCharts {
    /// One series of a chart: a name (for the legend), a CSS class (its colour) and one value per bucket.
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

        static let all = [
            Window(key: "1h", label: "last hour", bucketMilliseconds: 300_000, buckets: 12),
            Window(key: "24h", label: "last 24 hours", bucketMilliseconds: 3_600_000, buckets: 24),
            Window(key: "7d", label: "last 7 days", bucketMilliseconds: 6 * 3_600_000, buckets: 28),
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

    /// A bar chart (series stacked) with a title, a y-axis maximum and the first and last bucket
    /// times; `summary` is its text alternative for screen readers.
    static func bars(id: String, title: String, series: [Series], starts: [Int64], unit: String, summary: String,
                     format: (Double) -> String = { String(Int($0.rounded())) }) -> String
    {
        let width = 600.0, height = 160.0, left = 44.0, bottom = 20.0, top = 8.0
        let count = max(1, starts.count)
        let totals = (0..<count).map { i in series.reduce(0.0) { $0 + (i < $1.values.count ? $1.values[i] : 0) } }
        let maximum = max(totals.max() ?? 0, 1)
        let slot = (width - left) / Double(count)
        let plot = height - bottom - top
        var svg = """
            <figure class="chart" id="\(id)"><figcaption>\(HTML.escape(title))</figcaption>
            <svg viewBox="0 0 \(Int(width)) \(Int(height))" role="img" aria-labelledby="\(id)-title \(id)-desc">
            <title id="\(id)-title">\(HTML.escape(title))</title><desc id="\(id)-desc">\(HTML.escape(summary))</desc>
            <line class="axis" x1="\(left)" y1="\(height - bottom)" x2="\(width)" y2="\(height - bottom)"/>
            <text class="tick" x="\(left - 4)" y="\(top + 10)" text-anchor="end">\(HTML.escape(format(maximum)))</text>
            <text class="tick" x="\(left - 4)" y="\(height - bottom)" text-anchor="end">0</text>
            """
        for i in 0..<starts.count {
            var y = height - bottom
            for entry in series {
                let value = i < entry.values.count ? entry.values[i] : 0
                guard value > 0 else { continue }
                let h = max(1, plot * value / maximum)
                y -= h
                let x = left + Double(i) * slot + slot * 0.15
                svg += "<rect class=\"\(entry.cssClass)\" x=\"\(fmt(x))\" y=\"\(fmt(y))\" width=\"\(fmt(slot * 0.7))\" height=\"\(fmt(h))\">"
                svg += "<title>\(HTML.escape("\(HTML.time(starts[i])): \(entry.name) \(format(value)) \(unit)"))</title></rect>"
            }
        }
        if let first = starts.first, let last = starts.last {
            svg += "<text class=\"tick\" x=\"\(left)\" y=\"\(height - 4)\">\(HTML.escape(shortTime(first)))</text>"
            svg += "<text class=\"tick\" x=\"\(width)\" y=\"\(height - 4)\" text-anchor=\"end\">\(HTML.escape(shortTime(last)))</text>"
        }
        svg += "</svg>"
        if series.count > 1 {
            svg += "<p class=\"legend\">" + series.map { "<span class=\"key \($0.cssClass)\"></span>\(HTML.escape($0.name))" }.joined(separator: " ") + "</p>"
        }
        return svg + "</figure>"
    }

    static func fmt(_ value: Double) -> String { String(format: "%.1f", value) }

    /// `12-01 21:05` (UTC).
    static func shortTime(_ milliseconds: Int64) -> String {
        let full = HTML.time(milliseconds)  // 2026-12-01 21:05:03 UTC
        let parts = full.split(separator: " ")
        guard parts.count >= 2 else { return full }
        return "\(parts[0].dropFirst(5)) \(parts[1].prefix(5))"
    }
}
