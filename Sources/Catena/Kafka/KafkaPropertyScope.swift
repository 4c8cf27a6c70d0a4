/// Which kind of librdkafka client a property applies to, so an extra property meant for consumers (e.g.
/// `max.poll.interval.ms`) is not handed to producers, where librdkafka ignores it with a CONFWARN line.
public enum KafkaClientRole: Sendable {
    case consumer
    /// Producers and admin clients (librdkafka creates both as producers).
    case producer

    /// Whether a property called `name` is meant for this kind of client (true for properties of both kinds
    /// and for names this list does not know, which librdkafka then checks itself).
    public func accepts(_ name: String) -> Bool {
        switch self {
        case .consumer: return !Self.producerOnly.contains(name)
        case .producer: return !Self.consumerOnly.contains(name)
        }
    }

    /// librdkafka's consumer-only properties (scope "C" in its CONFIGURATION.md).
    static let consumerOnly: Set<String> = [
        "group.instance.id", "partition.assignment.strategy", "session.timeout.ms", "heartbeat.interval.ms",
        "group.protocol.type", "group.protocol", "group.remote.assignor", "coordinator.query.interval.ms",
        "max.poll.interval.ms", "enable.auto.commit", "auto.commit.interval.ms", "enable.auto.offset.store",
        "queued.min.messages", "queued.max.messages.kbytes", "fetch.wait.max.ms", "fetch.queue.backoff.ms",
        "fetch.message.max.bytes", "max.partition.fetch.bytes", "fetch.max.bytes", "fetch.min.bytes",
        "fetch.error.backoff.ms", "isolation.level", "enable.partition.eof", "check.crcs", "auto.offset.reset",
        "consume.callback.max.messages", "auto.commit.enable", "offset.store.method",
    ]

    /// librdkafka's producer-only properties (scope "P").
    static let producerOnly: Set<String> = [
        "transactional.id", "transaction.timeout.ms", "enable.idempotence", "enable.gapless.guarantee",
        "queue.buffering.max.messages", "queue.buffering.max.kbytes", "queue.buffering.max.ms", "linger.ms",
        "message.send.max.retries", "retries", "queue.buffering.backpressure.threshold", "compression.codec",
        "compression.type", "compression.level", "batch.num.messages", "batch.size", "delivery.report.only.error",
        "sticky.partitioning.linger.ms", "request.required.acks", "acks", "request.timeout.ms", "message.timeout.ms",
        "delivery.timeout.ms", "partitioner",
    ]
}
