import Foundation

/// The bench's report: the side-by-side table, the ratios, and where and with what it was measured.
public enum BenchReport {
    /// The machine and the versions of everything measured.
    public struct Setting: Sendable {
        public var date: String
        public var machine: String
        public var versions: [String]
    }

    /// Reads the machine's description and the versions (runs a few short commands; blocks).
    public static func collectSetting(options: BenchOptions) -> Setting {
        func first(_ command: String) -> String {
            let (status, out) = BenchRunner.shell(command)
            let line = out.split(separator: "\n").first.map(String.init)?.trimmingCharacters(in: .whitespaces) ?? ""
            return status == 0 && !line.isEmpty ? line : "unknown"
        }
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }
            .map { $0.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "" } ?? "unknown"
        let memKB = ((try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8)) ?? "").split(separator: "\n").first { $0.hasPrefix("MemTotal:") }
            .flatMap { $0.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first.flatMap { Int($0) } }
        let os = first(". /etc/os-release && echo \"$PRETTY_NAME\"")
        var machine = "\(ProcessInfo.processInfo.activeProcessorCount) CPUs (nproc \(first("nproc"))), \(model)"
        if let memKB { machine += String(format: ", %.1f GB RAM", Double(memKB) / 1_048_576) }
        machine += ", \(os), Linux \(first("uname -r"))"
        let root = options.root
        let tansu = LocalBroker.locateTansu() ?? "tansu"
        var versions = [
            "catena \(first("git -C '\(root)' rev-parse --short HEAD")) (release build: \(options.executable))",
            "librdkafka \(KafkaInfo.libraryVersion) (Catena and the C relay)",
            "\(first("'\(tansu)' --version")) (memory storage)",
            "swift: \(first("swift --version 2>&1"))",
            "cc: \(first("cc --version"))",
        ]
        if options.peers.contains(.pythonRelay) {
            versions.append("python relay: \(first("'\(root)/.deps/venv/bin/python' -c 'import sys, confluent_kafka as c; print(\"Python\", sys.version.split()[0], \"confluent-kafka\", c.version()[0], \"(bundled librdkafka\", c.libversion()[0] + \")\")'"))")
        }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss Z"
        return Setting(date: formatter.string(from: Date()), machine: machine, versions: versions)
    }

    /// The side-by-side table of every scenario.
    public static func resultsTable(_ results: [BenchResult]) -> String {
        let header = ["steps", "peer", "delivered", "dup", "throughput rec/s", "p50 ms", "p99 ms", "seen p50/p99 ms",
                      "CPU s/100k (mean/max proc)", "CPU s/100k saturated", "peak RSS MB", "broker CPU s/100k", "status"]
        let rows = results.map { r -> [String] in
            [String(r.steps), r.peer.rawValue, "\(r.delivered)/\(r.expected)", String(r.duplicates),
             BenchMath.figure(r.throughput) + Self.spread(r.throughputRange) + (r.throughputComplete ? "" : " (incomplete)"),
             BenchMath.figure(r.latencyP50), BenchMath.figure(r.latencyP99),
             "\(BenchMath.figure(r.seenP50)) / \(BenchMath.figure(r.seenP99))",
             "\(BenchMath.figure(r.cpuPer100k)) / \(BenchMath.figure(r.cpuPer100kMax))", BenchMath.figure(r.saturatedCPUPer100k) + Self.spread(r.saturatedCPURange),
             BenchMath.figure(r.peakRSSMB), BenchMath.figure(r.brokerCPUPer100k),
             r.failure.map { "FAILED: \($0)" } ?? (r.exact ? "ok" : "MISMATCH")]
        }
        return BenchMath.markdownTable(header: header, rows: rows)
    }

    /// ` [low-high]` over the runs of a median, or nothing for a single run.
    static func spread(_ range: ClosedRange<Double>?) -> String {
        guard let range, range.lowerBound < range.upperBound else { return "" }
        return " [\(BenchMath.figure(range.lowerBound))-\(BenchMath.figure(range.upperBound))]"
    }

    /// Catena / peer for each figure and chain length (throughput: higher is better; the rest lower).
    public static func ratioTable(_ results: [BenchResult]) -> String? {
        let pairs: [(BenchPeer, BenchPeer)] = [(.catenaAtLeastOnce, .cRelay), (.catenaExactlyOnce, .cRelay),
                                               (.catenaAtLeastOnce, .cRelayEnvelope), (.catenaExactlyOnce, .cRelayEnvelope),
                                               (.catenaExactlyOnce, .cRelayTransactional),
                                               (.catenaAtLeastOnce, .pythonRelay), (.catenaExactlyOnce, .pythonRelay),
                                               (.catenaExactlyOnce, .catenaAtLeastOnce)]
        let present = Set(results.map(\.peer))
        let used = pairs.filter { present.contains($0.0) && present.contains($0.1) }
        guard !used.isEmpty else { return nil }
        let figures: [(String, (BenchResult) -> Double?)] = [
            ("throughput", \.throughput), ("latency p50", \.latencyP50), ("latency p99", \.latencyP99),
            ("CPU s/100k", \.cpuPer100k), ("CPU saturated", \.saturatedCPUPer100k), ("peak RSS", \.peakRSSMB),
        ]
        var rows: [[String]] = []
        for steps in results.map(\.steps).reduce(into: [Int](), { if !$0.contains($1) { $0.append($1) } }) {
            func find(_ p: BenchPeer) -> BenchResult? { results.first { $0.steps == steps && $0.peer == p && $0.failure == nil } }
            for (name, value) in figures {
                rows.append([String(steps), name] + used.map { BenchMath.ratio(find($0.0).flatMap(value), find($0.1).flatMap(value)) })
            }
        }
        return BenchMath.markdownTable(header: ["steps", "figure"] + used.map { "\($0.0.rawValue) / \($0.1.rawValue)" }, rows: rows)
    }

    /// The whole report in Markdown.
    public static func markdown(_ results: [BenchResult], options: BenchOptions, setting: Setting) -> String {
        var out = """
        ### catena bench, \(setting.date)

        Command: `\(options.commandLine)`

        Machine: \(setting.machine)

        Versions: \(setting.versions.joined(separator: "; "))

        Each scenario: a fresh Tansu broker, \(options.partitions) partitions per topic, one process per step (step i reads topic i, \
        writes topic i+1), \(options.payloadBytes)-byte values with a key. \(options.warmupRecords) warm-up records through the \
        whole chain, then the latency phase (\(options.latencyRecords) records offered at \(BenchMath.figure(options.rate))/s), \
        then the throughput phase (\(options.records) records produced at once; records/s from the first produce to the last \
        record read on the final topic). Latency = the final record's timestamp minus the produce time carried in the value \
        ("seen": arrival at the bench's read_committed reader instead). CPU = utime + stime of each step process at the end, \
        per 100k records through the chain (start-up, group join, idle polling and the low-rate latency phase included); \
        "saturated" = the same during the throughput phase alone, per 100k of its records; peak RSS = VmHWM of the largest step process. \
        "delivered" counts unique records read (read_committed) on the final topic of all that were produced; "dup" the duplicates.\(options.repeats > 1 ? " Every scenario ran \(options.repeats) times, once per round, rounds one after another; each figure is the median of its runs (the ratios are of medians), [low-high] the range, and delivered/dup are summed over the runs." : "")


        """
        out += resultsTable(results) + "\n"
        if let ratios = ratioTable(results) {
            out += "\nRatios (Catena / peer; throughput: higher is better, the others: lower is better):\n\n" + ratios + "\n"
        }
        return out
    }

    static let beginMarker = "<!-- catena bench: latest run (replaced by `catena bench --update-benchmarks`) -->"
    static let endMarker = "<!-- catena bench: end of latest run -->"

    /// `existing` (the text of BENCHMARKS.md, nil when missing) with its latest-run section replaced by `report`.
    public static func updatedBenchmarks(_ existing: String?, report: String) -> String {
        let section = "\(beginMarker)\n\(report)\(endMarker)\n"
        guard let existing, !existing.isEmpty else {
            return """
            # Catena benchmarks

            `catena bench` runs chains of 1, 3 and 5 identity steps with Catena (exactly-once and at-least-once) and with two \
            peers on the same broker in the same run: a minimal librdkafka relay in C (`bench/relay.c`, the limit) and the \
            confluent-kafka loop Python users write (`bench/relay.py`). `catena bench --quick` is the one-minute version.

            ## Latest run

            \(section)
            """
        }
        if let begin = existing.range(of: beginMarker), let end = existing.range(of: endMarker, range: begin.upperBound..<existing.endIndex) {
            var tail = existing[end.upperBound...]
            if tail.hasPrefix("\n") { tail = tail.dropFirst() }
            return String(existing[..<begin.lowerBound]) + section + tail
        }
        return existing + (existing.hasSuffix("\n") ? "\n" : "\n\n") + "## Latest run\n\n" + section
    }
}
