/// Header names Catena reads and writes.
///
/// CloudEvents 1.0 Kafka protocol binding, binary mode: every attribute is a `ce_`-prefixed header and
/// `datacontenttype` maps to `content-type`. Catena adds its own `catena_`-prefixed headers.
public enum HeaderNames {
    public static let specVersion = "ce_specversion"
    public static let id = "ce_id"
    public static let source = "ce_source"
    public static let type = "ce_type"
    public static let time = "ce_time"
    public static let contentType = "content-type"
    /// CloudEvents extension attribute carrying the execution's correlation ID.
    public static let correlationID = "ce_correlationid"
    public static let chain = "catena_chain"
    public static let step = "catena_step"
    public static let attempt = "catena_attempt"
    /// The worker instance that produced the record (`host:pid`), for tracing.
    public static let worker = "catena_worker"

    // Dead-letter headers, added to the original record's headers.
    public static let errorStep = "catena_error_step"
    public static let errorKind = "catena_error_kind"
    public static let errorMessage = "catena_error_message"
    public static let errorAttempts = "catena_error_attempts"
    public static let errorTime = "catena_error_time"
    public static let errorCorrelationID = "catena_error_correlationid"
    public static let errorWorker = "catena_error_worker"
    /// Set to `true` on a dead-letter stub (the original did not fit); the value and original headers are absent.
    public static let errorTruncated = "catena_error_truncated"
    public static let errorOriginalValueSize = "catena_error_original_value_size"
    public static let errorOriginalHeaderBytes = "catena_error_original_header_bytes"
    public static let originTopic = "catena_origin_topic"
    public static let originPartition = "catena_origin_partition"
    public static let originOffset = "catena_origin_offset"
    public static let originTimestamp = "catena_origin_timestamp"
    /// How often a dead letter went back to a step: set by `catena dlq redrive`, and by a worker when a dead
    /// letter arrives with its dead-letter headers (a replay). Not an envelope header, so workers pass it on.
    public static let redriveCount = "catena_redrive_count"
    /// On `<chain>.dlq.parked`, added by the worker that parked a replay instead of running its step: which step, and why.
    public static let parkedStep = "catena_parked_step"
    public static let parkedReason = "catena_parked_reason"

    /// On a dead letter that went through the delay path: when its first failure happened (RFC 3339).
    public static let errorFirstFailure = "catena_error_first_failure"

    // Delay-path headers, added to the record's own headers on `<chain>.<step>.retry` and removed when it runs again.
    /// The attempt the record runs next (1 for a record waiting behind an earlier one of its key).
    public static let retryAttempt = "catena_retry_attempt"
    /// When the next attempt is due, epoch milliseconds.
    public static let retryDue = "catena_retry_due"
    /// `failed` (its last attempt failed) or `waiting` (moved behind an earlier record of its key, not run yet).
    public static let retryReason = "catena_retry_reason"
    /// When the record first failed, and the last error, for the dead letter it may become.
    public static let retryFirstFailure = "catena_retry_first_failure"
    public static let retryLastError = "catena_retry_last_error"
    /// Where the record was first read: the step's input topic, partition, offset and timestamp.
    public static let retryOriginTopic = "catena_retry_origin_topic"
    public static let retryOriginPartition = "catena_retry_origin_partition"
    public static let retryOriginOffset = "catena_retry_origin_offset"
    public static let retryOriginTimestamp = "catena_retry_origin_timestamp"

    /// Whether `name` is a delay-path header (dropped before the record runs again or is dead-lettered).
    public static func isRetryHeader(_ name: String) -> Bool { name.utf8HasPrefix("catena_retry_") }

    /// Headers a worker sets on every output record; any incoming copies are replaced, not appended.
    public static let envelope: Set<String> = [specVersion, id, source, type, time, contentType, correlationID, chain, step, attempt, worker]

    /// Whether `name` is one of the headers a dead letter (or a parked record) adds: replaced, never piled up,
    /// when the record is dead-lettered or parked again, and dropped when it goes back to a step.
    public static func isDeadLetterHeader(_ name: String) -> Bool {
        name.withUTF8Bytes(isDeadLetterHeader(bytes:))
    }

    /// `isDeadLetterHeader` of a name's UTF-8 bytes.
    @inline(__always)
    static func isDeadLetterHeader(bytes b: UnsafeBufferPointer<UInt8>) -> Bool {
        b.hasBytes("catena_") && (b.hasBytes("error_", at: 7) || b.hasBytes("origin_", at: 7) || b.hasBytes("parked_", at: 7))
    }

    /// Whether a name that starts with `catena_` is one of Catena's own envelope headers (`catena_chain`,
    /// `catena_step`, `catena_attempt`, `catena_worker`): `envelope.contains(name)` for such names, without hashing.
    @inline(__always)
    static func isCatenaEnvelopeHeader(bytes b: UnsafeBufferPointer<UInt8>) -> Bool {
        b.hasBytes("chain", at: 7, whole: true) || b.hasBytes("step", at: 7, whole: true)
            || b.hasBytes("attempt", at: 7, whole: true) || b.hasBytes("worker", at: 7, whole: true)
    }
}
