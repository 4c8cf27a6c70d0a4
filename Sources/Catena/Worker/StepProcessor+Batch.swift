import Foundation

extension StepProcessor {
    /// Processes `records` in order and returns the outcomes of a prefix of them: all of them, unless
    /// `shouldStop` (asked before each record) said to stop early.
    ///
    /// The records run one after another in one task per batch (see `BatchRun`). While that task runs longer
    /// than `tickSeconds`, `whileSlow` is called every `tickSeconds` so the worker can keep polling its
    /// consumer group. An invocation that overruns the step's timeout is abandoned; the record is then tried
    /// again (in a fresh task, after the policy's backoff) or dead-lettered as `timeout`.
    func process(batch records: [ConsumedRecord], shouldStop: @escaping @Sendable () -> Bool,
                 tickSeconds: Double = 1, whileSlow: () async -> Void = {}) async -> [StepOutcome] {
        var outcomes: [StepOutcome] = []
        outcomes.reserveCapacity(records.count)
        var next = 0
        var resumption: Resumption?
        while next < records.count {
            let run = BatchRun(timeoutSeconds: step.timeoutSeconds, capacity: records.count - next)
            let pending = records[next...]
            let first = resumption
            let runner = Task { [self] in
                var resuming = first
                for record in pending {
                    if resuming == nil && shouldStop() { break }
                    guard let outcome = await process(record, resuming: resuming, in: run), run.append(outcome) else { return }
                    resuming = nil
                }
                run.finish()
            }
            var event = await run.next(tickSeconds: tickSeconds)
            while event == .tick {
                await whileSlow()
                event = await run.next(tickSeconds: tickSeconds)
            }
            outcomes += run.takeOutcomes()
            guard case .timedOut(let attempt) = event else { return outcomes }
            runner.cancel()
            let record = records[outcomes.count]
            let message = InvocationTimeout(seconds: step.timeoutSeconds).description
            switch afterFailure(record, .timeout, attempt: attempt, message: message, correlationID: IncomingEnvelope.correlationID(of: record)) {
            case .outcome(let outcome):
                outcomes.append(outcome)
                resumption = nil
            case .retryInPlace(let wait):
                resumption = Resumption(attempt: attempt + 1, wait: wait)
            }
            next = outcomes.count
        }
        return outcomes
    }
}
