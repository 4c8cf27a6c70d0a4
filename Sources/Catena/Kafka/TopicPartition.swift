/// A partition of a topic, optionally with an offset (for commits: the next offset to read).
public struct TopicPartition: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    public init(_ topic: String, _ partition: Int32) {
        self.topic = topic
        self.partition = partition
    }
}

/// Where a consumer starts reading an assigned partition.
public enum StartOffset: Sendable, Equatable {
    case beginning
    case end
    case offset(Int64)
}
