import Foundation

/// What a step made of one input record.
public enum StepOutcome: Sendable {
    /// The function succeeded: this record goes to the next step (or the output topic).
    case output(OutgoingRecord)
    /// The record could not be processed: this dead letter goes to the DLQ.
    case deadLetter(OutgoingRecord, DeadLetter)
    /// A dead letter sent back too often (`ReplayGuard`): this record goes to `<chain>.dlq.parked`; the step did not run.
    case parked(OutgoingRecord)
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
    /// Sleeps between attempts; replaceable in tests.
    private let sleep: @Sendable (Double) async -> Void

    public init(chain: ChainDefinition, step: StepDefinition, function: any CatenaFunction, workerID: String,
                sleep: @escaping @Sendable (Double) async -> Void = { s in try? await Task.sleep(nanoseconds: UInt64(s * 1_000_000_000)) }) {
        self.chain = chain
        self.step = step
        self.function = function
        self.workerID = workerID
        self.destination = chain.destinationTopic(after: step.name) ?? chain.outputTopic
        self.replayGuard = ReplayGuard(chain: chain, step: step.name)
        self.sleep = sleep
    }

    /// Processes `record` to its outcome. Never throws: every failure becomes a dead letter. A dead letter
    /// sent back with its headers is a replay (`ReplayGuard`): counted, or parked past the chain's limit.
    public func process(_ incoming: ConsumedRecord) async -> StepOutcome {
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
        let policy = step.retry
        var attempt = 1
        while true {
            let context = StepContext(correlationID: envelope.correlationID, chain: chain.name, step: step.name, attempt: attempt, headers: envelope.headers)
            let function = self.function
            let payload = envelope.payload
            do {
                let output = try await TimedInvocation.run(seconds: step.timeoutSeconds) {
                    try await function.run(payload, context: context)
                }
                let attributes = CloudEventHeaders.output(chain: chain.name, step: step.name, correlationID: envelope.correlationID,
                                                          attempt: attempt, contentType: function.outputContentType ?? envelope.contentType)
                return .output(OutgoingRecord(topic: destination, key: envelope.key, value: output, headers: attributes.applied(to: envelope.headers) + [KafkaHeader(HeaderNames.worker, text: workerID)]))
            } catch let failure as StepFailure where failure.kind == .fatal {
                return deadLetter(record, .fatal, failure.message, attempts: attempt, correlationID: envelope.correlationID)
            } catch {
                let message = (error as? StepFailure)?.message ?? String(describing: error)
                let isTimeout = error is InvocationTimeout
                let retried = policy.retryOn.contains(isTimeout ? .timeout : .error)
                guard retried, attempt < policy.maxAttempts, let wait = policy.wait(beforeAttempt: attempt + 1) else {
                    let kind: DeadLetterKind = isTimeout ? .timeout : .retriesExhausted
                    return deadLetter(record, kind, message, attempts: attempt, correlationID: envelope.correlationID)
                }
                Log.debug("worker", "\(step.name): \(envelope.correlationID) attempt \(attempt) failed (\(message)); retrying in \(wait) s")
                await sleep(wait)
                attempt += 1
            }
        }
    }

    /// The dead letter for `record`.
    public func deadLetter(_ record: ConsumedRecord, _ kind: DeadLetterKind, _ message: String, attempts: Int, correlationID: String) -> StepOutcome {
        let (r, letter) = deadLetterRecord(record, kind, message, attempts: attempts, correlationID: correlationID)
        return .deadLetter(r, letter)
    }

    /// The dead-letter record for `record`, and what it says.
    func deadLetterRecord(_ record: ConsumedRecord, _ kind: DeadLetterKind, _ message: String, attempts: Int, correlationID: String) -> (OutgoingRecord, DeadLetter) {
        let letter = DeadLetter(step: step.name, kind: kind, message: message, attempts: attempts, correlationID: correlationID, workerID: workerID)
        return (letter.record(for: record, topic: chain.deadLetterTopic), letter)
    }
}
