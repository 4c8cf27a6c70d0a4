import Catena
import Foundation
import Testing

/// Failures end on `<chain>.dlq` with the original record intact, and the worker keeps going.
@Suite("Dead letters", .serialized)
struct DeadLetterIntegrationTests {
    @Test("a poison record reaches the DLQ byte-for-byte with its key and headers, and the next record still completes")
    func poisonRecordIsDeadLetteredAndNextCompletes() async throws {
        let chain = try await TestChain.make(prefix: "poison", partitions: 3, steps: [("check", "builtin.json"), ("reject", "builtin.reject")])
        defer { chain.signalStop() }
        try await chain.startAllWorkers()
        let topic = chain.definition.entryTopic
        let binaryKey: [UInt8] = [0x00, 0xff] + Array("cust-42".utf8)
        let headers = [KafkaHeader("x-tenant", text: "a"), KafkaHeader("x-tenant", text: "b"), KafkaHeader("x-null", nil), KafkaHeader("x-bin", [0, 1, 2, 255]),
                       KafkaHeader(nameBytes: [0x78, 0xff, 0xfe], [3])]  // a name that is not UTF-8
        let broken: [UInt8] = Array("not-json{".utf8)
        let poison: [UInt8] = Array(#"{"msg":"poison"}"#.utf8)
        let reports = try await TestProducer.send([
            OutgoingRecord(topic: topic, key: Array("ord-1".utf8), value: broken, headers: headers),
            OutgoingRecord(topic: topic, key: binaryKey, value: poison, headers: headers),
            OutgoingRecord(topic: topic, key: Array("ord-2".utf8), value: Array(#"{"ok":true}"#.utf8)),
        ])

        let dlq = try await TopicReader.make([chain.definition.deadLetterTopic]).read(until: "2 dead letters") { $0.count >= 2 }
        let first = try #require(dlq.first { $0.key == Array("ord-1".utf8) })
        #expect(first.value == broken)
        #expect(Array(first.headers.prefix(headers.count)) == headers, "original headers first, in order, duplicates and nulls kept")
        #expect(first.header(HeaderNames.errorStep) == "check")
        #expect(first.header(HeaderNames.errorKind) == "fatal")
        #expect(first.header(HeaderNames.errorMessage)?.contains("not valid JSON") == true)
        #expect(first.header(HeaderNames.errorAttempts) == "1")
        #expect(first.header(HeaderNames.errorCorrelationID) == "ord-1")
        #expect(first.header(HeaderNames.originTopic) == topic)
        #expect(first.header(HeaderNames.originPartition) == String(reports[0].partition))
        #expect(first.header(HeaderNames.originOffset) == String(reports[0].offset))
        #expect(first.header(HeaderNames.errorTime) != nil && first.header(HeaderNames.errorWorker) != nil)

        let second = try #require(dlq.first { $0.key == binaryKey }, "binary key kept byte-for-byte")
        #expect(second.value == poison)
        #expect(second.header(HeaderNames.errorStep) == "reject")
        #expect(second.header(HeaderNames.errorCorrelationID) == "hex:00ff" + Array("cust-42".utf8).map { String(format: "%02x", $0) }.joined())
        #expect(second.headers.filter { $0.name == "x-tenant" }.map(\.text) == ["a", "b"], "user headers survive the hop to step 2 and the DLQ")

        let out = try await TopicReader.make([chain.definition.outputTopic]).read(until: "ord-2 completes") { rs in rs.contains { $0.key == Array("ord-2".utf8) } }
        #expect(out.count == 1)
        #expect(out[0].value == Array(#"{"ok":true}"#.utf8), "pass-through payload is not re-encoded")
        #expect(await chain.stop().values.allSatisfy { $0 == 0 }, "workers exit 0 on SIGTERM")
    }

    @Test("retryable failures are retried with backoff and then dead-lettered as retries-exhausted")
    func retriesThenDeadLetter() async throws {
        let chain = try await TestChain.make(prefix: "retry", partitions: 1, steps: [("flaky", "builtin.flaky")],
                                  stepExtra: ["flaky": "retry: {max_attempts: 3, initial_backoff: 50ms, backoff_rate: 2}\nparams: {fail_attempts: \"5\"}"])
        defer { chain.signalStop() }
        try await chain.startAllWorkers()
        _ = try await TestProducer.send([OutgoingRecord(topic: chain.definition.entryTopic, key: Array("r-1".utf8), value: Array("x".utf8))])
        let dlq = try await TopicReader.make([chain.definition.deadLetterTopic]).read(until: "a dead letter") { !$0.isEmpty }
        #expect(dlq[0].header(HeaderNames.errorKind) == "retries-exhausted")
        #expect(dlq[0].header(HeaderNames.errorAttempts) == "3")
        #expect(dlq[0].header(HeaderNames.errorMessage)?.contains("attempt 3") == true)
        #expect(await chain.stop().values.allSatisfy { $0 == 0 }, "workers exit 0 on SIGTERM")
    }

    @Test("a tombstone (null value) is dead-lettered as undecodable with its null value kept; an empty value completes")
    func nullAndEmptyValues() async throws {
        let chain = try await TestChain.make(prefix: "nulls", partitions: 1, steps: [("pass", "builtin.identity")])
        defer { chain.signalStop() }
        try await chain.startAllWorkers()
        _ = try await TestProducer.send([
            OutgoingRecord(topic: chain.definition.entryTopic, key: Array("null-1".utf8), value: nil),
            OutgoingRecord(topic: chain.definition.entryTopic, key: Array("empty-1".utf8), value: []),
        ])
        let dlq = try await TopicReader.make([chain.definition.deadLetterTopic]).read(until: "the tombstone's dead letter") { !$0.isEmpty }
        #expect(dlq[0].key == Array("null-1".utf8))
        #expect(dlq[0].value == nil, "null stays null")
        #expect(dlq[0].header(HeaderNames.errorKind) == "undecodable")
        let out = try await TopicReader.make([chain.definition.outputTopic]).read(until: "the empty record's output") { !$0.isEmpty }
        #expect(out[0].key == Array("empty-1".utf8))
        #expect(out[0].value == [], "empty stays empty, not null")
        #expect(await chain.stop().values.allSatisfy { $0 == 0 }, "workers exit 0 on SIGTERM")
    }
}
