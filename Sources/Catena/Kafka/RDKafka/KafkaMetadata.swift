import CRdKafka

/// Reads topic metadata through any client handle.
enum KafkaMetadata {
    /// Number of partitions of `topic`, 0 when the broker does not know it.
    static func partitionCount(handle: OpaquePointer, topic: String, timeoutMs: Int32) throws -> Int {
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let rkt = rd_kafka_topic_new(handle, topic, nil)
        defer { if let rkt { rd_kafka_topic_destroy(rkt) } }
        let err = rd_kafka_metadata(handle, 0, rkt, &metadata, timeoutMs)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else { throw CatenaError.rdkafka(err, "metadata for \(topic)") }
        defer { rd_kafka_metadata_destroy(metadata) }
        for i in 0..<Int(metadata.pointee.topic_cnt) {
            let t = metadata.pointee.topics[i]
            if String(cString: t.topic) == topic {
                return t.err == RD_KAFKA_RESP_ERR_NO_ERROR ? Int(t.partition_cnt) : 0
            }
        }
        return 0
    }
}
