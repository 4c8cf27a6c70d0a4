import Foundation

/// Pure helpers of `catena bench`: percentiles, ratios and number formatting.
public enum BenchMath {
    /// The nearest-rank percentile `p` (0...100) of `sorted` (ascending); nil when empty.
    public static func percentile(_ sorted: [Double], _ p: Double) -> Double? {
        guard !sorted.isEmpty else { return nil }
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }

    /// The median of `values` (the mean of the middle two for an even count); nil when empty.
    public static func median(_ values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        let s = values.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    /// `a / b` as `"0.87x"`, or `"-"` when either is missing or `b` is not positive.
    public static func ratio(_ a: Double?, _ b: Double?) -> String {
        guard let a, let b, b > 0, a.isFinite, b.isFinite else { return "-" }
        let r = a / b
        return String(format: r >= 10 ? "%.1fx" : "%.2fx", r)
    }

    /// A figure with sensible precision: `12345`, `123`, `12.3`, `1.23`; `"-"` when missing.
    public static func figure(_ v: Double?) -> String {
        guard let v, v.isFinite else { return "-" }
        switch abs(v) {
        case 100...: return String(format: "%.0f", v)
        case 10..<100: return String(format: "%.1f", v)
        default: return String(format: "%.2f", v)
        }
    }

    /// Renders a Markdown table with the columns padded to equal width (readable as plain text too).
    public static func markdownTable(header: [String], rows: [[String]]) -> String {
        var widths = header.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) } }
        func line(_ cells: [String]) -> String {
            "| " + cells.enumerated().map { i, c in c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }.joined(separator: " | ") + " |"
        }
        return ([line(header), "|" + widths.map { String(repeating: "-", count: $0 + 2) }.joined(separator: "|") + "|"] + rows.map(line)).joined(separator: "\n")
    }
}
