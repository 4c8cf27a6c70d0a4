import Foundation
import Testing
import Catena

/// The pure helpers of `catena bench` (the benchmark itself is a program, not a test).
struct BenchHelpersTests {
    @Test func percentileIsNearestRank() {
        let values = (1...100).map(Double.init)
        #expect(BenchMath.percentile(values, 50) == 50)
        #expect(BenchMath.percentile(values, 99) == 99)
        #expect(BenchMath.percentile(values, 100) == 100)
        #expect(BenchMath.percentile([7], 99) == 7)
        #expect(BenchMath.percentile([], 50) == nil)
        #expect(BenchMath.percentile([1, 2, 3], 0) == 1)
    }

    @Test func ratiosAndFigures() {
        #expect(BenchMath.ratio(90, 100) == "0.90x")
        #expect(BenchMath.ratio(250, 10) == "25.0x")
        #expect(BenchMath.ratio(1, 0) == "-")
        #expect(BenchMath.ratio(nil, 3) == "-")
        #expect(BenchMath.figure(12345.6) == "12346")
        #expect(BenchMath.figure(12.34) == "12.3")
        #expect(BenchMath.figure(0.456) == "0.46")
        #expect(BenchMath.figure(nil) == "-")
    }

    @Test func payloadCarriesSequenceAndProduceTime() {
        let bytes = BenchPayload.make(sequence: 123_456_789, producedMicros: 1_796_318_614_341_123, size: 200)
        #expect(bytes.count == 200)
        let parsed = BenchPayload.parse(bytes)
        #expect(parsed?.sequence == 123_456_789)
        #expect(parsed?.producedMicros == 1_796_318_614_341_123)
        #expect(BenchPayload.parse(Array(bytes.prefix(10))) == nil)
        #expect(BenchPayload.parse(nil) == nil)
    }

    @Test func procFieldsAreParsed() {
        // The command name may contain spaces and parentheses; utime and stime are fields 14 and 15.
        let stat = "4242 (a (b) c) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0 100 1000 200"
        #expect(ProcessUsage.cpuTicks(stat: stat) == 300)
        #expect(ProcessUsage.peakRSS(status: "Name:\trelay\nVmHWM:\t   12345 kB\nVmRSS:\t 100 kB\n") == 12345 * 1024)
        #expect(ProcessUsage.read(pid: getpid())?.peakRSSBytes ?? 0 > 0)
    }

    @Test func benchmarksFileKeepsEverythingButTheLatestRun() {
        let created = BenchReport.updatedBenchmarks(nil, report: "table 1\n")
        #expect(created.hasPrefix("# Catena benchmarks"))
        #expect(created.contains("table 1"))
        let edited = "# Mine\n\nbefore/after notes\n\n" + created.drop { $0 != "<" } + "\nlater notes\n"
        let updated = BenchReport.updatedBenchmarks(String(edited), report: "table 2\n")
        #expect(updated.contains("table 2") && !updated.contains("table 1"))
        #expect(updated.hasPrefix("# Mine\n\nbefore/after notes") && updated.hasSuffix("later notes\n"))
        let appended = BenchReport.updatedBenchmarks("# Old\n", report: "table 3\n")
        #expect(appended.hasPrefix("# Old\n") && appended.contains("## Latest run") && appended.contains("table 3"))
    }

    @Test("the median of repeated runs: middle figures, summed counts, ranges, failures kept")
    func medianOfRuns() {
        #expect(BenchMath.median([3, 1, 2]) == 2)
        #expect(BenchMath.median([4, 1, 3, 2]) == 2.5)
        #expect(BenchMath.median([]) == nil)
        func run(_ throughput: Double, cpu: Double?, delivered: Int, failure: String? = nil) -> BenchResult {
            var r = BenchResult(peer: .catenaAtLeastOnce, steps: 3)
            r.expected = 100
            r.delivered = delivered
            r.throughput = throughput
            r.throughputComplete = true
            r.saturatedCPUPer100k = cpu
            r.failure = failure
            return r
        }
        let m = BenchResult.median(of: [run(40_000, cpu: 0.7, delivered: 100), run(50_000, cpu: nil, delivered: 99), run(45_000, cpu: 0.6, delivered: 100)])
        #expect(m.runs == 3 && m.throughput == 45_000 && m.throughputRange == 40_000...50_000)
        #expect(abs((m.saturatedCPUPer100k ?? 0) - 0.65) < 1e-9 && m.saturatedCPURange == 0.6...0.7, "runs without the figure are left out")
        #expect(m.expected == 300 && m.delivered == 299 && !m.exact, "a record missing in one run shows")
        let failed = BenchResult.median(of: [run(1, cpu: nil, delivered: 100), run(2, cpu: nil, delivered: 100, failure: "broker died")])
        #expect(failed.failure == "run 2: broker died")
        #expect(BenchResult.median(of: [run(7, cpu: 0.5, delivered: 100)]).runs == 1)
    }
}
