import Catena
import Foundation
import Testing

/// Records that could stall a naive consumer: too large to forward or even to dead-letter, and functions
/// slow enough to outlast `max.poll.interval.ms` over a batch.
@Suite("Robustness", .serialized)
struct RobustnessTests {
    @Test("a record too large to forward or dead-letter becomes a DLQ stub, and the next record completes")
    func oversizeRecordBecomesAStub() async throws {
        let chain = try await TestChain.make(prefix: "big", partitions: 1, steps: [("pass", "builtin.identity")])
        defer { chain.signalStop() }
        try await chain.startAllWorkers()
        // 1.2 MB: the broker takes it from a client allowed to send that much, but Catena's producers are
        // capped at 1 MB (librdkafka's message.max.bytes), like a broker with Kafka's default limit.
        let big = [UInt8](repeating: 0x61, count: 1_200_000)
        _ = try await TestProducer.send(properties: ["message.max.bytes": "2000000"], [
            OutgoingRecord(topic: chain.definition.entryTopic, key: Array("big-1".utf8), value: big, headers: [KafkaHeader("x-tenant", text: "a")]),
            OutgoingRecord(topic: chain.definition.entryTopic, key: Array("small-1".utf8), value: Array("ok".utf8)),
        ])
        let out = try await TopicReader.make([chain.definition.outputTopic]).read(until: "the small record completes") { !$0.isEmpty }
        #expect(out.map(\.key) == [Array("small-1".utf8)])
        let dlq = try await TopicReader.make([chain.definition.deadLetterTopic]).read(until: "the big record's dead letter") { !$0.isEmpty }
        let stub = dlq[0]
        #expect(stub.key == Array("big-1".utf8))
        #expect(stub.value == nil, "a stub carries no value")
        #expect(stub.header(HeaderNames.errorTruncated) == "true")
        #expect(stub.header(HeaderNames.errorKind) == "too-large")
        #expect(stub.header(HeaderNames.errorOriginalValueSize) == String(big.count))
        #expect(stub.header(HeaderNames.originOffset) == "0")
        #expect(stub.header(HeaderNames.errorMessage)?.hasPrefix("output-rejected") == true)
        let worker = try #require(chain.runningWorker(step: "pass"), "the worker keeps running")
        #expect(worker.isRunning)
        let codes = await chain.stop()
        #expect(codes.values.allSatisfy { $0 == 0 }, "\(codes)")
    }

    @Test("a batch of slow records is cut short before max.poll.interval.ms: every record completes once, no endless reprocessing")
    func slowBatchesDoNotGetTheWorkerEvicted() async throws {
        let chain = try await TestChain.make(prefix: "slow", partitions: 1, steps: [("nap", "builtin.sleep")],
                                             stepExtra: ["nap": "params: {ms: \"500\"}"])
        defer { chain.signalStop() }
        try await chain.startAllWorkers(arguments: ["--delivery", "at-least-once", "--kafka-property", "max.poll.interval.ms=2400",
                                                   "--kafka-property", "session.timeout.ms=2000", "--kafka-property", "heartbeat.interval.ms=500"])
        let n = 20
        _ = try await TestProducer.send((0..<n).map { OutgoingRecord(topic: chain.definition.entryTopic, key: Array("s\($0)".utf8), value: Array("x".utf8)) })
        let reader = try await TopicReader.make([chain.definition.outputTopic])
        let out = try await reader.read(until: "all \(n) slow records complete", seconds: 90) { Set($0.compactMap(\.key)).count >= n }
        // 20 x 0.5 s with batches cut at 0.8 s: the worker never exceeds the 2.4 s poll interval, so nothing repeats.
        #expect(out.count == n, "\(out.count) outputs for \(n) records")
        let codes = await chain.stop()
        #expect(codes.values.allSatisfy { $0 == 0 }, "\(codes)")
        let log = try String(contentsOfFile: "\(IntegrationEnvironment.logs)/\(chain.definition.name)-nap-1.log", encoding: .utf8)
        #expect(log.contains("batch cut short"))
    }
}
