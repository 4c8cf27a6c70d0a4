import Foundation

/// A record read by a worker, decoded into what its function needs: correlation ID, payload, headers.
///
/// Rules (the same in every worker and in the coordinator, so they agree on correlation IDs):
/// - key present: the correlation ID is the key (see `CorrelationID.text(forKey:)`), and every later
///   record of the execution carries the same key bytes;
/// - no key (or an empty one, which cannot tell executions apart): the `ce_correlationid` header if present, else a UUID derived from the record's
///   topic/partition/offset (`CorrelationID.derived`); later records carry it as their key;
/// - `content-type: application/cloudevents+json` (CloudEvents structured mode) is unwrapped: the payload
///   is `data` (or `data_base64`), the attributes become binary-mode headers, and without a key the
///   correlation ID is the event's `correlationid` extension, else its `id`;
/// - a null value (tombstone) cannot start or continue an execution: it is refused (and dead-lettered as
///   `undecodable`); an empty value is a valid, empty payload.
public struct IncomingEnvelope: Sendable, Equatable {
    public var correlationID: String
    /// The key for every record this execution produces next.
    public var key: [UInt8]
    public var payload: [UInt8]
    public var contentType: String?
    /// Headers the function sees: the incoming ones (structured attributes mapped to `ce_` headers).
    public var headers: [KafkaHeader]

    /// Why a record cannot be decoded.
    public struct DecodeError: Error, Sendable, Equatable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// The correlation ID of `record` without decoding its payload (never fails).
    public static func correlationID(of record: ConsumedRecord) -> String {
        if let key = record.key, !key.isEmpty { return CorrelationID.text(forKey: key) }
        if let id = record.header(HeaderNames.correlationID) { return id }
        if isStructured(record), let value = record.value,
           let object = try? JSONSerialization.jsonObject(with: Data(value)) as? [String: Any] {
            if let c = object["correlationid"] as? String { return c }
            if let id = object["id"] as? String { return id }
        }
        return CorrelationID.derived(topic: record.topic, partition: record.partition, offset: record.offset)
    }

    /// Decodes `record`, or throws `DecodeError` saying why it cannot be processed.
    public static func decode(_ record: ConsumedRecord) throws(DecodeError) -> IncomingEnvelope {
        guard let value = record.value else {
            throw DecodeError(message: "null value (tombstone): a record with no value cannot start or continue an execution")
        }
        if isStructured(record) { return try decodeStructured(record, value) }
        let id = correlationID(of: record)
        return IncomingEnvelope(correlationID: id, key: outputKey(record, id), payload: value,
                                contentType: record.headers.firstContentType?.text, headers: record.headers)
    }

    /// The key later records carry: the record's own key bytes, or the correlation ID's when it has none.
    private static func outputKey(_ record: ConsumedRecord, _ id: String) -> [UInt8] {
        if let key = record.key, !key.isEmpty { return key }
        return Array(id.utf8)
    }

    static func isStructured(_ record: ConsumedRecord) -> Bool {
        // Bytes, case-insensitively: this runs for every record.
        guard let value = record.headers.firstContentType?.value else { return false }
        let prefix = Array("application/cloudevents+json".utf8)
        guard value.count >= prefix.count else { return false }
        for (i, expected) in prefix.enumerated() {
            let b = value[i]
            if (b >= 0x41 && b <= 0x5A ? b + 0x20 : b) != expected { return false }
        }
        return true
    }

    private static func decodeStructured(_ record: ConsumedRecord, _ value: [UInt8]) throws(DecodeError) -> IncomingEnvelope {
        let parsed: Any
        do { parsed = try JSONSerialization.jsonObject(with: Data(value)) } catch {
            throw DecodeError(message: "structured CloudEvent is not valid JSON: \(jsonErrorDescription(error))")
        }
        guard let event = parsed as? [String: Any] else { throw DecodeError(message: "structured CloudEvent is not a JSON object") }
        for required in ["specversion", "id", "source", "type"] where !(event[required] is String) {
            throw DecodeError(message: "structured CloudEvent lacks the string attribute '\(required)'")
        }
        let dataContentType = event["datacontenttype"] as? String
        var payload: [UInt8] = []
        if let b64 = event["data_base64"] as? String {
            guard let d = Data(base64Encoded: b64) else { throw DecodeError(message: "structured CloudEvent has invalid data_base64") }
            payload = Array(d)
        } else if let data = event["data"], !(data is NSNull) {
            let isJSON = dataContentType.map { $0.lowercased().contains("json") } ?? true
            if let text = data as? String, !isJSON {
                payload = Array(text.utf8)
            } else {
                do { payload = Array(try JSONSerialization.data(withJSONObject: data, options: [.fragmentsAllowed, .withoutEscapingSlashes, .sortedKeys])) } catch {
                    throw DecodeError(message: "structured CloudEvent data cannot be serialised: \(error.localizedDescription)")
                }
            }
        }
        var headers = record.headers.filter { $0.name != HeaderNames.contentType }
        for (name, attribute) in event.sorted(by: { $0.key < $1.key }) where name != "data" && name != "data_base64" && name != "datacontenttype" {
            if let s = attribute as? String { headers.append(KafkaHeader("ce_" + name, text: s)) }
            else if let n = attribute as? NSNumber { headers.append(KafkaHeader("ce_" + name, text: n.stringValue)) }
        }
        let id = correlationID(of: record)
        return IncomingEnvelope(correlationID: id, key: outputKey(record, id), payload: payload,
                                contentType: dataContentType ?? "application/json", headers: headers)
    }
}
