import CRdKafka

extension KafkaConsumer {
    /// Adds partitions to a group-less consumer's assignment, each from its offset (nil: the beginning);
    /// the partitions already assigned keep their positions.
    public func incrementalAssign(_ partitions: [TopicPartition: Int64?]) throws {
        guard !partitions.isEmpty else { return }
        let list = PartitionList(partitions.map { ($0.key, $0.value ?? Int64(RD_KAFKA_OFFSET_BEGINNING)) })
        if let error = list.withPointer({ rd_kafka_incremental_assign(rawHandle, $0) }) {
            throw CatenaError.consuming(error, "incremental assign")
        }
    }

    /// Removes partitions from the assignment; the others keep their positions.
    public func incrementalUnassign(_ partitions: [TopicPartition]) throws {
        guard !partitions.isEmpty else { return }
        if let error = PartitionList(partitions).withPointer({ rd_kafka_incremental_unassign(rawHandle, $0) }) {
            throw CatenaError.consuming(error, "incremental unassign")
        }
    }
}
