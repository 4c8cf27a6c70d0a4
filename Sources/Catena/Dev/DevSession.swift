import Foundation

/// `catena dev`: runs a whole chain on one machine and reports how it went.
///
/// Starts a Tansu broker (unless brokers are given), creates the topics, starts the coordinator and
/// worker processes, feeds the input file to the entry topic, waits until every record is completed or
/// dead-lettered, prints a summary and stops everything it started.
public struct DevSession: Sendable {
    public struct Options: Sendable {
        public var chainPath: String
        public var inputPath: String
        public var skipHeader = true
        public var limit: Int? = 20_000
        public var keyPrefix = "rec-"
        public var contentType = "text/csv"
        public var brokers: String?
        public var workersPerStep = 1
        /// Extra librdkafka properties (`key=value`) for every client, dev's own and its children's.
        public var kafkaProperties: [String] = []
        /// `exactly-once` or `at-least-once` for every worker.
        public var delivery: DeliveryMode = .exactlyOnce
        /// Seconds to wait for all outcomes after the last record is produced.
        public var timeoutSeconds: Double = 600
        /// The `catena` executable to start workers with.
        public var executable: String
        public var logDirectory: String?

        public init(chainPath: String, inputPath: String, executable: String) {
            self.chainPath = chainPath
            self.inputPath = inputPath
            self.executable = executable
        }
    }

    public let options: Options
    public init(options: Options) { self.options = options }

    /// Runs the session; returns the process exit code (0 when completed + dead-lettered == produced).
    public func run(stop: StopSignal) async throws -> Int32 {
        let chain = try ChainFileLoader.load(path: options.chainPath)
        let logDir = options.logDirectory ?? NSTemporaryDirectory() + "catena-dev-\(ProcessInfo.processInfo.processIdentifier)"
        try FileManager.default.createDirectory(atPath: logDir, withIntermediateDirectories: true)
        let feeder = LineFeeder(path: options.inputPath, skipHeader: options.skipHeader, limit: options.limit,
                                keyPrefix: options.keyPrefix, contentType: options.contentType)
        let lines = try feeder.lines()
        say("chain \(chain.name) (\(options.delivery.rawValue)): \(chain.steps.map { "\($0.name) (\($0.function))" }.joined(separator: " -> ")); \(lines.count) input records from \(options.inputPath)")
        say("logs in \(logDir)")

        var broker: LocalBroker?
        var children: [ChildProcess] = []
        // A second Ctrl-C exits at once: take every child and the broker along.
        let launched = Atomic<[ChildProcess]>([])
        stop.onForcedExit { for c in launched.load() { kill(c.pid, SIGKILL) } }
        defer {
            for c in children.reversed() {
                let status = c.stop(grace: 20)
                if status != 0 { say("\(c.name) exited with status \(status); see \(c.logPath)") }
            }
            broker?.stop()
        }
        let brokers: String
        if let b = options.brokers {
            brokers = b
        } else {
            let b = try LocalBroker(logDirectory: logDir)
            broker = b
            launched.withValue { $0.append(b.process) }
            brokers = b.address
            say("started Tansu on \(brokers)")
        }
        let extra = try KafkaSettings.extraProperties(environment: ProcessInfo.processInfo.environment, arguments: options.kafkaProperties)
        let settings = KafkaSettings(brokers: brokers, extra: extra, clientID: "catena-dev")
        let kafkaArguments = options.kafkaProperties.flatMap { ["--kafka-property", $0] }
        let created = try TopicProvisioner.ensureTopics(chain, settings: settings)
        if broker == nil {
            // The summary counts what the coordinator sees on the entry topic: it must start empty.
            let existing = try KafkaConsumer(settings: settings, groupID: nil)
            let partitions = try existing.partitionCount(chain.entryTopic)
            let held = try (0..<Int32(partitions)).reduce(Int64(0)) { sum, p in
                let w = try existing.watermarks(TopicPartition(chain.entryTopic, p))
                return sum + (w.high - w.low)
            }
            if held > 0 {
                throw CatenaError.configuration("\(chain.entryTopic) on \(brokers) is not empty (an earlier run's records); use a chain with another name (the `chain:` key) or a fresh broker")
            }
        }
        say("topics: \(chain.topics.map { "\($0.name)[\($0.partitions)]" }.joined(separator: ", "))\(created.isEmpty ? " (already there)" : "")")

        var env = ["CATENA_PARENT_PID": String(ProcessInfo.processInfo.processIdentifier)]
        if broker != nil && ProcessInfo.processInfo.environment["CATENA_KAFKA_SESSION_TIMEOUT_MS"] == nil {
            // Tansu delays a group's first join by about half the session timeout: keep it short locally.
            env["CATENA_KAFKA_SESSION_TIMEOUT_MS"] = "6000"
        }
        children.append(try ChildProcess(name: "coordinator", executable: options.executable,
                                         arguments: ["coordinator", "--chain", options.chainPath, "--brokers", brokers] + kafkaArguments,
                                         environment: env, logPath: "\(logDir)/coordinator.log"))
        var readyFiles: [String] = []
        for step in chain.steps {
            for i in 1...max(1, options.workersPerStep) {
                let name = "worker-\(step.name)-\(i)"
                let ready = "\(logDir)/\(name).ready"
                try? FileManager.default.removeItem(atPath: ready)
                readyFiles.append(ready)
                children.append(try ChildProcess(name: name, executable: options.executable,
                                                 arguments: ["worker", "--chain", options.chainPath, "--step", step.name, "--brokers", brokers, "--ready-file", ready,
                                                             "--delivery", options.delivery.rawValue, "--instance-id", "dev-\(ProcessInfo.processInfo.processIdentifier)-\(i)"] + kafkaArguments,
                                                 environment: env, logPath: "\(logDir)/\(name).log"))
            }
        }
        launched.withValue { $0 += children }
        say("started the coordinator and \(readyFiles.count) worker process(es); waiting for their partitions")
        try await waitUntil("workers to join their groups", seconds: 90, children: children, stop: stop) {
            readyFiles.allSatisfy { FileManager.default.fileExists(atPath: $0) }
        }

        let status = try StatusReader(chain: chain, settings: settings)
        let producer = try KafkaProducer(settings: settings)
        let started = Date()
        var produced = 0
        var refused = 0
        let batch = 5000
        var i = 0
        while i < lines.count && !stop.isRequested {
            let slice = lines[i..<min(i + batch, lines.count)]
            let records = slice.enumerated().map { feeder.record(line: $0.element, number: i + $0.offset + 1, topic: chain.entryTopic) }
            let reports = await producer.send(records)
            produced += reports.filter(\.succeeded).count
            refused += reports.filter { !$0.succeeded }.count
            i += batch
        }
        let produceSeconds = Date().timeIntervalSince(started)
        say(String(format: "produced %d records to %@ in %.1f s%@", produced, chain.entryTopic, produceSeconds, refused > 0 ? " (\(refused) refused by the broker)" : ""))

        var last: StatusSnapshot?
        var lastPrint = Date()
        let deadline = Date().addingTimeInterval(options.timeoutSeconds)
        while !stop.isRequested {
            if let s = await status.next(timeoutSeconds: 1) { last = s }
            if let s = last, s.started >= produced, s.completed + s.failed + s.late >= produced, s.inFlight == 0 { break }
            if let dead = children.first(where: { !$0.isRunning }) {
                say("\(dead.name) exited unexpectedly (status \(dead.exitStatus ?? -1)); see \(dead.logPath)")
                break
            }
            if Date() > deadline { say("gave up waiting after \(Int(options.timeoutSeconds)) s"); break }
            if Date().timeIntervalSince(lastPrint) >= 3, let s = last {
                lastPrint = Date()
                say("progress: started \(s.started), completed \(s.completed), dead-lettered \(s.failed), in flight \(s.inFlight)")
            }
        }
        let elapsed = Date().timeIntervalSince(started)
        guard let final = last else {
            say("no status snapshot from the coordinator; see \(logDir)/coordinator.log")
            return 1
        }
        print(summary(final, produced: produced, elapsed: elapsed, interrupted: stop.isRequested))
        // Every execution needs an outcome: a timed-out one counts once it has finished late.
        let balanced = final.completed + final.failed + final.late == produced && final.started == produced
        if stop.isRequested {
            say("interrupted: stopped before every record had an outcome")
        } else if !balanced {
            say("MISMATCH: completed \(final.completed) + dead-lettered \(final.failed) + finished late \(final.late) != produced \(produced)")
        }
        return balanced ? 0 : 1
    }

    /// The end-of-run report.
    func summary(_ s: StatusSnapshot, produced: Int, elapsed: Double, interrupted: Bool = false) -> String {
        func ms(_ v: Int64?) -> String { v.map { "\($0) ms" } ?? "-" }
        var lines = [
            "",
            "=== catena dev summary: chain \(s.chain) ===",
            "produced       \(produced)",
            "completed      \(s.completed)",
            "dead-lettered  \(s.failed)",
        ]
        if s.timedOut > 0 { lines.append("timed out      \(s.timedOut) (\(s.late) finished late)") }
        lines += [
            "in flight      \(s.inFlight)",
            String(format: "throughput     %.0f records/s end to end (%d outcomes in %.1f s from first produce)", Double(s.completed + s.failed) / max(elapsed, 0.001), s.completed + s.failed, elapsed),
            "latency        p50 \(ms(s.latencyP50Ms))  p95 \(ms(s.latencyP95Ms))  p99 \(ms(s.latencyP99Ms))  max \(ms(s.latencyMaxMs))",
        ]
        if !s.failures.isEmpty {
            lines.append("dead letters by step and reason:")
            for f in s.failures { lines.append("  \(String(f.count).padding(toLength: 7, withPad: " ", startingAt: 0)) \(f.step) / \(f.kind): \(f.message)") }
        }
        let outcomes = s.completed + s.failed + s.late
        let counted = s.timedOut > 0 ? "completed + dead-lettered + finished late" : "completed + dead-lettered"
        lines.append("check          \(counted) = \(outcomes) of \(produced) produced: \(outcomes == produced ? "OK" : interrupted ? "INTERRUPTED before every record had an outcome" : "MISMATCH")")
        return lines.joined(separator: "\n")
    }

    private func say(_ message: String) {
        FileHandle.standardError.write(Data("[dev] \(message)\n".utf8))
    }

    /// Waits until `condition` holds, failing early when a child exits or a stop is requested.
    private func waitUntil(_ what: String, seconds: Double, children: [ChildProcess], stop: StopSignal, _ condition: () -> Bool) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while !condition() {
            if stop.isRequested { throw CatenaError.failure("interrupted while waiting for \(what)") }
            if let dead = children.first(where: { !$0.isRunning }) {
                throw CatenaError.failure("\(dead.name) exited (status \(dead.exitStatus ?? -1)) while waiting for \(what); see \(dead.logPath)")
            }
            if Date() > deadline { throw CatenaError.timeout("waiting for \(what)") }
            try await Task.sleep(nanoseconds: 50_000_000)  // re-check the condition every 50 ms until the deadline
        }
    }
}
