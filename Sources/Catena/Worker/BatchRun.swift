import Foundation

/// What a worker waiting on a `BatchRun` hears next.
enum BatchRunEvent: Sendable, Equatable {
    /// Every record the run was given has its outcome (or the run stopped early when asked to).
    case finished
    /// The current invocation ran past the step's timeout on this attempt; the run is abandoned and the
    /// outcomes before it are final.
    case timedOut(attempt: Int)
    /// The run is still going; the worker may do its housekeeping (keep polling the group) and wait again.
    case tick
}

/// The state a batch's runner task shares with the worker that waits for it.
///
/// A batch's records run one after another in one task (one thread hop per batch, not per record). Each
/// invocation announces itself with `begin`/`end`; the shared `DeadlineWatchdog` checks the deadline of the
/// invocation in progress, and on overrun the run is abandoned: the worker hears `.timedOut`, keeps the
/// outcomes so far, and never waits for the hung call (its task is cancelled and whatever it returns later
/// is ignored). The watchdog is asked for one check per timeout period, not one per invocation.
final class BatchRun: @unchecked Sendable {
    private let lock = NSLock()
    private let timeoutSeconds: Double
    private var outcomes: [StepOutcome] = []
    /// Deadline of the invocation in progress; nil between invocations (a retry's backoff is not timed).
    private var deadline: Date?
    private var attempt = 1
    /// Whether a deadline check is scheduled with the watchdog.
    private var checkScheduled = false
    private var ended: BatchRunEvent?
    private var waiter: CheckedContinuation<BatchRunEvent, Never>?

    init(timeoutSeconds: Double, capacity: Int) {
        self.timeoutSeconds = max(timeoutSeconds, 0.001)
        outcomes.reserveCapacity(capacity)
    }

    // MARK: - Called by the runner task

    /// An invocation (attempt `attempt` of the next record) starts now.
    func begin(attempt: Int) {
        let due = Date().addingTimeInterval(timeoutSeconds)
        lock.lock()
        deadline = due
        self.attempt = attempt
        let schedule = !checkScheduled && ended == nil
        if schedule { checkScheduled = true }
        lock.unlock()
        if schedule { scheduleCheck(at: due) }
    }

    /// The invocation returned (or threw). False when the run was abandoned meanwhile: stop, the result is not wanted.
    func end() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        deadline = nil
        return ended == nil
    }

    /// Records the next record's outcome. False when the run was abandoned: stop.
    func append(_ outcome: StepOutcome) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard ended == nil else { return false }
        outcomes.append(outcome)
        return true
    }

    /// The runner is done (all records, or stopped early when asked to).
    func finish() { end(with: .finished) }

    // MARK: - Called by the worker

    /// Waits for the run to finish or time out, or for `tickSeconds` to pass (`.tick`).
    func next(tickSeconds: Double) async -> BatchRunEvent {
        var ticket: UInt64?
        let event = await withCheckedContinuation { (continuation: CheckedContinuation<BatchRunEvent, Never>) in
            lock.lock()
            if let ended {
                lock.unlock()
                continuation.resume(returning: ended)
                return
            }
            waiter = continuation
            ticket = DeadlineWatchdog.shared.schedule(after: tickSeconds) { [weak self] in self?.tick() }
            lock.unlock()
        }
        if let ticket { DeadlineWatchdog.shared.cancel(ticket) }
        return event
    }

    /// The outcomes so far, in record order (final once the run has ended).
    func takeOutcomes() -> [StepOutcome] {
        lock.lock()
        defer { lock.unlock() }
        let taken = outcomes
        outcomes = []
        return taken
    }

    // MARK: - Watchdog side

    private func scheduleCheck(at due: Date) {
        _ = DeadlineWatchdog.shared.schedule(after: due.timeIntervalSinceNow) { [weak self] in self?.check() }
    }

    /// Runs at a deadline: times out the invocation in progress if it is past its deadline; else, when another
    /// invocation has started since, checks again at that one's deadline.
    private func check() {
        lock.lock()
        guard ended == nil, let due = deadline else {
            checkScheduled = false
            lock.unlock()
            return
        }
        if Date() >= due {
            checkScheduled = false
            let event = BatchRunEvent.timedOut(attempt: attempt)
            ended = event
            let w = waiter
            waiter = nil
            lock.unlock()
            w?.resume(returning: event)
        } else {
            lock.unlock()
            scheduleCheck(at: due)
        }
    }

    private func tick() {
        lock.lock()
        guard ended == nil, let w = waiter else { lock.unlock(); return }
        waiter = nil
        lock.unlock()
        w.resume(returning: .tick)
    }

    private func end(with event: BatchRunEvent) {
        lock.lock()
        guard ended == nil else { lock.unlock(); return }
        ended = event
        let w = waiter
        waiter = nil
        lock.unlock()
        w?.resume(returning: event)
    }
}
