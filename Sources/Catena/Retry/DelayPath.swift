import Foundation

/// A step's delay path as the step processor sees it: decides which records run now and which move to
/// `<chain>.<step>.retry`, and keeps the same-key ordering bookkeeping (`DelayLedger`) for the worker.
///
/// - A failed attempt whose wait before the next one exceeds the policy's `in_place_max` moves the record
///   to the retry topic (`delayIfLong`), due after that wait; shorter waits stay in place.
/// - A new input record whose key has an earlier record on the delay path moves there too, "waiting", due
///   at once and not run (`admit`); so does a retry-topic record of such a key. A key's records therefore
///   run in input order, while other keys keep flowing.
/// - A retry-topic record read back runs as the record it was (its own headers, its input coordinates).
///
/// The worker processes records one batch at a time: changes go to a working ledger, which becomes the
/// committed one when the batch's transaction commits (`batchCommitted`) and is dropped when it aborts
/// (`batchAborted`). Thread-safe; the calls of one batch come from one task at a time.
public final class DelayPath: @unchecked Sendable {
    /// What happens to a record about to run.
    public enum Admission: Sendable, Equatable {
        /// Run this record (a retry-topic record turned back into the record the step read) from `attempt`.
        case run(ConsumedRecord, attempt: Int)
        /// Do not run it: produce this record to the retry topic instead (an earlier record of its key waits there).
        case delay(OutgoingRecord)
    }

    /// `<chain>.<step>.retry`.
    public let topic: String
    public let policy: RetryPolicy
    private let clock: @Sendable () -> Date
    private let lock = NSLock()
    private var working = DelayLedger()
    private var committed = DelayLedger()
    /// Input partitions without a retry partition of the same number (the input topic has more partitions
    /// than the retry topic): their retries wait in place.
    private var inPlaceOnly: Set<Int32> = []
    /// First failure times of the records that failed in the current batch (or carried one from the retry topic), by input coordinates.
    private var firstFailures: [Origin: Int64] = [:]

    private struct Origin: Hashable {
        var topic: String
        var partition: Int32
        var offset: Int64
        init(_ r: ConsumedRecord) { topic = r.topic; partition = r.partition; offset = r.offset }
    }

    public init(topic: String, policy: RetryPolicy, clock: @escaping @Sendable () -> Date = { Date() }) {
        self.topic = topic
        self.policy = policy
        self.clock = clock
    }

    public convenience init(chain: ChainDefinition, step: StepDefinition) {
        self.init(topic: chain.retryTopic(of: step.name), policy: step.retry)
    }

    /// Decides whether `record` (from the step's input topic or its retry topic) runs now. `resuming`: the
    /// same record is admitted again after an attempt timed out (its bookkeeping was done the first time).
    public func admit(_ record: ConsumedRecord, resuming: Bool = false) -> Admission {
        lock.lock()
        defer { lock.unlock() }
        guard record.topic == topic else {
            // An input record: it waits behind any record of its key on the delay path.
            guard !resuming, working.hasEarlier(partition: record.partition, key: record.key, than: record.offset) else {
                return .run(record, attempt: 1)
            }
            working.add(partition: record.partition, key: record.key, offset: record.offset)
            let waiting = RetryRecord(original: record, attempt: 1, dueMs: RetryRecord.ms(clock()), reason: .waiting)
            return .delay(waiting.outgoing(topic: topic))
        }
        guard let retry = RetryRecord.parse(record) else {
            // Not written by a worker (no delay-path headers): run it as it is.
            return .run(record, attempt: 1)
        }
        let original = retry.original
        if working.hasEarlier(partition: original.partition, key: original.key, than: original.offset) {
            // Still behind an earlier record of its key: back to the end of the retry partition, unchanged.
            return .delay(OutgoingRecord(topic: topic, partition: record.partition, key: record.key, value: record.value, headers: record.headers))
        }
        if !resuming { working.remove(partition: original.partition, key: original.key, offset: original.offset) }
        if let first = retry.firstFailureMs { firstFailures[Origin(original)] = first }
        return .run(original, attempt: retry.attempt)
    }

    /// After a failed attempt: when `wait` is longer than `in_place_max`, the record (as admitted, or a
    /// retry-topic record) to produce to the retry topic so that `nextAttempt` runs after `wait`; else nil
    /// (wait in place).
    public func delayIfLong(_ record: ConsumedRecord, wait: Double, nextAttempt: Int, message: String) -> OutgoingRecord? {
        guard policy.movesToDelayPath(wait: wait) else { return nil }
        let record = original(of: record)
        let now = clock()
        lock.lock()
        defer { lock.unlock() }
        guard !inPlaceOnly.contains(record.partition) else { return nil }
        working.add(partition: record.partition, key: record.key, offset: record.offset)
        let first = firstFailures[Origin(record)] ?? RetryRecord.ms(now)
        let delayed = RetryRecord(original: record, attempt: nextAttempt, dueMs: RetryRecord.ms(now.addingTimeInterval(wait)),
                                  reason: .failed, firstFailureMs: first, lastError: message)
        return delayed.outgoing(topic: topic)
    }

    /// Notes that an attempt of `record` failed now: the first such time in the batch (or the one carried by
    /// its retry record) is its first failure, for the delay path and the dead letter.
    public func noteFailure(_ record: ConsumedRecord) {
        let origin = Origin(original(of: record))
        let now = RetryRecord.ms(clock())
        lock.lock()
        if firstFailures[origin] == nil { firstFailures[origin] = now }
        lock.unlock()
    }

    /// The record the step read, for a record consumed from the retry topic; `record` itself otherwise.
    public func original(of record: ConsumedRecord) -> ConsumedRecord {
        guard record.topic == topic, let retry = RetryRecord.parse(record) else { return record }
        return retry.original
    }

    /// When `record` (as admitted) first failed, if it came through the delay path.
    public func firstFailure(of record: ConsumedRecord) -> Date? {
        lock.lock()
        defer { lock.unlock() }
        return firstFailures[Origin(record)].map { Date(timeIntervalSince1970: Double($0) / 1000) }
    }

    // MARK: - Called by the worker

    /// The batch's records were delivered and its offsets committed: its bookkeeping stands.
    public func batchCommitted() {
        lock.lock()
        committed = working
        firstFailures = [:]
        lock.unlock()
    }

    /// The batch was aborted (it will be read again): forget its bookkeeping.
    public func batchAborted() {
        lock.lock()
        working = committed
        firstFailures = [:]
        lock.unlock()
    }

    /// Adds a record read from the retry topic while rebuilding the bookkeeping of a newly assigned partition.
    public func rebuild(with record: ConsumedRecord) {
        guard let retry = RetryRecord.parse(record) else { return }
        lock.lock()
        working.add(partition: retry.original.partition, key: retry.original.key, offset: retry.original.offset)
        committed.add(partition: retry.original.partition, key: retry.original.key, offset: retry.original.offset)
        lock.unlock()
    }

    /// Takes back the bookkeeping of a delay-path record Kafka refused (its input is dead-lettered instead).
    public func forget(_ refused: OutgoingRecord) {
        let asRead = ConsumedRecord(topic: topic, partition: refused.partition ?? -1, offset: -1, timestampMs: -1, key: refused.key, value: nil, headers: refused.headers)
        guard let retry = RetryRecord.parse(asRead) else { return }
        lock.lock()
        working.remove(partition: retry.original.partition, key: retry.original.key, offset: retry.original.offset)
        lock.unlock()
    }

    /// Retries of input partition `partition` wait in place (its retry partition does not exist).
    public func retryInPlace(partition: Int32) {
        lock.lock()
        inPlaceOnly.insert(partition)
        lock.unlock()
    }

    /// Forgets a partition this worker no longer owns.
    public func drop(partition: Int32) {
        lock.lock()
        working.drop(partition: partition)
        committed.drop(partition: partition)
        inPlaceOnly.remove(partition)
        lock.unlock()
    }

    /// The working bookkeeping (for logs and tests).
    public var ledger: DelayLedger {
        lock.lock()
        defer { lock.unlock() }
        return working
    }
}
