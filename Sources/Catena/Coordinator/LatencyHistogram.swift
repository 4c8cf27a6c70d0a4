/// End-to-end latencies with 1 ms resolution up to 10 minutes (longer ones are counted in the last bucket).
/// Percentiles are exact at that resolution; memory and cost do not grow with the number of samples.
public struct LatencyHistogram: Sendable, Equatable {
    private var counts = [Int](repeating: 0, count: 600_001)
    public private(set) var total = 0
    public private(set) var maxMs: Int64 = 0

    public init() {}

    public mutating func record(_ ms: Int64) {
        let bucket = Int(min(max(ms, 0), Int64(counts.count - 1)))
        counts[bucket] += 1
        total += 1
        maxMs = max(maxMs, ms)
    }

    /// The smallest latency such that at least `p` percent of samples are <= it; `nil` with no samples.
    public func percentile(_ p: Double) -> Int64? {
        guard total > 0 else { return nil }
        let rank = max(1, Int((p * Double(total) / 100).rounded(.up)))
        var seen = 0
        for (ms, c) in counts.enumerated() where c > 0 {
            seen += c
            if seen >= rank { return Int64(ms) }
        }
        return maxMs
    }
}
