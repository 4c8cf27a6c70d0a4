import Foundation

/// `catena bench`: runs chains of identity steps with Catena and with its peers (a minimal librdkafka
/// relay in C, a confluent-kafka relay in Python), one process per step, each scenario on a fresh local
/// Tansu broker, and measures throughput at saturation, latency at a fixed offered rate, CPU and memory.
///
/// A scenario: start Tansu, create the chain's topics, start a read_committed reader on the final topic
/// and one process per step; send warm-up records through the whole chain (so every process holds its
/// partitions), then the latency phase (records paced at `rate`), then the throughput phase (all records
/// produced at once); read each process's CPU time and peak RSS; stop everything.
public final class BenchRunner: @unchecked Sendable {
    public let options: BenchOptions
    private let stop: StopSignal
    private let io = BlockingQueue(label: "catena.bench.io")
    private let launched = Atomic<[ChildProcess]>([])
    private let logDirectory: String
    private var relayBinary: String?
    private var python: String?

    public init(options: BenchOptions, stop: StopSignal) {
        self.options = options
        self.stop = stop
        logDirectory = options.logDirectory ?? NSTemporaryDirectory() + "catena-bench-\(ProcessInfo.processInfo.processIdentifier)"
    }

    /// Runs every scenario (chain length x peer) and returns their results, in order.
    public func run() async throws -> [BenchResult] {
        try FileManager.default.createDirectory(atPath: logDirectory, withIntermediateDirectories: true)
        guard LocalBroker.locateTansu() != nil else { throw CatenaError.configuration("no Tansu broker found: run scripts/setup.sh or set CATENA_TANSU") }
        if options.peers.contains(where: \.usesCRelay) { relayBinary = try await compileRelay() }
        if options.peers.contains(.pythonRelay) {
            let py = (options.root as NSString).appendingPathComponent(".deps/venv/bin/python")
            guard FileManager.default.isExecutableFile(atPath: py) else { throw CatenaError.configuration("\(py) not found: run scripts/setup.sh (it creates the venv with confluent-kafka)") }
            python = py
        }
        stop.onForcedExit { [launched] in for c in launched.load() { kill(c.pid, SIGKILL) } }
        say("logs in \(logDirectory)")
        var runs: [[BenchResult]] = []  // per scenario, in order: one result per round
        for round in 1...max(options.repeats, 1) {
            var index = 0
            for steps in options.chainLengths {
                for peer in options.peers {
                    if stop.isRequested { break }
                    say("\(peer.rawValue), \(steps) step(s)\(options.repeats > 1 ? ", round \(round) of \(options.repeats)" : ""): starting")
                    let r = await runScenario(peer: peer, steps: steps)
                    say(Self.progressLine(r))
                    if index < runs.count { runs[index].append(r) } else { runs.append([r]) }
                    index += 1
                }
            }
        }
        if stop.isRequested { say("interrupted: reporting the scenarios that ran") }
        return runs.map(BenchResult.median(of:))
    }

    static func progressLine(_ r: BenchResult) -> String {
        var s = "\(r.peer.rawValue), \(r.steps) step(s): "
        s += "delivered \(r.delivered)/\(r.expected)\(r.duplicates > 0 ? " (+\(r.duplicates) duplicates)" : ""), "
        s += "throughput \(BenchMath.figure(r.throughput)) records/s\(r.throughputComplete ? "" : " (incomplete)"), "
        s += "latency p50 \(BenchMath.figure(r.latencyP50)) ms p99 \(BenchMath.figure(r.latencyP99)) ms, "
        s += "CPU \(BenchMath.figure(r.cpuPer100k)) s/100k, peak RSS \(BenchMath.figure(r.peakRSSMB)) MB"
        s += String(format: " (%.1f s)", r.seconds)
        if let f = r.failure { s += "; FAILED: \(f)" }
        return s
    }

    // MARK: - The C relay

    /// Compiles bench/relay.c into .build/bench/relay unless the binary is newer than the source.
    private func compileRelay() async throws -> String {
        let source = (options.root as NSString).appendingPathComponent("bench/relay.c")
        let outDir = (options.root as NSString).appendingPathComponent(".build/bench")
        let binary = (outDir as NSString).appendingPathComponent("relay")
        let fm = FileManager.default
        if let b = try? fm.attributesOfItem(atPath: binary)[.modificationDate] as? Date,
           let s = try? fm.attributesOfItem(atPath: source)[.modificationDate] as? Date, b > s, fm.isExecutableFile(atPath: binary) {
            return binary
        }
        try fm.createDirectory(atPath: outDir, withIntermediateDirectories: true)
        let command = "cc -O2 -Wall -o '\(binary).tmp' '\(source)' $(pkg-config --cflags --libs rdkafka) && mv '\(binary).tmp' '\(binary)'"
        say("compiling the C relay: \(command)")
        let (status, output) = await io.run { BenchRunner.shell(command) }
        guard status == 0 else { throw CatenaError.failure("compiling bench/relay.c failed (status \(status)):\n\(output)") }
        return binary
    }

    /// Runs `command` with /bin/sh, returning its exit status and combined output. Blocks.
    static func shell(_ command: String) -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", command]
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        p.standardInput = FileHandle.nullDevice
        do { try p.run() } catch { return (-1, "\(error)") }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    // MARK: - One scenario

    /// What a scenario started, for teardown.
    private final class Started: @unchecked Sendable {
        var broker: LocalBroker?
        var children: [ChildProcess] = []
        var tally: OutputTally?
        var exitNotes: [String] = []

        /// Stops the reader, the step processes (all signalled at once), then the broker. Blocks.
        func teardown() {
            tally?.stop()
            tally = nil  // destroys the reader's handle before the broker goes away
            for c in children { c.signal(SIGTERM) }
            for c in children {
                let status = c.waitForExit(seconds: 20) ? (c.exitStatus ?? -1) : c.stop(grace: 2)
                if status != 0 { exitNotes.append("\(c.name) exited with status \(status) (see \(c.logPath))") }
            }
            broker?.stop()
        }
    }

    private func runScenario(peer: BenchPeer, steps: Int) async -> BenchResult {
        var result = BenchResult(peer: peer, steps: steps)
        let began = Date()
        let started = Started()
        do {
            try await measure(&result, started)
        } catch {
            result.failure = "\(error)"
        }
        await io.run { started.teardown() }
        let pids = Set(started.children.map(\.pid) + (started.broker.map { [$0.process.pid] } ?? []))
        launched.withValue { $0.removeAll { pids.contains($0.pid) } }
        if !started.exitNotes.isEmpty {
            let notes = started.exitNotes.joined(separator: "; ")
            result.failure = result.failure.map { "\($0); \(notes)" } ?? notes
        }
        result.seconds = Date().timeIntervalSince(began)
        return result
    }

    private func measure(_ result: inout BenchResult, _ started: Started) async throws {
        let peer = result.peer, steps = result.steps
        let dir = (logDirectory as NSString).appendingPathComponent("\(peer.rawValue)-\(steps)")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        // Same topic layout for every peer: step i reads <chain>.s<i>, writes <chain>.s<i+1> (the last <chain>.output).
        let chainName = "bench-\(peer.rawValue)-\(steps)"
        let chainPath = (dir as NSString).appendingPathComponent("chain.yaml")
        var yaml = "chain: \(chainName)\npartitions: \(options.partitions)\nsteps:\n"
        for i in 1...steps { yaml += "  - name: s\(i)\n    function: builtin.identity\n" }
        try yaml.write(toFile: chainPath, atomically: true, encoding: .utf8)
        let chain = try ChainFileLoader.load(path: chainPath)

        let broker = try await io.run { try LocalBroker(logDirectory: dir) }
        started.broker = broker
        launched.withValue { $0.append(broker.process) }
        let settings = KafkaSettings(brokers: broker.address, clientID: "catena-bench")
        try await io.run {
            try TopicProvisioner.ensureTopics(chain, settings: settings)
            _ = try TopicProvisioner.awaitTopics(chain, settings: settings)
        }

        let warm = UInt64(options.warmupRecords), lat = UInt64(options.latencyRecords), thr = UInt64(options.records)
        let phases = [OutputTally.Phase(name: "warm-up", range: 0..<warm),
                      OutputTally.Phase(name: "latency", range: warm..<warm + lat),
                      OutputTally.Phase(name: "throughput", range: warm + lat..<warm + lat + thr)]
        let total = Int(warm + lat + thr)
        result.expected = total
        let partitions = options.partitions
        let tally = try await io.run { () throws -> OutputTally in
            let reader = try KafkaConsumer(settings: settings, groupID: nil, properties: ["fetch.wait.max.ms": "10", "log.connection.close": "false"])
            try reader.assign((0..<Int32(partitions)).map { TopicPartition(chain.outputTopic, $0) }, from: [:])
            return OutputTally(consumer: reader, phases: phases, latencyPhase: 1)
        }
        started.tally = tally
        tally.start()

        for step in chain.steps {
            let (exe, args, env) = try command(peer: peer, chain: chain, chainPath: chainPath, step: step.name, brokers: broker.address)
            let child = try ChildProcess(name: "\(peer.rawValue)-\(step.name)", executable: exe, arguments: args, environment: env,
                                         logPath: (dir as NSString).appendingPathComponent("\(step.name).log"))
            started.children.append(child)
            launched.withValue { $0.append(child) }
        }
        let children = started.children, stop = self.stop
        let abort: @Sendable () -> String? = {
            if stop.isRequested { return "interrupted" }
            if let dead = children.first(where: { !$0.isRunning }) { return "\(dead.name) exited (status \(dead.exitStatus ?? -1)); see \(dead.logPath)" }
            return nil
        }
        let size = options.payloadBytes
        let record: @Sendable (UInt64) -> OutgoingRecord = { seq in
            OutgoingRecord(topic: chain.entryTopic, key: Array("k\(seq)".utf8),
                           value: BenchPayload.make(sequence: seq, producedMicros: BenchPayload.nowMicros(), size: size))
        }
        let producer = try KafkaProducer(settings: settings, properties: ["linger.ms": "1", "log.connection.close": "false"])

        // Warm-up: records through the whole chain, so every process has joined its group and holds partitions.
        let warmStart = Date()
        let warmFailed = await producer.send((0..<warm).map(record)).filter { !$0.succeeded }.count
        if warmFailed > 0 { throw CatenaError.failure("the broker refused \(warmFailed) warm-up records") }
        guard try await io.run({ try tally.wait(until: Date().addingTimeInterval(120), abort: abort) { $0.unique[0] == Int(warm) } }) else {
            throw CatenaError.timeout("warm-up: only \(tally.snapshot.unique[0]) of \(warm) records came through within 120 s")
        }
        say(String(format: "  warm-up through the chain in %.1f s; latency phase: %d records at %.0f/s", Date().timeIntervalSince(warmStart), lat, options.rate))

        // Latency: records paced at the offered rate, each carrying its produce time.
        let rate = options.rate
        let latStart = Date()
        var sent = 0
        var sends: [Task<Int, Never>] = []
        while sent < Int(lat) {
            if let reason = abort() { throw CatenaError.failure(reason) }
            let due = min(Int(lat), Int(Date().timeIntervalSince(latStart) * rate) + 1)
            if due > sent {
                let batch = (sent..<due).map { record(warm + UInt64($0)) }
                sends.append(Task { await producer.send(batch).filter { !$0.succeeded }.count })
                sent = due
            } else {
                // Pacing the offered rate (not synchronisation): sleep until the next record is due.
                let wait = max(0.0002, latStart.addingTimeInterval(Double(sent) / rate).timeIntervalSinceNow)
                try await Task.sleep(nanoseconds: UInt64(wait * 1e9))
            }
        }
        var latFailed = 0
        for t in sends { latFailed += await t.value }
        if latFailed > 0 { throw CatenaError.failure("the broker refused \(latFailed) latency-phase records") }
        let latComplete = try await io.run { try tally.wait(until: Date().addingTimeInterval(30), abort: abort) { $0.unique[1] == Int(lat) } }
        let (recordLat, seenLat) = tally.latencies
        let r = recordLat.sorted(), s = seenLat.sorted()
        result.latencyP50 = BenchMath.percentile(r, 50)
        result.latencyP99 = BenchMath.percentile(r, 99)
        result.seenP50 = BenchMath.percentile(s, 50)
        result.seenP99 = BenchMath.percentile(s, 99)
        if !latComplete { say("  latency phase: only \(tally.snapshot.unique[1]) of \(lat) records arrived within 30 s of the last") }
        say("  throughput phase: \(thr) records produced at once")

        // Throughput: every record produced at once; the clock runs from the first produce to the last arrival.
        let records = (0..<thr).map { record(warm + lat + $0) }
        let cpuBefore = children.map { ProcessUsage.read(pid: $0.pid)?.cpuSeconds }
        let thrStart = Date()
        let producing = Task { () -> Int in
            await withTaskGroup(of: Int.self) { group in
                for start in stride(from: 0, to: records.count, by: 10_000) {
                    let chunk = Array(records[start..<min(start + 10_000, records.count)])
                    group.addTask { await producer.send(chunk).filter { !$0.succeeded }.count }
                }
                return await group.reduce(0, +)
            }
        }
        let deadline = 60 + Double(thr) / 500
        let thrComplete = try await io.run { try tally.wait(until: thrStart.addingTimeInterval(deadline), abort: abort) { $0.unique[2] == Int(thr) } }
        let snap = tally.snapshot
        result.throughputComplete = thrComplete
        if thrComplete, let done = snap.completedAt[2] {
            result.throughput = Double(thr) / max(done.timeIntervalSince(thrStart), 0.001)
        } else {
            result.throughput = Double(snap.unique[2]) / max(Date().timeIntervalSince(thrStart), 0.001)
            say("  throughput phase: only \(snap.unique[2]) of \(thr) records arrived within \(Int(deadline)) s")
        }
        let thrFailed = await producing.value
        if thrFailed > 0 { throw CatenaError.failure("the broker refused \(thrFailed) throughput-phase records") }

        // CPU and memory of every step process, read before they are stopped.
        let usages = children.map { ProcessUsage.read(pid: $0.pid) }
        let saturated = zip(cpuBefore, usages).compactMap { before, after in before.flatMap { b in after.map { $0.cpuSeconds - b } } }
        if thrComplete, saturated.count == children.count {
            result.saturatedCPUPer100k = saturated.reduce(0, +) / Double(saturated.count) * 100_000 / Double(thr)
        }
        let perRecord = 100_000 / Double(total)
        let cpu = usages.compactMap { $0.map { $0.cpuSeconds * perRecord } }
        if cpu.count == children.count {
            result.cpuPer100k = cpu.reduce(0, +) / Double(cpu.count)
            result.cpuPer100kMax = cpu.max()
        }
        result.peakRSSMB = usages.compactMap { $0.map { Double($0.peakRSSBytes) / 1_048_576 } }.max()
        result.brokerCPUPer100k = ProcessUsage.read(pid: broker.process.pid).map { $0.cpuSeconds * perRecord }
        let final = tally.snapshot
        result.delivered = final.totalUnique
        result.duplicates = final.duplicates
    }

    /// The executable, arguments and environment of one step's process.
    private func command(peer: BenchPeer, chain: ChainDefinition, chainPath: String, step: String, brokers: String) throws -> (String, [String], [String: String]) {
        let input = chain.inputTopic(of: step)
        guard let output = chain.destinationTopic(after: step) else { throw CatenaError.failure("no destination after \(step)") }
        let group = chain.consumerGroup(of: step)
        // Tansu delays a group's first join by about half the session timeout: keep it short, for every peer.
        let session = "session.timeout.ms=6000"
        switch peer {
        case .catenaExactlyOnce, .catenaAtLeastOnce:
            return (options.executable,
                    ["worker", "--chain", chainPath, "--step", step, "--brokers", brokers,
                     "--delivery", peer == .catenaExactlyOnce ? DeliveryMode.exactlyOnce.rawValue : DeliveryMode.atLeastOnce.rawValue,
                     "--instance-id", "bench-\(step)"],
                    ["CATENA_PARENT_PID": String(ProcessInfo.processInfo.processIdentifier), "CATENA_KAFKA_SESSION_TIMEOUT_MS": "6000"])
        case .cRelay, .cRelayTransactional, .cRelayEnvelope:
            guard let relayBinary else { throw CatenaError.failure("the C relay is not compiled") }
            var args = [brokers, input, output, group, "-C", session]
            if peer == .cRelayTransactional { args += ["--transactional", "relay.\(chain.name).\(step)"] }
            if peer == .cRelayEnvelope { args += ["--envelope", "\(chain.name)/\(step)"] }
            return (relayBinary, args, [:])
        case .pythonRelay:
            guard let python else { throw CatenaError.failure("no Python venv") }
            return (python, [(options.root as NSString).appendingPathComponent("bench/relay.py"), brokers, input, output, group, "-C", session], [:])
        }
    }

    private func say(_ message: String) {
        FileHandle.standardError.write(Data("[bench] \(message)\n".utf8))
    }
}
