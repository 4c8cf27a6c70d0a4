/// Follows executions by correlation ID from their entry record to an outcome (completed or dead-lettered).
///
/// Pure bookkeeping, fed by the coordinator in the order it reads records. An outcome may be read before
/// its entry (they are on different topics); it then waits and is matched when the entry arrives. Several
/// entries with the same correlation ID are separate executions, matched to outcomes first in, first out.
public struct ExecutionTracker: Sendable {
    /// A terminal outcome.
    public enum Outcome: Sendable, Equatable {
        case completed(atMs: Int64)
        case failed(step: String, kind: String, message: String, atMs: Int64)
    }

    private struct Execution: Sendable {
        var pendingEntries: [Int64] = []  // entry timestamps of executions without an outcome yet
        var unmatched: [Outcome] = []
    }

    public let chain: String
    private var executions: [String: Execution] = [:]
    public private(set) var started = 0
    public private(set) var inFlight = 0
    public private(set) var completed = 0
    public private(set) var failed = 0
    public private(set) var unmatchedOutcomes = 0
    private var failures: [String: StatusSnapshot.FailureGroup] = [:]
    private var latency = LatencyHistogram()
    private var firstEntryMs: Int64?
    private var lastOutcomeMs: Int64?

    public init(chain: String) { self.chain = chain }

    /// An entry record for `id`, written at `atMs`.
    public mutating func sawEntry(_ id: String, atMs: Int64) {
        started += 1
        firstEntryMs = min(firstEntryMs ?? atMs, atMs)
        var e = executions[id] ?? Execution()
        if !e.unmatched.isEmpty {
            let outcome = e.unmatched.removeFirst()
            unmatchedOutcomes -= 1
            count(outcome, entryMs: atMs)
        } else {
            e.pendingEntries.append(atMs)
            inFlight += 1
        }
        executions[id] = e.pendingEntries.isEmpty && e.unmatched.isEmpty ? nil : e
    }

    /// An outcome for `id`.
    public mutating func saw(_ outcome: Outcome, for id: String) {
        var e = executions[id] ?? Execution()
        if !e.pendingEntries.isEmpty {
            let entryMs = e.pendingEntries.removeFirst()
            inFlight -= 1
            count(outcome, entryMs: entryMs)
        } else {
            e.unmatched.append(outcome)
            unmatchedOutcomes += 1
        }
        executions[id] = e.pendingEntries.isEmpty && e.unmatched.isEmpty ? nil : e
    }

    private mutating func count(_ outcome: Outcome, entryMs: Int64) {
        switch outcome {
        case .completed(let at):
            completed += 1
            latency.record(at - entryMs)
            lastOutcomeMs = max(lastOutcomeMs ?? at, at)
        case .failed(let step, let kind, let message, let at):
            failed += 1
            lastOutcomeMs = max(lastOutcomeMs ?? at, at)
            let key = "\(step)\u{0}\(kind)\u{0}\(message)"
            failures[key, default: .init(step: step, kind: kind, message: message, count: 0)].count += 1
        }
    }

    /// The current state. Executions in flight whose entry is older than `timeoutSeconds` (if > 0) count as timed out.
    public func snapshot(nowMs: Int64, timeoutSeconds: Double) -> StatusSnapshot {
        var timedOut = 0
        if timeoutSeconds > 0 {
            let limit = nowMs - Int64(timeoutSeconds * 1000)
            for e in executions.values { timedOut += e.pendingEntries.filter { $0 < limit }.count }
        }
        let groups = failures.values.sorted { ($0.count, $1.step, $1.kind, $1.message) > ($1.count, $0.step, $0.kind, $0.message) }
        return StatusSnapshot(chain: chain, updatedAtMs: nowMs, started: started, inFlight: inFlight, completed: completed, failed: failed,
                              timedOut: timedOut, unmatchedOutcomes: unmatchedOutcomes, failures: Array(groups.prefix(50)),
                              latencyP50Ms: latency.percentile(50), latencyP95Ms: latency.percentile(95), latencyP99Ms: latency.percentile(99),
                              latencyMaxMs: latency.total > 0 ? latency.maxMs : nil, firstEntryMs: firstEntryMs, lastOutcomeMs: lastOutcomeMs)
    }
}
