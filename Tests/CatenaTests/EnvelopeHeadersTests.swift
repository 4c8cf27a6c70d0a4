import Foundation
import Testing
import Catena

/// The binary-mode envelope of a record: `CloudEventHeaders` to Kafka headers and back, and how
/// `applied(to:)` replaces envelope headers while keeping the user's.
struct EnvelopeHeadersTests {
    static let sample = CloudEventHeaders(id: "order-7/parse", source: "/catena/orders/parse", type: "dev.catena.orders.parse.output",
                                          time: "2026-12-03T15:04:05.123Z", contentType: "application/json",
                                          correlationID: "order-7", chain: "orders", step: "parse", attempt: 2)

    static func value(_ headers: [KafkaHeader], _ name: String) -> String? { headers.first { $0.name == name }?.text }

    // MARK: round trips

    @Test func attributesSurviveATripThroughKafkaHeaders() throws {
        let back = try #require(CloudEventHeaders(headers: Self.sample.kafkaHeaders))
        #expect(back == Self.sample)
    }

    @Test func attributesWithoutContentTypeSurviveATripThroughKafkaHeaders() throws {
        var attributes = Self.sample
        attributes.contentType = nil
        #expect(!attributes.kafkaHeaders.contains { $0.name == HeaderNames.contentType })
        let back = try #require(CloudEventHeaders(headers: attributes.kafkaHeaders))
        #expect(back == attributes)
        #expect(back.contentType == nil)
    }

    @Test func kafkaHeadersSurviveATripThroughAttributes() throws {
        let headers = [
            KafkaHeader("ce_specversion", text: "1.0"),
            KafkaHeader("ce_id", text: "abc/step2"),
            KafkaHeader("ce_source", text: "/catena/c/step2"),
            KafkaHeader("ce_type", text: "dev.catena.c.step2.output"),
            KafkaHeader("ce_time", text: "2025-01-02T03:04:05.006Z"),
            KafkaHeader("content-type", text: "text/plain"),
            KafkaHeader("ce_correlationid", text: "abc"),
            KafkaHeader("catena_chain", text: "c"),
            KafkaHeader("catena_step", text: "step2"),
            KafkaHeader("catena_attempt", text: "3"),
        ]
        let attributes = try #require(CloudEventHeaders(headers: headers))
        #expect(attributes.id == "abc/step2")
        #expect(attributes.contentType == "text/plain")
        #expect(attributes.attempt == 3)
        #expect(attributes.kafkaHeaders == headers)
    }

    @Test func outputAttributesAreDerivedFromChainStepAndCorrelationID() {
        let now = Date(timeIntervalSince1970: 1_700_000_000.5)
        let attributes = CloudEventHeaders.output(chain: "orders", step: "enrich", correlationID: "cust-42", attempt: 1,
                                                  contentType: "application/json", now: now)
        #expect(attributes.id == "cust-42/enrich")
        #expect(attributes.source == "/catena/orders/enrich")
        #expect(attributes.type == "dev.catena.orders.enrich.output")
        #expect(attributes.time == "2023-11-14T22:13:20.500Z")
        #expect(attributes.correlationID == "cust-42")
        #expect(attributes.chain == "orders")
        #expect(attributes.step == "enrich")
        #expect(attributes.attempt == 1)
        // Stable across retries: the id does not depend on the attempt, so it can serve as an idempotency key.
        let retried = CloudEventHeaders.output(chain: "orders", step: "enrich", correlationID: "cust-42", attempt: 3, contentType: nil, now: now)
        #expect(retried.id == attributes.id)
    }

    // MARK: fixed order

    @Test func headersAreWrittenInAFixedOrder() {
        #expect(Self.sample.kafkaHeaders.map(\.name) == [
            "ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "content-type",
            "ce_correlationid", "catena_chain", "catena_step", "catena_attempt",
        ])
        #expect(Self.sample.kafkaHeaders.map { $0.text ?? "<null>" } == [
            "1.0", "order-7/parse", "/catena/orders/parse", "dev.catena.orders.parse.output", "2026-12-03T15:04:05.123Z",
            "application/json", "order-7", "orders", "parse", "2",
        ])
    }

    @Test func headersWithoutContentTypeKeepTheSameOrderMinusContentType() {
        var attributes = Self.sample
        attributes.contentType = nil
        #expect(attributes.kafkaHeaders.map(\.name) == [
            "ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time",
            "ce_correlationid", "catena_chain", "catena_step", "catena_attempt",
        ])
    }

    // MARK: applied(to:)

    @Test func applyingKeepsUserHeadersInOrderAfterTheEnvelope() {
        let incoming = [
            KafkaHeader("x-tenant", text: "acme"),
            KafkaHeader("traceparent", text: "00-abc-def-01"),
            KafkaHeader("x-tenant", text: "globex"),
            KafkaHeader("x-null", nil),
            KafkaHeader("x-empty", []),
        ]
        let applied = Self.sample.applied(to: incoming)
        #expect(Array(applied.prefix(Self.sample.kafkaHeaders.count)) == Self.sample.kafkaHeaders)
        #expect(Array(applied.dropFirst(Self.sample.kafkaHeaders.count)) == incoming)
        #expect(applied.filter { $0.name == "x-tenant" }.map(\.text) == ["acme", "globex"])
    }

    @Test func applyingReplacesEveryIncomingEnvelopeAndDeadLetterHeader() {
        let incoming = [
            KafkaHeader("ce_specversion", text: "1.0"),
            KafkaHeader("ce_id", text: "old/step0"),
            KafkaHeader("x-tenant", text: "acme"),
            KafkaHeader("ce_source", text: "/old"),
            KafkaHeader("ce_type", text: "old.type"),
            KafkaHeader("ce_time", text: "2000-01-01T00:00:00.000Z"),
            KafkaHeader("content-type", text: "text/csv"),
            KafkaHeader("ce_correlationid", text: "old"),
            KafkaHeader("ce_subject", text: "some subject"),
            KafkaHeader("catena_chain", text: "oldchain"),
            KafkaHeader("catena_step", text: "step0"),
            KafkaHeader("catena_attempt", text: "9"),
            KafkaHeader("catena_worker", text: "host:1"),
            KafkaHeader("catena_error_step", text: "step0"),
            KafkaHeader("catena_error_kind", text: "fatal"),
            KafkaHeader("catena_error_message", text: "boom"),
            KafkaHeader("catena_origin_topic", text: "orders.step0"),
            KafkaHeader("catena_origin_offset", text: "12"),
            KafkaHeader("x-tenant", text: "globex"),
        ]
        let applied = Self.sample.applied(to: incoming)
        #expect(applied == Self.sample.kafkaHeaders + [KafkaHeader("x-tenant", text: "acme"), KafkaHeader("x-tenant", text: "globex")])
        for name in HeaderNames.envelope where name != HeaderNames.worker {
            #expect(applied.filter { $0.name == name }.count == 1, "\(name) must appear exactly once")
        }
        #expect(!applied.contains { $0.name == HeaderNames.worker })
        #expect(!applied.contains { HeaderNames.isDeadLetterHeader($0.name) })
        #expect(Self.value(applied, "ce_id") == "order-7/parse")
        #expect(Self.value(applied, "content-type") == "application/json")
        #expect(Self.value(applied, "catena_attempt") == "2")
    }

    @Test func applyingRepeatedlyKeepsTheHeaderCountConstant() {
        let user = [KafkaHeader("x-tenant", text: "acme"), KafkaHeader("x-tenant", text: "globex")]
        var headers = user
        var counts: [Int] = []
        for attempt in 1...5 {
            var attributes = Self.sample
            attributes.attempt = attempt
            headers = attributes.applied(to: headers)
            counts.append(headers.count)
            #expect(headers == attributes.kafkaHeaders + user)
        }
        #expect(counts == Array(repeating: Self.sample.kafkaHeaders.count + user.count, count: 5))
        #expect(Self.value(headers, "catena_attempt") == "5")
    }

    @Test func applyingAttributesWithoutContentTypeDropsTheIncomingContentType() {
        var attributes = Self.sample
        attributes.contentType = nil
        let applied = attributes.applied(to: [KafkaHeader("content-type", text: "text/csv"), KafkaHeader("x-tenant", text: "acme")])
        #expect(!applied.contains { $0.name == "content-type" })
        #expect(applied.last == KafkaHeader("x-tenant", text: "acme"))
    }

    // MARK: init?(headers:)

    @Test(arguments: ["ce_specversion", "ce_id", "ce_source", "ce_type", "ce_correlationid"])
    func readingFailsWhenARequiredAttributeIsMissing(_ missing: String) {
        let headers = Self.sample.kafkaHeaders.filter { $0.name != missing }
        #expect(CloudEventHeaders(headers: headers) == nil)
    }

    @Test func readingFailsForAnUnsupportedSpecVersion() {
        let headers = Self.sample.kafkaHeaders.map { $0.name == "ce_specversion" ? KafkaHeader($0.name, text: "0.3") : $0 }
        #expect(CloudEventHeaders(headers: headers) == nil)
    }

    @Test func readingFailsWhenARequiredAttributeHasANullValue() {
        let headers = Self.sample.kafkaHeaders.map { $0.name == "ce_id" ? KafkaHeader($0.name, nil) : $0 }
        #expect(CloudEventHeaders(headers: headers) == nil)
    }

    @Test func readingDefaultsOptionalCatenaAttributes() throws {
        let headers = Self.sample.kafkaHeaders.filter { ["ce_specversion", "ce_id", "ce_source", "ce_type", "ce_correlationid"].contains($0.name) }
        let attributes = try #require(CloudEventHeaders(headers: headers))
        #expect(attributes.time == "")
        #expect(attributes.contentType == nil)
        #expect(attributes.chain == "")
        #expect(attributes.step == "")
        #expect(attributes.attempt == 1)
    }

    @Test func readingUsesTheFirstOfDuplicateHeaders() throws {
        let headers = Self.sample.kafkaHeaders + [KafkaHeader("ce_id", text: "later"), KafkaHeader("catena_attempt", text: "7")]
        let attributes = try #require(CloudEventHeaders(headers: headers))
        #expect(attributes.id == "order-7/parse")
        #expect(attributes.attempt == 2)
    }

    // MARK: ce_time

    @Test func timeIsRFC3339UTCWithMilliseconds() throws {
        let attributes = CloudEventHeaders.output(chain: "c", step: "s", correlationID: "id", attempt: 1, contentType: nil)
        let pattern = try Regex(#"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"#)
        #expect(attributes.time.wholeMatch(of: pattern) != nil, "\(attributes.time)")
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let parsed = try #require(formatter.date(from: attributes.time))
        #expect(abs(parsed.timeIntervalSinceNow) < 60)
    }

    @Test(arguments: [
        (0.0, "1970-01-01T00:00:00.000Z"),
        (1_700_000_000.5, "2023-11-14T22:13:20.500Z"),
        (951_782_400.25, "2000-02-29T00:00:00.250Z"),
        (4_102_444_799.0, "2099-12-31T23:59:59.000Z"),
    ])
    func timeIsFormattedInUTC(_ seconds: Double, _ expected: String) {
        let attributes = CloudEventHeaders.output(chain: "c", step: "s", correlationID: "id", attempt: 1, contentType: nil,
                                                  now: Date(timeIntervalSince1970: seconds))
        #expect(attributes.time == expected)
        #expect(Timestamp.rfc3339(Date(timeIntervalSince1970: seconds)) == expected)
    }
}
