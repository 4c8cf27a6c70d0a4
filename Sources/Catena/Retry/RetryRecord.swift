import Foundation

/// A record on a step's delay path (`<chain>.<step>.retry`): the record the step read, key, value and
/// headers untouched, plus `catena_retry_*` headers saying when and how it runs next and where it was first
/// read. Written to the same partition number as that input record, so a key's records stay in one partition.
///
/// Pure: building and parsing only.
public struct RetryRecord: Sendable, Equatable {
    /// Why a record is on the delay path.
    public enum Reason: String, Sendable {
        /// Its last attempt failed and the wait before the next one is longer than `in_place_max`.
        case failed
        /// It has not run: an earlier record of its key is on the delay path, and it waits behind it.
        case waiting
    }

    /// The record as the step read it (its topic, partition, offset and timestamp are the input record's),
    /// with its own headers only.
    public var original: ConsumedRecord
    /// The attempt it runs next.
    public var attempt: Int
    /// When it may run, epoch milliseconds.
    public var dueMs: Int64
    public var reason: Reason
    /// When it first failed (epoch ms); nil for a record that has not run.
    public var firstFailureMs: Int64?
    /// The last attempt's error message.
    public var lastError: String?

    public init(original: ConsumedRecord, attempt: Int, dueMs: Int64, reason: Reason, firstFailureMs: Int64? = nil, lastError: String? = nil) {
        self.original = original
        self.attempt = attempt
        self.dueMs = dueMs
        self.reason = reason
        self.firstFailureMs = firstFailureMs
        self.lastError = lastError
    }

    /// The record to produce to `topic` (the step's retry topic), in the original record's partition number.
    public func outgoing(topic: String) -> OutgoingRecord {
        var headers = original.headers.filter { !HeaderNames.isRetryHeader($0.name) }
        headers += [
            KafkaHeader(HeaderNames.retryAttempt, text: String(attempt)),
            KafkaHeader(HeaderNames.retryDue, text: String(dueMs)),
            KafkaHeader(HeaderNames.retryReason, text: reason.rawValue),
            KafkaHeader(HeaderNames.retryOriginTopic, text: original.topic),
            KafkaHeader(HeaderNames.retryOriginPartition, text: String(original.partition)),
            KafkaHeader(HeaderNames.retryOriginOffset, text: String(original.offset)),
            KafkaHeader(HeaderNames.retryOriginTimestamp, text: String(original.timestampMs)),
        ]
        if let firstFailureMs { headers.append(KafkaHeader(HeaderNames.retryFirstFailure, text: String(firstFailureMs))) }
        if let lastError { headers.append(KafkaHeader(HeaderNames.retryLastError, text: String(lastError.prefix(4000)))) }
        return OutgoingRecord(topic: topic, partition: original.partition, key: original.key, value: original.value, headers: headers)
    }

    /// Reads a record consumed from a retry topic; nil when it lacks the delay-path headers (not written by a worker).
    public static func parse(_ record: ConsumedRecord) -> RetryRecord? {
        var attempt: Int?, due: Int64?, reason: Reason?, first: Int64?, lastError: String?
        var topic: String?, partition: Int32?, offset: Int64?, timestamp: Int64?
        var own: [KafkaHeader] = []
        own.reserveCapacity(record.headers.count)
        for h in record.headers {
            guard HeaderNames.isRetryHeader(h.name) else { own.append(h); continue }
            let text = h.text
            switch h.name {
            case HeaderNames.retryAttempt: attempt = text.flatMap { Int($0) }
            case HeaderNames.retryDue: due = text.flatMap { Int64($0) }
            case HeaderNames.retryReason: reason = text.flatMap(Reason.init(rawValue:))
            case HeaderNames.retryFirstFailure: first = text.flatMap { Int64($0) }
            case HeaderNames.retryLastError: lastError = text
            case HeaderNames.retryOriginTopic: topic = text
            case HeaderNames.retryOriginPartition: partition = text.flatMap { Int32($0) }
            case HeaderNames.retryOriginOffset: offset = text.flatMap { Int64($0) }
            case HeaderNames.retryOriginTimestamp: timestamp = text.flatMap { Int64($0) }
            default: break
            }
        }
        guard let attempt, attempt >= 1, let due, let reason, let topic, let partition, let offset else { return nil }
        let original = ConsumedRecord(topic: topic, partition: partition, offset: offset, timestampMs: timestamp ?? -1,
                                      key: record.key, value: record.value, headers: own)
        return RetryRecord(original: original, attempt: attempt, dueMs: due, reason: reason, firstFailureMs: first, lastError: lastError)
    }

    /// Epoch milliseconds of `date`.
    public static func ms(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded(.down)) }
}
