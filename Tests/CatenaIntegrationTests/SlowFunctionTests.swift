import Catena
import Foundation
import Testing

/// A function call that outlasts `max.poll.interval.ms` (issue 3, case 6): the worker keeps polling with its
/// partitions paused while the call runs, so the group never evicts it and nothing is processed twice; a
/// call that hangs past the step's timeout is abandoned, retried per the policy and dead-lettered as `timeout`.
@Suite("Slow and hung functions", .serialized)
struct SlowFunctionTests {
    /// Shorter than the slow call, so only the keep-alive polls keep the worker in its group.
    static let pollInterval = ["--kafka-property", "max.poll.interval.ms=10000"]

    /// Lines of a worker log that show it was evicted or lost partitions. librdkafka logs
    /// `MAXPOLL ... Application maximum poll interval (10000ms) exceeded by N ms (adjust max.poll.interval.ms
    /// for long-running message processing): leaving group`, and the worker logs the consumer error that
    /// follows as `consumer: Local: Maximum application poll interval (max.poll.interval.ms) exceeded`; an
    /// evicted at-least-once worker's next commit fails (`COMMITFAIL ... Broker: Unknown member`) and the
    /// batch is read again. (Seen with the keep-alive poll disabled: the checks below then fail.)
    static func evictionLines(_ log: String) -> [Substring] {
        log.split(separator: "\n").filter { line in
            let l = line.lowercased()
            return l.contains("maximum poll interval") || l.contains("maximum application poll interval") || l.contains("maxpoll")
                || l.contains("leaving group") || l.contains("commitfail") || l.contains("unknown member")
                || l.contains("revoked") || l.contains("assignment lost") || l.contains("rebalanc")
        }
    }

    /// Records on partition 0 (the slow or hung one first, then `fast` fast ones) and 3 fast ones on each of
    /// partitions 1 and 2; every record has its own key, so its own correlation ID.
    static func records(_ topic: String, first: (key: String, value: String), fast: Int) -> [OutgoingRecord] {
        var records = [OutgoingRecord(topic: topic, partition: 0, key: Array(first.key.utf8), value: Array(first.value.utf8))]
        records += (1...fast).map { OutgoingRecord(topic: topic, partition: 0, key: Array("p0-fast-\($0)".utf8), value: Array("quick \($0)".utf8)) }
        for p in 1...2 {
            records += (1...3).map { OutgoingRecord(topic: topic, partition: Int32(p), key: Array("p\(p)-fast-\($0)".utf8), value: Array("quick \($0)".utf8)) }
        }
        return records
    }

    /// The coordinator's newest snapshot once `done` holds for it (or the last one seen after `seconds`).
    static func snapshot(_ chain: ChainDefinition, seconds: Double, until done: (StatusSnapshot) -> Bool) async throws -> StatusSnapshot {
        let status = try await BlockingQueue(label: "test.status").run { try StatusReader(chain: chain, settings: IntegrationEnvironment.settings) }
        var last: StatusSnapshot?
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let s = await status.next(timeoutSeconds: 2) { last = s }
            if let s = last, done(s) { break }
        }
        return try #require(last, "the coordinator published a snapshot")
    }

    static func key(_ r: ConsumedRecord) -> String { String(decoding: r.key ?? [], as: UTF8.self) }

    @Test("a 15 s call with max.poll.interval.ms 10 s, then 10 fast records: each completes once, no eviction, lag 0",
          arguments: ["exactly-once", "at-least-once"])
    func slowCallDoesNotGetTheWorkerEvicted(delivery: String) async throws {
        let chain = try await TestChain.make(yaml: """
            chain: \(IntegrationEnvironment.uniqueName("slowcall"))
            partitions: 3
            steps:
              - name: nap
                function: builtin.sleep
                timeout: 30
                params: {ms: "15000", needle: "slow"}
            """)
        defer { chain.signalStop() }
        let d = chain.definition
        let worker = try await chain.startWorker("nap", arguments: ["--delivery", delivery] + Self.pollInterval)
        _ = try chain.startCoordinator()
        let records = Self.records(d.entryTopic, first: ("p0-slow", "slow"), fast: 10)
        let sentAt = Date()
        _ = try await TestProducer.send(records)

        // While the slow call runs, the worker's heartbeat (its ready file) stays fresh.
        let readyFile = chain.readyFile("nap", 1)
        var oldestHeartbeat = 0.0, missing = 0, sawBusy = false
        let reader = try await TopicReader.make([d.outputTopic])
        let slowDone = { (out: [ConsumedRecord]) in out.contains { Self.key($0) == "p0-slow" } }
        let deadline = Date().addingTimeInterval(60)
        while !slowDone(reader.records) {
            if Date() > deadline { throw Wait.Timeout(description: "no output for the slow record after 60 s") }
            if let attributes = try? FileManager.default.attributesOfItem(atPath: readyFile), let written = attributes[.modificationDate] as? Date {
                oldestHeartbeat = max(oldestHeartbeat, Date().timeIntervalSince(written))
                if !sawBusy, let text = try? String(contentsOfFile: readyFile, encoding: .utf8) { sawBusy = text.hasPrefix("busy") }
            } else {
                missing += 1
            }
            let seen = reader.records.count
            _ = try? await reader.read(until: "more output", seconds: 0.25) { $0.count > seen || slowDone($0) }
        }
        let slowTook = Date().timeIntervalSince(sentAt)
        #expect(slowTook >= 15, "the slow call ran its 15 s (\(slowTook) s)")
        #expect(sawBusy && missing == 0 && oldestHeartbeat < 8, "heartbeat: busy seen \(sawBusy), missing \(missing) times, oldest \(oldestHeartbeat) s")

        let out = try await reader.read(until: "all \(records.count) outputs", seconds: 60) { Set($0.map(Self.key)).count >= records.count }
        // Whatever else arrives late (a reprocessed record) must show up within a few polls: wait for the lag first.
        try await ConsumerLag.waitForZero(group: d.consumerGroup(of: "nap"), topic: d.entryTopic, seconds: 30)
        let perKey = Dictionary(grouping: out, by: Self.key).mapValues(\.count)
        #expect(perKey.count == records.count && perKey.values.allSatisfy { $0 == 1 }, "each record's output exactly once: \(perKey.filter { $0.value != 1 })")
        let slow = try #require(out.first { Self.key($0) == "p0-slow" })
        #expect(slow.value == Array("slow".utf8) && slow.header(HeaderNames.attempt) == "1", "the slow call ran once and succeeded")
        // Partition 0's outputs spread over the output topic's partitions by key; their produce times show the order.
        let p0 = (["p0-slow"] + (1...10).map { "p0-fast-\($0)" }).compactMap { k in out.first { Self.key($0) == k }?.timestampMs }
        #expect(p0.count == 11 && p0 == p0.sorted(), "partition 0's records complete in order, the slow one first: \(p0)")

        let s = try await Self.snapshot(d, seconds: 30) { $0.started == records.count && $0.completed == records.count && $0.inFlight == 0 }
        #expect(s.started == records.count && s.completed == records.count && s.failed == 0 && s.inFlight == 0 && s.unmatchedOutcomes == 0,
                "one outcome per execution, the slow one included: \(s)")

        #expect(worker.isRunning, "the worker kept running")
        let log = try String(contentsOfFile: worker.logPath, encoding: .utf8)
        #expect(log.contains("a call is running long"), "the worker kept polling while the call ran")
        #expect(Self.evictionLines(log).isEmpty, "no eviction or rebalance: \(Self.evictionLines(log))")
        #expect(!log.contains("transaction aborted") && !log.contains("rewinding"), "no batch processed again")
        let codes = await chain.stop()
        #expect(codes.values.allSatisfy { $0 == 0 }, "\(codes)")
    }

    @Test("a hung call (60 s, step timeout 3 s) is abandoned, retried, dead-lettered as timeout; the others complete; no eviction")
    func hungCallIsAbandonedAndDeadLettered() async throws {
        let chain = try await TestChain.make(yaml: """
            chain: \(IntegrationEnvironment.uniqueName("hungcall"))
            partitions: 3
            steps:
              - name: nap
                function: builtin.sleep
                timeout: 3
                retry: {max_attempts: 3, initial_backoff: 1s, backoff_rate: 2}
                params: {ms: "60000", needle: "hung"}
            """)
        defer { chain.signalStop() }
        let d = chain.definition
        // 3 attempts of 3 s plus 1 s and 2 s of backoff: the record holds the worker about 12 s, past the 10 s poll interval.
        let worker = try await chain.startWorker("nap", arguments: Self.pollInterval)
        _ = try chain.startCoordinator()
        let records = Self.records(d.entryTopic, first: ("p0-hung", "hung"), fast: 5)
        let sentAt = Date()
        _ = try await TestProducer.send(records)

        let dlq = try await TopicReader.make([d.deadLetterTopic]).read(until: "the hung record's dead letter", seconds: 60) { !$0.isEmpty }
        let took = Date().timeIntervalSince(sentAt)
        let letter = try #require(dlq.first)
        #expect(Self.key(letter) == "p0-hung" && letter.value == Array("hung".utf8))
        #expect(letter.header(HeaderNames.errorKind) == "timeout" && letter.header(HeaderNames.errorAttempts) == "3", "\(letter.headers)")
        #expect(took >= 12 && took < 40, "abandoned at each 3 s timeout, not after the 60 s call (\(took) s)")

        let fastCount = records.count - 1
        let out = try await TopicReader.make([d.outputTopic]).read(until: "the \(fastCount) fast records' outputs", seconds: 60) {
            Set($0.map(Self.key)).count >= fastCount
        }
        try await ConsumerLag.waitForZero(group: d.consumerGroup(of: "nap"), topic: d.entryTopic, seconds: 30)
        let perKey = Dictionary(grouping: out, by: Self.key).mapValues(\.count)
        #expect(perKey.count == fastCount && perKey.values.allSatisfy { $0 == 1 } && perKey["p0-hung"] == nil,
                "each fast record's output exactly once, none for the hung one: \(perKey)")
        let dlqNow = try await TopicReader.make([d.deadLetterTopic]).read(until: "the dead letters so far", seconds: 10) { !$0.isEmpty }
        #expect(dlqNow.count == 1, "one dead letter in all: \(dlqNow.map(Self.key))")

        let s = try await Self.snapshot(d, seconds: 30) { $0.started == records.count && $0.inFlight == 0 && $0.failed == 1 }
        #expect(s.started == records.count && s.completed == fastCount && s.failed == 1 && s.inFlight == 0 && s.unmatchedOutcomes == 0, "\(s)")
        #expect(s.failures.map { "\($0.step)/\($0.kind)/\($0.count)" } == ["nap/timeout/1"], "\(s.failures)")

        #expect(worker.isRunning, "the worker kept running")
        let log = try String(contentsOfFile: worker.logPath, encoding: .utf8)
        #expect(log.contains("a call is running long"), "the worker kept polling while the call ran")
        #expect(Self.evictionLines(log).isEmpty, "no eviction or rebalance: \(Self.evictionLines(log))")
        let codes = await chain.stop()
        #expect(codes.values.allSatisfy { $0 == 0 }, "\(codes)")
    }
}
