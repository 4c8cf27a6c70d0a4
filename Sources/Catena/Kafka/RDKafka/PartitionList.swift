import CRdKafka

/// Owns one `rd_kafka_topic_partition_list_t`, built from partitions and optional offsets, destroyed in deinit.
/// The raw list is lent only inside `withPointer`, which keeps the owner alive for the C call.
final class PartitionList {
    private let pointer: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>

    /// A list of `entries`; an entry without an offset keeps librdkafka's default (`RD_KAFKA_OFFSET_INVALID`).
    init(_ entries: [(TopicPartition, Int64?)]) {
        pointer = rd_kafka_topic_partition_list_new(Int32(max(entries.count, 1)))!
        for (tp, offset) in entries {
            let element = rd_kafka_topic_partition_list_add(pointer, tp.topic, tp.partition)!
            if let offset { element.pointee.offset = offset }
        }
    }

    convenience init(_ offsets: [TopicPartition: Int64]) { self.init(offsets.map { ($0.key, $0.value) }) }
    convenience init(_ partitions: [TopicPartition]) { self.init(partitions.map { ($0, nil) }) }

    deinit { rd_kafka_topic_partition_list_destroy(pointer) }

    /// Lends the list to `body` (a librdkafka call).
    func withPointer<R>(_ body: (UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) throws -> R) rethrows -> R {
        try withExtendedLifetime(self) { try body(pointer) }
    }

    /// The offsets librdkafka filled in, for the partitions that have one (>= 0).
    var offsets: [TopicPartition: Int64] {
        var out: [TopicPartition: Int64] = [:]
        for i in 0..<Int(pointer.pointee.cnt) {
            let e = pointer.pointee.elems[i]
            if e.offset >= 0 { out[TopicPartition(String(cString: e.topic), e.partition)] = e.offset }
        }
        return out
    }
}
