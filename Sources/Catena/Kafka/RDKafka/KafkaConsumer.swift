import CRdKafka
import Foundation

/// A Kafka consumer: owns one librdkafka consumer handle.
///
/// Every method that can block (poll, commit, close, metadata) is synchronous and must be called from a
/// thread of its own or a `BlockingQueue`, never from Swift's cooperative pool. Offsets are committed
/// explicitly (`enable.auto.commit=false`): the caller commits only what it has finished. Group assignment
/// changes are applied when the caller polls (`applyRebalance`), not behind its back.
public final class KafkaConsumer: @unchecked Sendable {
    private let handle: OpaquePointer
    private let queue: OpaquePointer
    /// The handle, for the transactional calls in this folder.
    var rawHandle: OpaquePointer { handle }
    private let closed = Atomic(false)
    /// Copies polled messages into records. Only touched by `poll`, which callers serialise (one I/O queue per consumer).
    private var copier = MessageCopier()
    /// Rebalances that took partitions away from this consumer (revoked or lost), counted by `applyRebalance`.
    private let revocations = Atomic(0)

    /// Creates a consumer. With `groupID` it may `subscribe`; without, it can only `assign`.
    public init(settings: KafkaSettings, groupID: String?, properties: [String: String] = [:]) throws {
        var defaults: [String: String] = [
            "enable.auto.commit": "false",
            "enable.auto.offset.store": "false",
            "auto.offset.reset": "earliest",
            "partition.assignment.strategy": "cooperative-sticky",
            "enable.partition.eof": "false",
            "fetch.wait.max.ms": "50",
            "isolation.level": "read_committed",
            // Kafka's 45 s default makes a crashed worker's partitions wait that long; the group join delay of
            // some brokers (Tansu) also scales with it.
            "session.timeout.ms": "10000",
            "heartbeat.interval.ms": "2000",
            // librdkafka prefetches up to 64 MB by default, and each fetch response stays in memory while any of
            // its records is queued. Small fetches and a 1 MB prefetch keep a busy worker under 50 MB of RSS
            // (measured: 100 MB with the defaults; with 2 MB, 1-3 MB more than with 1 MB at the same rate, about
            // 90k records/s for one worker).
            "queued.max.messages.kbytes": "1024",
            "fetch.max.bytes": "2097152",
            "max.partition.fetch.bytes": "262144",
            // When that prefetch is full librdkafka waits fetch.queue.backoff.ms (1 s by default) before it fetches
            // the partition again, which starves a fast worker: measured 33 empty 100 ms polls in 500k records.
            "fetch.queue.backoff.ms": "10",
        ]
        defaults["group.id"] = groupID ?? "catena-unused-\(UUID().uuidString)"
        for (k, v) in properties { defaults[k] = v }
        let conf = try RDKafkaConfig.make(settings.properties(defaults, for: .consumer))
        rd_kafka_conf_set_rebalance_cb(conf, Self.applyRebalance)
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(revocations).toOpaque())  // outlives the handle (destroyed in deinit)
        handle = try RDKafkaConfig.newClient(type: RD_KAFKA_CONSUMER, conf: conf)
        rd_kafka_poll_set_consumer(handle)
        queue = rd_kafka_queue_get_consumer(handle)
    }

    deinit {
        close()
        rd_kafka_queue_destroy(queue)
        rd_kafka_destroy(handle)
    }

    /// Joins the consumer group and follows `topics`.
    public func subscribe(_ topics: [String]) throws {
        let list = PartitionList(topics.map { (TopicPartition($0, RD_KAFKA_PARTITION_UA), nil) })
        let err = list.withPointer { rd_kafka_subscribe(handle, $0) }
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw CatenaError.rdkafka(err, "subscribe \(topics)") }
    }

    /// Reads exactly these partitions from `start`, without a consumer group.
    public func assign(_ partitions: [TopicPartition], from start: [TopicPartition: StartOffset]) throws {
        let list = PartitionList(partitions.map { tp -> (TopicPartition, Int64?) in
            switch start[tp] ?? .beginning {
            case .beginning: return (tp, Int64(RD_KAFKA_OFFSET_BEGINNING))
            case .end: return (tp, Int64(RD_KAFKA_OFFSET_END))
            case .offset(let o): return (tp, o)
            }
        })
        let err = list.withPointer { rd_kafka_assign(handle, $0) }
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw CatenaError.rdkafka(err, "assign") }
    }

    /// Returns up to `maxRecords` records as soon as there are any, waiting up to `timeoutMs` for the first
    /// (possibly none). Consumer errors that are not about a record (e.g. a broker briefly down) are
    /// reported to `onError`.
    public func poll(maxRecords: Int, timeoutMs: Int32, onError: (String) -> Void = { _ in }) -> [ConsumedRecord] {
        guard maxRecords > 0 else { return [] }
        var messages = [UnsafeMutablePointer<rd_kafka_message_t>?](repeating: nil, count: maxRecords)
        // consume_batch_queue waits until the batch is full or the timeout passes, even when records are there:
        // take what is queued without waiting; only when nothing is, wait for the first record and then take
        // what arrived with it.
        var n = messages.withUnsafeMutableBufferPointer { rd_kafka_consume_batch_queue(queue, 0, $0.baseAddress, maxRecords) }
        if n == 0, timeoutMs > 0, let first = rd_kafka_consume_queue(queue, Int32(timeoutMs)) {
            messages[0] = first
            n = 1 + max(0, messages.withUnsafeMutableBufferPointer { rd_kafka_consume_batch_queue(queue, 0, $0.baseAddress! + 1, maxRecords - 1) })
        }
        guard n > 0 else { return [] }
        return messages.withUnsafeMutableBufferPointer { copier.records(from: UnsafeMutableBufferPointer(rebasing: $0[0..<n]), onError: onError) }
    }

    /// Commits `offsets` (the next offset to read, i.e. last processed + 1) for the group.
    public func commit(_ offsets: [TopicPartition: Int64], synchronously: Bool) throws {
        guard !offsets.isEmpty else { return }
        let err = PartitionList(offsets).withPointer { rd_kafka_commit(handle, $0, synchronously ? 0 : 1) }
        if err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR__NO_OFFSET {
            throw CatenaError.rdkafka(err, "commit")
        }
    }

    /// Partitions currently assigned to this consumer.
    public func assignment() -> [TopicPartition] {
        var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        guard rd_kafka_assignment(handle, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list else { return [] }
        defer { rd_kafka_topic_partition_list_destroy(list) }
        return (0..<Int(list.pointee.cnt)).map { i in
            let e = list.pointee.elems[i]
            return TopicPartition(String(cString: e.topic), e.partition)
        }
    }

    /// Low and high watermarks of a partition, asked of the broker.
    public func watermarks(_ tp: TopicPartition, timeoutMs: Int32 = 5000) throws -> (low: Int64, high: Int64) {
        var low: Int64 = 0, high: Int64 = 0
        let err = rd_kafka_query_watermark_offsets(handle, tp.topic, tp.partition, &low, &high, timeoutMs)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw CatenaError.rdkafka(err, "watermarks of \(tp.topic)[\(tp.partition)]") }
        return (low, high)
    }

    /// Number of partitions of `topic` (0 when it does not exist).
    public func partitionCount(_ topic: String, timeoutMs: Int32 = 5000) throws -> Int {
        try KafkaMetadata.partitionCount(handle: handle, topic: topic, timeoutMs: timeoutMs)
    }

    /// How many rebalances have taken partitions away from this consumer so far: a caller that notes it when it
    /// polls a batch can tell whether the group moved any partition before it commits (`ensureAssignmentHeld`).
    public var revocationCount: Int { revocations.load() }

    /// Applies a group rebalance, called by librdkafka from `poll` (and `close`), and counts revocations.
    /// Without such a callback librdkafka applies revocations at once on its own thread, also when the session
    /// has timed out: the partitions of a batch in flight could change hands unseen, and the lost flag
    /// (`rd_kafka_assignment_lost`) would be cleared at once. With it, they change only when the caller polls.
    private static let applyRebalance: @convention(c) (OpaquePointer?, rd_kafka_resp_err_t, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?, UnsafeMutableRawPointer?) -> Void = { rk, err, partitions, opaque in
        guard let rk else { return }
        let assign = err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS
        if !assign, let opaque { Unmanaged<Atomic<Int>>.fromOpaque(opaque).takeUnretainedValue().withValue { $0 += 1 } }
        if String(cString: rd_kafka_rebalance_protocol(rk)) == "COOPERATIVE" {
            if let error = assign ? rd_kafka_incremental_assign(rk, partitions) : rd_kafka_incremental_unassign(rk, partitions) {
                Log.warn("consumer", "rebalance: \(String(cString: rd_kafka_error_string(error)))")
                rd_kafka_error_destroy(error)
            }
        } else {
            let result = rd_kafka_assign(rk, assign ? partitions : nil)
            if result != RD_KAFKA_RESP_ERR_NO_ERROR { Log.warn("consumer", "rebalance: \(String(cString: rd_kafka_err2str(result)))") }
        }
    }

    /// Leaves the group (committing nothing further) and stops fetching. Idempotent.
    public func close() {
        let wasClosed = closed.withValue { c -> Bool in let old = c; c = true; return old }
        if !wasClosed { rd_kafka_consumer_close(handle) }
    }
}
