import Foundation
import Testing
import Catena

/// The chain-level deadline: executions without an outcome within the execution timeout are marked timed
/// out once (also across a coordinator restart), report the step they were last seen at, and a later
/// outcome counts as late, never as completed or failed.
struct ExecutionDeadlineTests {
    static func tracker(timeout: Double = 5, steps: [String] = ["a", "b", "c"]) -> ExecutionTracker {
        ExecutionTracker(chain: "orders", steps: steps, executionTimeoutSeconds: timeout)
    }

    static func at(_ offset: Int64, partition: Int32 = 0) -> EntryPosition { EntryPosition(partition: partition, offset: offset) }

    // MARK: marking

    @Test func anExecutionWithoutOutcomePastItsDeadlineIsTimedOutOnce() {
        var t = Self.tracker()
        t.sawEntry("x", atMs: 1_000, at: Self.at(0))
        t.sawEntry("y", atMs: 4_000, at: Self.at(1))
        #expect(t.expire(nowMs: 6_000).isEmpty, "exactly at the deadline: not yet")
        let first = t.expire(nowMs: 6_001)
        #expect(first == [ExecutionTimeout(correlationID: "x", lastStep: "a", entryMs: 1_000, deadlineMs: 6_000, entry: Self.at(0))])
        #expect(t.timedOut == 1)
        #expect(t.inFlight == 1)
        #expect(t.expire(nowMs: 6_001).isEmpty)
        #expect(t.expire(nowMs: 8_000).isEmpty)
        #expect(t.expire(nowMs: 100_000).map(\.correlationID) == ["y"])
        #expect(t.expire(nowMs: 200_000).isEmpty)
        #expect(t.timedOut == 2)
        #expect(t.inFlight == 0)
        #expect(t.started == 2)
    }

    @Test func executionsWithAnOutcomeInTimeAreNeverMarked() {
        var t = Self.tracker()
        t.sawEntry("done", atMs: 1_000, at: Self.at(0))
        t.sawEntry("dead", atMs: 1_000, at: Self.at(1))
        t.saw(.completed(atMs: 5_900), for: "done")
        t.saw(.failed(step: "b", kind: "fatal", message: "m", atMs: 2_000), for: "dead")
        #expect(t.expire(nowMs: 1_000_000).isEmpty)
        #expect(t.completed == 1 && t.failed == 1 && t.timedOut == 0 && t.late == 0 && t.inFlight == 0)
    }

    @Test func withoutAnExecutionTimeoutNothingExpires() {
        var t = Self.tracker(timeout: 0)
        t.sawEntry("x", atMs: 0, at: Self.at(0))
        #expect(t.expire(nowMs: .max - 1).isEmpty)
        #expect(t.inFlight == 1 && t.timedOut == 0)
        #expect(!ExecutionTracker(chain: ChainDefinition(name: "c", steps: [StepDefinition(name: "a", function: "f"), StepDefinition(name: "b", function: "f")])).tracksProgress)
        #expect(ExecutionTracker(chain: ChainDefinition(name: "c", steps: [StepDefinition(name: "a", function: "f"), StepDefinition(name: "b", function: "f")],
                                                        executionTimeoutSeconds: 1)).tracksProgress)
    }

    @Test func aLateOutcomeKeepsTheExecutionTimedOutAndIsCountedAsLate() {
        var t = Self.tracker()
        t.sawEntry("slow", atMs: 0, at: Self.at(0))
        t.sawEntry("broken", atMs: 0, at: Self.at(1))
        #expect(t.expire(nowMs: 5_001).count == 2)
        t.saw(.completed(atMs: 9_000), for: "slow")
        t.saw(.failed(step: "c", kind: "fatal", message: "m", atMs: 9_000), for: "broken")
        let s = t.snapshot(nowMs: 10_000)
        #expect(s.timedOut == 2 && s.late == 2)
        #expect(s.completed == 0 && s.failed == 0 && s.inFlight == 0 && s.unmatchedOutcomes == 0)
        #expect(s.failures.isEmpty)
        #expect(s.latencyMaxMs == nil, "a late completion is not an end-to-end latency")
        #expect(s.started == s.inFlight + s.completed + s.failed + s.timedOut)
        // A second outcome for the same execution is a duplicate, not another late one.
        t.saw(.completed(atMs: 9_500), for: "slow")
        #expect(t.late == 2 && t.unmatchedOutcomes == 1)
    }

    // MARK: the step an execution was last seen at

    @Test func theLastStepIsTheFurthestStepWhoseTopicHeldTheExecution() {
        var t = Self.tracker()
        t.sawEntry("far", atMs: 0, at: Self.at(0))
        t.sawStep("b", for: "far")
        t.sawStep("c", for: "far")
        t.sawStep("b", for: "early")          // read before its entry, as in a replay
        t.sawEntry("early", atMs: 1, at: Self.at(1))
        t.sawEntry("first", atMs: 2, at: Self.at(2))
        t.sawStep("a", for: "first")          // the first step's topic is the entry topic: no progress
        t.sawStep("nope", for: "first")       // not a step of the chain
        let marked = t.expire(nowMs: 10_000)
        #expect(marked.map { "\($0.correlationID)@\($0.lastStep)" } == ["far@c", "early@b", "first@a"])
    }

    @Test func repeatedCorrelationIDsReachStepsInOrder() {
        var t = Self.tracker()
        t.sawEntry("k", atMs: 0, at: Self.at(0))
        t.sawEntry("k", atMs: 10, at: Self.at(1))
        t.sawEntry("k", atMs: 20, at: Self.at(2))
        t.sawStep("b", for: "k")
        t.sawStep("b", for: "k")
        t.sawStep("c", for: "k")
        #expect(t.expire(nowMs: 10_000).map(\.lastStep) == ["c", "b", "a"])
    }

    @Test func recordsOfAFinishedExecutionReadLateAreNotCreditedToTheNextOne() {
        var t = Self.tracker()
        // Completed: its output is read before its records on steps b and c.
        t.sawEntry("k", atMs: 0, at: Self.at(0))
        t.saw(.completed(atMs: 100), for: "k")
        t.sawStep("b", for: "k")
        t.sawStep("c", for: "k")
        // Dead-lettered at b: its dead letter is read before its record on b; it never reached c.
        t.sawEntry("k", atMs: 200, at: Self.at(1))
        t.saw(.failed(step: "b", kind: "fatal", message: "m", atMs: 300), for: "k")
        t.sawStep("b", for: "k")
        // The next execution with that ID has not gone past the first step.
        t.sawEntry("k", atMs: 400, at: Self.at(2))
        let marked = t.expire(nowMs: 10_000)
        #expect(marked.map { "\($0.correlationID)@\($0.lastStep)" } == ["k@a"])
        #expect(t.completed == 1 && t.failed == 1 && t.timedOut == 1)
    }

    @Test func aSingleStepChainReportsItsOnlyStep() {
        var t = Self.tracker(steps: ["only"])
        #expect(!t.tracksProgress)
        t.sawEntry("x", atMs: 0, at: Self.at(0))
        #expect(t.expire(nowMs: 5_001).map(\.lastStep) == ["only"])
    }

    // MARK: restart: timeouts already published

    @Test func aReplayedTimeoutMarksItsExecutionWithoutPublishingItAgain() {
        var t = Self.tracker()
        let published = ExecutionTimeout(correlationID: "x", lastStep: "b", entryMs: 0, deadlineMs: 5_000, entry: Self.at(7, partition: 2))
        t.sawTimeout(published)
        #expect(t.timedOut == 0, "counted when its entry is read")
        t.sawEntry("x", atMs: 0, at: Self.at(7, partition: 2))
        t.sawEntry("x", atMs: 0, at: Self.at(8, partition: 2))   // another execution with the same ID: not published yet
        #expect(t.timedOut == 1 && t.inFlight == 1 && t.started == 2)
        #expect(t.expire(nowMs: 100_000).map(\.entry) == [Self.at(8, partition: 2)])
        #expect(t.timedOut == 2 && t.inFlight == 0)
        // Read again (a duplicate on the topic): nothing changes.
        t.sawTimeout(published)
        #expect(t.timedOut == 2 && t.snapshot(nowMs: 0).recentTimeouts.count == 2)
    }

    @Test func aTimeoutReplayedAfterItsEntryStillMarksItOnce() {
        var t = Self.tracker()
        t.sawEntry("x", atMs: 0, at: Self.at(0))
        t.sawTimeout(ExecutionTimeout(correlationID: "x", lastStep: "a", entryMs: 0, deadlineMs: 5_000, entry: Self.at(0)))
        t.sawTimeout(ExecutionTimeout(correlationID: "x", lastStep: "a", entryMs: 0, deadlineMs: 5_000, entry: Self.at(0)))
        #expect(t.timedOut == 1 && t.inFlight == 0)
        #expect(t.expire(nowMs: 100_000).isEmpty)
    }

    @Test func aRestartedTrackerConvergesToTheSameCountsAndMarksNothingAgain() {
        // Live: x and z time out, y completes in time, x completes late, w is still in flight.
        var live = Self.tracker()
        live.sawEntry("x", atMs: 0, at: Self.at(0))
        live.sawEntry("y", atMs: 0, at: Self.at(1))
        live.sawEntry("z", atMs: 0, at: Self.at(2))
        live.sawStep("b", for: "z")
        live.saw(.completed(atMs: 1_000), for: "y")
        let published = live.expire(nowMs: 5_001)
        #expect(published.map(\.correlationID) == ["x", "z"])
        live.saw(.completed(atMs: 7_000), for: "x")
        live.sawEntry("w", atMs: 6_000, at: Self.at(3))

        // Replay: the published timeouts first, then the other topics in another order (outcomes first).
        var replay = Self.tracker()
        for p in published { replay.sawTimeout(p) }
        replay.saw(.completed(atMs: 1_000), for: "y")
        replay.saw(.completed(atMs: 7_000), for: "x")
        replay.sawStep("b", for: "z")
        for (i, id) in ["x", "y", "z"].enumerated() { replay.sawEntry(id, atMs: 0, at: Self.at(Int64(i))) }
        replay.sawEntry("w", atMs: 6_000, at: Self.at(3))
        #expect(replay.expire(nowMs: 6_000).isEmpty)

        let a = live.snapshot(nowMs: 0), b = replay.snapshot(nowMs: 0)
        #expect(a == b)
        #expect(b.started == 4 && b.completed == 1 && b.timedOut == 2 && b.late == 1 && b.inFlight == 1)
        #expect(b.recentTimeouts.map(\.lastStep).sorted() == ["a", "b"])
        // w's deadline still comes, in both.
        #expect(live.expire(nowMs: 11_001).map(\.correlationID) == ["w"])
        #expect(replay.expire(nowMs: 11_001).map(\.correlationID) == ["w"])
    }

    // MARK: snapshot

    @Test func theSnapshotListsTheLatestTimeoutsAndSaysSo() throws {
        var t = Self.tracker()
        for i in 0..<7 { t.sawEntry("id-\(i)", atMs: Int64(i) * 1_000, at: Self.at(Int64(i))) }
        #expect(t.expire(nowMs: 1_000_000).count == 7)
        t.saw(.completed(atMs: 2_000_000), for: "id-0")
        let s = t.snapshot(nowMs: 2_000_000)
        #expect(s.executionTimeoutSeconds == 5)
        #expect(s.recentTimeouts.map(\.correlationID) == ["id-6", "id-5", "id-4", "id-3", "id-2"])
        let report = s.report()
        #expect(report.contains("  timed out    7 (no outcome within 5 s; 1 finished late)"), "\(report)")
        #expect(report.contains("    id-6\ta\t1970-01-01T00:00:11.000Z"), "\(report)")
        #expect(!report.contains("id-1\t"))
        let json = s.json()
        #expect(try StatusSnapshot.decode(json) == s)
        let text = String(decoding: json, as: UTF8.self)
        #expect(text.contains(#""timed_out":7"#) && text.contains(#""late":1"#))
        #expect(text.contains(#""correlation_id":"id-6""#) && text.contains(#""last_step":"a""#), "\(text)")
    }

    @Test func aChainWithoutTimeoutDoesNotMentionIt() {
        let report = ExecutionTracker(chain: "c").snapshot(nowMs: 0).report()
        #expect(!report.contains("timed out"))
    }

    // MARK: the <chain>.timeouts record

    static let chain = ChainDefinition(name: "orders", steps: [StepDefinition(name: "a", function: "f"), StepDefinition(name: "b", function: "f")],
                                       executionTimeoutSeconds: 2)

    static func consumed(_ r: OutgoingRecord) -> ConsumedRecord {
        ConsumedRecord(topic: r.topic, partition: 0, offset: 0, timestampMs: 0, key: r.key, value: r.value, headers: r.headers)
    }

    @Test func theTimeoutRecordIsACloudEventKeyedByCorrelationIDAndParsesBack() throws {
        let timeout = ExecutionTimeout(correlationID: "order-7", lastStep: "b", entryMs: 1_764_000_000_123, deadlineMs: 1_764_000_002_123,
                                       entry: Self.at(42, partition: 3))
        let record = ExecutionTimeoutRecord.make(timeout, chain: Self.chain, now: Date(timeIntervalSince1970: 1_764_000_003))
        #expect(record.topic == "orders.timeouts")
        #expect(record.key == Array("order-7".utf8))
        let h = Dictionary(record.headers.map { ($0.name, $0.text ?? "") }, uniquingKeysWith: { a, _ in a })
        #expect(h["ce_specversion"] == "1.0" && h["ce_type"] == "catena.execution.timedout" && h["ce_id"] == "order-7/timedout/3-42")
        #expect(h["ce_source"] == "/catena/orders/coordinator" && h["ce_time"] == "2025-11-24T16:00:03.000Z")
        #expect(h["content-type"] == "application/json" && h["ce_correlationid"] == "order-7" && h["catena_chain"] == "orders" && h["catena_step"] == "b")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(record.value ?? [])) as? [String: Any])
        #expect(json["correlation_id"] as? String == "order-7" && json["last_step"] as? String == "b" && json["chain"] as? String == "orders")
        #expect(json["entry_time"] as? String == "2025-11-24T16:00:00.123Z" && json["deadline"] as? String == "2025-11-24T16:00:02.123Z")
        func number(_ k: String) -> NSNumber? { json[k] as? NSNumber }
        #expect(number("entry_ms")?.int64Value == 1_764_000_000_123 && number("deadline_ms")?.int64Value == 1_764_000_002_123)
        #expect(number("execution_timeout_seconds")?.doubleValue == 2 && json["entry_topic"] as? String == "orders.a")
        #expect(number("entry_partition")?.intValue == 3 && number("entry_offset")?.intValue == 42)
        #expect(try ExecutionTimeoutRecord.parse(Self.consumed(record)) == timeout)
    }

    @Test func aBinaryKeyedExecutionGetsItsKeyBytesBack() {
        let binary: [UInt8] = [0x00, 0xff, 0x10]
        let id = CorrelationID.text(forKey: binary)
        #expect(id == "hex:00ff10")
        #expect(CorrelationID.key(forText: id) == binary)
        #expect(CorrelationID.key(forText: "hex:6162") == Array("hex:6162".utf8), "a text key that looks like hex stays text")
        #expect(CorrelationID.key(forText: "hex:0g") == Array("hex:0g".utf8))
        #expect(CorrelationID.key(forText: "hex:0") == Array("hex:0".utf8))
        #expect(CorrelationID.key(forText: "plain") == Array("plain".utf8))
        let timeout = ExecutionTimeout(correlationID: id, lastStep: "a", entryMs: 0, deadlineMs: 2_000, entry: Self.at(0))
        #expect(ExecutionTimeoutRecord.make(timeout, chain: Self.chain).key == binary)
    }

    @Test func recordsThatAreNotTimeoutEventsAreRefusedWithAReason() {
        let good = ExecutionTimeoutRecord.make(ExecutionTimeout(correlationID: "x", lastStep: "a", entryMs: 0, deadlineMs: 1, entry: Self.at(0)), chain: Self.chain)
        var wrongType = Self.consumed(good)
        wrongType.headers = wrongType.headers.map { $0.name == "ce_type" ? KafkaHeader("ce_type", text: "something.else") : $0 }
        var nullValue = Self.consumed(good)
        nullValue.value = nil
        var garbage = Self.consumed(good)
        garbage.value = Array("{\"correlation_id\": 3}".utf8)
        for (record, reason) in [(wrongType, "not a catena.execution.timedout event"), (nullValue, "null value"), (garbage, "value is not a timed-out execution")] {
            do {
                _ = try ExecutionTimeoutRecord.parse(record)
                Issue.record("accepted: \(reason)")
            } catch {
                #expect("\(error)".contains(reason) && "\(error)".contains("orders.timeouts[0]@0"), "\(error)")
            }
        }
    }

    // MARK: replay progress

    @Test func replayIsCompleteWhenEveryPartitionReachedItsStartEnd() {
        let a0 = TopicPartition("t", 0), a1 = TopicPartition("t", 1), b0 = TopicPartition("u", 0)
        var p = ReplayProgress(ends: [a0: 3, a1: 0, b0: 5])
        #expect(!p.isComplete && Set(p.remaining.keys) == [a0, b0], "an empty partition is done at once")
        p.read([ConsumedRecord(topic: "t", partition: 0, offset: 1, timestampMs: 0, key: nil, value: nil, headers: [])])
        #expect(p.remaining[a0] != nil)
        p.read([ConsumedRecord(topic: "t", partition: 0, offset: 2, timestampMs: 0, key: nil, value: nil, headers: [])])
        #expect(p.remaining[a0] == nil)
        p.reached([b0: 4])
        #expect(!p.isComplete)
        p.reached([b0: 5])   // e.g. past a transaction marker that is never handed out
        #expect(p.isComplete)
        #expect(ReplayProgress(ends: [:]).isComplete)
    }

    @Test func theTimeoutsTopicIsOneOfTheChainsTopics() {
        #expect(Self.chain.timeoutsTopic == "orders.timeouts")
        #expect(Self.chain.topics.map(\.name) == ["orders.a", "orders.b", "orders.output", "orders.dlq", "orders.dlq.parked", "orders.status", "orders.timeouts", "orders.a.retry", "orders.b.retry"])
        #expect(Self.chain.topics.last?.partitions == Self.chain.partitions)
        #expect(ChainDefinition.reservedStepNames.contains("timeouts"))
    }
}
