import Foundation

/// The `<chain>.timeouts` record of an `ExecutionTimeout`, both ways.
///
/// - key: the execution's correlation ID (the original key bytes for a binary key), so the event lands on
///   the partition of the execution's other records;
/// - headers: CloudEvents 1.0 binary mode (`ce_type: catena.execution.timedout`, `ce_id`
///   `<correlation id>/timedout/<entry partition>-<entry offset>`, source `/catena/<chain>/coordinator`) plus
///   `ce_correlationid`, `catena_chain` and `catena_step` (the step it was last seen at);
/// - value: JSON with `correlation_id`, `chain`, `last_step`, `entry_time`/`entry_ms`, `deadline`/`deadline_ms`,
///   `execution_timeout_seconds`, `entry_topic`, `entry_partition`, `entry_offset`.
public enum ExecutionTimeoutRecord {
    /// The CloudEvents type of a timed-out execution event.
    public static let eventType = "catena.execution.timedout"

    private struct Payload: Codable {
        var correlationId: String
        var chain: String
        var lastStep: String
        var entryTime: String
        var entryMs: Int64
        var deadline: String
        var deadlineMs: Int64
        var executionTimeoutSeconds: Double
        var entryTopic: String
        var entryPartition: Int32
        var entryOffset: Int64
    }

    /// The record announcing `timeout`, an execution of `chain`.
    public static func make(_ timeout: ExecutionTimeout, chain: ChainDefinition, now: Date = Date()) -> OutgoingRecord {
        let payload = Payload(correlationId: timeout.correlationID, chain: chain.name, lastStep: timeout.lastStep,
                              entryTime: Timestamp.rfc3339(date(timeout.entryMs)), entryMs: timeout.entryMs,
                              deadline: Timestamp.rfc3339(date(timeout.deadlineMs)), deadlineMs: timeout.deadlineMs,
                              executionTimeoutSeconds: chain.executionTimeoutSeconds, entryTopic: chain.entryTopic,
                              entryPartition: timeout.entry.partition, entryOffset: timeout.entry.offset)
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys]
        let headers = [
            KafkaHeader(HeaderNames.specVersion, text: "1.0"),
            KafkaHeader(HeaderNames.id, text: "\(timeout.correlationID)/timedout/\(timeout.entry.partition)-\(timeout.entry.offset)"),
            KafkaHeader(HeaderNames.source, text: "/catena/\(chain.name)/coordinator"),
            KafkaHeader(HeaderNames.type, text: eventType),
            KafkaHeader(HeaderNames.time, text: Timestamp.rfc3339(now)),
            KafkaHeader(HeaderNames.contentType, text: "application/json"),
            KafkaHeader(HeaderNames.correlationID, text: timeout.correlationID),
            KafkaHeader(HeaderNames.chain, text: chain.name),
            KafkaHeader(HeaderNames.step, text: timeout.lastStep),
        ]
        return OutgoingRecord(topic: chain.timeoutsTopic, key: CorrelationID.key(forText: timeout.correlationID),
                              value: Array((try? encoder.encode(payload)) ?? Data()), headers: headers)
    }

    /// The timed-out execution a record of `<chain>.timeouts` announces.
    /// - Throws: `CatenaError.failure` saying why when the record is not such an event.
    public static func parse(_ record: ConsumedRecord) throws -> ExecutionTimeout {
        let at = "\(record.topic)[\(record.partition)]@\(record.offset)"
        guard record.header(HeaderNames.type) == eventType else {
            throw CatenaError.failure("\(at): not a \(eventType) event (ce_type \(record.header(HeaderNames.type) ?? "missing"))")
        }
        guard let value = record.value else { throw CatenaError.failure("\(at): null value") }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        do {
            let p = try decoder.decode(Payload.self, from: Data(value))
            return ExecutionTimeout(correlationID: p.correlationId, lastStep: p.lastStep, entryMs: p.entryMs, deadlineMs: p.deadlineMs,
                                    entry: EntryPosition(partition: p.entryPartition, offset: p.entryOffset))
        } catch {
            throw CatenaError.failure("\(at): value is not a timed-out execution: \(error)")
        }
    }

    private static func date(_ ms: Int64) -> Date { Date(timeIntervalSince1970: Double(ms) / 1000) }
}
