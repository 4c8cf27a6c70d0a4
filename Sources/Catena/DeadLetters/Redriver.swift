import Foundation

/// Runs a `RedrivePlan` against the brokers: reads `<chain>.dlq` from the beginning up to the end offsets
/// fixed at start (so each dead letter is considered once, and dead letters written while it runs, such as a
/// redriven record failing again, are not), sends the selected ones, parks those at the redrive limit on
/// `<chain>.dlq.parked` (created with the DLQ's partition count when missing) and reports each decision.
public struct Redriver: Sendable {
    /// What one run did.
    public struct Outcome: Sendable, Equatable {
        /// Dead letters read.
        public var read = 0
        /// Selected by the filters.
        public var selected = 0
        /// Sent back to a step's input topic (or, in a dry run, that would be).
        public var redriven = 0
        /// Sent to the parked topic (or would be).
        public var parked = 0
        /// Refused (stubs, unknown steps).
        public var refused = 0
        /// Refused by Kafka when sent.
        public var failed = 0

        /// `selected N, redriven N, parked N, refused N, failed N (of N dead letters read)`.
        public var line: String {
            "selected \(selected), redriven \(redriven), parked \(parked), refused \(refused), failed \(failed) (of \(read) dead letters read)"
        }
    }

    public var plan: RedrivePlan
    public var settings: KafkaSettings
    /// Only report what would be sent.
    public var dryRun: Bool
    /// At most this many records per second (nil: as fast as Kafka takes them).
    public var rate: Double?

    public init(plan: RedrivePlan, settings: KafkaSettings, dryRun: Bool = false, rate: Double? = nil) {
        self.plan = plan
        self.settings = settings
        self.dryRun = dryRun
        self.rate = rate
    }

    /// Runs the redrive; `report` receives one line per selected dead letter.
    public func run(report: @Sendable (String) -> Void) async throws -> Outcome {
        let chain = plan.chain
        let reader = try await DeadLetterReader.snapshot(topic: chain.deadLetterTopic, settings: settings)
        do {
            let outcome = try await run(reader: reader, report: report)
            await reader.close()
            return outcome
        } catch {
            await reader.close()
            throw error
        }
    }

    private func run(reader: DeadLetterReader, report: @Sendable (String) -> Void) async throws -> Outcome {
        var outcome = Outcome()
        var producer: KafkaProducer?
        var parkedReady = false
        let started = ContinuousClock.now
        var sent = 0
        let verb = dryRun ? "would " : ""

        while let batch = try await reader.nextBatch() {
            var outgoing: [(OutgoingRecord, DeadLetterRecord, parked: Bool)] = []
            for record in batch {
                outcome.read += 1
                let letter = DeadLetterRecord(record)
                let what = "\(letter.position) key=\(letter.keyText) \(letter.step ?? "?")/\(letter.kind ?? "?")"
                switch plan.decide(letter) {
                case .skip:
                    continue
                case .refuse(let reason):
                    outcome.selected += 1
                    outcome.refused += 1
                    report("refuse  \(what): \(reason)")
                case .redrive(let r):
                    outcome.selected += 1
                    outcome.redriven += 1
                    report("\(verb)redrive \(what) -> \(r.topic) (\(HeaderNames.redriveCount) \(letter.redriveCount + 1))")
                    outgoing.append((r, letter, false))
                case .park(let r):
                    outcome.selected += 1
                    outcome.parked += 1
                    report("\(verb)park \(what): \(HeaderNames.redriveCount) \(letter.redriveCount) reached --max-redrives \(plan.maxRedrives) -> \(r.topic)")
                    outgoing.append((r, letter, true))
                }
            }
            guard !dryRun, !outgoing.isEmpty else { continue }
            if producer == nil { producer = try KafkaProducer(settings: settings) }
            if !parkedReady && outgoing.contains(where: { $0.parked }) {
                try await ensureParkedTopic(partitions: reader.partitionCount)
                parkedReady = true
            }
            // Paced in chunks of a tenth of a second's worth, so --rate holds over any window of a second.
            let chunk = rate.map { max(1, Int($0 / 10)) } ?? outgoing.count
            var i = 0
            while i < outgoing.count {
                let part = Array(outgoing[i..<min(i + chunk, outgoing.count)])
                if let rate {
                    let due = started + .milliseconds(Int(Double(sent) / rate * 1000))
                    if due > ContinuousClock.now { try await Task.sleep(until: due, clock: .continuous) }
                }
                let reports = await producer!.send(part.map(\.0))
                for (j, r) in reports.enumerated() where !r.succeeded {
                    outcome.failed += 1
                    if part[j].parked { outcome.parked -= 1 } else { outcome.redriven -= 1 }
                    report("failed  \(part[j].1.position) -> \(part[j].0.topic): \(r.errorMessage)")
                }
                sent += part.count
                i += part.count
            }
        }
        return outcome
    }

    /// Creates `<chain>.dlq.parked` with `partitions` partitions when it is missing, and waits until it is visible.
    private func ensureParkedTopic(partitions: Int) async throws {
        let topic = plan.parkedTopic, settings = self.settings, replication = plan.chain.replicationFactor
        try await BlockingQueue(label: "catena.dlq.admin").run {
            let admin = try KafkaAdmin(settings: settings)
            if try admin.partitionCount(topic) > 0 { return }
            try admin.createTopics([KafkaAdmin.TopicSpec(name: topic, partitions: max(partitions, 1), replicationFactor: replication)])
            let deadline = Date().addingTimeInterval(30)
            while try admin.partitionCount(topic) == 0 {
                if Date() > deadline { throw CatenaError.timeout("topic \(topic) did not appear within 30 s") }
                Thread.sleep(forTimeInterval: 0.1)  // polling the broker's metadata until the topic is visible
            }
        }
    }
}
