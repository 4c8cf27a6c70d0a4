import Foundation
import Testing
import Catena

/// How a consumed record becomes an envelope: correlation ID rules (key, header, derived UUID),
/// structured CloudEvents unwrapping, and the null-versus-empty value distinction.
struct IncomingEnvelopeTests {
    static func record(key: [UInt8]?, value: [UInt8]?, headers: [KafkaHeader] = [],
                       topic: String = "orders.parse", partition: Int32 = 3, offset: Int64 = 42) -> ConsumedRecord {
        ConsumedRecord(topic: topic, partition: partition, offset: offset, timestampMs: 1_700_000_000_000, key: key, value: value, headers: headers)
    }

    static func structured(_ json: String, key: [UInt8]? = nil, headers: [KafkaHeader] = []) -> ConsumedRecord {
        record(key: key, value: Array(json.utf8), headers: [KafkaHeader("content-type", text: "application/cloudevents+json; charset=UTF-8")] + headers)
    }

    static func header(_ e: IncomingEnvelope, _ name: String) -> String? { e.headers.first { $0.name == name }?.text }

    static func jsonObject(_ bytes: [UInt8]) throws -> NSDictionary {
        try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? NSDictionary)
    }

    // MARK: key present

    @Test func aTextKeyIsTheCorrelationIDAndTheOutputKey() throws {
        let headers = [KafkaHeader("ce_correlationid", text: "ignored-header"), KafkaHeader("x-tenant", text: "acme")]
        let r = Self.record(key: Array("cust-42".utf8), value: Array("hello".utf8), headers: headers)
        let e = try IncomingEnvelope.decode(r)
        #expect(e.correlationID == "cust-42")
        #expect(e.key == Array("cust-42".utf8))
        #expect(e.payload == Array("hello".utf8))
        #expect(e.headers == headers)
        #expect(e.contentType == nil)
        #expect(IncomingEnvelope.correlationID(of: r) == "cust-42")
    }

    @Test func aBinaryKeyGetsAHexIDAndKeepsItsBytes() throws {
        let key: [UInt8] = [0x00, 0xff] + Array("cust-42".utf8)
        let r = Self.record(key: key, value: Array("x".utf8))
        let e = try IncomingEnvelope.decode(r)
        #expect(e.correlationID == "hex:00ff637573742d3432")
        #expect(e.key == key)
        #expect(IncomingEnvelope.correlationID(of: r) == "hex:00ff637573742d3432")
    }

    @Test func aValidUTF8KeyContainingNULIsHexEncoded() {
        #expect(CorrelationID.text(forKey: [0x61, 0x00, 0x62]) == "hex:610062")
        #expect(CorrelationID.text(forKey: Array("héllo".utf8)) == "héllo")
        #expect(CorrelationID.text(forKey: [0x0a, 0xc3]) == "hex:0ac3")
    }

    @Test func anEmptyKeyCountsAsNoKeySoExecutionsStayApart() throws {
        let e = try IncomingEnvelope.decode(Self.record(key: [], value: Array("x".utf8), headers: [KafkaHeader("ce_correlationid", text: "from-header")]))
        #expect(e.correlationID == "from-header")
        #expect(e.key == Array("from-header".utf8))
        let bare = try IncomingEnvelope.decode(Self.record(key: [], value: Array("x".utf8), headers: []))
        #expect(bare.correlationID != "" && bare.key == Array(bare.correlationID.utf8))
    }

    @Test func theContentTypeHeaderIsKept() throws {
        let e = try IncomingEnvelope.decode(Self.record(key: Array("k".utf8), value: Array("a,b".utf8), headers: [KafkaHeader("content-type", text: "text/csv")]))
        #expect(e.contentType == "text/csv")
        #expect(e.payload == Array("a,b".utf8))
    }

    // MARK: no key

    @Test func withoutAKeyTheCorrelationIDHeaderIsUsed() throws {
        let r = Self.record(key: nil, value: Array("v".utf8), headers: [KafkaHeader("ce_correlationid", text: "exec-9")])
        let e = try IncomingEnvelope.decode(r)
        #expect(e.correlationID == "exec-9")
        #expect(e.key == Array("exec-9".utf8))
    }

    @Test func withoutAKeyOrHeaderTheIDIsDerivedFromTheRecordPosition() throws {
        let r = Self.record(key: nil, value: Array("v".utf8), topic: "orders.parse", partition: 3, offset: 42)
        let e = try IncomingEnvelope.decode(r)
        let expected = CorrelationID.derived(topic: "orders.parse", partition: 3, offset: 42)
        #expect(e.correlationID == expected)
        #expect(e.key == Array(expected.utf8))
        #expect(IncomingEnvelope.correlationID(of: r) == expected)
        // Decoding the same record again (reprocessing) gives the same ID.
        #expect(try IncomingEnvelope.decode(r).correlationID == expected)
    }

    @Test func derivedIDsAreDeterministicAndDependOnEveryCoordinate() {
        let a = CorrelationID.derived(topic: "t", partition: 0, offset: 1)
        #expect(a == CorrelationID.derived(topic: "t", partition: 0, offset: 1))
        let others = [
            CorrelationID.derived(topic: "t", partition: 0, offset: 2),
            CorrelationID.derived(topic: "t", partition: 1, offset: 1),
            CorrelationID.derived(topic: "u", partition: 0, offset: 1),
            // The separator keeps ("t1", 0) apart from ("t", 10).
            CorrelationID.derived(topic: "t1", partition: 0, offset: 1),
            CorrelationID.derived(topic: "t", partition: 10, offset: 1),
        ]
        for other in others { #expect(other != a) }
        #expect(Set(others).count == others.count)
        let many = Set((0..<1000).map { CorrelationID.derived(topic: "orders.parse", partition: 0, offset: Int64($0)) })
        #expect(many.count == 1000)
    }

    @Test(arguments: [("t", Int32(0), Int64(0)), ("orders.parse", 3, 42), ("x", 11, Int64.max), ("ünïcode", Int32.max, -1)])
    func derivedIDsAreVersion8UUIDs(_ topic: String, _ partition: Int32, _ offset: Int64) throws {
        let id = CorrelationID.derived(topic: topic, partition: partition, offset: offset)
        let pattern = try Regex("^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
        #expect(id.wholeMatch(of: pattern) != nil, "\(id)")
        let uuid = try #require(UUID(uuidString: id))
        #expect(uuid.uuid.6 >> 4 == 8)            // version nibble
        #expect(uuid.uuid.8 & 0xc0 == 0x80)       // variant bits 10
    }

    // MARK: structured CloudEvents

    static let event = """
    {"specversion":"1.0","id":"evt-1","source":"/shop","type":"order.created","time":"2026-01-01T00:00:00Z",
     "correlationid":"corr-5","subject":"order 7","datacontenttype":"application/json",
     "data":{"order":7,"items":["a","b"],"url":"http://x/y"}}
    """

    @Test func aStructuredEventIsUnwrappedToItsJSONData() throws {
        let r = Self.structured(Self.event, headers: [KafkaHeader("x-tenant", text: "acme")])
        let e = try IncomingEnvelope.decode(r)
        #expect(try Self.jsonObject(e.payload) == (["order": 7, "items": ["a", "b"], "url": "http://x/y"] as NSDictionary))
        #expect(!String(decoding: e.payload, as: UTF8.self).contains("specversion"))
        #expect(e.contentType == "application/json")
        #expect(e.correlationID == "corr-5")
        #expect(e.key == Array("corr-5".utf8))
    }

    @Test func aStructuredEventsAttributesBecomeCEHeaders() throws {
        let r = Self.structured(Self.event, headers: [KafkaHeader("x-tenant", text: "acme")])
        let e = try IncomingEnvelope.decode(r)
        #expect(Self.header(e, "ce_specversion") == "1.0")
        #expect(Self.header(e, "ce_id") == "evt-1")
        #expect(Self.header(e, "ce_source") == "/shop")
        #expect(Self.header(e, "ce_type") == "order.created")
        #expect(Self.header(e, "ce_time") == "2026-01-01T00:00:00Z")
        #expect(Self.header(e, "ce_subject") == "order 7")
        #expect(Self.header(e, "ce_correlationid") == "corr-5")
        #expect(Self.header(e, "x-tenant") == "acme")
        // The structured content-type is gone; data and datacontenttype are not headers.
        #expect(!e.headers.contains { $0.name == "content-type" })
        #expect(!e.headers.contains { ["ce_data", "ce_data_base64", "ce_datacontenttype"].contains($0.name) })
        // The mapped headers are enough to read the attributes back in binary mode.
        let attributes = try #require(CloudEventHeaders(headers: e.headers))
        #expect(attributes.id == "evt-1")
        #expect(attributes.correlationID == "corr-5")
    }

    @Test func aStructuredEventsNumericExtensionBecomesATextHeader() throws {
        let r = Self.structured(#"{"specversion":"1.0","id":"e","source":"/s","type":"t","priority":5,"data":1}"#, key: Array("k".utf8))
        let e = try IncomingEnvelope.decode(r)
        #expect(Self.header(e, "ce_priority") == "5")
        #expect(e.payload == Array("1".utf8))
    }

    @Test func aStructuredEventsKeyWinsOverItsAttributes() throws {
        let e = try IncomingEnvelope.decode(Self.structured(Self.event, key: Array("key-1".utf8)))
        #expect(e.correlationID == "key-1")
        #expect(e.key == Array("key-1".utf8))
    }

    @Test func aStructuredEventWithoutCorrelationIDExtensionUsesItsID() throws {
        let json = #"{"specversion":"1.0","id":"evt-2","source":"/s","type":"t","data":{"a":1}}"#
        let r = Self.structured(json)
        let e = try IncomingEnvelope.decode(r)
        #expect(e.correlationID == "evt-2")
        #expect(e.key == Array("evt-2".utf8))
        #expect(IncomingEnvelope.correlationID(of: r) == "evt-2")
        // No datacontenttype: JSON is assumed.
        #expect(e.contentType == "application/json")
        #expect(try Self.jsonObject(e.payload) == (["a": 1] as NSDictionary))
    }

    @Test func aStructuredEventsDataBase64IsDecoded() throws {
        let bytes: [UInt8] = [0x00, 0x01, 0xfe, 0xff, 0x41]
        let json = #"{"specversion":"1.0","id":"evt-3","source":"/s","type":"t","datacontenttype":"application/octet-stream","data_base64":"\#(Data(bytes).base64EncodedString())"}"#
        let e = try IncomingEnvelope.decode(Self.structured(json))
        #expect(e.payload == bytes)
        #expect(e.contentType == "application/octet-stream")
        #expect(e.correlationID == "evt-3")
    }

    @Test func aStructuredEventWithInvalidBase64IsRefused() {
        let json = #"{"specversion":"1.0","id":"e","source":"/s","type":"t","data_base64":"!!not base64!!"}"#
        #expect(throws: IncomingEnvelope.DecodeError.self) { try IncomingEnvelope.decode(Self.structured(json)) }
    }

    @Test func aStructuredEventsTextDataWithANonJSONContentTypeIsRawText() throws {
        let json = #"{"specversion":"1.0","id":"e","source":"/s","type":"t","datacontenttype":"text/plain","data":"hello \"world\" / ü"}"#
        let e = try IncomingEnvelope.decode(Self.structured(json))
        #expect(e.payload == Array(#"hello "world" / ü"#.utf8))
        #expect(e.contentType == "text/plain")
    }

    @Test func aStructuredEventsTextDataWithAJSONContentTypeIsAJSONString() throws {
        let json = #"{"specversion":"1.0","id":"e","source":"/s","type":"t","datacontenttype":"application/json","data":"hi"}"#
        let e = try IncomingEnvelope.decode(Self.structured(json))
        #expect(e.payload == Array(#""hi""#.utf8))
    }

    @Test func aStructuredEventWithoutDataHasAnEmptyPayload() throws {
        let e = try IncomingEnvelope.decode(Self.structured(#"{"specversion":"1.0","id":"e","source":"/s","type":"t"}"#))
        #expect(e.payload == [])
        let n = try IncomingEnvelope.decode(Self.structured(#"{"specversion":"1.0","id":"e","source":"/s","type":"t","data":null}"#))
        #expect(n.payload == [])
    }

    @Test func theCorrelationIDHeaderWinsOverAStructuredEventsAttributes() throws {
        let r = Self.structured(Self.event, headers: [KafkaHeader("ce_correlationid", text: "hdr-1")])
        #expect(try IncomingEnvelope.decode(r).correlationID == "hdr-1")
    }

    @Test(arguments: [
        "{not json",
        "[1,2,3]",
        #"{"id":"e","source":"/s","type":"t","data":{}}"#,
        #"{"specversion":"1.0","source":"/s","type":"t"}"#,
        #"{"specversion":"1.0","id":"e","type":"t"}"#,
        #"{"specversion":"1.0","id":"e","source":"/s"}"#,
        #"{"specversion":1.0,"id":"e","source":"/s","type":"t"}"#,
        "",
    ])
    func aBrokenStructuredEventIsADecodeError(_ json: String) {
        let r = Self.structured(json)
        #expect(throws: IncomingEnvelope.DecodeError.self) { try IncomingEnvelope.decode(r) }
    }

    @Test func aBrokenStructuredEventStillHasACorrelationID() {
        let r = Self.structured("{not json", key: nil)
        #expect(IncomingEnvelope.correlationID(of: r) == CorrelationID.derived(topic: r.topic, partition: r.partition, offset: r.offset))
    }

    // MARK: null versus empty

    @Test func aNullValueIsADecodeError() {
        let r = Self.record(key: Array("k".utf8), value: nil)
        #expect(throws: IncomingEnvelope.DecodeError.self) { try IncomingEnvelope.decode(r) }
        do {
            _ = try IncomingEnvelope.decode(r)
        } catch {
            #expect(error.message.contains("null"))
        }
        // The correlation ID is still known (it is what the dead letter carries).
        #expect(IncomingEnvelope.correlationID(of: r) == "k")
    }

    @Test func anEmptyValueIsAValidEmptyPayload() throws {
        let e = try IncomingEnvelope.decode(Self.record(key: Array("k".utf8), value: []))
        #expect(e.payload == [])
        #expect(e.correlationID == "k")
        let keyless = try IncomingEnvelope.decode(Self.record(key: nil, value: []))
        #expect(keyless.payload == [])
    }
}
