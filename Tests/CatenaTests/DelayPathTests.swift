import Foundation
import Testing
import Catena

/// The delay path's pure logic: the in-place/delay decision, the retry record's headers, the same-key
/// bookkeeping, and a step processor that moves long retries and records behind them to the retry topic.
struct DelayPathTests {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    static let headers = [KafkaHeader("x-tenant", text: "a"), KafkaHeader("x-null", nil), KafkaHeader("x-tenant", text: "b")]

    static func input(_ key: String?, offset: Int64, value: String = "v", headers: [KafkaHeader] = headers) -> ConsumedRecord {
        ConsumedRecord(topic: "c.s", partition: 2, offset: offset, timestampMs: 1_700_000_000_000 + offset,
                       key: key.map { Array($0.utf8) }, value: Array(value.utf8), headers: headers)
    }

    /// What a worker reads back from the retry topic after producing `r` at `offset`.
    static func readBack(_ r: OutgoingRecord, offset: Int64) -> ConsumedRecord {
        ConsumedRecord(topic: r.topic, partition: r.partition ?? -1, offset: offset, timestampMs: 1, key: r.key, value: r.value, headers: r.headers)
    }

    static func path(inPlaceMax: Double = 1, clock: @escaping @Sendable () -> Date = { t0 }) -> DelayPath {
        DelayPath(topic: "c.s.retry", policy: RetryPolicy(maxAttempts: 3, initialBackoff: 3, backoffRate: 2, maxBackoff: 10, inPlaceMax: inPlaceMax), clock: clock)
    }

    @Test func waitsUpToInPlaceMaxStayInPlaceLongerOnesMove() {
        let policy = RetryPolicy(inPlaceMax: 0.5)
        #expect(!policy.movesToDelayPath(wait: 0.5))
        #expect(policy.movesToDelayPath(wait: 0.51))
        #expect(RetryPolicy.standard.inPlaceMax == 1)
        let p = Self.path(inPlaceMax: 1)
        #expect(p.delayIfLong(Self.input("A", offset: 1), wait: 1, nextAttempt: 2, message: "m") == nil)
        #expect(p.ledger == DelayLedger(), "a wait in place leaves the bookkeeping alone")
        #expect(p.delayIfLong(Self.input("A", offset: 1), wait: 3, nextAttempt: 2, message: "m") != nil)
    }

    @Test func retryRecordKeepsTheRecordAndRoundTrips() throws {
        let original = Self.input("A", offset: 41, value: "payload")
        let retry = RetryRecord(original: original, attempt: 3, dueMs: 1_800_000_003_000, reason: .failed, firstFailureMs: 1_800_000_000_000, lastError: "boom")
        let out = retry.outgoing(topic: "c.s.retry")
        #expect(out.topic == "c.s.retry")
        #expect(out.partition == 2, "same partition number as the input record")
        #expect(out.key == original.key && out.value == original.value)
        #expect(Array(out.headers.prefix(3)) == Self.headers, "original headers first, in order, nulls and duplicates kept")
        #expect(Self.value(out, HeaderNames.retryAttempt) == "3")
        #expect(Self.value(out, HeaderNames.retryDue) == "1800000003000")
        #expect(Self.value(out, HeaderNames.retryReason) == "failed")
        #expect(Self.value(out, HeaderNames.retryOriginTopic) == "c.s")
        #expect(Self.value(out, HeaderNames.retryOriginOffset) == "41")
        #expect(Self.value(out, HeaderNames.retryLastError) == "boom")
        let parsed = try #require(RetryRecord.parse(Self.readBack(out, offset: 7)))
        #expect(parsed == retry, "read back, it is the record the step read, with its own headers and coordinates")
        // Written again (next attempt), the headers are replaced, never piled up.
        var again = parsed
        again.attempt = 4
        let out2 = again.outgoing(topic: "c.s.retry")
        #expect(out2.headers.filter { $0.name == HeaderNames.retryAttempt }.map(\.text) == ["4"])
        #expect(out2.headers.count == out.headers.count)
        #expect(RetryRecord.parse(Self.input("A", offset: 1)) == nil, "a record without the headers is not a retry record")
    }

    @Test func ledgerTracksEarlierRecordsPerKeyAndPartition() {
        var l = DelayLedger()
        l.add(partition: 2, key: Array("A".utf8), offset: 10)
        #expect(l.hasEarlier(partition: 2, key: Array("A".utf8), than: 11))
        #expect(!l.hasEarlier(partition: 2, key: Array("A".utf8), than: 10), "not behind itself")
        #expect(!l.hasEarlier(partition: 2, key: Array("B".utf8), than: 11), "other keys flow")
        #expect(!l.hasEarlier(partition: 1, key: Array("A".utf8), than: 11), "per partition")
        l.add(partition: 2, key: nil, offset: 5)
        #expect(!l.hasEarlier(partition: 2, key: nil, than: 6), "null keys are not ordered")
        l.add(partition: 2, key: Array("A".utf8), offset: 10)
        l.remove(partition: 2, key: Array("A".utf8), offset: 10)
        #expect(l.hasEarlier(partition: 2, key: Array("A".utf8), than: 11), "a second copy still holds the key")
        l.remove(partition: 2, key: Array("A".utf8), offset: 10)
        l.remove(partition: 2, key: Array("A".utf8), offset: 10)
        #expect(l == DelayLedger(), "released; removing more than was added is harmless")
        l.add(partition: 2, key: Array("A".utf8), offset: 10)
        l.drop(partition: 2)
        #expect(l == DelayLedger())
    }

    @Test func laterRecordsOfTheKeyWaitBehindAndAreReleasedInOrder() throws {
        let p = Self.path()
        // A1 fails with a long wait: to the delay path.
        let a1 = Self.input("A", offset: 10, value: "a1")
        guard case .run(let admitted, let attempt) = p.admit(a1) else { Issue.record("A1 runs"); return }
        #expect(admitted == a1 && attempt == 1)
        let a1Delayed = try #require(p.delayIfLong(admitted, wait: 3, nextAttempt: 2, message: "down"))
        // A2 (same key) does not run: it waits, due at once, attempt 1; B1 runs.
        guard case .delay(let a2Waiting) = p.admit(Self.input("A", offset: 11, value: "a2")) else { Issue.record("A2 waits"); return }
        #expect(Self.value(a2Waiting, HeaderNames.retryReason) == "waiting")
        #expect(Self.value(a2Waiting, HeaderNames.retryAttempt) == "1")
        #expect(Self.value(a2Waiting, HeaderNames.retryDue) == String(RetryRecord.ms(Self.t0)))
        guard case .run = p.admit(Self.input("B", offset: 12)) else { Issue.record("B1 runs"); return }
        p.batchCommitted()
        #expect(p.ledger.blockedKeys(partition: 2) == 1 && p.ledger.count(partition: 2) == 2)

        // Read back in the order written: A1 runs (attempt 2) with its own headers; A2 is still behind it until A1 resolves.
        guard case .run(let a1Again, let a1Attempt) = p.admit(Self.readBack(a1Delayed, offset: 0)) else { Issue.record("A1 runs again"); return }
        #expect(a1Again == a1 && a1Attempt == 2)
        #expect(p.firstFailure(of: a1Again) == Self.t0)
        // A1 fails again, long: back to the delay path, after A2.
        let a1Third = try #require(p.delayIfLong(a1Again, wait: 6, nextAttempt: 3, message: "still down"))
        #expect(Self.value(a1Third, HeaderNames.retryFirstFailure) == String(RetryRecord.ms(Self.t0)), "first failure kept")
        guard case .delay(let a2Requeued) = p.admit(Self.readBack(a2Waiting, offset: 1)) else { Issue.record("A2 still waits behind A1"); return }
        #expect(a2Requeued.headers == a2Waiting.headers && a2Requeued.partition == 2)
        p.batchCommitted()
        // A1 runs (attempt 3) and succeeds: then A2 is released and runs from attempt 1 with its own headers.
        guard case .run(_, 3) = p.admit(Self.readBack(a1Third, offset: 2)) else { Issue.record("A1 attempt 3 runs"); return }
        guard case .run(let a2, 1) = p.admit(Self.readBack(a2Requeued, offset: 3)) else { Issue.record("A2 released"); return }
        #expect(a2 == Self.input("A", offset: 11, value: "a2"))
        p.batchCommitted()
        #expect(p.ledger == DelayLedger(), "key released")
        guard case .run = p.admit(Self.input("A", offset: 13)) else { Issue.record("A3 runs at once"); return }
    }

    @Test func aPartitionWithoutARetryPartitionRetriesInPlace() {
        let p = Self.path()
        p.retryInPlace(partition: 2)
        #expect(p.delayIfLong(Self.input("A", offset: 10), wait: 3, nextAttempt: 2, message: "x") == nil)
        p.drop(partition: 2)
        #expect(p.delayIfLong(Self.input("A", offset: 10), wait: 3, nextAttempt: 2, message: "x") != nil, "forgotten with the partition")
    }

    @Test func anAbortedBatchLeavesNoBookkeeping() {
        let p = Self.path()
        _ = p.delayIfLong(Self.input("A", offset: 10), wait: 3, nextAttempt: 2, message: "x")
        p.batchAborted()
        #expect(p.ledger == DelayLedger())
        guard case .run = p.admit(Self.input("A", offset: 11)) else { Issue.record("A runs: the delay was never committed"); return }
    }

    @Test func rebuildFromTheRetryPartitionBlocksTheKeys() {
        let p = Self.path()
        let a1 = RetryRecord(original: Self.input("A", offset: 10), attempt: 2, dueMs: 1, reason: .failed).outgoing(topic: "c.s.retry")
        p.rebuild(with: Self.readBack(a1, offset: 0))
        p.batchAborted()
        #expect(p.ledger.blockedKeys(partition: 2) == 1, "rebuilt entries are committed state")
        guard case .delay = p.admit(Self.input("A", offset: 20)) else { Issue.record("A waits after a restart"); return }
        p.drop(partition: 2)
        #expect(p.ledger == DelayLedger())
    }

    // MARK: - Through the step processor

    struct Flaky: CatenaFunction {
        let failures: Int
        func run(_ payload: [UInt8], context: StepContext) async throws -> [UInt8] {
            if context.attempt <= failures { throw StepFailure.retryable("down on attempt \(context.attempt)") }
            return payload
        }
    }

    static func processor(_ function: any CatenaFunction, path: DelayPath, maxAttempts: Int = 3) -> StepProcessor {
        let policy = RetryPolicy(maxAttempts: maxAttempts, initialBackoff: 3, backoffRate: 2, maxBackoff: 10, inPlaceMax: 1)
        let chain = ChainDefinition(name: "c", steps: [StepDefinition(name: "s", function: "f", retry: policy)])
        var p = StepProcessor(chain: chain, step: chain.steps[0], function: function, workerID: "w:1", sleep: { _ in Issue.record("no wait in place") })
        p.delayPath = path
        return p
    }

    @Test func aLongRetryMovesToTheDelayPathAndRunsFromThereWithoutWaiting() async throws {
        let path = Self.path()
        let p = Self.processor(Flaky(failures: 1), path: path)
        let a1 = Self.input("A", offset: 10, value: "a1")
        guard case .delayed(let out) = await p.process(a1) else { Issue.record("delayed"); return }
        #expect(out.topic == "c.s.retry" && out.partition == 2)
        #expect(Self.value(out, HeaderNames.retryAttempt) == "2")
        #expect(Self.value(out, HeaderNames.retryDue) == String(RetryRecord.ms(Self.t0) + 3000))
        #expect(Self.value(out, HeaderNames.retryLastError) == "down on attempt 1")
        path.batchCommitted()
        guard case .output(let done) = await p.process(Self.readBack(out, offset: 0)) else { Issue.record("output"); return }
        #expect(done.value == Array("a1".utf8))
        #expect(!done.headers.contains { HeaderNames.isRetryHeader($0.name) }, "delay-path headers do not travel on")
        #expect(Self.value(done, HeaderNames.attempt) == "2")
        #expect(Array(done.headers.filter { $0.name.hasPrefix("x-") }) == Self.headers)
    }

    @Test func exhaustedOnTheDelayPathTheDeadLetterIsTheOriginalRecord() async throws {
        let path = Self.path()
        let p = Self.processor(Flaky(failures: 9), path: path, maxAttempts: 2)
        let a1 = Self.input("A", offset: 10, value: "a1")
        guard case .delayed(let out) = await p.process(a1) else { Issue.record("delayed"); return }
        path.batchCommitted()
        guard case .deadLetter(let dl, let letter) = await p.process(Self.readBack(out, offset: 5)) else { Issue.record("dead letter"); return }
        #expect(letter.kind == .retriesExhausted && letter.attempts == 2)
        #expect(dl.key == a1.key && dl.value == a1.value)
        #expect(Array(dl.headers.prefix(Self.headers.count)) == Self.headers, "original headers byte-for-byte")
        #expect(!dl.headers.contains { HeaderNames.isRetryHeader($0.name) })
        #expect(Self.value(dl, HeaderNames.originTopic) == "c.s")
        #expect(Self.value(dl, HeaderNames.originOffset) == "10")
        #expect(Self.value(dl, HeaderNames.errorFirstFailure) == Timestamp.rfc3339(Self.t0))
        path.batchCommitted()
        #expect(path.ledger == DelayLedger(), "the dead letter releases the key")
    }

    /// A clock that moves only when the processor waits in place.
    final class FakeClock: @unchecked Sendable {
        private let lock = NSLock()
        private var now = DelayPathTests.t0
        func read() -> Date { lock.lock(); defer { lock.unlock() }; return now }
        func advance(_ s: Double) { lock.lock(); now += s; lock.unlock() }
    }

    @Test func shortWaitsStayInPlaceThenALongOneMovesWithTheFirstFailureTime() async throws {
        let clock = FakeClock()
        let policy = RetryPolicy(maxAttempts: 4, initialBackoff: 0.5, backoffRate: 4, maxBackoff: 10, inPlaceMax: 1)
        let chain = ChainDefinition(name: "c", steps: [StepDefinition(name: "s", function: "f", retry: policy)])
        let path = DelayPath(topic: "c.s.retry", policy: policy, clock: { clock.read() })
        var p = StepProcessor(chain: chain, step: chain.steps[0], function: Flaky(failures: 9), workerID: "w:1", sleep: { clock.advance($0) })
        p.delayPath = path
        guard case .delayed(let out) = await p.process(Self.input("A", offset: 10)) else { Issue.record("delayed"); return }
        // Attempt 1 failed at t0, waited 0.5 s in place; attempt 2 failed, and the 2 s wait moves it.
        #expect(Self.value(out, HeaderNames.retryAttempt) == "3")
        #expect(Self.value(out, HeaderNames.retryFirstFailure) == String(RetryRecord.ms(Self.t0)))
        #expect(Self.value(out, HeaderNames.retryDue) == String(RetryRecord.ms(Self.t0) + 2500))
        #expect(Self.value(out, HeaderNames.retryLastError) == "down on attempt 2")
    }

    static func value(_ r: OutgoingRecord, _ name: String) -> String? { r.headers.first { $0.name == name }?.text }
}
