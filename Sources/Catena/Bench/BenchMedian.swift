/// The median of several runs of one scenario (`catena bench --repeat N`).
extension BenchResult {
    /// One result whose figures are the medians of `runs` (all of one peer and chain length); the record counts
    /// are summed, so "delivered" still shows a loss or a duplicate in any run, and a failure of any run is kept.
    public static func median(of runs: [BenchResult]) -> BenchResult {
        precondition(!runs.isEmpty, "median of no runs")
        guard runs.count > 1 else { return runs[0] }
        var m = BenchResult(peer: runs[0].peer, steps: runs[0].steps)
        m.runs = runs.count
        m.expected = runs.reduce(0) { $0 + $1.expected }
        m.delivered = runs.reduce(0) { $0 + $1.delivered }
        m.duplicates = runs.reduce(0) { $0 + $1.duplicates }
        m.throughputComplete = runs.allSatisfy(\.throughputComplete)
        m.seconds = runs.reduce(0) { $0 + $1.seconds }
        let failures = runs.enumerated().compactMap { i, r in r.failure.map { "run \(i + 1): \($0)" } }
        m.failure = failures.isEmpty ? nil : failures.joined(separator: "; ")
        func med(_ figure: (BenchResult) -> Double?) -> Double? { BenchMath.median(runs.compactMap(figure)) }
        m.throughput = med(\.throughput)
        m.latencyP50 = med(\.latencyP50)
        m.latencyP99 = med(\.latencyP99)
        m.seenP50 = med(\.seenP50)
        m.seenP99 = med(\.seenP99)
        m.cpuPer100k = med(\.cpuPer100k)
        m.cpuPer100kMax = med(\.cpuPer100kMax)
        m.saturatedCPUPer100k = med(\.saturatedCPUPer100k)
        m.peakRSSMB = med(\.peakRSSMB)
        m.brokerCPUPer100k = med(\.brokerCPUPer100k)
        func range(_ figure: (BenchResult) -> Double?) -> ClosedRange<Double>? {
            let values = runs.compactMap(figure)
            guard let low = values.min(), let high = values.max() else { return nil }
            return low...high
        }
        m.throughputRange = range(\.throughput)
        m.saturatedCPURange = range(\.saturatedCPUPer100k)
        return m
    }
}
