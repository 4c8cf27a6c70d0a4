import CRdKafka

extension KafkaConsumer {
    /// The offset the consumer hands out next for each of `partitions` (absent when not known yet).
    public func positions(_ partitions: [TopicPartition]) -> [TopicPartition: Int64] {
        guard !partitions.isEmpty else { return [:] }
        let list = PartitionList(partitions)
        guard list.withPointer({ rd_kafka_position(rawHandle, $0) }) == RD_KAFKA_RESP_ERR_NO_ERROR else { return [:] }
        return list.offsets
    }

    /// The group's committed offsets (next offset to read) for `partitions`, asked of the broker; partitions
    /// without a commit are absent. Blocks up to `timeoutMs`.
    public func committedOffsets(_ partitions: [TopicPartition], timeoutMs: Int32 = 10_000) throws -> [TopicPartition: Int64] {
        guard !partitions.isEmpty else { return [:] }
        let list = PartitionList(partitions)
        let err = list.withPointer { rd_kafka_committed(rawHandle, $0, timeoutMs) }
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw CatenaError.rdkafka(err, "committed offsets") }
        return list.offsets
    }
}

extension KafkaConsumer {
    /// Stops fetching `partitions` (the group membership and the assignment stay). Errors for partitions no
    /// longer assigned are ignored.
    public func pause(_ partitions: [TopicPartition]) {
        guard !partitions.isEmpty else { return }
        _ = PartitionList(partitions).withPointer { rd_kafka_pause_partitions(rawHandle, $0) }
    }

    /// Fetches `partitions` again from the consumer's position. Errors for partitions no longer assigned are ignored.
    public func resume(_ partitions: [TopicPartition]) {
        guard !partitions.isEmpty else { return }
        _ = PartitionList(partitions).withPointer { rd_kafka_resume_partitions(rawHandle, $0) }
    }
}
