import Catena
import Foundation
import Testing

/// `catena dlq list|show|tail|redrive` as processes, against real worker processes: a redriven record that
/// fails again comes back with its redrive count, the count rises with each redrive, the limit parks it, and
/// a dead letter of a later step goes back to that step.
@Suite("Dead-letter redrive", .serialized)
struct RedriveTests {
    /// Runs `catena dlq ARGS` for `chain` to completion; returns its exit status and output (stdout and stderr).
    static func dlq(_ chain: TestChain, _ args: [String], tag: String) async throws -> (status: Int32, output: String) {
        let log = "\(IntegrationEnvironment.logs)/\(chain.definition.name)-dlq-\(tag).log"
        let p = try ChildProcess(name: "dlq-\(tag)", executable: IntegrationEnvironment.catena,
                                 arguments: ["dlq"] + args + ["--chain", chain.path, "--brokers", IntegrationEnvironment.brokers],
                                 environment: IntegrationEnvironment.workerEnvironment, logPath: log)
        if !(await Wait.exit(of: p, seconds: 30)) {
            p.stop(grace: 1)
            throw Wait.Timeout(description: "catena dlq \(args) did not finish within 30 s; see \(log)")
        }
        return (p.exitStatus ?? -1, try String(contentsOfFile: log, encoding: .utf8))
    }

    /// The sum of the high watermarks of `topic`'s partitions.
    static func recordCount(_ topic: String) async throws -> Int64 {
        try await BlockingQueue(label: "catena.tests.watermarks").run {
            let consumer = try KafkaConsumer(settings: IntegrationEnvironment.settings, groupID: nil)
            let n = try consumer.partitionCount(topic)
            return try (0..<Int32(n)).reduce(Int64(0)) { $0 + (try consumer.watermarks(TopicPartition(topic, $1)).high) }
        }
    }

    static func isDeadLetter(_ r: ConsumedRecord, key: String, step: String, count: Int) -> Bool {
        r.key == Array(key.utf8) && r.header(HeaderNames.errorStep) == step && RedrivePlan.redriveCount(of: r.headers) == count
    }

    @Test("list, show, tail; redrive: dry run, to the failing step until the limit parks it; a later step's dead letter goes back to that step")
    func redriveLifecycle() async throws {
        let chain = try await TestChain.make(prefix: "redrive", partitions: 2, steps: [("first", "builtin.reject"), ("second", "builtin.reject")],
                                             stepExtra: ["first": "params: {needle: poison}", "second": "params: {needle: later}"])
        defer { chain.signalStop() }
        let d = chain.definition
        try await chain.startAllWorkers()
        _ = try await TestProducer.send([
            OutgoingRecord(topic: d.entryTopic, key: Array("bad-1".utf8), value: Array(#"{"msg":"poison"}"#.utf8),
                           headers: [KafkaHeader("x-tenant", text: "a"), KafkaHeader("x-bin", [0, 255])]),
            OutgoingRecord(topic: d.entryTopic, key: Array("good-1".utf8), value: Array("fine".utf8)),
            OutgoingRecord(topic: d.entryTopic, key: Array("late-1".utf8), value: Array("later-fail".utf8)),
        ])
        let dlqReader = try await TopicReader.make([d.deadLetterTopic])
        try await dlqReader.read(until: "2 dead letters", seconds: 30) { $0.count >= 2 }
        _ = try await TopicReader.make([d.outputTopic]).read(until: "good-1 completes", seconds: 30) { rs in rs.contains { $0.key == Array("good-1".utf8) } }

        // list: one fatal at each step.
        let list = try await Self.dlq(chain, ["list", "--json"], tag: "list")
        #expect(list.status == 0, "\(list.output)")
        let json = try #require(list.output.split(separator: "\n").last { $0.hasPrefix("{") })
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let groups = try #require(summary["groups"] as? [[String: Any]])
        #expect(summary["total"] as? Int == 2)
        #expect(Set(groups.map { "\($0["step"]!)/\($0["kind"]!)/\($0["count"]!)" }) == ["first/fatal/1", "second/fatal/1"])

        // show: by correlation ID and by position, error headers marked.
        let shown = try await Self.dlq(chain, ["show", "--correlation-id", "bad-1"], tag: "show-id")
        #expect(shown.status == 0 && shown.output.contains("* catena_error_step: first") && shown.output.contains("  x-tenant: a")
                && shown.output.contains("x-bin: hex:00ff") && shown.output.contains(#"{"msg":"poison"}"#), "\(shown.output)")
        let late = try #require(dlqReader.records.first { $0.key == Array("late-1".utf8) })
        let byPosition = try await Self.dlq(chain, ["show", "--partition", String(late.partition), "--offset", String(late.offset)], tag: "show-pos")
        #expect(byPosition.status == 0 && byPosition.output.contains("* catena_error_step: second") && byPosition.output.contains("later-fail"), "\(byPosition.output)")

        // tail follows new dead letters from here on.
        let tailLog = "\(IntegrationEnvironment.logs)/\(d.name)-dlq-tail.log"
        let tail = try ChildProcess(name: "dlq-tail", executable: IntegrationEnvironment.catena,
                                    arguments: ["dlq", "tail", "--chain", chain.path, "--brokers", IntegrationEnvironment.brokers],
                                    environment: IntegrationEnvironment.workerEnvironment, logPath: tailLog)
        defer { tail.signal(SIGKILL) }
        try await Wait.until("tail follows", seconds: 15, failIf: { tail.isRunning ? nil : "tail exited" }) {
            ((try? String(contentsOfFile: tailLog, encoding: .utf8)) ?? "").contains("following")
        }

        // Dry run: reported, nothing sent.
        let entryBefore = try await Self.recordCount(d.entryTopic)
        let dry = try await Self.dlq(chain, ["redrive", "--correlation-id", "bad-1", "--dry-run"], tag: "dry")
        #expect(dry.status == 0 && dry.output.contains("would redrive") && dry.output.contains("dry run (nothing sent): selected 1, redriven 1, parked 0"), "\(dry.output)")
        #expect(try await Self.recordCount(d.entryTopic) == entryBefore, "a dry run sends nothing")

        // Redrive 3 times: each time it fails again at `first` and comes back with the count + 1.
        for n in 1...3 {
            let newest = try #require(dlqReader.records.last { Self.isDeadLetter($0, key: "bad-1", step: "first", count: n - 1) })
            let since = try #require(newest.header(HeaderNames.errorTime))
            let run = try await Self.dlq(chain, ["redrive", "--correlation-id", "bad-1", "--since", since, "--rate", "50"], tag: "redrive-\(n)")
            #expect(run.status == 0 && run.output.contains("selected 1, redriven 1, parked 0, refused 0, failed 0"), "\(run.output)")
            #expect(run.output.contains("-> \(d.entryTopic) (catena_redrive_count \(n))"), "\(run.output)")
            let back = try await dlqReader.read(until: "bad-1 dead-lettered with redrive count \(n)", seconds: 20) { rs in
                rs.contains { Self.isDeadLetter($0, key: "bad-1", step: "first", count: n) }
            }.last { Self.isDeadLetter($0, key: "bad-1", step: "first", count: n) }!
            #expect(back.value == Array(#"{"msg":"poison"}"#.utf8))
            #expect(Array(back.headers.prefix(3)) == [KafkaHeader("x-tenant", text: "a"), KafkaHeader("x-bin", [0, 255]), KafkaHeader("catena_redrive_count", text: String(n))],
                    "original headers kept in order, one redrive count, no piled-up error headers: \(back.headers.map(\.name))")
            #expect(back.headers.filter { $0.name == HeaderNames.errorStep }.count == 1)
            if n == 1 {
                try await Wait.until("tail prints the redriven dead letter", seconds: 15, failIf: { tail.isRunning ? nil : "tail exited" }) {
                    ((try? String(contentsOfFile: tailLog, encoding: .utf8)) ?? "").contains("first/fatal key=bad-1 attempts=1 redriven=1")
                }
            }
        }
        #expect(await Wait.exit(of: tail, seconds: 0) == false)
        tail.signal(SIGTERM)
        #expect(await Wait.exit(of: tail, seconds: 15) && tail.exitStatus == 0, "tail stops on SIGTERM with 0")

        // The 4th redrive parks it (count 3 reached the default --max-redrives 3): nothing goes to the step.
        let entryBeforePark = try await Self.recordCount(d.entryTopic)
        let newest = try #require(dlqReader.records.last { Self.isDeadLetter($0, key: "bad-1", step: "first", count: 3) })
        let park = try await Self.dlq(chain, ["redrive", "--correlation-id", "bad-1", "--since", newest.header(HeaderNames.errorTime)!], tag: "park")
        #expect(park.status == 0 && park.output.contains("selected 1, redriven 0, parked 1"), "\(park.output)")
        let parked = try await TopicReader.make([RedrivePlan.parkedTopic(of: d)]).read(until: "the parked dead letter", seconds: 20) { !$0.isEmpty }
        #expect(parked.count == 1 && parked[0].key == Array("bad-1".utf8) && parked[0].value == newest.value && parked[0].headers == newest.headers)
        #expect(try await Self.recordCount(RedrivePlan.parkedTopic(of: d)) >= 1)
        #expect(try await Self.recordCount(d.entryTopic) == entryBeforePark, "a parked dead letter is not sent to the step")

        // A dead letter of the later step `second` goes back to `<chain>.second`, not the entry topic.
        let secondBefore = try await Self.recordCount(d.inputTopic(of: "second"))
        let again = try await Self.dlq(chain, ["redrive", "--step", "second"], tag: "second")
        #expect(again.status == 0 && again.output.contains("-> \(d.inputTopic(of: "second")) (catena_redrive_count 1)")
                && again.output.contains("selected 1, redriven 1"), "\(again.output)")
        try await dlqReader.read(until: "late-1 dead-lettered again at second", seconds: 20) { rs in
            rs.contains { Self.isDeadLetter($0, key: "late-1", step: "second", count: 1) }
        }
        #expect(try await Self.recordCount(d.inputTopic(of: "second")) > secondBefore)
        #expect(try await Self.recordCount(d.entryTopic) == entryBeforePark, "nothing went to the entry topic")
        #expect(await chain.stop().values.allSatisfy { $0 == 0 }, "workers exit 0 on SIGTERM")
    }
}
