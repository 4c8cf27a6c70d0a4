import CRdKafka

extension KafkaConsumer {
    /// The offset the consumer hands out next for each of `partitions` (absent when not known yet).
    public func positions(_ partitions: [TopicPartition]) -> [TopicPartition: Int64] {
        guard !partitions.isEmpty, let list = rd_kafka_topic_partition_list_new(Int32(partitions.count)) else { return [:] }
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for tp in partitions { rd_kafka_topic_partition_list_add(list, tp.topic, tp.partition) }
        guard rd_kafka_position(rawHandle, list) == RD_KAFKA_RESP_ERR_NO_ERROR else { return [:] }
        var out: [TopicPartition: Int64] = [:]
        for i in 0..<Int(list.pointee.cnt) {
            let e = list.pointee.elems[i]
            if e.offset >= 0 { out[TopicPartition(String(cString: e.topic), e.partition)] = e.offset }
        }
        return out
    }
}

extension KafkaConsumer {
    /// The group's committed offsets (next offset to read) for `partitions`, asked of the broker; partitions
    /// without a commit are absent. Blocks up to `timeoutMs`.
    public func committedOffsets(_ partitions: [TopicPartition], timeoutMs: Int32 = 10_000) throws -> [TopicPartition: Int64] {
        guard !partitions.isEmpty, let list = rd_kafka_topic_partition_list_new(Int32(partitions.count)) else { return [:] }
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for tp in partitions { rd_kafka_topic_partition_list_add(list, tp.topic, tp.partition) }
        let err = rd_kafka_committed(rawHandle, list, timeoutMs)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw CatenaError.rdkafka(err, "committed offsets") }
        var out: [TopicPartition: Int64] = [:]
        for i in 0..<Int(list.pointee.cnt) {
            let e = list.pointee.elems[i]
            if e.offset >= 0 { out[TopicPartition(String(cString: e.topic), e.partition)] = e.offset }
        }
        return out
    }
}
