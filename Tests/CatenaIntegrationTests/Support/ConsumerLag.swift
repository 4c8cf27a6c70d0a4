import Catena
import Foundation

/// A consumer group's lag on a topic: high watermarks minus committed offsets, summed over partitions.
enum ConsumerLag {
    static func of(group: String, topic: String) async throws -> Int64 {
        try await BlockingQueue(label: "catena.tests.lag").run {
            let consumer = try KafkaConsumer(settings: IntegrationEnvironment.settings, groupID: group)
            let partitions = (0..<Int32(try consumer.partitionCount(topic))).map { TopicPartition(topic, $0) }
            let committed = try consumer.committedOffsets(partitions)
            return try partitions.reduce(Int64(0)) { sum, tp in
                let high = try consumer.watermarks(tp).high
                return sum + max(0, high - (committed[tp] ?? 0))
            }
        }
    }

    /// Waits until the group's lag on `topic` is 0.
    static func waitForZero(group: String, topic: String, seconds: Double) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        var last: Int64 = -1
        while Date() < deadline {
            last = try await of(group: group, topic: topic)
            if last == 0 { return }
            try await Task.sleep(nanoseconds: 100_000_000)  // re-check every 100 ms until the deadline
        }
        throw Wait.Timeout(description: "lag of \(group) on \(topic) still \(last) after \(seconds) s")
    }
}
