import Catena
import Foundation

/// Reads every partition of topics from the beginning (read_committed), without a consumer group.
/// Polls run on a `BlockingQueue`, off Swift's cooperative pool.
final class TopicReader: @unchecked Sendable {
    private let consumer: KafkaConsumer
    private let io = BlockingQueue(label: "catena.tests.reader")
    private(set) var records: [ConsumedRecord] = []

    private init(consumer: KafkaConsumer) { self.consumer = consumer }

    static func make(_ topics: [String]) async throws -> TopicReader {
        let consumer = try KafkaConsumer(settings: IntegrationEnvironment.settings, groupID: nil)
        try await BlockingQueue(label: "catena.tests.reader.assign").run {
            var partitions: [TopicPartition] = []
            for t in topics {
                let n = try consumer.partitionCount(t)
                partitions += (0..<Int32(max(n, 1))).map { TopicPartition(t, $0) }
            }
            try consumer.assign(partitions, from: [:])
        }
        return TopicReader(consumer: consumer)
    }

    /// Reads until `condition(records)` holds, failing after `seconds`.
    @discardableResult
    func read(until what: String, seconds: Double = 60, _ condition: ([ConsumedRecord]) -> Bool) async throws -> [ConsumedRecord] {
        let deadline = Date().addingTimeInterval(seconds)
        let consumer = self.consumer
        while !condition(records) {
            if Date() > deadline { throw Wait.Timeout(description: "timed out after \(seconds) s waiting for \(what); have \(records.count) records") }
            records += await io.run { consumer.poll(maxRecords: 5000, timeoutMs: 100) }
        }
        return records
    }
}

/// Produces raw records (any key, headers and value) with the engine's producer and waits for the acks.
enum TestProducer {
    static func send(properties: [String: String] = [:], _ records: [OutgoingRecord]) async throws -> [DeliveryReport] {
        let producer = try KafkaProducer(settings: IntegrationEnvironment.settings, properties: properties)
        let reports = await producer.send(records)
        for (i, r) in reports.enumerated() where !r.succeeded {
            throw Wait.Timeout(description: "record \(i) was refused: \(r.errorMessage)")
        }
        return reports
    }
}
