import Foundation

/// Reads the final topic of a bench chain (read_committed, every partition from the beginning) on a
/// thread of its own and counts what arrives: unique records per phase, duplicates, and the latencies of
/// the latency phase. Waiters block on a condition variable (off Swift's cooperative pool).
final class OutputTally: @unchecked Sendable {
    /// A contiguous range of sequence numbers produced together.
    struct Phase: Sendable {
        var name: String
        var range: Range<UInt64>
    }

    struct Snapshot: Sendable {
        /// Unique records seen, per phase (same order as the phases).
        var unique: [Int]
        /// When the last missing record of each phase arrived (nil while incomplete).
        var completedAt: [Date?]
        var duplicates = 0
        /// Records that are not bench payloads or are outside every phase.
        var foreign = 0
        var totalUnique: Int { unique.reduce(0, +) }
    }

    /// Released in `stop()`, so its librdkafka handle is destroyed before the broker stops.
    private var consumer: KafkaConsumer?
    private let phases: [Phase]
    private let latencyPhase: Int?
    private let condition = NSCondition()
    private var seen: [Bool]
    private var state: Snapshot
    /// Latency-phase records: final record timestamp - produce time, and arrival here - produce time (ms).
    private var recordLatencies: [Double] = []
    private var arrivalLatencies: [Double] = []
    private let stopped = Atomic(false)
    private let finished = DispatchSemaphore(value: 0)
    private let started = Atomic(false)

    init(consumer: KafkaConsumer, phases: [Phase], latencyPhase: Int?) {
        self.consumer = consumer
        self.phases = phases
        self.latencyPhase = latencyPhase
        let total = phases.map(\.range.upperBound).max() ?? 0
        seen = [Bool](repeating: false, count: Int(total))
        state = Snapshot(unique: phases.map { _ in 0 }, completedAt: phases.map { _ in nil })
    }

    /// Starts the reading thread.
    func start() {
        started.store(true)
        guard let consumer else { return }
        let stopped = self.stopped, finished = self.finished
        let thread = Thread { [weak self, weak consumer] in
            while !stopped.load() {
                guard let consumer else { break }
                let records = consumer.poll(maxRecords: 2000, timeoutMs: 100) { message in
                    Log.warn("bench", "reader: \(message)")
                }
                guard let self else { break }
                if records.isEmpty { continue }
                let now = Date()
                let nowMs = now.timeIntervalSince1970 * 1000
                self.condition.lock()
                for r in records { self.account(r, nowMs: nowMs, now: now) }
                self.condition.broadcast()
                self.condition.unlock()
            }
            finished.signal()
        }
        thread.name = "catena-bench-reader"
        thread.start()
    }

    private func account(_ record: ConsumedRecord, nowMs: Double, now: Date) {
        guard let (seq, micros) = BenchPayload.parse(record.value), seq < UInt64(seen.count),
              let p = phases.firstIndex(where: { $0.range.contains(seq) }) else {
            state.foreign += 1
            return
        }
        if seen[Int(seq)] { state.duplicates += 1; return }
        seen[Int(seq)] = true
        state.unique[p] += 1
        if state.unique[p] == phases[p].range.count { state.completedAt[p] = now }
        if p == latencyPhase {
            let producedMs = Double(micros) / 1000
            if record.timestampMs > 0 { recordLatencies.append(Double(record.timestampMs) - producedMs) }
            arrivalLatencies.append(nowMs - producedMs)
        }
    }

    var snapshot: Snapshot {
        condition.lock(); defer { condition.unlock() }
        return state
    }

    /// Latencies (ms) of the latency phase so far: by the final record's timestamp and by arrival here.
    var latencies: (record: [Double], arrival: [Double]) {
        condition.lock(); defer { condition.unlock() }
        return (recordLatencies, arrivalLatencies)
    }

    /// Blocks until `done` holds for the counts, `deadline` passes (false), or `abort` returns a reason
    /// (thrown). `abort` is checked at least every 250 ms, e.g. for exited processes or a stop request.
    func wait(until deadline: Date, abort: () -> String?, _ done: (Snapshot) -> Bool) throws -> Bool {
        condition.lock(); defer { condition.unlock() }
        while !done(state) {
            if let reason = abort() { throw CatenaError.failure(reason) }
            if Date() >= deadline { return false }
            _ = condition.wait(until: min(deadline, Date().addingTimeInterval(0.25)))
        }
        return true
    }

    /// Stops the reading thread and closes the consumer.
    func stop() {
        stopped.store(true)
        if started.load() { _ = finished.wait(timeout: .now() + 5) }
        consumer = nil
    }
}
