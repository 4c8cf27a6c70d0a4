import Foundation
import Testing
@testable import Catena

/// The per-step header template a worker uses on its hot path builds exactly the headers of the reference
/// construction, `CloudEventHeaders.output(...).applied(to:)` plus `catena_worker`.
struct OutputHeadersTests {
    static let incoming = [
        KafkaHeader("x-tenant", text: "a"), KafkaHeader("ce_id", text: "old/prev"), KafkaHeader("content-type", text: "text/plain"),
        KafkaHeader("catena_step", text: "prev"), KafkaHeader("catena_error_kind", text: "fatal"), KafkaHeader("x-tenant", text: "b"),
        KafkaHeader("catena_redrive_count", text: "2"), KafkaHeader("x-null", nil),
    ]

    @Test("same headers as CloudEventHeaders.output(...).applied(to:) + catena_worker, for text and binary keys, any attempt, with and without content type",
          arguments: [(Array("order-7".utf8), "order-7"), ([0x00, 0xff, 0x41], CorrelationID.text(forKey: [0x00, 0xff, 0x41]))])
    func matchesTheReferenceConstruction(key: [UInt8], correlationID: String) {
        let template = OutputHeaders(chain: "orders", step: "parse", workerID: "host:42")
        let now = Date(timeIntervalSince1970: 1_796_000_000.123)
        for attempt in [1, 3] {
            for contentType in [nil, "application/json"] {
                let built = template.headers(correlationID: correlationID, key: key, attempt: attempt, contentType: contentType,
                                             time: Timestamp.rfc3339Bytes(now), incoming: Self.incoming)
                let reference = CloudEventHeaders.output(chain: "orders", step: "parse", correlationID: correlationID, attempt: attempt,
                                                         contentType: contentType, now: now).applied(to: Self.incoming)
                    + [KafkaHeader(HeaderNames.worker, text: "host:42")]
                #expect(built == reference)
            }
        }
    }

    @Test("the byte form of an RFC 3339 time is the text form's UTF-8", arguments: [0.0, 1_796_000_000.123, 4_102_444_799.999])
    func timestampBytesMatchText(seconds: Double) {
        let date = Date(timeIntervalSince1970: seconds)
        #expect(Timestamp.rfc3339Bytes(date) == Array(Timestamp.rfc3339(date).utf8))
        #expect(Timestamp.rfc3339Bytes(date).count == 24)
    }
}
