import CRdKafka
import Foundation

/// Runs one step of a chain: consumes the step's input topic in the step's consumer group, processes each
/// record, produces outputs and dead letters, and commits input offsets only after the broker has
/// acknowledged everything the batch produced (at-least-once delivery).
///
/// Records of one partition are processed in order, one at a time, so a key's records stay in order. A retry
/// that must wait longer than `in_place_max` moves the record to the step's delay path (`DelayPath`,
/// `RetryFeed`), with the later records of its key behind it, so other keys keep flowing.
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
        /// Records moved to the delay path (a retry after a long wait, or waiting behind their key).
        public var delayed = 0
    }
    public private(set) var stats = Stats()

    /// Longest a batch may run before the worker stops it early and polls again: a third of
    /// `max.poll.interval.ms` (300 s unless configured), so the group does not evict the worker.
    private let batchBudgetSeconds: Double
    /// The producer's `transaction.timeout.ms` (librdkafka's default 60 s unless configured), in seconds.
    private let transactionTimeoutSeconds: Double
    /// Batches in a row whose delivery failed transiently; after 5 the worker stops for a fresh producer.
    private var consecutiveDeliveryFailures = 0
    /// The step's input topic and its delay-path topic (retry partition p goes with input partition p).
    private let inputTopic: String
    private let retryTopic: String
    /// At-least-once: offsets finished since the last commit, and when that was.
    private var uncommitted: [TopicPartition: Int64] = [:]
    private var lastCommit = Date.distantPast
    /// The stop signal `run` was given, for the retry loops that must end when the worker is asked to stop.
    private var stopSignal: StopSignal?

    public init(chain: ChainDefinition, step: StepDefinition, function: any CatenaFunction, settings: KafkaSettings, options: WorkerOptions = WorkerOptions()) {
        var processor = StepProcessor(chain: chain, step: step, function: function, workerID: options.workerID)
        processor.delayPath = DelayPath(chain: chain, step: step)
        self.processor = processor
        self.settings = settings
        self.options = options
        self.component = "worker[\(step.name)]"
        self.inputTopic = chain.inputTopic(of: step.name)
        self.retryTopic = chain.retryTopic(of: step.name)
        let configured = options.consumerProperties["max.poll.interval.ms"] ?? settings.extra["max.poll.interval.ms"]
        self.batchBudgetSeconds = (configured.flatMap(Double.init) ?? 300_000) / 1000 / 3
        let transactionTimeout = options.producerProperties["transaction.timeout.ms"] ?? settings.extra["transaction.timeout.ms"]
        self.transactionTimeoutSeconds = (transactionTimeout.flatMap(Double.init) ?? 60_000) / 1000
    }

    /// Consumes until `stop` is requested, then finishes the in-flight batch, commits, and leaves the group.
    /// - Throws: when the worker cannot continue without losing records (the DLQ refuses a dead letter, or
    ///   the transactional producer was fenced by a newer instance).
    public func run(until stop: StopSignal) async throws {
        stopSignal = stop
        let chain = processor.chain, step = processor.step
        let io = BlockingQueue(label: "catena.worker.io")
        let consumer = try KafkaConsumer(settings: settings, groupID: chain.consumerGroup(of: step.name), properties: options.consumerProperties)
        var producerProperties = options.producerProperties
        if options.delivery == .exactlyOnce {
            producerProperties["transactional.id"] = producerProperties["transactional.id"] ?? "catena.\(chain.name).\(step.name).\(options.instanceID)"
        }
        let producer = try KafkaProducer(settings: settings, properties: producerProperties)
        if options.delivery == .exactlyOnce {
            try await io.run { () throws -> Void in
                do { try producer.initTransactions() } catch { throw CatenaError.failure("cannot start transactions (use --delivery at-least-once for brokers without them): \(error)") }
            }
        }
        let topic = inputTopic
        try consumer.subscribe([topic])
        let retries = try RetryFeed(chain: chain, step: step, settings: settings, properties: options.consumerProperties,
                                    path: processor.delayPath!, component: component)
        Log.info(component, "consuming \(topic) in group \(chain.consumerGroup(of: step.name)) (\(options.delivery.rawValue)); outputs to \(chain.destinationTopic(after: step.name) ?? "?"), dead letters to \(chain.deadLetterTopic)")

        var announcedReady = false
        var lastHeartbeat = Date.distantPast
        var lastReport = Date()
        var committed: [TopicPartition: Int64] = [:]
        // Leaving the group and flushing block: do them on the I/O queue, whether the loop ends or throws.
        let closeClients: @Sendable () async -> Void = { await io.run { consumer.close(); retries.close(); _ = producer.flush() } }
        do {
            while !stop.isRequested {
                let component = self.component
                let batchSize = options.batchSize
                let timeout = Int32(min(Int64(options.pollTimeoutMs), retries.msUntilDue(now: Date()) ?? .max))
                let linger = options.effectiveBatchLingerMs
                let input = try await io.run { () throws -> [ConsumedRecord] in
                    var records = consumer.poll(maxRecords: batchSize, timeoutMs: timeout) { Log.warn(component, "consumer: \($0)") }
                    // Gather up to the linger: one batch (one transaction) for many records, not one each at low rates.
                    let until = Date().addingTimeInterval(Double(linger) / 1000)
                    while !records.isEmpty && records.count < batchSize && !stop.isRequested {
                        let left = Int32(until.timeIntervalSinceNow * 1000)
                        if left <= 0 { break }
                        records += consumer.poll(maxRecords: batchSize - records.count, timeoutMs: left) { Log.warn(component, "consumer: \($0)") }
                    }
                    // Partitions gained in those polls: rebuild their delay-path bookkeeping before any of their records runs.
                    retries.follow(consumer)
                    let (ready, heldBack) = retries.readyInput(records)
                    try consumer.seek(heldBack)
                    return ready
                }
                let revocationsAtPoll = consumer.revocationCount  // exactly-once commits only if no partition moved since
                let due = retries.takeDue(now: Date(), max: batchSize)
                let polled = due.isEmpty ? input : due + input
                if let readyFile = options.readyFile, !announcedReady || Date().timeIntervalSince(lastHeartbeat) >= 5 {
                    // The ready file is a heartbeat: written while the worker holds partitions and keeps polling,
                    // removed when it holds none, so a health check can test its age.
                    lastHeartbeat = Date()
                    if await io.run({ !consumer.assignment().isEmpty }) {
                        _ = FileManager.default.createFile(atPath: readyFile, contents: Data("ready \(Timestamp.rfc3339(Date()))\n".utf8))
                        if !announcedReady { Log.info(component, "partitions assigned; ready") }
                        announcedReady = true
                    } else if announcedReady {
                        try? FileManager.default.removeItem(atPath: readyFile)
                    }
                }
                if polled.isEmpty {
                    if options.delivery == .atLeastOnce { try await commitIfDue(consumer: consumer, io: io) }
                    continue
                }
                // Stop a batch early when it runs long, so the worker polls again well within
                // max.poll.interval.ms and keeps its partitions; the rest of the batch is read again.
                let cutAt = Date().addingTimeInterval(min(batchBudgetSeconds, options.maxBatchSeconds))
                var keepAlive = KeepAlive()
                let outcomes = await processor.process(batch: polled, shouldStop: { stop.isRequested || Date() > cutAt }) {
                    // A call is running long: keep serving the group (partitions paused) so it is not evicted.
                    await keepAlive.poll(consumer, io: io, component: component)
                    if let readyFile = options.readyFile, announcedReady, Date().timeIntervalSince(lastHeartbeat) >= 5 {
                        // A long batch is work, not a hang: keep the heartbeat fresh.
                        lastHeartbeat = Date()
                        _ = FileManager.default.createFile(atPath: readyFile, contents: Data("busy \(Timestamp.rfc3339(Date()))\n".utf8))
                    }
                }
                await keepAlive.resume(consumer, io: io)
                let unprocessed = polled.dropFirst(outcomes.count)
                let records = Array(polled.prefix(outcomes.count))
                var batch = BatchResult(records: records, outcomes: outcomes)
                switch options.delivery {
                case .atLeastOnce:
                    guard try await deliverThenCommit(&batch, records, producer: producer, consumer: consumer, io: io) else {
                        try await rewind(retries, consumer: consumer, io: io); continue
                    }
                    committed.merge(batch.nextOffsets) { max($0, $1) }
                case .exactlyOnce:
                    guard try await deliverInTransaction(&batch, records, revocationsAtPoll, producer: producer, consumer: consumer, io: io) else {
                        try await rewind(retries, consumer: consumer, io: io); continue
                    }
                }
                processor.delayPath?.batchCommitted()
                if !unprocessed.isEmpty {
                    retries.putBack(unprocessed.filter { $0.topic == retries.topic })
                    // Cutting at maxBatchSeconds is routine for slow functions; near the poll interval it is worth a line.
                    let routine = !stop.isRequested && options.maxBatchSeconds < batchBudgetSeconds
                    let reason = stop.isRequested ? "stopping" : "over \(min(batchBudgetSeconds, options.maxBatchSeconds)) s"
                    let line = "batch cut short (\(reason)); \(unprocessed.count) records left for the next poll"
                    if routine { Log.debug(component, line) } else { Log.info(component, line) }
                    let seekTo = unprocessed.filter { $0.topic != retries.topic }.firstOffsets
                    try await io.run { try consumer.seek(seekTo) }
                }
                stats.consumed += records.count
                stats.produced += batch.outputs
                stats.deadLettered += records.count - batch.outputs - batch.delayed
                stats.delayed += batch.delayed
                if Date().timeIntervalSince(lastReport) >= 10 {
                    lastReport = Date()
                    Log.info(component, "consumed \(stats.consumed), output \(stats.produced), dead-lettered \(stats.deadLettered), delayed \(stats.delayed)")
                }
            }
            if options.delivery == .atLeastOnce {
                // A last synchronous commit, only for partitions still ours, so it cannot rewind another worker's.
                let finalOffsets = committed
                try await io.run {
                    try consumer.commit(self.held(finalOffsets, assigned: consumer.assignment()), synchronously: true)
                }
            }
        } catch {
            if let readyFile = options.readyFile { try? FileManager.default.removeItem(atPath: readyFile) }
            await closeClients()
            throw error
        }
        await closeClients()
        if let readyFile = options.readyFile { try? FileManager.default.removeItem(atPath: readyFile) }
        Log.info(component, "stopping: consumed \(stats.consumed), output \(stats.produced), dead-lettered \(stats.deadLettered), delayed \(stats.delayed)")
    }

    /// After a batch failed to deliver (the consumer was rewound): forgets its delay-path bookkeeping and
    /// reads the retry partitions again from their committed offsets.
    private func rewind(_ retries: RetryFeed, consumer: KafkaConsumer, io: BlockingQueue) async throws {
        processor.delayPath?.batchAborted()
        try await io.run { try retries.rewind(consumer) }
    }

    // MARK: - At least once

    /// Produces the batch, waits for every acknowledgement, then commits the input offsets.
    /// - Returns: false when a delivery failed transiently: nothing is committed and the consumer is rewound
    ///   to the committed offsets, so the batch is processed again.
    private func deliverThenCommit(_ batch: inout BatchResult, _ records: [ConsumedRecord], producer: KafkaProducer, consumer: KafkaConsumer, io: BlockingQueue) async throws -> Bool {
        do {
            try await deliverThenCommitOnce(&batch, records, producer: producer, consumer: consumer, io: io)
            consecutiveDeliveryFailures = 0
            return true
        } catch let failure as TransientDeliveryFailure {
            consecutiveDeliveryFailures += 1
            if let fatal = producer.fatalError ?? (failure.producerIsBroken || consecutiveDeliveryFailures >= 5 ? failure.message : nil) {
                // librdkafka will not produce with this producer again: stop without committing, so a restart
                // (the container's restart policy, or whoever supervises the worker) continues with a fresh one.
                throw CatenaError.failure("the producer cannot recover (\(fatal)); stopping without committing so a restart continues with a fresh producer")
            }
            Log.warn(component, "\(failure); rewinding to the committed offsets")
            try await rewindRetrying(consumer: consumer, io: io)
            return false
        }
    }

    private func deliverThenCommitOnce(_ batch: inout BatchResult, _ records: [ConsumedRecord], producer: KafkaProducer, consumer: KafkaConsumer, io: BlockingQueue) async throws {
        // Send everything; then resend only what Kafka refused, replaced (output -> dead letter -> stub).
        var pending = Array(batch.outgoing.indices)
        while !pending.isEmpty {
            let sent = await producer.send(pending.map { batch.outgoing[$0] })
            pending = try batch.replaceRefused(sent, for: pending, inputs: records, processor: processor)
        }
        uncommitted.merge(batch.nextOffsets) { max($0, $1) }
        try await commitIfDue(consumer: consumer, io: io)
    }

    /// At-least-once: commits the finished offsets if `commitIntervalSeconds` has passed since the last commit
    /// (a commit per batch costs the broker a request each time at low rates). Called after each batch and
    /// when a poll returns nothing, so the last offsets are committed once traffic stops. Only partitions still
    /// ours are committed, so a stale offset cannot rewind another worker's.
    private func commitIfDue(consumer: KafkaConsumer, io: BlockingQueue) async throws {
        guard !uncommitted.isEmpty, Date().timeIntervalSince(lastCommit) >= options.commitIntervalSeconds else { return }
        lastCommit = Date()
        let offsets = uncommitted
        uncommitted = [:]
        try await io.run { try consumer.commit(self.held(offsets, assigned: consumer.assignment()), synchronously: false) }
    }

    /// The input partition a partition goes with: itself, or input partition p for retry partition p.
    private func inputPartition(of tp: TopicPartition) -> TopicPartition {
        tp.topic == retryTopic ? TopicPartition(inputTopic, tp.partition) : tp
    }

    /// The offsets of `offsets` whose input partition is among `assigned`: committing any other could
    /// rewind a partition another worker now owns.
    private func held(_ offsets: [TopicPartition: Int64], assigned: [TopicPartition]) -> [TopicPartition: Int64] {
        let owned = Set(assigned)
        return offsets.filter { owned.contains(inputPartition(of: $0.key)) }
    }

    // MARK: - Exactly once

    /// Produces the batch and commits its input offsets in one transaction.
    ///
    /// What Kafka refuses is replaced (output -> dead letter -> stub): a record librdkafka refused before
    /// queueing it is replaced inside the open transaction; a refusal by the broker aborts the transaction,
    /// and the batch, with the refused records replaced, is sent again in a new one (at most 3 rounds).
    /// - Returns: false when the transaction failed, was aborted and the consumer rewound (the batch will be read again).
    /// - Throws: when the producer is fenced or hits a fatal error, or even a dead-letter stub is refused.
    private func deliverInTransaction(_ batch: inout BatchResult, _ records: [ConsumedRecord], _ revocationsAtPoll: Int, producer: KafkaProducer, consumer: KafkaConsumer, io: BlockingQueue) async throws -> Bool {
        // The batch needs the input partitions of its records (and of its retry records) still held.
        let held = Array(Set(batch.nextOffsets.keys.map(inputPartition(of:))))
        do {
            for _ in 0..<3 {
                try await io.run { () throws -> Void in try producer.beginTransaction(); try consumer.ensureAssignmentHeld(held, revocationsAtPoll: revocationsAtPoll) }
                let began = Date()
                var pending = Array(batch.outgoing.indices)
                var brokerRefused = false
                while !pending.isEmpty && !brokerRefused {
                    let sent = await producer.send(pending.map { batch.outgoing[$0] })
                    brokerRefused = sent.contains { $0.isPermanentRefusal && !$0.refusedLocally }
                    pending = try batch.replaceRefused(sent, for: pending, inputs: records, processor: processor)
                }
                if brokerRefused {
                    Log.warn(component, "the broker refused records; aborting and sending the batch again with them dead-lettered")
                    try await io.run { try Self.abort(producer) }
                    continue
                }
                let next = batch.nextOffsets
                try await io.run { () throws -> Void in
                    try producer.sendOffsetsToTransaction(next, consumer: consumer)
                    try consumer.ensureAssignmentHeld(held, revocationsAtPoll: revocationsAtPoll)  // nothing stale after a pause
                    try self.ensureNotStalled(since: began)
                    let committing = Date()
                    try Self.commitRetrying(producer)
                    self.warnIfStalledWhileCommitting(since: committing)
                }
                return true
            }
            throw CatenaError.failure("the broker kept refusing the batch's records, even as dead-letter stubs; stopping without committing")
        } catch let error as TransactionError {
            if error.isFatal || !error.requiresAbort && !error.isRetriable {
                throw CatenaError.failure("transaction failed, stopping so a fresh instance takes over: \(error)")
            }
            Log.warn(component, "transaction aborted, batch will be processed again: \(error)")
            try await abortAndRewind(producer: producer, consumer: consumer, io: io)
            return false
        } catch let failure as TransientDeliveryFailure {
            Log.warn(component, "\(failure); aborting the transaction, batch will be processed again")
            try await abortAndRewind(producer: producer, consumer: consumer, io: io)
            return false
        }
    }

    /// Refuses to commit a transaction that has been open for most of `transaction.timeout.ms`. Sending and
    /// committing a batch takes milliseconds; that long means the worker was frozen (SIGSTOP, a paused VM)
    /// meanwhile, and librdkafka may not have noticed yet that the group moved on: abort rather than commit
    /// work another member may already have redone. (Kafka would fence such a commit; Tansu does not.)
    private func ensureNotStalled(since began: Date) throws(TransactionError) {
        let open = Date().timeIntervalSince(began)
        guard open > transactionTimeoutSeconds * 0.5 else { return }
        throw TransactionError(code: RD_KAFKA_RESP_ERR__TIMED_OUT.rawValue,
                               message: "the transaction has been open \(Int(open * 1000)) ms, over half of transaction.timeout.ms: the worker was stalled; not committing",
                               requiresAbort: true)
    }

    /// Says so when the commit itself took most of `transaction.timeout.ms`: the worker was frozen after its last
    /// check and before librdkafka sent the commit, a moment no check before the commit can cover. Apache Kafka
    /// fences such a commit (the transaction timed out, the producer epoch was bumped); a broker that does not
    /// (Tansu) may have taken it while another member processed the same batch.
    private func warnIfStalledWhileCommitting(since committing: Date) {
        let took = Date().timeIntervalSince(committing)
        guard took > transactionTimeoutSeconds * 0.5 else { return }
        Log.warn(component, "\(Self.stalledWhileCommitting) (commit_transaction took \(Int(took * 1000)) ms, over half of transaction.timeout.ms): Kafka fences such a commit; a broker that does not (Tansu) may have committed a batch another member also processed")
    }

    /// The start of the line `warnIfStalledWhileCommitting` logs.
    public static let stalledWhileCommitting = "the worker was stalled while committing"

    /// Aborts the open transaction and rewinds to the committed offsets. An abort that fails leaves the
    /// producer unusable: stop, so a fresh instance (init_transactions) takes over, rather than jam.
    private func abortAndRewind(producer: KafkaProducer, consumer: KafkaConsumer, io: BlockingQueue) async throws {
        try await io.run { try Self.abort(producer) }
        try await rewindRetrying(consumer: consumer, io: io)
    }

    /// Moves the consumer back to the committed offsets, trying again while the broker does not answer (an
    /// outage longer than `message.timeout.ms` gets here with the broker still away), so the worker rides it
    /// out instead of exiting. Nothing is skipped meanwhile: the consumer is not polled until it has rewound.
    /// Gives up only when the worker is asked to stop.
    private func rewindRetrying(consumer: KafkaConsumer, io: BlockingQueue) async throws {
        var wait = 0.5
        while true {
            do {
                try await io.run { try consumer.rewindToCommitted() }
                return
            } catch {
                if stopSignal?.isRequested ?? true { throw error }
                Log.warn(component, "cannot rewind to the committed offsets yet (\(error)); trying again in \(wait) s")
                try? await Task.sleep(nanoseconds: UInt64(wait * 1_000_000_000))  // backoff between attempts
                wait = min(wait * 2, 5)
            }
        }
    }

    /// Aborts the open transaction; an abort that fails leaves the producer unusable, so the worker stops.
    private static func abort(_ producer: KafkaProducer) throws {
        do { try producer.abortTransaction() } catch {
            throw CatenaError.failure("abort_transaction failed, stopping so a fresh instance takes over: \(error)")
        }
    }

    /// Commits, retrying while librdkafka says the commit itself may be retried.
    private static func commitRetrying(_ producer: KafkaProducer) throws {
        while true {
            let failure: TransactionError
            do {
                try producer.commitTransaction()
                return
            } catch {
                failure = error
            }
            guard failure.isRetriable && !failure.requiresAbort && !failure.isFatal else { throw failure }
            Log.warn("worker", "commit_transaction will be retried: \(failure)")
        }
    }
}
