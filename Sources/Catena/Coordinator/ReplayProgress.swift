/// Whether a consumer reading partitions from the beginning has read everything they held when it started:
/// it is done with a partition once it has read the record before the end offset fixed then, or once its
/// position has passed that offset (a partition may end in a transaction marker, which is never handed out).
public struct ReplayProgress: Sendable, Equatable {
    /// End offsets (high watermarks at the start) of the partitions not finished yet.
    public private(set) var remaining: [TopicPartition: Int64]

    /// `ends`: each partition's end offset when reading started; empty partitions are finished at once.
    public init(ends: [TopicPartition: Int64]) {
        remaining = ends.filter { $0.value > 0 }
    }

    /// Whether every partition has been read up to its end offset.
    public var isComplete: Bool { remaining.isEmpty }

    /// Notes the records just read.
    public mutating func read(_ records: [ConsumedRecord]) {
        guard !remaining.isEmpty else { return }
        for r in records {
            let tp = TopicPartition(r.topic, r.partition)
            if let end = remaining[tp], r.offset >= end - 1 { remaining[tp] = nil }
        }
    }

    /// Notes the consumer's positions (next offset it hands out) of unfinished partitions.
    public mutating func reached(_ positions: [TopicPartition: Int64]) {
        for (tp, position) in positions where position >= (remaining[tp] ?? .max) { remaining[tp] = nil }
    }
}
