import CRdKafka
import Glibc

/// Copies librdkafka messages into `ConsumedRecord`s, sharing storage with the previous record where the bytes
/// are the same.
///
/// Records written by a Catena step carry 11 envelope headers, and consecutive records of one topic carry the
/// same header names in the same order and mostly the same values (spec version, source, type, chain, step,
/// attempt, worker; often the time; `ce_correlationid` equals the key). Copying each into a new String and a
/// new array was most of a busy worker's allocations. A header whose name or value has the same bytes as the
/// previous record's header at the same position, or whose value has the key's bytes, shares that storage;
/// every shared value is checked byte for byte, so a record reads exactly as a fresh copy would.
///
/// Not thread-safe: one per consumer, used by `poll`, which callers serialise.
struct MessageCopier {
    /// Topic names by librdkafka topic handle, so a poll does not build the same String for every record.
    private var topicNames: [OpaquePointer: String] = [:]
    /// The topic of the record copied last, by handle: the rule is a run of records from one topic.
    private var lastTopic: (handle: OpaquePointer, name: String)?
    /// The headers of the record copied last.
    private var previous: [KafkaHeader] = []

    /// Copies and destroys `messages`: the records, in order; an error message that is not about a record
    /// (e.g. a broker briefly down) goes to `onError` instead (partition EOF is dropped).
    mutating func records(from messages: UnsafeMutableBufferPointer<UnsafeMutablePointer<rd_kafka_message_t>?>,
                          onError: (String) -> Void) -> [ConsumedRecord] {
        var records: [ConsumedRecord] = []
        records.reserveCapacity(messages.count)
        for case let m? in messages {
            defer { rd_kafka_message_destroy(m) }
            if m.pointee.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                if m.pointee.err != RD_KAFKA_RESP_ERR__PARTITION_EOF { onError(String(cString: rd_kafka_err2str(m.pointee.err))) }
                continue
            }
            records.append(copy(m))
        }
        return records
    }

    /// Copies one message (the caller destroys it).
    mutating func copy(_ m: UnsafeMutablePointer<rd_kafka_message_t>) -> ConsumedRecord {
        let msg = m.pointee
        let key: [UInt8]? = msg.key.map { Array(UnsafeRawBufferPointer(start: $0, count: msg.key_len)) }
        let value: [UInt8]? = msg.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: msg.len)) }
        var headers: [KafkaHeader] = []
        var hdrs: OpaquePointer?
        if rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR, let hdrs {
            headers.reserveCapacity(rd_kafka_header_cnt(hdrs))
            // The previous record's headers are lent through the buffer, not copied out one by one.
            previous.withUnsafeBufferPointer { before in
                var idx = 0
                var name: UnsafePointer<CChar>?
                var val: UnsafeRawPointer?
                var size = 0
                while rd_kafka_header_get_all(hdrs, idx, &name, &val, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
                    let known = idx < before.count
                    var headerValue: [UInt8]?
                    if let val {
                        let bytes = UnsafeRawBufferPointer(start: val, count: size)
                        if known, before[idx].value?.hasBytes(bytes) == true { headerValue = before[idx].value }
                        else if let key, key.hasBytes(bytes) { headerValue = key }
                        else { headerValue = Array(bytes) }
                    }
                    if let name, known, before[idx].rawName == nil, Self.same(before[idx].name, name) {
                        headers.append(KafkaHeader(before[idx].name, headerValue))
                    } else {
                        // A new name: UTF-8 text, or (KafkaHeader.rawName) bytes that are not.
                        headers.append(KafkaHeader(nameBytes: name.map { Array(UnsafeRawBufferPointer(start: $0, count: strlen($0))) } ?? [], headerValue))
                    }
                    idx += 1
                }
            }
        }
        if !headers.isEmpty { previous = headers }
        var tstype = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let ts = rd_kafka_message_timestamp(m, &tstype)
        var topic = ""
        if let rkt = msg.rkt {
            let name = rd_kafka_topic_name(rkt)!
            if let last = lastTopic, last.handle == rkt, Self.same(last.name, name) { topic = last.name }
            else if let known = topicNames[rkt], Self.same(known, name) { topic = known }
            else {
                topic = String(cString: name)
                topicNames[rkt] = topic
            }
            lastTopic = (rkt, topic)
        }
        return ConsumedRecord(topic: topic, partition: msg.partition, offset: msg.offset, timestampMs: ts,
                              key: key, value: value, headers: headers)
    }

    /// Whether `string`'s UTF-8 bytes are exactly the NUL-terminated `cString`'s.
    private static func same(_ string: String, _ cString: UnsafePointer<CChar>) -> Bool {
        string.withUTF8Bytes { bytes in
            // A byte loop, then the terminator: names are short, and strlen + memcmp calls cost more.
            for i in 0..<bytes.count where UInt8(bitPattern: cString[i]) != bytes[i] { return false }
            return cString[bytes.count] == 0
        }
    }
}
