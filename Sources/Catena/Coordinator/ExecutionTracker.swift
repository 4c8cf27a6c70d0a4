/// Follows executions by correlation ID from their entry record to a terminal outcome: completed (on
/// `<chain>.output`), failed (dead-lettered), or timed out (neither within the chain's execution timeout).
///
/// Pure bookkeeping, fed by the coordinator in the order it reads records. An outcome may be read before
/// its entry (they are on different topics); it then waits and is matched when the entry arrives. Several
/// entries with the same correlation ID are separate executions, matched to outcomes first in, first out; an
/// outcome written before an entry (beyond a small clock tolerance) never finishes it.
///
/// Deadlines: `expire(nowMs:)` marks every execution still without an outcome after its entry timestamp plus
/// the execution timeout as timed out, once, and returns them for publication. `sawTimeout(_:)` replays one
/// published earlier; fed before the entries (the coordinator reads `<chain>.timeouts` first), it makes a
/// restarted coordinator mark no execution twice. An outcome for a timed-out execution is counted as late:
/// the execution stays timed out and is not counted as completed or failed too.
///
/// Progress (only with an execution timeout): `sawStep(_:for:)` counts the records seen on each later step's
/// input topic per correlation ID, so a timed-out execution says which step it was last seen at.
public struct ExecutionTracker: Sendable {
    /// A terminal outcome read from `<chain>.output` or `<chain>.dlq`.
    public enum Outcome: Sendable, Equatable {
        case completed(atMs: Int64)
        case failed(step: String, kind: String, message: String, atMs: Int64)

        /// When the outcome record was written (-1 when unknown).
        var atMs: Int64 {
            switch self {
            case .completed(let at), .failed(_, _, _, let at): return at
            }
        }
    }

    /// How much earlier than an entry an outcome may be stamped and still belong to it (producers' clocks
    /// differ a little). An outcome written before that cannot be the entry's: it is a repeat of an earlier
    /// execution with the same correlation ID (a redrive, a duplicate) and stays unmatched.
    static let clockSkewToleranceMs: Int64 = 2000

    /// Whether an outcome written at `outcomeMs` can finish an execution that entered at `entryMs`.
    static func outcome(at outcomeMs: Int64, canFinishEntryAt entryMs: Int64) -> Bool {
        outcomeMs < 0 || entryMs < 0 || outcomeMs + clockSkewToleranceMs >= entryMs
    }

    /// How many timed-out executions snapshots list.
    public static let recentTimeoutsKept = 5

    private struct Pending: Sendable {
        var entryMs: Int64
        var entry: EntryPosition
        var timedOut = false
    }

    /// Everything known about one correlation ID; dropped once it holds nothing.
    private struct Execution: Sendable {
        var pending: [Pending] = []   // executions without an outcome yet (timed-out ones included), oldest first
        var unmatched: [Outcome] = []
        /// Per step index (1...): records seen on that step's input topic not yet accounted to a finished
        /// execution; negative while a finished execution's records there are still to be read.
        var sightings: [Int] = []

        var isEmpty: Bool { pending.isEmpty && unmatched.isEmpty && !sightings.contains { $0 != 0 } }

        /// The furthest step index the `i`th pending execution reached (records of one key stay in order on
        /// each topic, so the `i`th record seen on a step's topic belongs to the `i`th pending execution).
        func reachedStep(_ i: Int) -> Int { sightings.indices.last { sightings[$0] > i } ?? 0 }

        mutating func sighted(step: Int, steps: Int) {
            if sightings.count < steps { sightings += repeatElement(0, count: steps - sightings.count) }
            sightings[step] += 1
        }

        /// A finished execution passed through steps 1...`last`: its records there are accounted for.
        mutating func finished(through last: Int, steps: Int) {
            guard last >= 1 else { return }
            if sightings.count < steps { sightings += repeatElement(0, count: steps - sightings.count) }
            for s in 1...last { sightings[s] -= 1 }
        }
    }

    public let chain: String
    /// Step names in order, when progress is tracked (else empty).
    private let stepNames: [String]
    private let stepIndex: [String: Int]
    private let executionTimeoutSeconds: Double
    private let timeoutMs: Int64
    private var executions: [String: Execution] = [:]
    /// Timeouts replayed from `<chain>.timeouts` whose entry has not been read yet.
    private var replayedTimeouts: [EntryPosition: ExecutionTimeout] = [:]
    /// No execution's deadline passes before this (`.max` when none is pending); spares `expire` a scan.
    private var nextDeadlineMs = Int64.max
    private var unpositionedEntries: Int64 = 0
    public private(set) var started = 0
    /// Executions without an outcome that have not timed out.
    public private(set) var inFlight = 0
    public private(set) var completed = 0
    public private(set) var failed = 0
    public private(set) var timedOut = 0
    /// Outcomes read for executions that had already timed out.
    public private(set) var late = 0
    public private(set) var unmatchedOutcomes = 0
    private var recentTimeouts: [ExecutionTimeout] = []
    private var failures: [String: StatusSnapshot.FailureGroup] = [:]
    private var latency = LatencyHistogram()
    private var firstEntryMs: Int64?
    private var lastOutcomeMs: Int64?

    /// A tracker without deadlines or progress.
    public init(chain: String) {
        self.init(chain: chain, steps: [], executionTimeoutSeconds: 0)
    }

    /// A tracker for `chain`'s executions: with an execution timeout, it tracks deadlines and step progress.
    public init(chain: ChainDefinition) {
        self.init(chain: chain.name, steps: chain.executionTimeoutSeconds > 0 ? chain.steps.map(\.name) : [],
                  executionTimeoutSeconds: chain.executionTimeoutSeconds)
    }

    /// `steps`: the chain's step names in order, to track which step each execution reached (empty: not tracked).
    /// `executionTimeoutSeconds`: 0 = executions never time out.
    public init(chain: String, steps: [String], executionTimeoutSeconds: Double) {
        self.chain = chain
        stepNames = steps
        stepIndex = Dictionary(steps.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        self.executionTimeoutSeconds = max(0, executionTimeoutSeconds)
        timeoutMs = Int64((max(0, executionTimeoutSeconds) * 1000).rounded())
    }

    /// Whether `sawStep` is used: the coordinator then reads every later step's input topic too.
    public var tracksProgress: Bool { stepNames.count > 1 }

    // MARK: - Feeding records

    /// An entry record for `id`, written at `atMs`, read at `position` of the entry topic.
    public mutating func sawEntry(_ id: String, atMs: Int64, at position: EntryPosition? = nil) {
        started += 1
        firstEntryMs = min(firstEntryMs ?? atMs, atMs)
        if position == nil { unpositionedEntries += 1 }
        let position = position ?? EntryPosition(partition: -1, offset: unpositionedEntries)
        var pending = Pending(entryMs: atMs, entry: position)
        if replayedTimeouts.removeValue(forKey: position) != nil {
            pending.timedOut = true
            timedOut += 1
        }
        var e = executions.removeValue(forKey: id) ?? Execution()
        if let i = e.unmatched.firstIndex(where: { Self.outcome(at: $0.atMs, canFinishEntryAt: atMs) }) {
            unmatchedOutcomes -= 1
            finish(pending, with: e.unmatched.remove(at: i), in: &e)
        } else {
            e.pending.append(pending)
            if !pending.timedOut {
                inFlight += 1
                if timeoutMs > 0 { nextDeadlineMs = min(nextDeadlineMs, atMs + timeoutMs) }
            }
        }
        store(e, id)
    }

    /// A record of `id` on the input topic of `step` (ignored for the first step, unknown steps, or when
    /// progress is not tracked).
    public mutating func sawStep(_ step: String, for id: String) {
        guard tracksProgress, let s = stepIndex[step], s > 0 else { return }
        var e = executions.removeValue(forKey: id) ?? Execution()
        e.sighted(step: s, steps: stepNames.count)
        store(e, id)
    }

    /// An outcome for `id`.
    public mutating func saw(_ outcome: Outcome, for id: String) {
        var e = executions.removeValue(forKey: id) ?? Execution()
        if let first = e.pending.first, Self.outcome(at: outcome.atMs, canFinishEntryAt: first.entryMs) {
            let pending = e.pending.removeFirst()
            if !pending.timedOut { inFlight -= 1 }
            finish(pending, with: outcome, in: &e)
        } else {
            e.unmatched.append(outcome)
            unmatchedOutcomes += 1
        }
        store(e, id)
    }

    /// A timed-out execution published earlier, read back from `<chain>.timeouts`. Feed these before the
    /// entries: the execution is then marked timed out when its entry is read, and never returned by `expire`.
    public mutating func sawTimeout(_ timeout: ExecutionTimeout) {
        remember([timeout])
        let id = timeout.correlationID
        guard let i = executions[id]?.pending.firstIndex(where: { $0.entry == timeout.entry }) else {
            replayedTimeouts[timeout.entry] = timeout
            return
        }
        if executions[id]?.pending[i].timedOut == false {  // its entry was read first: mark it now
            executions[id]?.pending[i].timedOut = true
            inFlight -= 1
            timedOut += 1
        }
    }

    // MARK: - Deadlines

    /// Marks every execution without an outcome whose deadline (entry timestamp + execution timeout) is
    /// before `nowMs` as timed out, and returns those, oldest deadline first. Each execution is returned once.
    public mutating func expire(nowMs: Int64) -> [ExecutionTimeout] {
        guard timeoutMs > 0, nowMs > nextDeadlineMs else { return [] }
        var due: [(id: String, index: Int)] = []
        var next = Int64.max
        for (id, e) in executions {
            for (i, p) in e.pending.enumerated() where !p.timedOut {
                let deadline = p.entryMs + timeoutMs
                if nowMs > deadline { due.append((id, i)) } else { next = min(next, deadline) }
            }
        }
        nextDeadlineMs = next
        var marked: [ExecutionTimeout] = []
        for (id, i) in due {
            guard var e = executions.removeValue(forKey: id) else { continue }
            e.pending[i].timedOut = true
            let p = e.pending[i]
            marked.append(ExecutionTimeout(correlationID: id, lastStep: stepName(e.reachedStep(i)), entryMs: p.entryMs,
                                           deadlineMs: p.entryMs + timeoutMs, entry: p.entry))
            store(e, id)
        }
        inFlight -= marked.count
        timedOut += marked.count
        marked.sort { ($0.deadlineMs, $0.entry.partition, $0.entry.offset) < ($1.deadlineMs, $1.entry.partition, $1.entry.offset) }
        remember(marked)
        return marked
    }

    // MARK: - Snapshot

    /// The current state, taken at `nowMs`.
    public func snapshot(nowMs: Int64) -> StatusSnapshot {
        let groups = failures.values.sorted { ($0.count, $1.step, $1.kind, $1.message) > ($1.count, $0.step, $0.kind, $0.message) }
        return StatusSnapshot(chain: chain, updatedAtMs: nowMs, started: started, inFlight: inFlight, completed: completed, failed: failed,
                              timedOut: timedOut, late: late, unmatchedOutcomes: unmatchedOutcomes, failures: Array(groups.prefix(50)),
                              executionTimeoutSeconds: executionTimeoutSeconds, recentTimeouts: recentTimeouts,
                              latencyP50Ms: latency.percentile(50), latencyP95Ms: latency.percentile(95), latencyP99Ms: latency.percentile(99),
                              latencyMaxMs: latency.total > 0 ? latency.maxMs : nil, firstEntryMs: firstEntryMs, lastOutcomeMs: lastOutcomeMs)
    }

    // MARK: - Private

    private mutating func store(_ e: Execution, _ id: String) {
        if !e.isEmpty { executions[id] = e }
    }

    private func stepName(_ index: Int) -> String {
        stepNames.indices.contains(index) ? stepNames[index] : stepNames.first ?? ""
    }

    /// Counts `outcome` for `pending` (late when it had timed out) and accounts for the steps it went through.
    private mutating func finish(_ pending: Pending, with outcome: Outcome, in e: inout Execution) {
        if tracksProgress {
            switch outcome {
            case .completed: e.finished(through: stepNames.count - 1, steps: stepNames.count)
            case .failed(let step, _, _, _): e.finished(through: stepIndex[step] ?? 0, steps: stepNames.count)
            }
        }
        if pending.timedOut {
            late += 1
            return
        }
        switch outcome {
        case .completed(let at):
            completed += 1
            latency.record(at - pending.entryMs)
            lastOutcomeMs = max(lastOutcomeMs ?? at, at)
        case .failed(let step, let kind, let message, let at):
            failed += 1
            lastOutcomeMs = max(lastOutcomeMs ?? at, at)
            let key = "\(step)\u{0}\(kind)\u{0}\(message)"
            failures[key, default: .init(step: step, kind: kind, message: message, count: 0)].count += 1
        }
    }

    /// Keeps the most recent timeouts (latest deadline first), each execution once.
    private mutating func remember(_ timeouts: [ExecutionTimeout]) {
        guard !timeouts.isEmpty else { return }
        var seen = Set<EntryPosition>()
        recentTimeouts = (timeouts + recentTimeouts)
            .sorted { ($0.deadlineMs, $0.entry.partition, $0.entry.offset) > ($1.deadlineMs, $1.entry.partition, $1.entry.offset) }
            .filter { seen.insert($0.entry).inserted }
            .prefix(Self.recentTimeoutsKept).map { $0 }
    }
}
