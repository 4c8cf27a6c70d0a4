import Foundation

/// Follows every execution of a chain from its entry record to `<chain>.output` (completed), `<chain>.dlq`
/// (failed) or its deadline (timed out), publishes status snapshots to `<chain>.status` and one event per
/// timed-out execution to `<chain>.timeouts`. A dead letter copied back to the entry topic past the redrive
/// limit is parked by the entry step's worker on `<chain>.dlq.parked` instead of producing an outcome: that
/// parked record is its outcome (failed, kind `parked`).
///
/// It keeps no state of its own. It first reads `<chain>.timeouts` to its end (the timeouts already published),
/// then the entry, output, dead-letter and parked topics (and, with an execution timeout, every later step's input
/// topic, to know where each execution got to) from the beginning without a consumer group: a restarted
/// coordinator rebuilds its state by replay, converges to the same counts and publishes no timeout twice.
/// Deadlines are checked only once that replay has reached the offsets the topics had at start, so an
/// outcome written before a restart is never mistaken for a missing one.
public final class Coordinator: @unchecked Sendable {
    private let chain: ChainDefinition
    private let settings: KafkaSettings
    private var tracker: ExecutionTracker
    /// Input topic -> step name, for the steps after the first whose progress is tracked.
    private let laterStepTopics: [String: String]
    /// How often a snapshot is published while anything changes (and at least every 5 s).
    public var publishInterval: Double = 0.5
    /// A replay that reads nothing for this long has read everything there is to read (e.g. the rest is behind an
    /// open transaction).
    static let replayStallSeconds: Double = 30

    public init(chain: ChainDefinition, settings: KafkaSettings) {
        self.chain = chain
        self.settings = settings
        self.tracker = ExecutionTracker(chain: chain)
        laterStepTopics = tracker.tracksProgress
            ? Dictionary(uniqueKeysWithValues: chain.steps.dropFirst().map { (chain.inputTopic(of: $0.name), $0.name) }) : [:]
    }

    /// Runs until `stop` is requested.
    public func run(until stop: StopSignal) async throws {
        let io = BlockingQueue(label: "catena.coordinator.io")
        let chain = self.chain, settings = self.settings
        guard await TopicProvisioner.prepare(chain, settings: settings, io: io, stop: stop, component: "coordinator") else { return }
        let counts = try await io.run { try TopicProvisioner.awaitTopics(chain, settings: settings) }
        func partitions(_ topic: String) -> [TopicPartition] { (0..<Int32(counts[topic] ?? 1)).map { TopicPartition(topic, $0) } }
        let consumer = try KafkaConsumer(settings: settings, groupID: nil)
        let producer = try KafkaProducer(settings: settings)

        let replayed = try await readToEnd(partitions(chain.timeoutsTopic), consumer, io, stop)
        if stop.isRequested { return }
        for r in replayed {
            do { tracker.sawTimeout(try ExecutionTimeoutRecord.parse(r)) } catch { Log.warn("coordinator", "ignored: \(error)") }
        }
        if !replayed.isEmpty { Log.info("coordinator", "\(replayed.count) timed-out executions already published on \(chain.timeoutsTopic)") }

        let followed = [chain.entryTopic] + laterStepTopics.keys.sorted() + [chain.outputTopic, chain.deadLetterTopic, chain.parkedTopic]
        let assigned = followed.flatMap(partitions)
        var replay = ReplayProgress(ends: try await io.run { try Self.endOffsets(assigned, consumer) })
        try consumer.assign(assigned, from: [:])
        Log.info("coordinator", "following \(followed.joined(separator: ", ")); status on \(chain.statusTopic)"
                 + (chain.executionTimeoutSeconds > 0 ? "; timed-out executions on \(chain.timeoutsTopic)" : ""))
        if replay.isComplete { announceReplayed() }

        var lastPublished: StatusSnapshot?
        var lastPublishTime = Date.distantPast
        var unpublished: [ExecutionTimeout] = []
        var nextTimeoutAttempt = Date.distantPast
        var lastReplayProgress = Date()
        while !stop.isRequested {
            let open = Array(replay.remaining.keys)
            let (records, positions) = await io.run {
                (consumer.poll(maxRecords: 2000, timeoutMs: 100) { Log.warn("coordinator", "consumer: \($0)") }, consumer.positions(open))
            }
            for r in records { observe(r) }
            if !replay.isComplete {
                replay.read(records)
                replay.reached(positions)
                if !records.isEmpty { lastReplayProgress = Date() }
                if !replay.isComplete && Date().timeIntervalSince(lastReplayProgress) > Self.replayStallSeconds {
                    let stalled = replay.remaining.keys.map { "\($0.topic)[\($0.partition)]" }.sorted().joined(separator: ", ")
                    Log.warn("coordinator", "replay: nothing more to read for \(Int(Self.replayStallSeconds)) s short of the end offsets of \(stalled); taking it as read")
                    replay = ReplayProgress(ends: [:])
                }
                // No deadlines before the replay is done (an outcome not read yet is not a missing one), and no
                // snapshot of a half-replayed state: `catena status` keeps showing the previous one.
                guard replay.isComplete else { continue }
                announceReplayed()
            }
            unpublished += tracker.expire(nowMs: Timestamp.nowMs())
            if !unpublished.isEmpty && Date() >= nextTimeoutAttempt {
                unpublished = await publish(unpublished, producer)
                if !unpublished.isEmpty { nextTimeoutAttempt = Date().addingTimeInterval(2) }
            }
            let now = Date()
            if now.timeIntervalSince(lastPublishTime) >= publishInterval {
                let snap = tracker.snapshot(nowMs: Timestamp.nowMs())
                if snap.withoutTime != lastPublished?.withoutTime || now.timeIntervalSince(lastPublishTime) >= 5 {
                    await publish(snap, producer)
                    lastPublished = snap
                }
                lastPublishTime = now
            }
        }
        if !unpublished.isEmpty { _ = await publish(unpublished, producer) }
        if replay.isComplete { await publish(tracker.snapshot(nowMs: Timestamp.nowMs()), producer) }  // not a half-replayed one
        await io.run { consumer.close() }
        Log.info("coordinator", "stopped")
    }

    private func announceReplayed() {
        Log.info("coordinator", "replay complete (\(tracker.started) executions)" + (chain.executionTimeoutSeconds > 0 ? "; deadlines armed" : ""))
    }

    /// Feeds one record of a followed topic to the tracker.
    func observe(_ r: ConsumedRecord) {
        switch r.topic {
        case chain.entryTopic:
            tracker.sawEntry(IncomingEnvelope.correlationID(of: r), atMs: r.timestampMs, at: EntryPosition(partition: r.partition, offset: r.offset))
        case chain.outputTopic:
            let id = r.header(HeaderNames.correlationID) ?? IncomingEnvelope.correlationID(of: r)
            tracker.saw(.completed(atMs: r.timestampMs), for: id)
        case chain.deadLetterTopic:
            let id = r.header(HeaderNames.errorCorrelationID) ?? IncomingEnvelope.correlationID(of: r)
            tracker.saw(.failed(step: r.header(HeaderNames.errorStep) ?? "?", kind: r.header(HeaderNames.errorKind) ?? "?",
                                message: r.header(HeaderNames.errorMessage) ?? "", atMs: r.timestampMs), for: id)
        case chain.parkedTopic:
            // Only what the entry step's worker parked was an entry record; `catena dlq redrive` parks dead
            // letters without sending them anywhere (and without catena_parked_step).
            guard let step = r.header(HeaderNames.parkedStep), step == chain.steps[0].name else { return }
            tracker.saw(.failed(step: step, kind: "parked", message: r.header(HeaderNames.parkedReason) ?? "", atMs: r.timestampMs),
                        for: IncomingEnvelope.correlationID(of: r))
        default:
            if let step = laterStepTopics[r.topic] {
                tracker.sawStep(step, for: r.header(HeaderNames.correlationID) ?? IncomingEnvelope.correlationID(of: r))
            }
        }
    }

    /// Every record of `partitions` up to the end offsets they have now (empty if stopped first).
    private func readToEnd(_ partitions: [TopicPartition], _ consumer: KafkaConsumer, _ io: BlockingQueue, _ stop: StopSignal) async throws -> [ConsumedRecord] {
        var progress = ReplayProgress(ends: try await io.run { try Self.endOffsets(partitions, consumer) })
        guard !progress.isComplete else { return [] }
        try consumer.assign(partitions, from: [:])
        var all: [ConsumedRecord] = []
        var lastProgress = Date()
        while !progress.isComplete && !stop.isRequested {
            if Date().timeIntervalSince(lastProgress) > Self.replayStallSeconds {
                Log.warn("coordinator", "reading \(partitions.first?.topic ?? ""): nothing more to read for \(Int(Self.replayStallSeconds)) s short of its end offsets; taking it as read")
                break
            }
            let open = Array(progress.remaining.keys)
            let (records, positions) = await io.run {
                (consumer.poll(maxRecords: 2000, timeoutMs: 100) { Log.warn("coordinator", "consumer: \($0)") }, consumer.positions(open))
            }
            if !records.isEmpty { lastProgress = Date() }
            all += records
            progress.read(records)
            progress.reached(positions)
        }
        return all
    }

    /// High watermarks of `partitions`, asked of the broker (blocking).
    private static func endOffsets(_ partitions: [TopicPartition], _ consumer: KafkaConsumer) throws -> [TopicPartition: Int64] {
        var ends: [TopicPartition: Int64] = [:]
        for tp in partitions {
            let w = try consumer.watermarks(tp)
            ends[tp] = w.low < w.high ? w.high : 0  // nothing left to read (e.g. deleted by retention): done at once
        }
        return ends
    }

    /// Publishes timed-out execution events; returns those the broker did not take (to try again later).
    private func publish(_ timeouts: [ExecutionTimeout], _ producer: KafkaProducer) async -> [ExecutionTimeout] {
        let reports = await producer.send(timeouts.map { ExecutionTimeoutRecord.make($0, chain: chain) })
        var failed: [ExecutionTimeout] = []
        for (t, report) in zip(timeouts, reports) where !report.succeeded {
            Log.warn("coordinator", "timeout of \(t.correlationID) not published (will retry): \(report.errorMessage)")
            failed.append(t)
        }
        let done = timeouts.count - failed.count
        if done > 0 {
            let examples = timeouts.prefix(3).map { "\($0.correlationID) (last seen at \($0.lastStep))" }.joined(separator: ", ")
            Log.info("coordinator", "timed out: \(examples)\(timeouts.count > 3 ? " and \(timeouts.count - 3) more" : ""); \(done) published on \(chain.timeoutsTopic)")
        }
        return failed
    }

    private func publish(_ snapshot: StatusSnapshot, _ producer: KafkaProducer) async {
        let record = OutgoingRecord(topic: chain.statusTopic, partition: 0, key: Array("status".utf8), value: snapshot.json(),
                                    headers: [KafkaHeader(HeaderNames.contentType, text: "application/json")])
        if let report = await producer.send([record]).first, !report.succeeded {
            Log.warn("coordinator", "status snapshot not published: \(report.errorMessage)")
        }
    }
}

extension StatusSnapshot {
    /// The snapshot with its time zeroed, to tell whether anything but the clock changed.
    var withoutTime: StatusSnapshot { var s = self; s.updatedAtMs = 0; return s }
}
