import Foundation

/// Which dead letters a command selects. Every criterion that is set must hold; an empty set or nil
/// criterion selects everything.
public struct DeadLetterFilter: Sendable, Equatable {
    /// `catena_error_step` is one of these.
    public var steps: Set<String>
    /// `catena_error_kind` is one of these.
    public var kinds: Set<String>
    /// `catena_error_time` >= since (inclusive).
    public var since: Date?
    /// `catena_error_time` < until (exclusive).
    public var until: Date?
    /// The dead letter's correlation ID (`catena_error_correlationid`).
    public var correlationID: String?

    public init(steps: Set<String> = [], kinds: Set<String> = [], since: Date? = nil, until: Date? = nil, correlationID: String? = nil) {
        self.steps = steps
        self.kinds = kinds
        self.since = since
        self.until = until
        self.correlationID = correlationID
    }

    /// Whether `letter` is selected. With a time window, a dead letter without a readable
    /// `catena_error_time` is not selected.
    public func matches(_ letter: DeadLetterRecord) -> Bool {
        if !steps.isEmpty && !steps.contains(letter.step ?? "") { return false }
        if !kinds.isEmpty && !kinds.contains(letter.kind ?? "") { return false }
        if let correlationID, letter.correlationID != correlationID { return false }
        if since != nil || until != nil {
            guard let t = letter.errorTime else { return false }
            if let since, t < since { return false }
            if let until, t >= until { return false }
        }
        return true
    }
}

/// The pure part of `catena dlq redrive`: which dead letters are sent where, with which headers.
///
/// A selected dead letter is sent back to the input topic of the step that failed
/// (`<chain>.<catena_error_step>`) with the same key and value bytes and its headers minus the
/// `catena_error_*` / `catena_origin_*` ones, with `catena_redrive_count` set to the previous count + 1.
/// One whose count already reached `maxRedrives` is parked on `<chain>.dlq.parked` instead, headers and
/// all. Stubs (no value stored) and dead letters of steps the chain does not have are refused.
public struct RedrivePlan: Sendable {
    /// What to do with one dead letter.
    public enum Decision: Sendable, Equatable {
        /// Not selected by the filters.
        case skip
        /// Send this record (to the failed step's input topic).
        case redrive(OutgoingRecord)
        /// Send this record to the parked topic: the redrive limit is reached.
        case park(OutgoingRecord)
        /// Cannot be redriven, for this reason.
        case refuse(String)
    }

    public var chain: ChainDefinition
    public var filter: DeadLetterFilter
    /// A dead letter whose `catena_redrive_count` is at least this is parked, not sent.
    public var maxRedrives: Int

    /// `maxRedrives` nil: the chain's `max_redrives`.
    public init(chain: ChainDefinition, filter: DeadLetterFilter = DeadLetterFilter(), maxRedrives: Int? = nil) {
        self.chain = chain
        self.filter = filter
        self.maxRedrives = maxRedrives ?? chain.maxRedrives
    }

    /// `<chain>.dlq.parked`.
    public var parkedTopic: String { chain.parkedTopic }

    /// The parked topic of `chain`.
    public static func parkedTopic(of chain: ChainDefinition) -> String { chain.parkedTopic }

    /// The decision for `letter`.
    public func decide(_ letter: DeadLetterRecord) -> Decision {
        guard filter.matches(letter) else { return .skip }
        if letter.isStub {
            return .refuse("stub (\(HeaderNames.errorTruncated)=true): the original value and headers were not stored, so it cannot be redriven")
        }
        guard let step = letter.step, !step.isEmpty else { return .refuse("no \(HeaderNames.errorStep) header: not a Catena dead letter") }
        guard chain.step(named: step) != nil else { return .refuse("step '\(step)' is not in chain \(chain.name)") }
        let r = letter.record
        if letter.redriveCount >= maxRedrives {
            return .park(OutgoingRecord(topic: parkedTopic, key: r.key, value: r.value, headers: r.headers))
        }
        let headers = Self.redriveHeaders(of: r, count: letter.redriveCount + 1)
        return .redrive(OutgoingRecord(topic: chain.inputTopic(of: step), key: r.key, value: r.value, headers: headers))
    }

    /// The headers a dead letter goes back to a step with (`redriveHeaders(_:count:)`), plus, for a keyless
    /// record without `ce_correlationid`, its `catena_error_correlationid` as `ce_correlationid`: a keyless
    /// entry record's correlation ID came from its position (or a header), so this keeps the record the same
    /// execution rather than a new one.
    public static func redriveHeaders(of record: ConsumedRecord, count: Int) -> [KafkaHeader] {
        var headers = redriveHeaders(record.headers, count: count)
        if (record.key ?? []).isEmpty && !headers.contains(where: { $0.name == HeaderNames.correlationID }),
           let id = record.header(HeaderNames.errorCorrelationID) {
            headers.append(KafkaHeader(HeaderNames.correlationID, text: id))
        }
        return headers
    }

    /// `headers` without dead-letter (and parked) headers, with `catena_redrive_count` set to `count`: in place of the
    /// first existing one (later duplicates dropped), else appended. Every other header keeps its order.
    public static func redriveHeaders(_ headers: [KafkaHeader], count: Int) -> [KafkaHeader] {
        var out: [KafkaHeader] = []
        var placed = false
        for h in headers where !HeaderNames.isDeadLetterHeader(h.name) {
            if h.name == HeaderNames.redriveCount {
                if !placed { out.append(KafkaHeader(HeaderNames.redriveCount, text: String(count))); placed = true }
                continue
            }
            out.append(h)
        }
        if !placed { out.append(KafkaHeader(HeaderNames.redriveCount, text: String(count))) }
        return out
    }

    /// The first `catena_redrive_count` header as a number; 0 when absent, null or not a non-negative integer.
    public static func redriveCount(of headers: [KafkaHeader]) -> Int {
        guard let text = headers.first(where: { $0.name == HeaderNames.redriveCount })?.text,
              let n = Int(text.trimmingCharacters(in: .whitespaces)), n >= 0 else { return 0 }
        return n
    }
}
