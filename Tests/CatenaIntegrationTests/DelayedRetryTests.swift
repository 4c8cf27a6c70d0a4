import Catena
import Foundation
import Testing

/// Retries longer than `in_place_max` go through `<chain>.<step>.retry`: other keys of the same partition
/// keep flowing, later records of the failing key wait behind it in order, across a kill -9, and a record
/// that runs out of attempts there reaches the DLQ byte-for-byte and releases its key.
@Suite("Delayed retries", .serialized)
struct DelayedRetryTests {
    static func text(_ r: ConsumedRecord) -> String { String(decoding: r.value ?? [], as: UTF8.self) }
    static func key(_ r: ConsumedRecord) -> String { String(decoding: r.key ?? [], as: UTF8.self) }

    /// The group's committed offset of `tp` (0 when none), read off the cooperative pool.
    static func committed(group: String, _ tp: TopicPartition) async throws -> Int64 {
        try await BlockingQueue(label: "catena.tests.committed").run {
            try KafkaConsumer(settings: IntegrationEnvironment.settings, groupID: group).committedOffsets([tp])[tp] ?? 0
        }
    }

    static func flakyChain(prefix: String, needle: String, failAttempts: Int, retry: String) async throws -> TestChain {
        try await TestChain.make(prefix: prefix, partitions: 1, steps: [("flaky", "builtin.flaky")],
                                 stepExtra: ["flaky": "retry: {\(retry)}\nparams: {fail_attempts: \"\(failAttempts)\", needle: \"\(needle)\"}"])
    }

    @Test("A1 fails with a 3 s backoff: other keys on its partition complete meanwhile; A2 completes after A1", arguments: [DeliveryMode.exactlyOnce, .atLeastOnce])
    func otherKeysFlowWhileAKeyWaits(mode: DeliveryMode) async throws {
        let chain = try await Self.flakyChain(prefix: "delay", needle: "A1", failAttempts: 1,
                                              retry: "max_attempts: 3, initial_backoff: 3s, in_place_max: 500ms")
        defer { chain.signalStop() }
        try await chain.startAllWorkers(arguments: ["--delivery", mode.rawValue])
        let topic = chain.definition.entryTopic
        let sent = Date()
        _ = try await TestProducer.send(
            [OutgoingRecord(topic: topic, key: Array("A".utf8), value: Array("A1".utf8))]
            + (1...5).map { OutgoingRecord(topic: topic, key: Array("B\($0)".utf8), value: Array("b\($0)".utf8)) }
            + [OutgoingRecord(topic: topic, key: Array("A".utf8), value: Array("A2".utf8))])

        let out = try await TopicReader.make([chain.definition.outputTopic]).read(until: "7 outputs", seconds: 60) { $0.count >= 7 }
        let values = out.map(Self.text)
        #expect(values.count == 7, "each once: \(values)")
        let a1 = try #require(values.firstIndex(of: "A1")), a2 = try #require(values.firstIndex(of: "A2"))
        #expect(a1 < a2, "A2 after A1: \(values)")
        #expect(Array(values.prefix(5)) == (1...5).map { "b\($0)" }, "the other keys of the partition completed first, in order: \(values)")
        let completedAt = { (i: Int) in Double(out[i].timestampMs) / 1000 - sent.timeIntervalSince1970 }
        let lastB = (0..<out.count).filter { values[$0].hasPrefix("b") }.map(completedAt).max() ?? .infinity
        #expect(lastB < 2.0, "other keys did not wait for A1's 3 s backoff (last done after \(lastB) s)")
        #expect(completedAt(a1) >= 2.9, "A1 ran again after its backoff (\(completedAt(a1)) s)")
        #expect(out[a1].header(HeaderNames.attempt) == "2")
        #expect(out[a2].header(HeaderNames.attempt) == "1", "A2 waited without running")
        #expect(!out.contains { $0.headers.contains { HeaderNames.isRetryHeader($0.name) } }, "delay-path headers stay on the delay path")

        let retry = try await TopicReader.make([chain.definition.retryTopic(of: "flaky")]).read(until: "A1 and A2 on the delay path") { $0.count >= 2 }
        #expect(retry.map(Self.text) == ["A1", "A2"])
        #expect(retry.map { $0.header(HeaderNames.retryReason) } == ["failed", "waiting"])
        #expect(retry.allSatisfy { $0.partition == 0 })
        try await ConsumerLag.waitForZero(group: chain.definition.consumerGroup(of: "flaky"), topic: topic, seconds: 30)
        // The retry partition's offsets are committed in the step's group with the input's (past both records;
        // a transaction's end marker may follow them).
        let group = chain.definition.consumerGroup(of: "flaky"), retryPartition = TopicPartition(chain.definition.retryTopic(of: "flaky"), 0)
        let deadline = Date().addingTimeInterval(30)
        while try await Self.committed(group: group, retryPartition) < retry[1].offset + 1 {
            if Date() > deadline { throw Wait.Timeout(description: "the retry partition's offset was not committed past A2 within 30 s") }
            try await Task.sleep(nanoseconds: 100_000_000)  // re-check every 100 ms until the deadline
        }
        #expect(await chain.stop().values.allSatisfy { $0 == 0 }, "workers exit 0 on SIGTERM")
    }

    @Test("kill -9 while A1 waits on the delay path: after a restart A1, A2 and a new A3 complete once each, in order")
    func orderSurvivesAKill() async throws {
        let chain = try await Self.flakyChain(prefix: "delaykill", needle: "A1", failAttempts: 1,
                                              retry: "max_attempts: 3, initial_backoff: 25s, max_backoff: 30s, in_place_max: 500ms")
        defer { chain.signalStop() }
        try await chain.startAllWorkers()
        let topic = chain.definition.entryTopic
        _ = try await TestProducer.send(["A1", "A2"].map { OutgoingRecord(topic: topic, key: Array("A".utf8), value: Array($0.utf8)) }
                                        + [OutgoingRecord(topic: topic, key: Array("B".utf8), value: Array("B1".utf8))])
        let output = try await TopicReader.make([chain.definition.outputTopic])
        try await output.read(until: "B1 completes") { $0.map(Self.text).contains("B1") }
        try await TopicReader.make([chain.definition.retryTopic(of: "flaky")]).read(until: "A1 and A2 on the delay path") { $0.count >= 2 }

        let pid = try #require(chain.runningWorker(step: "flaky")).pid
        kill(pid, SIGKILL)
        try await chain.startWorker("flaky", instance: 1)
        // The new worker rebuilt the delay path's bookkeeping: A3 waits behind A1 although A1 is not due yet.
        _ = try await TestProducer.send([OutgoingRecord(topic: topic, key: Array("A".utf8), value: Array("A3".utf8)),
                                         OutgoingRecord(topic: topic, key: Array("C".utf8), value: Array("C1".utf8))])
        let out = try await output.read(until: "A1, A2, A3 and C1 complete", seconds: 90) { rs in
            Set(rs.map(Self.text)).isSuperset(of: ["A1", "A2", "A3", "C1"])
        }
        let values = out.map(Self.text)
        var counts: [String: Int] = [:]
        for v in values { counts[v, default: 0] += 1 }
        #expect(counts == ["A1": 1, "A2": 1, "A3": 1, "B1": 1, "C1": 1], "nothing lost or doubled: \(values)")
        #expect(values.filter { $0.hasPrefix("A") } == ["A1", "A2", "A3"], "key A in order: \(values)")
        #expect(values.firstIndex(of: "C1")! < values.firstIndex(of: "A1")!, "C1 did not wait for A1: \(values)")
        let codes = await chain.stop()
        #expect(codes.values.filter { $0 != 0 && $0 != 128 + SIGKILL }.isEmpty, "the restarted worker exits cleanly: \(codes)")
    }

    @Test("a second worker joins while A1 and Z1 wait on the delay path: the partition that moves is rebuilt by its new owner, and order holds")
    func orderSurvivesARebalance() async throws {
        let chain = try await TestChain.make(prefix: "delaymove", partitions: 2, steps: [("flaky", "builtin.flaky")],
                                             stepExtra: ["flaky": "retry: {max_attempts: 3, initial_backoff: 25s, max_backoff: 30s, in_place_max: 500ms}\nparams: {fail_attempts: \"1\", needle: \"-first\"}"])
        defer { chain.signalStop() }
        try await chain.startAllWorkers()
        let topic = chain.definition.entryTopic
        // A's records on partition 0, Z's on partition 1: whichever partition moves to the new worker has a key waiting.
        let send = { (values: [(String, String, Int32)]) in
            _ = try await TestProducer.send(values.map { OutgoingRecord(topic: topic, partition: $0.2, key: Array($0.0.utf8), value: Array($0.1.utf8)) })
        }
        try await send([("A", "A1-first", 0), ("Z", "Z1-first", 1), ("B", "B1", 0)])
        let output = try await TopicReader.make([chain.definition.outputTopic])
        try await output.read(until: "B1 completes") { $0.map(Self.text).contains("B1") }
        try await TopicReader.make([chain.definition.retryTopic(of: "flaky")]).read(until: "A1 and Z1 on the delay path") { $0.count >= 2 }

        let second = try await chain.startWorker("flaky", instance: 2)
        try await send([("A", "A2", 0), ("Z", "Z2", 1)])
        let out = try await output.read(until: "A1, A2, Z1, Z2 complete", seconds: 90) { rs in
            Set(rs.map(Self.text)).isSuperset(of: ["A1-first", "A2", "Z1-first", "Z2"])
        }
        let values = out.map(Self.text)
        #expect(values.sorted() == ["A1-first", "A2", "B1", "Z1-first", "Z2"], "each once: \(values)")
        #expect(values.filter { $0.hasPrefix("A") } == ["A1-first", "A2"], "key A in order: \(values)")
        #expect(values.filter { $0.hasPrefix("Z") } == ["Z1-first", "Z2"], "key Z in order: \(values)")
        let log = (try? String(contentsOfFile: second.logPath, encoding: .utf8)) ?? ""
        #expect(log.contains("found 1 waiting record(s)"), "the new worker found the moved partition's waiting record")
        #expect(await chain.stop().values.allSatisfy { $0 == 0 }, "workers exit 0 on SIGTERM")
    }

    @Test("a retry topic with fewer partitions than the input: those partitions retry in place, the others use the delay path")
    func missingRetryPartitionRetriesInPlace() async throws {
        let name = IntegrationEnvironment.uniqueName("delayfew")
        // The retry topic exists already with 1 partition; the chain's input gets 2.
        try await BlockingQueue(label: "delayfew.topics").run {
            _ = try KafkaAdmin(settings: IntegrationEnvironment.settings).createTopics([KafkaAdmin.TopicSpec(name: "\(name).flaky.retry", partitions: 1, replicationFactor: 1)])
        }
        let chain = try await TestChain.make(yaml: """
            chain: \(name)
            partitions: 2
            steps:
              - name: flaky
                function: builtin.flaky
                retry: {max_attempts: 3, initial_backoff: 2s, in_place_max: 500ms}
                params: {fail_attempts: "1", needle: "-first"}
            """)
        defer { chain.signalStop() }
        try await chain.startAllWorkers()
        let topic = chain.definition.entryTopic
        _ = try await TestProducer.send([OutgoingRecord(topic: topic, partition: 0, key: Array("P".utf8), value: Array("P0-first".utf8)),
                                         OutgoingRecord(topic: topic, partition: 1, key: Array("Q".utf8), value: Array("Q1-first".utf8))])
        let out = try await TopicReader.make([chain.definition.outputTopic]).read(until: "both complete") { $0.count >= 2 }
        #expect(Set(out.map(Self.text)) == ["P0-first", "Q1-first"])
        #expect(out.allSatisfy { $0.header(HeaderNames.attempt) == "2" })
        let retry = try await TopicReader.make([chain.definition.retryTopic(of: "flaky")]).read(until: "P0 on the delay path") { !$0.isEmpty }
        #expect(retry.map(Self.text) == ["P0-first"], "only partition 0 has a retry partition")
        #expect(await chain.stop().values.allSatisfy { $0 == 0 }, "workers exit 0 on SIGTERM")
    }

    @Test("a record out of attempts on the delay path reaches the DLQ byte-for-byte, and the next record of its key is released")
    func exhaustedOnTheDelayPath() async throws {
        let chain = try await Self.flakyChain(prefix: "delaydlq", needle: "X1", failAttempts: 9,
                                              retry: "max_attempts: 2, initial_backoff: 1s, in_place_max: 200ms")
        defer { chain.signalStop() }
        try await chain.startAllWorkers()
        let topic = chain.definition.entryTopic
        let headers = [KafkaHeader("x-tenant", text: "a"), KafkaHeader("x-tenant", text: "b"), KafkaHeader("x-null", nil), KafkaHeader("x-bin", [0, 1, 2, 255])]
        let value: [UInt8] = [0xff, 0x00] + Array("X1".utf8) + [0x80]
        let key: [UInt8] = [0x00, 0x58]
        let reports = try await TestProducer.send([
            OutgoingRecord(topic: topic, key: key, value: value, headers: headers),
            OutgoingRecord(topic: topic, key: key, value: Array("X2".utf8)),
        ])
        let dlq = try await TopicReader.make([chain.definition.deadLetterTopic]).read(until: "X1's dead letter") { !$0.isEmpty }
        let out = try await TopicReader.make([chain.definition.outputTopic]).read(until: "X2 completes") { !$0.isEmpty }
        #expect(dlq.count == 1)
        let letter = dlq[0]
        #expect(letter.key == key && letter.value == value, "key and value byte-for-byte")
        #expect(Array(letter.headers.prefix(headers.count)) == headers, "original headers first, in order, duplicates and nulls kept")
        #expect(!letter.headers.contains { HeaderNames.isRetryHeader($0.name) }, "no delay-path headers")
        #expect(letter.header(HeaderNames.errorKind) == "retries-exhausted")
        #expect(letter.header(HeaderNames.errorAttempts) == "2")
        #expect(letter.header(HeaderNames.errorMessage)?.contains("attempt 2") == true)
        #expect(letter.header(HeaderNames.errorFirstFailure) != nil && letter.header(HeaderNames.errorTime) != nil)
        #expect(letter.header(HeaderNames.originTopic) == topic)
        #expect(letter.header(HeaderNames.originPartition) == String(reports[0].partition))
        #expect(letter.header(HeaderNames.originOffset) == String(reports[0].offset))
        #expect(out.count == 1 && Self.text(out[0]) == "X2")
        #expect(out[0].timestampMs >= letter.timestampMs, "X2 was released by X1's dead letter, not before")
        #expect(await chain.stop().values.allSatisfy { $0 == 0 }, "workers exit 0 on SIGTERM")
    }
}
