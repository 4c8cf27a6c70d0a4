import Catena
import Foundation
import Testing

/// The consumer shares storage between consecutive records whose header names or values have the same bytes
/// (`MessageCopier`); what a poll returns must still be exactly what was written, record by record.
@Suite("Record copy", .serialized)
struct RecordCopyTests {
    @Test("records read back byte-for-byte when consecutive records share, change, drop, reorder or null their headers")
    func sharedHeaderStorageReadsBackExactly() async throws {
        let topic = IntegrationEnvironment.uniqueName("copy")
        _ = try await BlockingQueue(label: "catena.tests.copy").run {
            try KafkaAdmin(settings: IntegrationEnvironment.settings).createTopics([KafkaAdmin.TopicSpec(name: topic, partitions: 1, replicationFactor: 1)])
        }
        func h(_ name: String, _ text: String?) -> KafkaHeader { KafkaHeader(name, text.map { Array($0.utf8) }) }
        let envelope = { (key: String, time: String) in
            [h("ce_specversion", "1.0"), h("ce_id", key + "/a"), h("ce_time", time), h("ce_correlationid", key), h("catena_worker", "w:1")]
        }
        let sent: [OutgoingRecord] = [
            OutgoingRecord(topic: topic, key: Array("k1".utf8), value: Array("v1".utf8), headers: envelope("k1", "t1")),
            // Same names, one value changed, one the same as before, one equal to the new key.
            OutgoingRecord(topic: topic, key: Array("k2".utf8), value: Array("v2".utf8), headers: envelope("k2", "t1")),
            // A value that is a prefix of the previous one, an empty one, a null one, a longer name at the same position.
            OutgoingRecord(topic: topic, key: Array("k3".utf8), value: [], headers: [h("ce_specversion", "1."), h("ce_id", ""), h("ce_time", nil), h("ce_correlationidx", "k3"), h("catena_worker", "w:1")]),
            // Fewer headers, reordered; then more than before; then none; then the first layout again.
            OutgoingRecord(topic: topic, key: nil, value: Array("v4".utf8), headers: [h("catena_worker", "w:1"), h("ce_specversion", "1.0")]),
            OutgoingRecord(topic: topic, key: Array("k5".utf8), value: nil, headers: envelope("k5", "t2") + [h("x-tenant", "a"), h("x-tenant", "a"), h("x-bin", nil)]),
            OutgoingRecord(topic: topic, key: Array("k6".utf8), value: Array("v6".utf8)),
            OutgoingRecord(topic: topic, key: [0x00, 0xff], value: [0x00], headers: [KafkaHeader("ce_specversion", [0x00, 0xff]), KafkaHeader("ce_id", [0x00, 0xff])]),
            // Names that are not UTF-8 (Kafka allows any bytes) come back as their bytes, also where the
            // previous record had a UTF-8 name at that position, and the other way round.
            OutgoingRecord(topic: topic, key: Array("k7".utf8), value: [1], headers: [KafkaHeader(nameBytes: [0xff, 0xfe], [1]), KafkaHeader(nameBytes: [0x78, 0xc3], nil), KafkaHeader(nameBytes: [0xef, 0xbf, 0xbd], [2])]),
            OutgoingRecord(topic: topic, key: Array("k8".utf8), value: [1], headers: [KafkaHeader(nameBytes: [0xff, 0xfe], [1]), KafkaHeader("x\u{FFFD}", nil), KafkaHeader(nameBytes: [0x78, 0xc3], [2])]),
            OutgoingRecord(topic: topic, key: Array("k1".utf8), value: Array("v1".utf8), headers: envelope("k1", "t1")),
        ]
        _ = try await TestProducer.send(sent)
        let read = try await TopicReader.make([topic]).read(until: "\(sent.count) records") { $0.count >= sent.count }
        #expect(read.count == sent.count)
        #expect(sent[7].headers[0].rawName == [0xff, 0xfe] && sent[7].headers[2].rawName == nil, "U+FFFD itself is UTF-8")
        for (i, (got, want)) in zip(read, sent).enumerated() {
            #expect(got.key == want.key, "record \(i): key")
            #expect(got.value == want.value, "record \(i): value")
            #expect(got.headers == want.headers, "record \(i): headers \(got.headers) != \(want.headers)")
            #expect(got.topic == topic && got.offset == Int64(i), "record \(i): topic and offset")
        }
    }
}
