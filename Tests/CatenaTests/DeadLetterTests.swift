import Foundation
import Testing
import Catena

/// The dead-letter record: the original record byte-for-byte, followed by error headers that replace
/// (never pile on top of) those of an earlier dead-lettering.
struct DeadLetterTests {
    static let now = Date(timeIntervalSince1970: 1_700_000_000.5)  // 2023-11-14T22:13:20.500Z
    static let errorHeaderNames = [
        "catena_error_step", "catena_error_kind", "catena_error_message", "catena_error_attempts", "catena_error_time",
        "catena_error_correlationid", "catena_error_worker", "catena_origin_topic", "catena_origin_partition",
        "catena_origin_offset", "catena_origin_timestamp",
    ]

    static let letter = DeadLetter(step: "enrich", kind: .retriesExhausted, message: "upstream 503", attempts: 3,
                                   correlationID: "cust-42", workerID: "host-a:1234")

    static func original(key: [UInt8]?, value: [UInt8]?, headers: [KafkaHeader]) -> ConsumedRecord {
        ConsumedRecord(topic: "orders.enrich", partition: 4, offset: 1234567, timestampMs: 1_699_999_999_001, key: key, value: value, headers: headers)
    }

    static let userHeaders = [
        KafkaHeader("ce_specversion", text: "1.0"),
        KafkaHeader("x-tenant", text: "acme"),
        KafkaHeader("x-binary", [0x00, 0xff, 0x10]),
        KafkaHeader("x-null", nil),
        KafkaHeader("x-empty", []),
        KafkaHeader("x-tenant", text: "globex"),
        KafkaHeader("catena_attempt", text: "2"),
    ]

    static func value(_ headers: [KafkaHeader], _ name: String) -> String? { headers.first { $0.name == name }?.text }

    @Test func theOriginalKeyValueAndHeadersAreKeptByteForByteInOrder() {
        let key: [UInt8] = [0x00, 0xff] + Array("cust-42".utf8)
        let value: [UInt8] = [0xde, 0xad, 0xbe, 0xef, 0x00]
        let r = Self.original(key: key, value: value, headers: Self.userHeaders)
        let out = Self.letter.record(for: r, topic: "orders.dlq", now: Self.now)
        #expect(out.topic == "orders.dlq")
        #expect(out.partition == nil)
        #expect(out.key == key)
        #expect(out.value == value)
        #expect(Array(out.headers.prefix(Self.userHeaders.count)) == Self.userHeaders)
        #expect(out.headers[3].value == nil)
        #expect(out.headers[4].value == [])
        #expect(out.headers.count == Self.userHeaders.count + Self.errorHeaderNames.count)
    }

    @Test func aNullKeyAndANullValueStayNull() {
        let out = Self.letter.record(for: Self.original(key: nil, value: nil, headers: []), topic: "orders.dlq", now: Self.now)
        #expect(out.key == nil)
        #expect(out.value == nil)
        #expect(out.headers.map(\.name) == Self.errorHeaderNames)
    }

    @Test func anEmptyKeyAndAnEmptyValueStayEmpty() {
        let out = Self.letter.record(for: Self.original(key: [], value: [], headers: []), topic: "orders.dlq", now: Self.now)
        #expect(out.key == [])
        #expect(out.value == [])
    }

    @Test func errorHeadersAreAppendedWithTheirValues() {
        let r = Self.original(key: Array("cust-42".utf8), value: Array("v".utf8), headers: Self.userHeaders)
        let out = Self.letter.record(for: r, topic: "orders.dlq", now: Self.now)
        let appended = Array(out.headers.dropFirst(Self.userHeaders.count))
        #expect(appended.map(\.name) == Self.errorHeaderNames)
        #expect(appended.map { $0.text ?? "<null>" } == [
            "enrich", "retries-exhausted", "upstream 503", "3", "2023-11-14T22:13:20.500Z",
            "cust-42", "host-a:1234", "orders.enrich", "4", "1234567", "1699999999001",
        ])
    }

    @Test(arguments: [
        (DeadLetterKind.retriesExhausted, "retries-exhausted"), (.fatal, "fatal"), (.timeout, "timeout"),
        (.undecodable, "undecodable"), (.outputRejected, "output-rejected"),
    ])
    func everyKindIsWrittenAsItsWireName(_ kind: DeadLetterKind, _ wire: String) {
        let letter = DeadLetter(step: "s", kind: kind, message: "m", attempts: 1, correlationID: "c", workerID: "w")
        let out = letter.record(for: Self.original(key: nil, value: [], headers: []), topic: "c.dlq", now: Self.now)
        #expect(Self.value(out.headers, "catena_error_kind") == wire)
        #expect(DeadLetterKind(rawValue: wire) == kind)
    }

    @Test func anUnknownTimestampIsWrittenAsMinusOne() {
        let r = ConsumedRecord(topic: "t", partition: 0, offset: 0, timestampMs: -1, key: nil, value: [], headers: [])
        let out = Self.letter.record(for: r, topic: "c.dlq", now: Self.now)
        #expect(Self.value(out.headers, "catena_origin_timestamp") == "-1")
    }

    @Test func aVeryLongMessageIsTruncated() {
        let letter = DeadLetter(step: "s", kind: .fatal, message: String(repeating: "x", count: 10_000), attempts: 1, correlationID: "c", workerID: "w")
        let out = letter.record(for: Self.original(key: nil, value: [], headers: []), topic: "c.dlq", now: Self.now)
        #expect(Self.value(out.headers, "catena_error_message") == String(repeating: "x", count: 4000))
    }

    @Test func deadLetteringADeadLetterReplacesItsErrorHeaders() {
        let r = Self.original(key: Array("cust-42".utf8), value: Array("v".utf8), headers: Self.userHeaders)
        let first = Self.letter.record(for: r, topic: "orders.dlq", now: Self.now)
        // The DLQ record is replayed into a step and fails again, somewhere else.
        let replayed = ConsumedRecord(topic: "orders.dlq", partition: 1, offset: 9, timestampMs: 1_800_000_000_000,
                                      key: first.key, value: first.value, headers: first.headers)
        let second = DeadLetter(step: "ship", kind: .fatal, message: "no address", attempts: 1, correlationID: "cust-42", workerID: "host-b:9")
            .record(for: replayed, topic: "orders.dlq", now: Date(timeIntervalSince1970: 1_800_000_000.25))
        #expect(second.headers.count == first.headers.count)
        #expect(Array(second.headers.prefix(Self.userHeaders.count)) == Self.userHeaders)
        for name in Self.errorHeaderNames {
            #expect(second.headers.filter { $0.name == name }.count == 1, "\(name) must appear once")
        }
        #expect(Self.value(second.headers, "catena_error_step") == "ship")
        #expect(Self.value(second.headers, "catena_error_kind") == "fatal")
        #expect(Self.value(second.headers, "catena_error_message") == "no address")
        #expect(Self.value(second.headers, "catena_error_attempts") == "1")
        #expect(Self.value(second.headers, "catena_error_time") == "2027-01-15T08:00:00.250Z")
        #expect(Self.value(second.headers, "catena_error_worker") == "host-b:9")
        #expect(Self.value(second.headers, "catena_origin_topic") == "orders.dlq")
        #expect(Self.value(second.headers, "catena_origin_partition") == "1")
        #expect(Self.value(second.headers, "catena_origin_offset") == "9")
        #expect(Self.value(second.headers, "catena_origin_timestamp") == "1800000000000")

        // Many rounds: the header count stays bounded.
        var record = replayed
        for round in 0..<5 {
            let out = Self.letter.record(for: record, topic: "orders.dlq", now: Self.now)
            #expect(out.headers.count == Self.userHeaders.count + Self.errorHeaderNames.count)
            record = ConsumedRecord(topic: "orders.dlq", partition: 0, offset: Int64(round), timestampMs: 0, key: out.key, value: out.value, headers: out.headers)
        }
    }
}
