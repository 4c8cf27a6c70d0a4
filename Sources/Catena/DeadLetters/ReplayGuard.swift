/// Keeps a dead letter that is copied back to a step's input topic by hand, headers and all (e.g. with
/// kcat), from cycling forever: the worker side of the redrive limit.
///
/// A record that arrives at a step carrying dead-letter headers (`HeaderNames.isDeadLetterHeader`) is a
/// **replay**. Its replay count is the same `catena_redrive_count` that `catena dlq redrive` raises, so both
/// paths share one counter and one limit, the chain's `max_redrives`:
/// - count + 1 within the limit: the step processes the record with the dead-letter headers dropped and
///   `catena_redrive_count` set to count + 1 (`RedrivePlan.redriveHeaders(of:count:)`), so outputs do not
///   carry old error headers and a new dead letter carries the new count, and headers stay bounded;
/// - past the limit (or a stub, which has no value to process): the record is parked on
///   `<chain>.dlq.parked` as it arrived (key, value and headers byte-for-byte, minus any parked headers of
///   an earlier parking) plus `catena_parked_step` and `catena_parked_reason`, and the step does not run.
///
/// Pure: no Kafka, no clock.
public struct ReplayGuard: Sendable, Equatable {
    /// What a step does with one incoming record.
    public enum Decision: Sendable, Equatable {
        /// Not a replay: process the record as it is.
        case process
        /// A replay within the limit: process this record instead (replay count `count`).
        case replay(ConsumedRecord, count: Int)
        /// Do not run the step: send this record to the parked topic.
        case park(OutgoingRecord, reason: String)
    }

    /// The step the records arrive at.
    public var step: String
    /// A replay whose new count would exceed this is parked (`ChainDefinition.maxRedrives`).
    public var maxRedrives: Int
    /// `<chain>.dlq.parked`.
    public var parkedTopic: String

    public init(step: String, maxRedrives: Int, parkedTopic: String) {
        self.step = step
        self.maxRedrives = maxRedrives
        self.parkedTopic = parkedTopic
    }

    /// The guard for `step` of `chain`, with the chain's `max_redrives`.
    public init(chain: ChainDefinition, step: String) {
        self.init(step: step, maxRedrives: chain.maxRedrives, parkedTopic: chain.parkedTopic)
    }

    /// Whether `record` carries dead-letter headers, i.e. is a dead letter sent back as it was.
    public static func isReplay(_ record: ConsumedRecord) -> Bool {
        record.headers.withUnsafeBufferPointer { all in all.indices.contains { HeaderNames.isDeadLetterHeader(all[$0].name) } }
    }

    /// The decision for `record`.
    public func decide(_ record: ConsumedRecord) -> Decision {
        guard Self.isReplay(record) else { return .process }
        let count = RedrivePlan.redriveCount(of: record.headers) + 1
        if record.header(HeaderNames.errorTruncated) == "true" {
            return park(record, reason: "a dead-letter stub (\(HeaderNames.errorTruncated)=true) was sent back to step \(step): its value was not stored, so there is nothing to process")
        }
        if count > maxRedrives {
            return park(record, reason: "a dead letter was sent back to step \(step) with its dead-letter headers once more after \(HeaderNames.redriveCount) reached max_redrives \(maxRedrives)")
        }
        var replayed = record
        replayed.headers = RedrivePlan.redriveHeaders(of: record, count: count)
        return .replay(replayed, count: count)
    }

    private func park(_ record: ConsumedRecord, reason: String) -> Decision {
        var headers = record.headers.filter { !$0.name.utf8HasPrefix("catena_parked_") }
        headers.append(KafkaHeader(HeaderNames.parkedStep, text: step))
        headers.append(KafkaHeader(HeaderNames.parkedReason, text: reason))
        return .park(OutgoingRecord(topic: parkedTopic, key: record.key, value: record.value, headers: headers), reason: reason)
    }
}
