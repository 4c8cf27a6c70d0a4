import Foundation

/// Runs one step of a chain: consumes the step's input topic in the step's consumer group, processes each
/// record, produces outputs and dead letters, and commits input offsets only after the broker has
/// acknowledged everything the batch produced (at-least-once delivery).
///
/// Records of one partition are processed in order, one at a time, so a key's records stay in order.
public final class StepWorker: @unchecked Sendable {
    private let processor: StepProcessor
    private let settings: KafkaSettings
    private let options: WorkerOptions
    private let component: String

    /// Counters since start.
    public struct Stats: Sendable, Equatable {
        public var consumed = 0
        public var produced = 0
        public var deadLettered = 0
    }
    public private(set) var stats = Stats()

    public init(chain: ChainDefinition, step: StepDefinition, function: any CatenaFunction, settings: KafkaSettings, options: WorkerOptions = WorkerOptions()) {
        self.processor = StepProcessor(chain: chain, step: step, function: function, workerID: options.workerID)
        self.settings = settings
        self.options = options
        self.component = "worker[\(step.name)]"
    }

    /// Consumes until `stop` is requested, then finishes the in-flight batch, commits, and leaves the group.
    /// - Throws: when the worker cannot continue without losing records (e.g. the DLQ refuses a dead letter).
    public func run(until stop: StopSignal) async throws {
        let chain = processor.chain, step = processor.step
        let io = BlockingQueue(label: "catena.worker.io")
        let consumer = try KafkaConsumer(settings: settings, groupID: chain.consumerGroup(of: step.name), properties: options.consumerProperties)
        let producer = try KafkaProducer(settings: settings, properties: options.producerProperties)
        let topic = chain.inputTopic(of: step.name)
        try consumer.subscribe([topic])
        Log.info(component, "consuming \(topic) in group \(chain.consumerGroup(of: step.name)); outputs to \(chain.destinationTopic(after: step.name) ?? "?"), dead letters to \(chain.deadLetterTopic)")

        var announcedReady = options.readyFile == nil
        var lastReport = Date()
        var committed: [TopicPartition: Int64] = [:]
        defer {
            consumer.close()
            producer.flush()
        }
        while !stop.isRequested {
            let component = self.component
            let batchSize = options.batchSize, timeout = options.pollTimeoutMs
            let records = await io.run { consumer.poll(maxRecords: batchSize, timeoutMs: timeout) { Log.warn(component, "consumer: \($0)") } }
            if !announcedReady, await io.run({ !consumer.assignment().isEmpty }) {
                announcedReady = true
                _ = FileManager.default.createFile(atPath: options.readyFile!, contents: Data("ready\n".utf8))
                Log.info(component, "partitions assigned; ready")
            }
            if records.isEmpty { continue }
            let next = try await process(records, producer: producer)
            try await io.run { try consumer.commit(next, synchronously: false) }
            committed.merge(next) { max($0, $1) }
            if Date().timeIntervalSince(lastReport) >= 10 {
                lastReport = Date()
                Log.info(component, "consumed \(stats.consumed), output \(stats.produced), dead-lettered \(stats.deadLettered)")
            }
        }
        // A last synchronous commit, only for partitions still ours, so it cannot rewind another worker's.
        let finalOffsets = committed
        try await io.run {
            let owned = Set(consumer.assignment())
            try consumer.commit(finalOffsets.filter { owned.contains($0.key) }, synchronously: true)
        }
        Log.info(component, "stopping: consumed \(stats.consumed), output \(stats.produced), dead-lettered \(stats.deadLettered)")
    }

    /// Processes one polled batch and produces its results; returns the offsets to commit once all are acknowledged.
    private func process(_ records: [ConsumedRecord], producer: KafkaProducer) async throws -> [TopicPartition: Int64] {
        var outgoing: [OutgoingRecord] = []
        outgoing.reserveCapacity(records.count)
        var isOutput: [Bool] = []
        for record in records {
            switch await processor.process(record) {
            case .output(let r):
                outgoing.append(r); isOutput.append(true)
            case .deadLetter(let r, let letter):
                outgoing.append(r); isOutput.append(false)
                Log.debug(component, "dead letter \(letter.correlationID): \(letter.kind.rawValue): \(letter.message)")
            }
        }
        let reports = await producer.send(outgoing)
        var retries: [OutgoingRecord] = []
        for (i, report) in reports.enumerated() where !report.succeeded {
            guard isOutput[i] else {
                throw CatenaError.failure("dead-letter topic refused a record (\(report.errorMessage)); not committing offset \(records[i].offset) of \(records[i].topic)[\(records[i].partition)]")
            }
            // Kafka refused the output (e.g. too large): the input goes to the DLQ instead.
            let id = IncomingEnvelope.correlationID(of: records[i])
            if case .deadLetter(let r, _) = processor.deadLetter(records[i], .outputRejected, "output refused by Kafka: \(report.errorMessage)", attempts: 1, correlationID: id) {
                retries.append(r)
            }
            isOutput[i] = false
        }
        if !retries.isEmpty {
            for report in await producer.send(retries) where !report.succeeded {
                throw CatenaError.failure("dead-letter topic refused a record (\(report.errorMessage)); stopping without committing")
            }
        }
        var next: [TopicPartition: Int64] = [:]
        for r in records {
            let tp = TopicPartition(r.topic, r.partition)
            next[tp] = max(next[tp] ?? 0, r.offset + 1)
        }
        stats.consumed += records.count
        let outputs = isOutput.filter { $0 }.count
        stats.produced += outputs
        stats.deadLettered += records.count - outputs
        return next
    }
}
