/// A record read from Kafka, copied out of librdkafka's message so it outlives it.
public struct ConsumedRecord: Sendable, Equatable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    /// Milliseconds since the epoch (create or log-append time), or -1 when unknown.
    public var timestampMs: Int64
    /// `nil` for a null key.
    public var key: [UInt8]?
    /// `nil` for a null value (tombstone), `[]` for an empty one.
    public var value: [UInt8]?
    /// All headers, in order, duplicates included.
    public var headers: [KafkaHeader]

    public init(topic: String, partition: Int32, offset: Int64, timestampMs: Int64, key: [UInt8]?, value: [UInt8]?, headers: [KafkaHeader]) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.timestampMs = timestampMs
        self.key = key
        self.value = value
        self.headers = headers
    }

    /// The value of the first header called `name`, as text.
    public func header(_ name: String) -> String? { headers.first { $0.name == name }?.text }
}

/// A record to produce. Partition `nil` lets the partitioner choose (by key hash).
public struct OutgoingRecord: Sendable, Equatable {
    public var topic: String
    public var partition: Int32?
    public var key: [UInt8]?
    public var value: [UInt8]?
    public var headers: [KafkaHeader]

    public init(topic: String, partition: Int32? = nil, key: [UInt8]?, value: [UInt8]?, headers: [KafkaHeader] = []) {
        self.topic = topic
        self.partition = partition
        self.key = key
        self.value = value
        self.headers = headers
    }
}

extension Sequence where Element == ConsumedRecord {
    /// Per partition, the offset of the first of these records: where to seek so they are read again.
    public var firstOffsets: [TopicPartition: Int64] {
        var first: [TopicPartition: Int64] = [:]
        for r in self {
            let tp = TopicPartition(r.topic, r.partition)
            first[tp] = Swift.min(first[tp] ?? r.offset, r.offset)
        }
        return first
    }
}
