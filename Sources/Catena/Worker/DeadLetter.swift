import Foundation

/// Why a record was dead-lettered (the `catena_error_kind` header).
public enum DeadLetterKind: String, Sendable, CaseIterable {
    /// A retryable error persisted through every attempt.
    case retriesExhausted = "retries-exhausted"
    /// The function said the input can never succeed.
    case fatal
    /// The last attempt ran past the step's timeout.
    case timeout
    /// The record could not be decoded into an execution (null value, broken structured CloudEvent).
    case undecodable
    /// The function's output was refused by Kafka (e.g. too large).
    case outputRejected = "output-rejected"
    /// The dead letter itself was too large for the dead-letter topic: a stub without the value was written.
    case tooLarge = "too-large"
}

/// Builds the dead-letter record for a record a step could not process.
///
/// Key, value and headers are the original record's byte-for-byte (a null key or value stays null, an
/// empty one stays empty, headers keep their order and duplicates); error headers are appended after
/// removing any left by an earlier dead-lettering, so they never pile up.
public struct DeadLetter: Sendable, Equatable {
    public var step: String
    public var kind: DeadLetterKind
    public var message: String
    public var attempts: Int
    public var correlationID: String
    public var workerID: String
    /// When the record first failed, for a record that went through the delay path (`catena_error_first_failure`).
    public var firstFailure: Date?

    public init(step: String, kind: DeadLetterKind, message: String, attempts: Int, correlationID: String, workerID: String) {
        self.step = step
        self.kind = kind
        self.message = message
        self.attempts = attempts
        self.correlationID = correlationID
        self.workerID = workerID
    }

    /// The record to write to `topic` for `original`.
    public func record(for original: ConsumedRecord, topic: String, now: Date = Date()) -> OutgoingRecord {
        var headers = original.headers.filter { !HeaderNames.isDeadLetterHeader($0.name) }
        headers += [
            KafkaHeader(HeaderNames.errorStep, text: step),
            KafkaHeader(HeaderNames.errorKind, text: kind.rawValue),
            KafkaHeader(HeaderNames.errorMessage, text: String(message.prefix(4000))),
            KafkaHeader(HeaderNames.errorAttempts, text: String(attempts)),
            KafkaHeader(HeaderNames.errorTime, text: Timestamp.rfc3339(now)),
            KafkaHeader(HeaderNames.errorCorrelationID, text: correlationID),
            KafkaHeader(HeaderNames.errorWorker, text: workerID),
            KafkaHeader(HeaderNames.originTopic, text: original.topic),
            KafkaHeader(HeaderNames.originPartition, text: String(original.partition)),
            KafkaHeader(HeaderNames.originOffset, text: String(original.offset)),
            KafkaHeader(HeaderNames.originTimestamp, text: String(original.timestampMs)),
        ]
        if let firstFailure { headers.append(KafkaHeader(HeaderNames.errorFirstFailure, text: Timestamp.rfc3339(firstFailure))) }
        // Keyless records are keyed by their correlation ID's partition choice only through the key, so a
        // null key stays null here; the correlation ID travels in catena_error_correlationid.
        return OutgoingRecord(topic: topic, key: original.key, value: original.value, headers: headers)
    }

    /// A stub for a dead letter Kafka refused (too large): the original key when it is small, the error and
    /// origin headers of `refused` with kind `too-large` and the first failure's kind and message kept in the
    /// message, a truncation flag and the original value's size, but no value and no original headers.
    public static func stub(replacing refused: OutgoingRecord, original: ConsumedRecord, refusal: String) -> OutgoingRecord {
        var headers: [KafkaHeader] = []
        var firstKind = "?", firstMessage = ""
        for h in refused.headers where HeaderNames.isDeadLetterHeader(h.name) {
            switch h.name {
            case HeaderNames.errorKind: firstKind = h.text ?? "?"
            case HeaderNames.errorMessage: firstMessage = h.text ?? ""
            default: headers.append(h)
            }
        }
        let originalHeaderBytes = original.headers.reduce(0) { $0 + $1.name.utf8.count + ($1.value?.count ?? 0) }
        headers += [
            KafkaHeader(HeaderNames.errorKind, text: DeadLetterKind.tooLarge.rawValue),
            KafkaHeader(HeaderNames.errorMessage, text: String("\(firstKind): \(firstMessage) | dead letter refused by Kafka (\(refusal)); stored as a stub without the value and headers".prefix(4000))),
            KafkaHeader(HeaderNames.errorTruncated, text: "true"),
            KafkaHeader(HeaderNames.errorOriginalValueSize, text: original.value.map { String($0.count) } ?? "null"),
            KafkaHeader(HeaderNames.errorOriginalHeaderBytes, text: String(originalHeaderBytes)),
        ]
        let key = (original.key?.count ?? 0) <= 16_384 ? original.key : nil
        return OutgoingRecord(topic: refused.topic, key: key, value: nil, headers: headers)
    }
}
