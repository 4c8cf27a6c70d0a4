import Catena
import Foundation
import Testing

/// Offsets move past every record, a retried record keeps its key's order, and workers joining and leaving
/// under load lose nothing.
@Suite("Ordering and lag", .serialized)
struct OrderingAndLagTests {
    @Test("not-json ord-1 is dead-lettered byte-identical, ord-2 completes, and consumer lag returns to 0")
    func badRecordThenGoodOneLagReturnsToZero() async throws {
        let chain = try await TestChain.make(prefix: "lag", partitions: 2, steps: [("json", "builtin.json")])
        defer { chain.signalStop() }
        try await chain.startAllWorkers()
        let bad: [UInt8] = Array("not-json{".utf8)
        _ = try await TestProducer.send([
            OutgoingRecord(topic: chain.definition.entryTopic, key: Array("ord-1".utf8), value: bad, headers: [KafkaHeader("x-source", text: "test")]),
            OutgoingRecord(topic: chain.definition.entryTopic, key: Array("ord-2".utf8), value: Array(#"{"n":2}"#.utf8)),
        ])
        let dlq = try await TopicReader.make([chain.definition.deadLetterTopic]).read(until: "ord-1's dead letter") { !$0.isEmpty }
        #expect(dlq[0].key == Array("ord-1".utf8) && dlq[0].value == bad && dlq[0].headers.first == KafkaHeader("x-source", text: "test"))
        #expect(dlq[0].header(HeaderNames.originTopic) == chain.definition.entryTopic && dlq[0].header(HeaderNames.errorKind) == "fatal")
        let out = try await TopicReader.make([chain.definition.outputTopic]).read(until: "ord-2 completes") { !$0.isEmpty }
        #expect(out[0].key == Array("ord-2".utf8))
        try await ConsumerLag.waitForZero(group: chain.definition.consumerGroup(of: "json"), topic: chain.definition.entryTopic, seconds: 30)
        #expect(await chain.stop().values.allSatisfy { $0 == 0 })
    }

    @Test("at-least-once: batches that come within the commit interval of each other are committed once traffic stops")
    func atLeastOnceCommitsTheLastBatchesWhenIdle() async throws {
        let chain = try await TestChain.make(prefix: "idlecommit", partitions: 1, steps: [("pass", "builtin.identity")])
        defer { chain.signalStop() }
        try await chain.startAllWorkers(arguments: ["--delivery", "at-least-once"])
        // Bursts a few ms apart: the first batch commits, the later ones fall inside the 100 ms commit interval
        // and must still be committed when nothing more arrives.
        var sent = 0
        for burst in 0..<5 {
            _ = try await TestProducer.send((0..<20).map { OutgoingRecord(topic: chain.definition.entryTopic, key: Array("b\(burst)-\($0)".utf8), value: Array("x".utf8)) })
            sent += 20
        }
        let out = try await TopicReader.make([chain.definition.outputTopic]).read(until: "every output") { Set($0.compactMap(\.key)).count >= sent }
        #expect(Set(out.compactMap(\.key)).count == sent)
        try await ConsumerLag.waitForZero(group: chain.definition.consumerGroup(of: "pass"), topic: chain.definition.entryTopic, seconds: 10)
        #expect(await chain.stop().values.allSatisfy { $0 == 0 })
    }

    @Test("same key: seq1 ok, seq2 fails its first attempt, seq3 ok: nothing skipped, order kept")
    func retriedRecordKeepsItsKeysOrder() async throws {
        let chain = try await TestChain.make(prefix: "order", partitions: 1, steps: [("flaky", "builtin.flaky")],
                                             stepExtra: ["flaky": "retry: {max_attempts: 3, initial_backoff: 300ms}\nparams: {fail_attempts: \"1\", needle: \"seq2\"}"])
        defer { chain.signalStop() }
        try await chain.startAllWorkers()
        _ = try await TestProducer.send(["seq1", "seq2", "seq3"].map {
            OutgoingRecord(topic: chain.definition.entryTopic, key: Array("same".utf8), value: Array($0.utf8))
        })
        let out = try await TopicReader.make([chain.definition.outputTopic]).read(until: "3 outputs") { $0.count >= 3 }
        #expect(out.map { String(decoding: $0.value ?? [], as: UTF8.self) } == ["seq1", "seq2", "seq3"])
        #expect(out[1].header(HeaderNames.attempt) == "2", "seq2 succeeded on its second attempt")
        try await ConsumerLag.waitForZero(group: chain.definition.consumerGroup(of: "flaky"), topic: chain.definition.entryTopic, seconds: 30)
        #expect(await chain.stop().values.allSatisfy { $0 == 0 })
    }

    @Test("a second worker joins and leaves three times under steady load: lag returns to 0 each time, nothing lost")
    func joinAndLeaveUnderLoad() async throws {
        let chain = try await TestChain.make(prefix: "churn", partitions: 4, steps: [("work", "builtin.uppercase")])
        defer { chain.signalStop() }
        try await chain.startWorker("work", instance: 1)
        let group = chain.definition.consumerGroup(of: "work"), topic = chain.definition.entryTopic
        var sent = 0
        func sendSome(_ n: Int) async throws {
            _ = try await TestProducer.send((sent..<(sent + n)).map { OutgoingRecord(topic: topic, key: Array("k\($0)".utf8), value: Array("v\($0)".utf8)) })
            sent += n
        }
        for round in 1...3 {
            try await sendSome(300)
            let second = try await chain.startWorker("work", instance: 2, waitReady: false)
            try await sendSome(300)
            try await Wait.until("round \(round): the second worker takes partitions", seconds: 60,
                                 failIf: { second.isRunning ? nil : "worker 2 exited" }) {
                FileManager.default.fileExists(atPath: "\(IntegrationEnvironment.logs)/\(chain.definition.name)-work-2.ready")
            }
            try await sendSome(300)
            second.signal(SIGTERM)
            #expect(await Wait.exit(of: second, seconds: 30) && second.exitStatus == 0, "round \(round): worker 2 leaves cleanly")
            try await sendSome(300)
            try await ConsumerLag.waitForZero(group: group, topic: topic, seconds: 60)
        }
        let out = try await TopicReader.make([chain.definition.outputTopic]).read(until: "every record's output") { Set($0.compactMap(\.key)).count >= sent }
        #expect(Set(out.compactMap(\.key)).count == sent, "none lost")
        #expect(await chain.stop().values.allSatisfy { $0 == 0 })
    }
}
