import Catena
import Foundation

/// `catena bench`: Catena against a minimal librdkafka relay in C and a confluent-kafka relay in Python.
enum BenchCommand: Command {
    static let help = """
    usage: catena bench [--quick] [--records N] [--steps 1,3,5] [--peers LIST] [--rate R] [--latency-seconds S]
                        [--partitions P] [--payload-bytes B] [--repeat N] [--output FILE] [--update-benchmarks] [--logs DIR]
    Runs chains of N builtin.identity steps, one process per step, each scenario on a fresh local Tansu broker, with
    Catena (exactly-once and at-least-once) and its peers: bench/relay.c (librdkafka, compiled into .build/bench/ at
    run time) and bench/relay.py (confluent-kafka, run with .deps/venv/bin/python).
    Figures per scenario: throughput at saturation (--records produced at once, default 100000), latency p50/p99 at
    --rate records/s (default 1000) for --latency-seconds (default 10), CPU seconds per 100k records and peak RSS per
    process, and the records delivered on the final topic (read_committed), so a loss or a duplicate is visible.
    --quick       10000 records, 3 steps, a 3 s latency phase, every peer (under a minute; its saturated CPU
                  rests on a few 10 ms clock ticks per process: +-0.1 s/100k)
    --peers       comma-separated, from: \(BenchPeer.allCases.map(\.rawValue).joined(separator: ", "))
                  (default: \(BenchPeer.standard.map(\.rawValue).joined(separator: ",")))
    --repeat      run every scenario N times, in N rounds one after another, and report each figure's median
                  (with the range of throughput and saturated CPU); single runs on a shared machine vary a lot
    --output      the Markdown table (default BENCHMARKS-latest.md)
    --update-benchmarks  also replace the latest-run section of BENCHMARKS.md
    Exits 0 when every scenario delivered every record exactly once.
    """

    static func run(_ args: [String], registry: FunctionRegistry) async throws -> Int32 {
        let a = try Arguments(args, command: "bench",
                              valued: ["records", "steps", "peers", "rate", "latency-seconds", "partitions", "payload-bytes", "output", "logs", "warmup", "repeat"],
                              boolean: ["quick", "update-benchmarks"])
        let cwd = FileManager.default.currentDirectoryPath
        let exe = Environment.executablePath
        guard let root = BenchOptions.locateRoot(from: [cwd, (exe as NSString).deletingLastPathComponent]) else {
            throw CatenaError.configuration("catena bench: bench/relay.c not found in \(cwd) or its parents; run it from the repository")
        }
        var o = BenchOptions(executable: exe, root: root)
        if a.flag("quick") { o.applyQuick() }
        if let n = try a.int("records", minimum: 1) { o.records = n }
        if let s = a.value("steps") {
            let lengths = s.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !lengths.isEmpty, lengths.allSatisfy({ ($0 ?? 0) >= 1 }) else { throw CatenaError.configuration("--steps: expected chain lengths like 1,3,5, got \"\(s)\"") }
            o.chainLengths = lengths.map { $0! }
        }
        if let p = a.value("peers") {
            o.peers = try p.split(separator: ",").map { name in
                guard let peer = BenchPeer(rawValue: name.trimmingCharacters(in: .whitespaces)) else {
                    throw CatenaError.configuration("--peers: unknown peer \"\(name)\" (known: \(BenchPeer.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                return peer
            }
        }
        if let r = try a.double("rate", minimum: 1) { o.rate = r }
        if let s = try a.double("latency-seconds", minimum: 0.1) { o.latencySeconds = s }
        if let p = try a.int("partitions", minimum: 1) { o.partitions = p }
        if let b = try a.int("payload-bytes", minimum: BenchPayload.headerBytes) { o.payloadBytes = b }
        if let w = try a.int("warmup", minimum: 1) { o.warmupRecords = w }
        if let n = try a.int("repeat", minimum: 1) { o.repeats = n }
        if let out = a.value("output") { o.outputPath = out }
        if a.flag("update-benchmarks") { o.benchmarksPath = (root as NSString).appendingPathComponent("BENCHMARKS.md") }
        o.logDirectory = a.value("logs")
        o.commandLine = (["catena", "bench"] + args).joined(separator: " ")

        let stop = StopSignal()
        stop.installSignalHandlers()
        let runner = BenchRunner(options: o, stop: stop)
        let results = try await runner.run()
        let options = o
        let setting = await BlockingQueue(label: "catena.bench.setting").run { BenchReport.collectSetting(options: options) }
        let report = BenchReport.markdown(results, options: o, setting: setting)
        print("\n" + report)
        fflush(nil)  // every stream: the table first, then the lines on standard error, also when both go to one pipe
        try report.write(toFile: o.outputPath, atomically: true, encoding: .utf8)
        FileHandle.standardError.write(Data("[bench] table written to \(o.outputPath)\n".utf8))
        if let path = o.benchmarksPath {
            let existing = try? String(contentsOfFile: path, encoding: .utf8)
            try BenchReport.updatedBenchmarks(existing, report: report).write(toFile: path, atomically: true, encoding: .utf8)
            FileHandle.standardError.write(Data("[bench] latest-run section of \(path) updated\n".utf8))
        }
        return results.allSatisfy(\.exact) && !stop.isRequested && !results.isEmpty ? 0 : 1
    }
}
