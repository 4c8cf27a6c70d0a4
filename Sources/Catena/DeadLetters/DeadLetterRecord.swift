import Foundation

/// A record read from `<chain>.dlq`, with the error headers a worker added parsed out.
///
/// The raw record (key, value, every header in order) is kept untouched in `record`; the other properties
/// are read from the first header of each name.
public struct DeadLetterRecord: Sendable, Equatable {
    /// The dead letter as read from the topic.
    public var record: ConsumedRecord
    /// `catena_error_step`: the step that failed (nil when the header is missing).
    public var step: String?
    /// `catena_error_kind` (e.g. `fatal`, `retries-exhausted`).
    public var kind: String?
    /// `catena_error_message`.
    public var message: String?
    /// `catena_error_time` as written.
    public var errorTimeText: String?
    /// `catena_error_time` parsed (nil when missing or not RFC 3339).
    public var errorTime: Date?
    /// `catena_error_correlationid`, else the ID a worker would compute for the record.
    public var correlationID: String
    /// `catena_redrive_count` (0 when absent or not a number).
    public var redriveCount: Int
    /// Whether this is a stub (`catena_error_truncated=true`): the value and original headers are absent.
    public var isStub: Bool

    public init(_ record: ConsumedRecord) {
        self.record = record
        step = record.header(HeaderNames.errorStep)
        kind = record.header(HeaderNames.errorKind)
        message = record.header(HeaderNames.errorMessage)
        errorTimeText = record.header(HeaderNames.errorTime)
        errorTime = errorTimeText.flatMap(RFC3339.parse)
        correlationID = record.header(HeaderNames.errorCorrelationID) ?? IncomingEnvelope.correlationID(of: record)
        redriveCount = RedrivePlan.redriveCount(of: record.headers)
        isStub = record.header(HeaderNames.errorTruncated) == "true"
    }

    /// When it was dead-lettered: `catena_error_time`, else the record's timestamp.
    public var time: Date? {
        errorTime ?? (record.timestampMs >= 0 ? Date(timeIntervalSince1970: Double(record.timestampMs) / 1000) : nil)
    }

    /// `p<partition>@<offset>`: where it sits on the dead-letter topic.
    public var position: String { "p\(record.partition)@\(record.offset)" }

    /// The key for display: UTF-8 text, `hex:…` for other bytes, `(null)` for a null key.
    public var keyText: String { record.key.map { CorrelationID.text(forKey: $0) } ?? "(null)" }
}

/// Parsing of RFC 3339 timestamps (`2026-01-02T03:04:05Z`, with optional fraction and offset).
public enum RFC3339 {
    /// The instant `text` names, or nil when it is not RFC 3339.
    public static func parse(_ text: String) -> Date? {
        let t = text.trimmingCharacters(in: .whitespaces)
        let withFraction = ISO8601DateFormatter()
        withFraction.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let d = withFraction.date(from: t) { return d }
        let plain = ISO8601DateFormatter()
        plain.formatOptions = [.withInternetDateTime]
        return plain.date(from: t)
    }
}

extension DeadLetterRecord {
    /// One line for `catena dlq tail`: time, position, step/kind, key, attempts, redrive count and message.
    public var summaryLine: String {
        var parts = [errorTimeText ?? "-", position, "\(step ?? "?")/\(kind ?? "?")", "key=\(keyText)"]
        if let attempts = record.header(HeaderNames.errorAttempts) { parts.append("attempts=\(attempts)") }
        if redriveCount > 0 { parts.append("redriven=\(redriveCount)") }
        if isStub { parts.append("stub") }
        parts.append(String((message ?? "").prefix(300)).replacingOccurrences(of: "\n", with: " "))
        return parts.joined(separator: " ")
    }

    /// Every detail for `catena dlq show`: position, key, all headers in order (error and origin headers
    /// marked with `*`, and in bold when `bold`), and the value as text when it is UTF-8, else hex and base64.
    public func detail(bold: Bool = false) -> String {
        let r = record
        var lines = ["dead letter \(r.topic) partition \(r.partition) offset \(r.offset)" +
                     (r.timestampMs >= 0 ? " timestamp \(Timestamp.rfc3339(Date(timeIntervalSince1970: Double(r.timestampMs) / 1000)))" : "")]
        lines.append("key: " + Self.describe(r.key))
        lines.append("headers (\(r.headers.count)):")
        for h in r.headers {
            let error = HeaderNames.isDeadLetterHeader(h.name)
            let text = "\(h.name): \(Self.describe(h.value))"
            lines.append(error ? (bold ? "* \u{1B}[1m\(text)\u{1B}[0m" : "* \(text)") : "  \(text)")
        }
        if let v = r.value {
            if let text = Self.utf8(v) {
                lines.append("value (\(v.count) bytes, text):")
                lines.append(text)
            } else {
                lines.append("value (\(v.count) bytes, binary):")
                lines.append("hex: " + Self.hex(v))
                lines.append("base64: " + Data(v).base64EncodedString())
            }
        } else {
            lines.append("value: (null)")
        }
        return lines.joined(separator: "\n")
    }

    /// Bytes for display: text when valid UTF-8, `hex:…` otherwise, `(null)` / `(empty)`.
    static func describe(_ bytes: [UInt8]?) -> String {
        guard let bytes else { return "(null)" }
        if bytes.isEmpty { return "(empty)" }
        return utf8(bytes) ?? "hex:" + hex(bytes)
    }

    /// The bytes as text when they are valid UTF-8 without NUL characters.
    static func utf8(_ bytes: [UInt8]) -> String? {
        guard let s = String(validating: bytes, as: UTF8.self), !s.contains("\u{0}") else { return nil }
        return s
    }
    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }
}
