import Foundation

/// What a step made of one input record.
public enum StepOutcome: Sendable {
    /// The function succeeded: this record goes to the next step (or the output topic).
    case output(OutgoingRecord)
    /// The record could not be processed: this dead letter goes to the DLQ.
    case deadLetter(OutgoingRecord, DeadLetter)
    /// A dead letter sent back too often (`ReplayGuard`): this record goes to `<chain>.dlq.parked`; the step did not run.
    case parked(OutgoingRecord)
    /// The record waits on the step's delay path (`DelayPath`): this record goes to `<chain>.<step>.retry`.
    case delayed(OutgoingRecord)
}

/// Processes one record of one step: decodes the envelope, runs the function with the step's timeout and
/// retry policy, and builds the output or dead-letter record. Knows nothing about consuming or committing.
public struct StepProcessor: Sendable {
    public let chain: ChainDefinition
    public let step: StepDefinition
    public let function: any CatenaFunction
    public let workerID: String
    private let destination: String
    private let replayGuard: ReplayGuard
    private let outputHeaders: OutputHeaders
    private let clock = RFC3339Clock()
    /// Sleeps between attempts; replaceable in tests.
    let sleep: @Sendable (Double) async -> Void
    /// The step's delay path, when the worker runs one; nil: every retry waits in place.
    public var delayPath: DelayPath?

    public init(chain: ChainDefinition, step: StepDefinition, function: any CatenaFunction, workerID: String,
                sleep: @escaping @Sendable (Double) async -> Void = { s in try? await Task.sleep(nanoseconds: UInt64(s * 1_000_000_000)) }) {
        self.chain = chain
        self.step = step
        self.function = function
        self.workerID = workerID
        self.destination = chain.destinationTopic(after: step.name) ?? chain.outputTopic
        self.replayGuard = ReplayGuard(chain: chain, step: step.name)
        self.outputHeaders = OutputHeaders(chain: chain.name, step: step.name, workerID: workerID)
        self.sleep = sleep
    }

    /// Processes `record` to its outcome. Never throws: every failure becomes a dead letter.
    public func process(_ record: ConsumedRecord) async -> StepOutcome {
        await process(batch: [record], shouldStop: { false })[0]
    }

    /// Where to pick a record up again after an invocation timed out and the policy allows another attempt.
    struct Resumption: Sendable {
        var attempt: Int
        var wait: Double
    }

    /// Runs `record` inside a batch run: decodes it, invokes the function (announcing each attempt to `run`,
    /// whose watchdog times it out), retries in place per the step's policy, and builds the outcome.
    /// A dead letter sent back with its headers is a replay (`ReplayGuard`): counted, or parked past the chain's limit.
    /// - Returns: nil when the run was abandoned (an attempt timed out): the worker decides what happens next.
    func process(_ consumed: ConsumedRecord, resuming resumption: Resumption?, in run: BatchRun) async -> StepOutcome? {
        var (incoming, firstAttempt) = (consumed, 1)
        switch delayPath?.admit(consumed, resuming: resumption != nil) {
        case .delay(let waiting)?: return .delayed(waiting)
        case .run(let admitted, let attempt)?: (incoming, firstAttempt) = (admitted, attempt)
        case nil: break
        }
        let record: ConsumedRecord
        switch replayGuard.decide(incoming) {
        case .process: record = incoming
        case .replay(let replayed, _): record = replayed
        case .park(let parked, let reason):
            Log.warn("worker", "\(step.name): parked \(incoming.topic)[\(incoming.partition)]@\(incoming.offset) on \(parked.topic): \(reason)")
            return .parked(parked)
        }
        let envelope: IncomingEnvelope
        do { envelope = try IncomingEnvelope.decode(record) } catch {
            return deadLetter(record, .undecodable, error.message, attempts: 0, correlationID: IncomingEnvelope.correlationID(of: record))
        }
        var attempt = resumption?.attempt ?? firstAttempt
        if let wait = resumption?.wait, wait > 0 { await sleep(wait) }
        while true {
            let context = StepContext(correlationID: envelope.correlationID, chain: chain.name, step: step.name, attempt: attempt, headers: envelope.headers)
            let failure: any Error
            run.begin(attempt: attempt)
            do {
                let output = try await function.run(envelope.payload, context: context)
                guard run.end() else { return nil }
                return .output(outputRecord(envelope, output, attempt: attempt))
            } catch {
                guard run.end() else { return nil }
                failure = error
            }
            if let stepFailure = failure as? StepFailure, stepFailure.kind == .fatal {
                return deadLetter(record, .fatal, stepFailure.message, attempts: attempt, correlationID: envelope.correlationID)
            }
            let message = (failure as? StepFailure)?.message ?? String(describing: failure)
            switch afterFailure(record, .error, attempt: attempt, message: message, correlationID: envelope.correlationID) {
            case .outcome(let outcome): return outcome
            case .retryInPlace(let wait):
                await sleep(wait)
                attempt += 1
            }
        }
    }

    /// What follows a retryable failure (a function error or a timeout) of attempt `attempt`.
    enum AfterFailure {
        /// The record is finished for now: dead-lettered (attempts used up) or moved to the delay path.
        case outcome(StepOutcome)
        /// Wait this long, then try again in place.
        case retryInPlace(wait: Double)
    }

    /// Applies the step's retry policy after attempt `attempt` failed: dead letter when the policy gives up
    /// (`timeout` or `retries-exhausted`), the delay path for a long wait, else another attempt in place.
    func afterFailure(_ record: ConsumedRecord, _ failure: RetryPolicy.FailureClass, attempt: Int, message: String, correlationID: String) -> AfterFailure {
        delayPath?.noteFailure(record)
        guard let wait = retryWait(after: failure, attempt: attempt) else {
            return .outcome(deadLetter(record, failure == .timeout ? .timeout : .retriesExhausted, message, attempts: attempt, correlationID: correlationID))
        }
        if let delayed = delayPath?.delayIfLong(record, wait: wait, nextAttempt: attempt + 1, message: message) { return .outcome(.delayed(delayed)) }
        Log.debug("worker", "\(step.name): \(correlationID) attempt \(attempt) failed (\(message)); retrying in \(wait) s")
        return .retryInPlace(wait: wait)
    }

    /// The wait before the next attempt after attempt `attempt` failed with `failure`, or nil when the policy
    /// gives up (that class of failure is not retried, or the attempts are used up).
    func retryWait(after failure: RetryPolicy.FailureClass, attempt: Int) -> Double? {
        let policy = step.retry
        guard policy.retryOn.contains(failure), attempt < policy.maxAttempts else { return nil }
        return policy.wait(beforeAttempt: attempt + 1)
    }

    /// The record that carries `output` to the next step.
    private func outputRecord(_ envelope: IncomingEnvelope, _ output: [UInt8], attempt: Int) -> OutgoingRecord {
        let headers = outputHeaders.headers(correlationID: envelope.correlationID, key: envelope.key, attempt: attempt,
                                            contentType: function.outputContentType ?? envelope.contentType,
                                            time: clock.now(), incoming: envelope.headers)
        return OutgoingRecord(topic: destination, key: envelope.key, value: output, headers: headers)
    }

    /// The dead letter for `record`.
    public func deadLetter(_ record: ConsumedRecord, _ kind: DeadLetterKind, _ message: String, attempts: Int, correlationID: String) -> StepOutcome {
        let (r, letter) = deadLetterRecord(record, kind, message, attempts: attempts, correlationID: correlationID)
        return .deadLetter(r, letter)
    }

    /// The dead-letter record for `record`, and what it says.
    func deadLetterRecord(_ record: ConsumedRecord, _ kind: DeadLetterKind, _ message: String, attempts: Int, correlationID: String) -> (OutgoingRecord, DeadLetter) {
        let record = delayPath?.original(of: record) ?? record
        var letter = DeadLetter(step: step.name, kind: kind, message: message, attempts: attempts, correlationID: correlationID, workerID: workerID)
        letter.firstFailure = delayPath?.firstFailure(of: record)
        return (letter.record(for: record, topic: chain.deadLetterTopic), letter)
    }
}
