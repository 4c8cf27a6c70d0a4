import Catena
import Foundation

/// `catena produce`: sends records to a chain's entry topic, optionally waiting for their outcomes.
enum ProduceCommand: Command {
    static let help = """
    usage: catena produce --chain FILE [--brokers HOST:PORT] [--key KEY] [--header name=value ...]
                          [--content-type TYPE] [--wait] [--timeout SECONDS] [VALUE ...]
    Each VALUE (or, without values, each non-empty line of standard input) becomes one record on the entry topic, bytes untouched.
    Without --key the correlation ID follows the entry rules: a ce_correlationid header, a structured CloudEvent's
    correlationid or id, else a new UUID. The content-type header defaults to application/json. With --wait, prints one JSON line per record once it has
    completed (with the output) or been dead-lettered (with the error), and exits 1 if any failed or timed out.
    """

    static func run(_ args: [String], registry: FunctionRegistry) async throws -> Int32 {
        let a = try Arguments(args, command: "produce", valued: ["chain", "brokers", "key", "header", "content-type", "timeout", "kafka-property"], boolean: ["wait"], positionals: true)
        let chain = try ChainFileLoader.load(path: try Environment.chainPath(a, command: "produce"))
        let settings = try Environment.kafkaSettings(a, clientID: "catena-\(chain.name)-produce")
        var headers: [KafkaHeader] = [KafkaHeader(HeaderNames.contentType, text: a.value("content-type") ?? "application/json")]
        for h in a.all("header") {
            guard let eq = h.firstIndex(of: "=") else { throw CatenaError.configuration("--header: expected name=value, got \"\(h)\"") }
            headers.append(KafkaHeader(String(h[..<eq]), text: String(h[h.index(after: eq)...])))
        }
        var values: [[UInt8]] = a.positional.map { Array($0.utf8) }
        if values.isEmpty { values = Self.standardInputLines() }
        guard !values.isEmpty else { throw CatenaError.configuration("catena produce: nothing to send (give values or lines on standard input)") }
        let key = a.value("key").map { Array($0.utf8) }
        if a.flag("wait") && key != nil && values.count > 1 {
            throw CatenaError.configuration("catena produce: --wait with --key and several values would give every record the same correlation ID; send them one at a time or without --key")
        }
        let records = values.map { OutgoingRecord(topic: chain.entryTopic, key: key, value: $0, headers: headers) }

        var watcher: OutcomeWatcher?
        if a.flag("wait") { watcher = try OutcomeWatcher(chain: chain, settings: settings) }
        try TopicProvisioner.ensureTopics(chain, settings: settings)
        let producer = try KafkaProducer(settings: settings)
        let reports = await producer.send(records)
        var ids: [String] = []
        var failed = 0
        for (i, r) in reports.enumerated() {
            guard r.succeeded else {
                FileHandle.standardError.write(Data("catena produce: record \(i + 1) refused: \(r.errorMessage)\n".utf8))
                failed += 1
                continue
            }
            // The ID the workers and the coordinator will compute for this record (key, header, structured event or position).
            let sent = records[i]
            ids.append(IncomingEnvelope.correlationID(of: ConsumedRecord(topic: sent.topic, partition: r.partition, offset: r.offset, timestampMs: -1,
                                                                          key: sent.key, value: sent.value, headers: sent.headers)))
        }
        guard let watcher else {
            for id in ids { print(id) }
            FileHandle.standardError.write(Data("catena produce: sent \(ids.count) record(s) to \(chain.entryTopic)\n".utf8))
            return failed == 0 ? 0 : 1
        }
        let outcomes = await watcher.wait(for: ids, timeoutSeconds: try a.double("timeout", minimum: 0) ?? 60)
        for id in ids {
            var line: [String: Any] = ["correlation_id": id]
            if let o = outcomes[id] {
                line["status"] = o.completed ? "completed" : "failed"
                if o.completed { line["output"] = o.value } else { line["error"] = o.error }
                if !o.completed { failed += 1 }
            } else {
                line["status"] = "timeout"
                failed += 1
            }
            let data = try JSONSerialization.data(withJSONObject: line, options: [.sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: data, as: UTF8.self))
        }
        return failed == 0 ? 0 : 1
    }
}

extension ProduceCommand {
    /// The non-empty lines of standard input, as raw bytes (no decoding, so any byte passes through untouched).
    static func standardInputLines() -> [[UInt8]] {
        let data = FileHandle.standardInput.readDataToEndOfFile()
        return data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true).map { line in
            var bytes = Array(line)
            if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
            return bytes
        }.filter { !$0.isEmpty }
    }
}

/// Watches a chain's output and dead-letter topics from their current ends for given correlation IDs.
final class OutcomeWatcher: @unchecked Sendable {
    struct Outcome: Sendable {
        var completed: Bool
        var value: String
        var error: [String: String]
    }

    private let consumer: KafkaConsumer
    private let chain: ChainDefinition
    private let io = BlockingQueue(label: "catena.produce.watch")

    init(chain: ChainDefinition, settings: KafkaSettings) throws {
        self.chain = chain
        try TopicProvisioner.ensureTopics(chain, settings: settings)
        let counts = try TopicProvisioner.awaitTopics(chain, settings: settings)
        consumer = try KafkaConsumer(settings: settings, groupID: nil)
        var partitions: [TopicPartition] = []
        var start: [TopicPartition: StartOffset] = [:]
        for topic in [chain.outputTopic, chain.deadLetterTopic] {
            for p in 0..<Int32(counts[topic] ?? 1) {
                let tp = TopicPartition(topic, p)
                partitions.append(tp)
                start[tp] = .offset(try consumer.watermarks(tp).high)  // concrete offsets, fixed before anything is produced
            }
        }
        try consumer.assign(partitions, from: start)
    }

    func wait(for ids: [String], timeoutSeconds: Double) async -> [String: Outcome] {
        var wanted = Set(ids)
        var found: [String: Outcome] = [:]
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        let consumer = self.consumer
        while !wanted.isEmpty && Date() < deadline {
            for r in await io.run({ consumer.poll(maxRecords: 1000, timeoutMs: 200) }) {
                if r.topic == chain.outputTopic {
                    let id = r.header(HeaderNames.correlationID) ?? IncomingEnvelope.correlationID(of: r)
                    guard wanted.remove(id) != nil else { continue }
                    found[id] = Outcome(completed: true, value: r.value.map { String(decoding: $0, as: UTF8.self) } ?? "", error: [:])
                } else {
                    let id = r.header(HeaderNames.errorCorrelationID) ?? IncomingEnvelope.correlationID(of: r)
                    guard wanted.remove(id) != nil else { continue }
                    var error: [String: String] = [:]
                    for h in r.headers where HeaderNames.isDeadLetterHeader(h.name) { error[String(h.name.dropFirst("catena_".count))] = h.text ?? "" }
                    found[id] = Outcome(completed: false, value: "", error: error)
                }
            }
        }
        return found
    }
}
