import Foundation
import Testing
@testable import Catena

/// The byte-level forms a worker uses on its hot path give exactly what their plain definitions give.
struct HotPathEquivalenceTests {
    static let names = [
        "", "c", "ce", "ce_", "ce_id", "CE_id", "cex", "content-type", "content-typ", "content-typex", "Content-Type",
        "catena", "catena_", "catena_chain", "catena_chainx", "catena_step", "catena_ste", "catena_attempt", "catena_worker",
        "catena_error_", "catena_error_kind", "catena_erro", "catena_origin_topic", "catena_origin", "catena_parked_step",
        "catena_parked", "catena_retry_due", "catena_retry", "catena_redrive_count", "x-tenant", "ç_ce", "catena_é",
        String(repeating: "catena_error_", count: 20),
    ]

    @Test("passesThrough, isDeadLetterHeader and isRetryHeader match their definitions by prefix and set membership")
    func headerNamePredicatesMatchTheirDefinitions() {
        for name in Self.names {
            let deadLetter = name.hasPrefix("catena_error_") || name.hasPrefix("catena_origin_") || name.hasPrefix("catena_parked_")
            #expect(HeaderNames.isDeadLetterHeader(name) == deadLetter, "\(name)")
            #expect(HeaderNames.isRetryHeader(name) == name.hasPrefix("catena_retry_"), "\(name)")
            let passes = !name.hasPrefix("ce_") && !HeaderNames.envelope.contains(name) && !deadLetter
            #expect(CloudEventHeaders.passesThrough(name) == passes, "\(name)")
            #expect(name.utf8Equals("content-type") == (name == "content-type"), "\(name)")
        }
    }

    @Test("nextOffsets is, per partition, the highest offset + 1, however partitions interleave")
    func nextOffsetsMatchesThePlainComputation() {
        func r(_ topic: String, _ p: Int32, _ o: Int64) -> ConsumedRecord {
            ConsumedRecord(topic: topic, partition: p, offset: o, timestampMs: 0, key: nil, value: nil, headers: [])
        }
        let records = [r("a", 0, 5), r("a", 0, 6), r("a", 1, 3), r("a", 0, 7), r("b", 0, 1), r("b", 0, 9), r("a", 1, 2), r("a", 1, 4), r("b", 0, 2)]
        var plain: [TopicPartition: Int64] = [:]
        for x in records { plain[TopicPartition(x.topic, x.partition)] = max(plain[TopicPartition(x.topic, x.partition)] ?? 0, x.offset + 1) }
        #expect(BatchResult.nextOffsets(of: records) == plain)
        #expect(BatchResult.nextOffsets(of: []) == [:])
    }

    @Test("RFC3339Clock gives the RFC 3339 time of a millisecond between the calls around it")
    func clockGivesTheCurrentTime() {
        let clock = RFC3339Clock()
        for _ in 0..<100 {
            let before = Timestamp.nowMs()
            let stamp = clock.now()
            let after = Timestamp.nowMs()
            #expect((before...after).contains { Timestamp.rfc3339Bytes(ms: $0) == stamp })
        }
    }
}
