import Foundation

/// Reads the coordinator's status snapshots from `<chain>.status`.
public final class StatusReader: @unchecked Sendable {
    private let consumer: KafkaConsumer
    private let topic: String
    private let io = BlockingQueue(label: "catena.status.io")

    /// Starts reading from the latest snapshot already published (or from the first one to come).
    public init(chain: ChainDefinition, settings: KafkaSettings) throws {
        topic = chain.statusTopic
        consumer = try KafkaConsumer(settings: settings, groupID: nil)
        // Ask for the topic first: an unreachable broker fails here within seconds, with its address, instead of
        // reading as "no status yet"; a topic that does not exist yet is no status yet.
        let partitions: Int
        do { partitions = try consumer.partitionCount(topic, timeoutMs: 5000) } catch {
            throw CatenaError.failure("cannot reach the brokers at \(settings.brokers) to read \(topic): \(error)")
        }
        let tp = TopicPartition(topic, 0)
        let high = partitions > 0 ? ((try? consumer.watermarks(tp).high) ?? 0) : 0
        try consumer.assign([tp], from: [tp: high > 0 ? .offset(high - 1) : .beginning])
    }

    /// The newest snapshot that arrives within `timeoutSeconds`, or nil.
    public func next(timeoutSeconds: Double) async -> StatusSnapshot? {
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        let consumer = self.consumer
        while Date() < deadline {
            let records = await io.run { consumer.poll(maxRecords: 1000, timeoutMs: 200) }
            if let last = records.last(where: { $0.value != nil }), let snap = try? StatusSnapshot.decode(last.value!) { return snap }
        }
        return nil
    }
}
