import Foundation

/// Follows every execution of a chain from its entry record to `<chain>.output` (completed) or
/// `<chain>.dlq` (failed), and publishes status snapshots to `<chain>.status`. A dead letter copied back to
/// the entry topic past the redrive limit is parked by the entry step's worker on `<chain>.dlq.parked`
/// instead of producing an outcome: that parked record is its outcome (failed, kind `parked`).
///
/// It reads the entry, output, dead-letter and parked topics from the beginning without a consumer group, so a
/// restarted coordinator rebuilds its state by replay and converges to the same counts.
public final class Coordinator: @unchecked Sendable {
    private let chain: ChainDefinition
    private let settings: KafkaSettings
    private var tracker: ExecutionTracker
    /// How often a snapshot is published while anything changes (and at least every 5 s).
    public var publishInterval: Double = 0.5

    public init(chain: ChainDefinition, settings: KafkaSettings) {
        self.chain = chain
        self.settings = settings
        self.tracker = ExecutionTracker(chain: chain.name)
    }

    /// Runs until `stop` is requested.
    public func run(until stop: StopSignal) async throws {
        let io = BlockingQueue(label: "catena.coordinator.io")
        let chain = self.chain, settings = self.settings
        guard await TopicProvisioner.prepare(chain, settings: settings, io: io, stop: stop, component: "coordinator") else { return }
        let counts = try await io.run { try TopicProvisioner.awaitTopics(chain, settings: settings) }
        let consumer = try KafkaConsumer(settings: settings, groupID: nil)
        let followed = [chain.entryTopic, chain.outputTopic, chain.deadLetterTopic, chain.parkedTopic]
        let partitions = followed.flatMap { t in (0..<Int32(counts[t] ?? 1)).map { TopicPartition(t, $0) } }
        try consumer.assign(partitions, from: [:])
        let producer = try KafkaProducer(settings: settings)
        Log.info("coordinator", "following \(followed.joined(separator: ", ")); status on \(chain.statusTopic)")

        var lastPublished: StatusSnapshot?
        var lastPublishTime = Date.distantPast
        while !stop.isRequested {
            let records = await io.run { consumer.poll(maxRecords: 2000, timeoutMs: 100) { Log.warn("coordinator", "consumer: \($0)") } }
            for r in records { observe(r) }
            let now = Date()
            if now.timeIntervalSince(lastPublishTime) >= publishInterval {
                let snap = tracker.snapshot(nowMs: Timestamp.nowMs(), timeoutSeconds: chain.executionTimeoutSeconds)
                if snap.withoutTime != lastPublished?.withoutTime || now.timeIntervalSince(lastPublishTime) >= 5 {
                    await publish(snap, producer)
                    lastPublished = snap
                }
                lastPublishTime = now
            }
        }
        await publish(tracker.snapshot(nowMs: Timestamp.nowMs(), timeoutSeconds: chain.executionTimeoutSeconds), producer)
        await io.run { consumer.close() }
        Log.info("coordinator", "stopped")
    }

    /// Feeds one record of a followed topic to the tracker.
    func observe(_ r: ConsumedRecord) {
        switch r.topic {
        case chain.entryTopic:
            tracker.sawEntry(IncomingEnvelope.correlationID(of: r), atMs: r.timestampMs)
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
            break
        }
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
