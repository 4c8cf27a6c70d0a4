import Foundation
import Testing
import Catena

/// The coordinator's bookkeeping: matching entries to outcomes by correlation ID (in any order, FIFO for
/// repeated IDs), failure grouping, latency percentiles and the status JSON. Deadlines and step progress:
/// ExecutionDeadlineTests.
struct ExecutionTrackerTests {
    static func failed(_ step: String, _ kind: String = "fatal", _ message: String = "bad", at: Int64 = 0) -> ExecutionTracker.Outcome {
        .failed(step: step, kind: kind, message: message, atMs: at)
    }

    /// Failure groups as `step|kind|message|count` (`FailureGroup` has no public initialiser).
    static func groups(_ s: StatusSnapshot) -> [String] { s.failures.map { "\($0.step)|\($0.kind)|\($0.message)|\($0.count)" } }

    // MARK: matching

    @Test func anEntryThenItsCompletionIsOneCompletedExecution() {
        var t = ExecutionTracker(chain: "orders")
        t.sawEntry("a", atMs: 1_000)
        #expect(t.started == 1)
        #expect(t.inFlight == 1)
        t.saw(.completed(atMs: 1_250), for: "a")
        #expect(t.completed == 1)
        #expect(t.failed == 0)
        #expect(t.inFlight == 0)
        #expect(t.unmatchedOutcomes == 0)
        let s = t.snapshot(nowMs: 2_000)
        #expect(s.chain == "orders")
        #expect(s.updatedAtMs == 2_000)
        #expect(s.started == 1)
        #expect(s.completed == 1)
        #expect(s.latencyP50Ms == 250)
        #expect(s.latencyP95Ms == 250)
        #expect(s.latencyP99Ms == 250)
        #expect(s.latencyMaxMs == 250)
        #expect(s.firstEntryMs == 1_000)
        #expect(s.lastOutcomeMs == 1_250)
        #expect(s.throughput == 1 / 0.25)
    }

    @Test func anEntryWithoutOutcomeIsInFlight() {
        var t = ExecutionTracker(chain: "orders")
        t.sawEntry("a", atMs: 1_000)
        t.sawEntry("b", atMs: 1_001)
        t.saw(.completed(atMs: 1_100), for: "b")
        let s = t.snapshot(nowMs: 5_000)
        #expect(s.started == 2)
        #expect(s.inFlight == 1)
        #expect(s.completed == 1)
        #expect(s.timedOut == 0)
    }

    @Test func anOutcomeSeenBeforeItsEntryIsMatchedWhenTheEntryArrives() {
        var t = ExecutionTracker(chain: "orders")
        t.saw(.completed(atMs: 1_500), for: "a")
        #expect(t.unmatchedOutcomes == 1)
        #expect(t.completed == 0)
        #expect(t.inFlight == 0)
        t.sawEntry("a", atMs: 1_100)
        #expect(t.unmatchedOutcomes == 0)
        #expect(t.completed == 1)
        #expect(t.inFlight == 0)
        #expect(t.started == 1)
        let s = t.snapshot(nowMs: 10_000)
        #expect(s.latencyP50Ms == 400)
        #expect(s.timedOut == 0)
        #expect(s.unmatchedOutcomes == 0)
        // A later entry with the same ID is a new execution, not matched to the consumed outcome.
        t.sawEntry("a", atMs: 2_000)
        #expect(t.inFlight == 1)
        #expect(t.completed == 1)
    }

    @Test func aFailureSeenBeforeItsEntryIsMatchedToo() {
        var t = ExecutionTracker(chain: "orders")
        t.saw(Self.failed("parse", at: 900), for: "a")
        t.sawEntry("a", atMs: 800)
        #expect(t.failed == 1)
        #expect(t.unmatchedOutcomes == 0)
        #expect(t.inFlight == 0)
        #expect(Self.groups(t.snapshot(nowMs: 1_000)) == ["parse|fatal|bad|1"])
    }

    @Test func twoEntriesWithTheSameIDAreTwoExecutionsMatchedFirstInFirstOut() {
        var t = ExecutionTracker(chain: "orders")
        t.sawEntry("a", atMs: 0)
        t.sawEntry("a", atMs: 100)
        #expect(t.started == 2)
        #expect(t.inFlight == 2)
        t.saw(.completed(atMs: 150), for: "a")
        #expect(t.inFlight == 1)
        t.saw(.completed(atMs: 300), for: "a")
        #expect(t.inFlight == 0)
        #expect(t.completed == 2)
        #expect(t.unmatchedOutcomes == 0)
        // FIFO: latencies 150 (0 -> 150) and 200 (100 -> 300); LIFO would give 50 and 300.
        let s = t.snapshot(nowMs: 1_000)
        #expect(s.latencyP50Ms == 150)
        #expect(s.latencyMaxMs == 200)
    }

    @Test func outcomesWaitingForRepeatedEntriesAreMatchedFirstInFirstOut() {
        var t = ExecutionTracker(chain: "orders")
        t.saw(.completed(atMs: 500), for: "a")
        t.saw(Self.failed("ship", at: 600), for: "a")
        #expect(t.unmatchedOutcomes == 2)
        t.sawEntry("a", atMs: 100)
        #expect(t.completed == 1)
        #expect(t.failed == 0)
        t.sawEntry("a", atMs: 200)
        #expect(t.failed == 1)
        #expect(t.unmatchedOutcomes == 0)
        #expect(t.inFlight == 0)
        #expect(t.snapshot(nowMs: 1_000).latencyMaxMs == 400)
    }

    @Test func aDuplicateOutcomeIsUnmatchedNotCompleted() {
        var t = ExecutionTracker(chain: "orders")
        t.sawEntry("a", atMs: 0)
        t.saw(.completed(atMs: 10), for: "a")
        t.saw(.completed(atMs: 20), for: "a")  // reprocessed: written twice
        #expect(t.completed == 1)
        #expect(t.unmatchedOutcomes == 1)
        #expect(t.inFlight == 0)
        let s = t.snapshot(nowMs: 100)
        #expect(s.completed == 1)
        #expect(s.unmatchedOutcomes == 1)
        #expect(s.started == 1)
        #expect(s.latencyMaxMs == 10)
    }

    @Test("an outcome written before a later entry with the same ID (a redrive's, a repeat) does not finish it, whichever is read first")
    func aStaleOutcomeDoesNotFinishALaterExecution() {
        for outcomeFirst in [true, false] {
            var t = ExecutionTracker(chain: "orders")
            t.sawEntry("order-1", atMs: 1_000)
            t.saw(Self.failed("b", at: 2_000), for: "order-1")
            // A redrive completes it again at 30 s; the same key is reused for a new order at 60 s.
            if outcomeFirst {
                t.saw(.completed(atMs: 30_000), for: "order-1")
                t.sawEntry("order-1", atMs: 60_000)
            } else {
                t.sawEntry("order-1", atMs: 60_000)
                t.saw(.completed(atMs: 30_000), for: "order-1")
            }
            #expect(t.inFlight == 1, "the new order is in flight (outcome first: \(outcomeFirst))")
            #expect(t.completed == 0)
            #expect(t.unmatchedOutcomes == 1)
            // Its own outcome, written after it, finishes it.
            t.saw(.completed(atMs: 60_500), for: "order-1")
            #expect(t.inFlight == 0 && t.completed == 1 && t.unmatchedOutcomes == 1)
        }
    }

    @Test("an outcome stamped slightly before its entry (producers' clocks differ) still finishes it")
    func smallClockSkewIsTolerated() {
        var t = ExecutionTracker(chain: "orders")
        t.saw(.completed(atMs: 9_000), for: "a")
        t.sawEntry("a", atMs: 10_000)
        #expect(t.completed == 1 && t.inFlight == 0 && t.unmatchedOutcomes == 0)
    }

    @Test func anOutcomeForAnUnknownIDIsUnmatched() {
        var t = ExecutionTracker(chain: "orders")
        t.saw(Self.failed("parse"), for: "ghost")
        let s = t.snapshot(nowMs: 100)
        #expect(s.failed == 0)
        #expect(s.unmatchedOutcomes == 1)
        #expect(s.failures.isEmpty)
        #expect(s.latencyP50Ms == nil)
        #expect(s.latencyMaxMs == nil)
        #expect(s.lastOutcomeMs == nil)
    }

    @Test func correlationIDsAreTrackedIndependently() {
        var t = ExecutionTracker(chain: "orders")
        for i in 0..<100 { t.sawEntry("id-\(i)", atMs: Int64(i)) }
        for i in stride(from: 99, through: 0, by: -2) { t.saw(.completed(atMs: 1_000), for: "id-\(i)") }
        #expect(t.started == 100)
        #expect(t.completed == 50)
        #expect(t.inFlight == 50)
        #expect(t.unmatchedOutcomes == 0)
    }

    // MARK: failures

    @Test func failuresAreGroupedByStepKindAndMessageAndSortedByCount() {
        var t = ExecutionTracker(chain: "orders")
        let outcomes: [(String, ExecutionTracker.Outcome)] = [
            ("1", Self.failed("parse", "fatal", "bad json")),
            ("2", Self.failed("enrich", "timeout", "slow")),
            ("3", Self.failed("parse", "fatal", "bad json")),
            ("4", Self.failed("parse", "fatal", "other")),
            ("5", Self.failed("enrich", "timeout", "slow")),
            ("6", Self.failed("parse", "fatal", "bad json")),
            ("7", Self.failed("parse", "retries-exhausted", "bad json")),
            ("8", .completed(atMs: 50)),
        ]
        for (id, outcome) in outcomes {
            t.sawEntry(id, atMs: 0)
            t.saw(outcome, for: id)
        }
        let s = t.snapshot(nowMs: 100)
        #expect(s.failed == 7)
        #expect(s.completed == 1)
        #expect(Self.groups(s) == [
            "parse|fatal|bad json|3",
            "enrich|timeout|slow|2",
            "parse|fatal|other|1",
            "parse|retries-exhausted|bad json|1",
        ])
        // Failures have no latency; only the completed execution does.
        #expect(s.latencyMaxMs == 50)
    }

    @Test func failureGroupsWithEqualCountsAreOrderedByStepKindMessage() {
        var t = ExecutionTracker(chain: "orders")
        let groups = [("zeta", "fatal", "m"), ("alpha", "timeout", "m"), ("alpha", "fatal", "z"), ("alpha", "fatal", "a")]
        for (i, g) in groups.enumerated() {
            t.sawEntry("\(i)", atMs: 0)
            t.saw(Self.failed(g.0, g.1, g.2), for: "\(i)")
        }
        #expect(t.snapshot(nowMs: 0).failures.map { "\($0.step)/\($0.kind)/\($0.message)" } == [
            "alpha/fatal/a", "alpha/fatal/z", "alpha/timeout/m", "zeta/fatal/m",
        ])
    }

    @Test func atMostFiftyFailureGroupsAreReported() {
        var t = ExecutionTracker(chain: "orders")
        for i in 0..<60 {
            t.sawEntry("\(i)", atMs: 0)
            t.saw(Self.failed("s", "fatal", "message \(i)"), for: "\(i)")
        }
        let s = t.snapshot(nowMs: 0)
        #expect(s.failed == 60)
        #expect(s.failures.count == 50)
    }

    // MARK: latency histogram

    @Test func percentilesOfAKnownDistribution() {
        var h = LatencyHistogram()
        for ms in (1...100).shuffled() { h.record(Int64(ms)) }
        #expect(h.total == 100)
        #expect(h.maxMs == 100)
        #expect(h.percentile(50) == 50)
        #expect(h.percentile(95) == 95)
        #expect(h.percentile(99) == 99)
        #expect(h.percentile(100) == 100)
        #expect(h.percentile(1) == 1)
        #expect(h.percentile(0) == 1)
    }

    @Test
    func percentileIsExactForEveryWholePercentile() {
        var h = LatencyHistogram()
        for ms in 1...100 { h.record(Int64(ms)) }
        for p in 1...100 { #expect(h.percentile(Double(p)) == Int64(p), "p\(p)") }
    }

    @Test func anEmptyHistogramHasNoPercentiles() {
        let h = LatencyHistogram()
        #expect(h.total == 0)
        #expect(h.percentile(50) == nil)
        #expect(h.percentile(99) == nil)
        let s = ExecutionTracker(chain: "c").snapshot(nowMs: 0)
        #expect(s.latencyP50Ms == nil)
        #expect(s.latencyP95Ms == nil)
        #expect(s.latencyP99Ms == nil)
        #expect(s.latencyMaxMs == nil)
        #expect(s.throughput == nil)
    }

    @Test func percentilesOfASkewedDistribution() {
        var h = LatencyHistogram()
        for _ in 0..<90 { h.record(10) }
        for _ in 0..<9 { h.record(200) }
        h.record(5_000)
        #expect(h.percentile(50) == 10)
        #expect(h.percentile(90) == 10)
        #expect(h.percentile(91) == 200)
        #expect(h.percentile(99) == 200)
        #expect(h.percentile(100) == 5_000)
        #expect(h.maxMs == 5_000)
    }

    @Test func latenciesBeyondTenMinutesLandInTheLastBucketButKeepTheirMax() {
        var h = LatencyHistogram()
        h.record(-5)
        h.record(900_000)
        #expect(h.total == 2)
        #expect(h.percentile(50) == 0)
        #expect(h.percentile(100) == 600_000)
        #expect(h.maxMs == 900_000)
    }

    // MARK: status JSON

    @Test func aSnapshotSurvivesAJSONRoundTrip() throws {
        var t = ExecutionTracker(chain: "orders")
        for i in 0..<10 { t.sawEntry("id-\(i)", atMs: 1_000 + Int64(i)) }
        for i in 0..<6 { t.saw(.completed(atMs: 1_100 + Int64(i * 10)), for: "id-\(i)") }
        t.saw(Self.failed("enrich", "timeout", "function did not finish within 0.2 s", at: 1_300), for: "id-6")
        t.saw(.completed(atMs: 1_400), for: "ghost")
        let snapshot = t.snapshot(nowMs: 60_000)
        let json = snapshot.json()
        #expect(!json.isEmpty)
        let decoded = try StatusSnapshot.decode(json)
        #expect(decoded == snapshot)
        #expect(decoded.inFlight == 3)
        #expect(decoded.unmatchedOutcomes == 1)
        let text = String(decoding: json, as: UTF8.self)
        #expect(text.contains(#""latency_p50_ms""#))
        #expect(text.contains(#""unmatched_outcomes":1"#))
    }

    @Test func aSnapshotWithoutLatenciesSurvivesAJSONRoundTrip() throws {
        let snapshot = ExecutionTracker(chain: "empty").snapshot(nowMs: 123)
        let decoded = try StatusSnapshot.decode(snapshot.json())
        #expect(decoded == snapshot)
        #expect(decoded.latencyP50Ms == nil)
        #expect(decoded.firstEntryMs == nil)
    }

    @Test func decodingGarbageThrows() {
        #expect(throws: (any Error).self) { try StatusSnapshot.decode(Array("{not json".utf8)) }
    }
}
