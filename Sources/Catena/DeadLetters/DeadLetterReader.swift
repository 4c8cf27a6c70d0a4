import Foundation

/// Reads a dead-letter topic (`<chain>.dlq`, or its `.parked` topic) without a consumer group,
/// `read_committed`, with every blocking librdkafka call on a `BlockingQueue`.
///
/// Two modes:
/// - a **snapshot** (`snapshot(...)`): from the beginning (or a given offset) up to the end offsets
///   fixed when it opened; `nextBatch()` returns nil once every partition reached its end, so a record
///   written later (e.g. a redriven record that failed again) is never read;
/// - **follow** (`follow(...)`): from the current end (or the beginning) onwards, for as long as the caller polls.
public final class DeadLetterReader: @unchecked Sendable {
    /// The topic read.
    public let topic: String
    /// Its partition count (0 when the topic does not exist).
    public let partitionCount: Int
    private let consumer: KafkaConsumer?
    private let io = BlockingQueue(label: "catena.dlq.io")
    /// Snapshot mode: the offset each unfinished partition must reach.
    private let ends: Atomic<[Int32: Int64]>
    private let stallSeconds: Double

    private init(topic: String, partitionCount: Int, consumer: KafkaConsumer?, ends: [Int32: Int64], stallSeconds: Double) {
        self.topic = topic
        self.partitionCount = partitionCount
        self.consumer = consumer
        self.ends = Atomic(ends)
        self.stallSeconds = stallSeconds
    }

    /// Opens a snapshot of `topic`: `partitions` (all when nil) from `start` (the beginning for a partition
    /// not listed) to the high watermarks fixed now. A missing topic reads as empty.
    /// `stallSeconds`: how long to wait for a partition that makes no progress before throwing.
    public static func snapshot(topic: String, settings: KafkaSettings, partitions: [Int32]? = nil,
                                start: [Int32: Int64] = [:], stallSeconds: Double = 30) async throws -> DeadLetterReader {
        try await BlockingQueue(label: "catena.dlq.open").run {
            let consumer = try KafkaConsumer(settings: settings, groupID: nil)
            let count = try consumer.partitionCount(topic)
            var ends: [Int32: Int64] = [:]
            var assign: [TopicPartition] = []
            var from: [TopicPartition: StartOffset] = [:]
            for p in partitions ?? (0..<Int32(count)).map({ $0 }) where p >= 0 && Int(p) < count {
                let tp = TopicPartition(topic, p)
                let w = try consumer.watermarks(tp)
                let first = max(start[p] ?? w.low, w.low)
                guard first < w.high else { continue }  // nothing to read in this partition
                ends[p] = w.high
                assign.append(tp)
                from[tp] = .offset(first)
            }
            if !assign.isEmpty { try consumer.assign(assign, from: from) }
            return DeadLetterReader(topic: topic, partitionCount: count, consumer: assign.isEmpty ? nil : consumer, ends: ends, stallSeconds: stallSeconds)
        }
    }

    /// Opens `topic` for following: every partition from its current end (high watermarks fixed now, so
    /// nothing written after this call is missed), or from the beginning.
    public static func follow(topic: String, settings: KafkaSettings, fromBeginning: Bool) async throws -> DeadLetterReader {
        try await BlockingQueue(label: "catena.dlq.open").run {
            let consumer = try KafkaConsumer(settings: settings, groupID: nil)
            let count = try consumer.partitionCount(topic)
            guard count > 0 else { throw CatenaError.failure("topic \(topic) does not exist (create the chain's topics with `catena topics`)") }
            var assign: [TopicPartition] = []
            var from: [TopicPartition: StartOffset] = [:]
            for p in 0..<Int32(count) {
                let tp = TopicPartition(topic, p)
                assign.append(tp)
                from[tp] = fromBeginning ? .beginning : .offset(try consumer.watermarks(tp).high)
            }
            try consumer.assign(assign, from: from)
            return DeadLetterReader(topic: topic, partitionCount: count, consumer: consumer, ends: [:], stallSeconds: 0)
        }
    }

    /// Snapshot mode: the next records (possibly an empty batch while waiting), or nil once every partition
    /// has reached the end offset fixed at open. Throws when a partition makes no progress for `stallSeconds`
    /// (e.g. an open transaction that is never committed).
    public func nextBatch() async throws -> [ConsumedRecord]? {
        guard let consumer, !ends.load().isEmpty else { return nil }
        let topic = self.topic, ends = self.ends
        let started = Date()
        while true {
            let batch: [ConsumedRecord] = await io.run {
                let records = consumer.poll(maxRecords: 1000, timeoutMs: 200)
                var remaining = ends.load()
                var kept: [ConsumedRecord] = []
                for r in records {
                    guard let end = remaining[r.partition] else { continue }
                    if r.offset < end { kept.append(r) }
                    if r.offset >= end - 1 { remaining[r.partition] = nil }
                }
                // Transaction markers are never handed out, so a partition ending in one is finished when
                // the consumer's position has passed the end.
                let open = remaining.keys.map { TopicPartition(topic, $0) }
                for (tp, position) in consumer.positions(open) where position >= (remaining[tp.partition] ?? .max) {
                    remaining[tp.partition] = nil
                }
                ends.store(remaining)
                return kept
            }
            if !batch.isEmpty { return batch }
            let remaining = ends.load()
            if remaining.isEmpty { return nil }
            if Date().timeIntervalSince(started) > stallSeconds {
                let where_ = remaining.keys.sorted().map { "partition \($0) (end \(remaining[$0]!))" }.joined(separator: ", ")
                throw CatenaError.timeout("reading \(topic): no progress for \(Int(stallSeconds)) s on \(where_)")
            }
        }
    }

    /// Snapshot mode: every record up to the fixed end offsets.
    public func readAll() async throws -> [ConsumedRecord] {
        var all: [ConsumedRecord] = []
        while let batch = try await nextBatch() { all += batch }
        return all
    }

    /// Follow mode: records that arrive within `timeoutMs` (possibly none).
    public func poll(timeoutMs: Int32 = 200) async -> [ConsumedRecord] {
        guard let consumer else { return [] }
        return await io.run { consumer.poll(maxRecords: 1000, timeoutMs: timeoutMs) }
    }

    /// Stops fetching (blocking; done on the reader's queue).
    public func close() async {
        guard let consumer else { return }
        await io.run { consumer.close() }
    }
}
