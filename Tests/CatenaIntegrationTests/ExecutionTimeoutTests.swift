import Catena
import Foundation
import Testing

/// The chain-level deadline against a real broker and real processes: executions held at a step with no
/// worker past `execution_timeout` are published once each on `<chain>.timeouts` and reported by status; a
/// coordinator killed with SIGKILL and restarted publishes none of them again; their outcomes, once the step
/// gets a worker, count as late; executions that complete in time are never marked.
@Suite("Execution timeout", .serialized)
struct ExecutionTimeoutTests {
    static let timeoutSeconds = 3

    @Test("executions past the chain's deadline are timed out once, across a coordinator restart; late and in-time outcomes are told apart")
    func timedOutOnceAcrossRestarts() async throws {
        let chain = try await TestChain.make(yaml: """
            chain: \(IntegrationEnvironment.uniqueName("deadline"))
            partitions: 2
            execution_timeout: \(Self.timeoutSeconds)
            steps:
              - name: first
                function: builtin.identity
              - name: held
                function: builtin.identity
            """)
        defer { chain.signalStop() }
        let definition = chain.definition
        let coordinator = try chain.startCoordinator()
        try await chain.startWorker("first")

        // `held` has no worker yet: these executions wait on <chain>.held past their deadline.
        let stuck = ["stuck-1", "stuck-2", "stuck-3"]
        _ = try await TestProducer.send(stuck.map { OutgoingRecord(topic: definition.entryTopic, key: Array($0.utf8), value: Array("v".utf8)) })
        let timeouts = try await TopicReader.make([definition.timeoutsTopic])
        let events = try await timeouts.read(until: "3 timed-out events", seconds: 60) { $0.count >= 3 }
        #expect(events.compactMap { $0.key.map { String(decoding: $0, as: UTF8.self) } }.sorted() == stuck)
        for e in events {
            #expect(e.header("ce_specversion") == "1.0" && e.header("ce_type") == "catena.execution.timedout", "\(e.headers)")
            #expect(e.header("ce_correlationid") == e.key.map { String(decoding: $0, as: UTF8.self) } && e.header("catena_step") == "held")
            let t = try ExecutionTimeoutRecord.parse(e)
            #expect(t.lastStep == "held" && t.deadlineMs - t.entryMs == Int64(Self.timeoutSeconds) * 1000, "\(t)")
            #expect(e.timestampMs >= t.deadlineMs, "published after the deadline, not before: \(t)")
        }

        let status = try await BlockingQueue(label: "test.status").run { try StatusReader(chain: definition, settings: IntegrationEnvironment.settings) }
        let timedOut = try await Self.waitForStatus(status, "3 timed out, none in flight") { $0.timedOut == 3 && $0.inFlight == 0 }
        #expect(timedOut.started == 3 && timedOut.completed == 0 && timedOut.late == 0)
        #expect(timedOut.recentTimeouts.map(\.correlationID).sorted() == stuck && timedOut.recentTimeouts.allSatisfy { $0.lastStep == "held" })

        // Kill the coordinator and start another: it reads the published timeouts back and marks none again.
        kill(coordinator.pid, SIGKILL)
        #expect(await Wait.exit(of: coordinator, seconds: 10))
        let killedAtMs = Timestamp.nowMs()
        let restarted = try chain.startCoordinator()
        try await Wait.until("the restarted coordinator has replayed and armed its deadlines", seconds: 60,
                             failIf: { restarted.isRunning ? nil : "it exited; see \(restarted.logPath)" }) {
            ((try? String(contentsOfFile: restarted.logPath, encoding: .utf8)) ?? "").contains("deadlines armed")
        }
        // Its first snapshot comes after the replay and its first check of the deadlines.
        let replayed = try await Self.waitForStatus(status, "a snapshot of the restarted coordinator") { $0.updatedAtMs > killedAtMs }
        #expect(replayed.started == 3 && replayed.timedOut == 3 && replayed.inFlight == 0 && replayed.late == 0, "\(replayed)")
        #expect(try await Self.readToEnd(definition.timeoutsTopic).count == 3, "no event published again")

        // The held executions finish once `held` has a worker: late, not completed.
        try await chain.startWorker("held")
        let late = try await Self.waitForStatus(status, "3 late outcomes") { $0.late == 3 }
        #expect(late.completed == 0 && late.timedOut == 3 && late.unmatchedOutcomes == 0, "\(late)")

        // Executions that complete in time are not marked.
        let inTime = ["ok-1", "ok-2", "ok-3"]
        _ = try await TestProducer.send(inTime.map { OutgoingRecord(topic: definition.entryTopic, key: Array($0.utf8), value: Array("v".utf8)) })
        let final = try await Self.waitForStatus(status, "3 completed in time") { $0.completed == 3 && $0.inFlight == 0 }
        #expect(final.started == 6 && final.timedOut == 3 && final.late == 3 && final.failed == 0, "\(final)")

        // <chain>.timeouts still holds exactly one event per stuck execution (read to its current end).
        let all = try await Self.readToEnd(definition.timeoutsTopic)
        #expect(all.compactMap { $0.key.map { String(decoding: $0, as: UTF8.self) } }.sorted() == stuck, "\(all.count) events")

        // `catena status` shows them, with the step each was last seen at.
        let cli = try ChildProcess(name: "status", executable: IntegrationEnvironment.catena,
                                   arguments: ["status", "--chain", chain.path, "--brokers", IntegrationEnvironment.brokers],
                                   logPath: "\(IntegrationEnvironment.logs)/\(definition.name)-status.log")
        #expect(await Wait.exit(of: cli, seconds: 60) && cli.exitStatus == 0)
        let text = try String(contentsOfFile: cli.logPath, encoding: .utf8)
        #expect(text.contains("  timed out    3 (no outcome within \(Self.timeoutSeconds) s; 3 finished late)"), "\(text)")
        for id in stuck { #expect(text.contains("    \(id)\theld\t"), "\(text)") }
        #expect(!text.contains("ok-"), "\(text)")

        #expect(restarted.isRunning)
        let codes = await chain.stop()
        #expect(codes.filter { $0.key != coordinator.name }.values.allSatisfy { $0 == 0 }, "\(codes)")
    }

    /// The first snapshot that satisfies `condition`, waiting up to 60 s.
    static func waitForStatus(_ reader: StatusReader, _ what: String, _ condition: (StatusSnapshot) -> Bool) async throws -> StatusSnapshot {
        let deadline = Date().addingTimeInterval(60)
        var last: StatusSnapshot?
        while Date() < deadline {
            if let s = await reader.next(timeoutSeconds: 1) {
                last = s
                if condition(s) { return s }
            }
        }
        throw Wait.Timeout(description: "timed out after 60 s waiting for \(what); last snapshot: \(last.map { "\($0)" } ?? "none")")
    }

    /// Every record of `topic` up to the end offsets it has now.
    static func readToEnd(_ topic: String) async throws -> [ConsumedRecord] {
        let ends = try await BlockingQueue(label: "test.ends").run {
            let consumer = try KafkaConsumer(settings: IntegrationEnvironment.settings, groupID: nil)
            return try (0..<Int32(consumer.partitionCount(topic))).map { try consumer.watermarks(TopicPartition(topic, $0)).high }
        }
        let reader = try await TopicReader.make([topic])
        return try await reader.read(until: "\(topic) up to its end offsets \(ends)") { records in
            ends.enumerated().allSatisfy { p, end in end == 0 || records.contains { $0.partition == Int32(p) && $0.offset == end - 1 } }
        }
    }
}
