import Catena
import Foundation

/// Every data record of some topics as the broker stores it, each with the outcome of the transaction that
/// wrote it, read with the Kafka protocol directly (Fetch v4, read_uncommitted by default) rather than
/// through librdkafka.
///
/// Why: exactly-once is a property of *committed* transactions, and the broker's transaction markers are
/// what says which records are committed. A `read_committed` consumer is supposed to drop the records of
/// aborted transactions, but it relies on the broker to list those transactions in each fetch response;
/// the Tansu build used here lists none (it writes the markers, though), so librdkafka hands aborted records
/// to the application (`BrokerTransactionProbeTests`). Reading the markers ourselves separates a duplicate
/// from an aborted transaction (the broker's doing) from a duplicate in committed data (a Catena bug).
///
/// Per partition, in offset order: a non-transactional record is committed when written; a transactional
/// record stays `open` until a control batch (commit or abort marker) of the same producer id follows it.
final class TransactionalLog: @unchecked Sendable {
    enum Outcome: Equatable { case committed, aborted, open }

    /// One data record: where it is, its key, value and `catena_worker` header, and its transaction's outcome.
    struct Entry {
        let topic: String
        let partition: Int32
        let offset: Int64
        let key: String
        let value: [UInt8]?
        let worker: String?
        var outcome: Outcome
    }

    /// Per key, how many records a topic holds in committed and in aborted transactions, and how many are still open.
    struct Summary {
        var committed: [String: Int] = [:]
        var aborted: [String: Int] = [:]
        var open = 0
        /// Records a `read_committed` consumer of this broker is handed: committed ones, plus aborted ones when
        /// the broker does not hide them (Tansu), i.e. what a step reading this topic consumes.
        var delivered: [String: Int] { committed.merging(aborted, uniquingKeysWith: +) }
        var committedTotal: Int { committed.values.reduce(0, +) }
        var abortedTotal: Int { aborted.values.reduce(0, +) }
    }

    private struct PartitionState {
        var next: Int64 = 0
        var entries: [Entry] = []
        /// Indices in `entries` of records of a producer's transaction without a marker yet.
        var pending: [Int64: [Int]] = [:]
    }

    private let topics: [String]
    private let maxWaitMs: Int32
    private var partitions: [String: [PartitionState]] = [:]
    private var client: KafkaWireClient?
    /// Aborted transactions the broker listed in its fetch responses (what `read_committed` clients filter by).
    private(set) var listedAbortedTransactions = 0
    private let io = BlockingQueue(label: "catena.tests.txnlog")

    private let readCommitted: Bool

    /// `maxWaitMs`: how long the broker may hold a fetch that finds nothing new (Tansu returns nothing at all
    /// with 0). `readCommitted`: fetch as a read_committed client (only up to the last stable offset, so open
    /// transactions are not seen; the broker then lists the aborted transactions in its responses).
    init(topics: [String], partitions count: Int, maxWaitMs: Int32 = 50, readCommitted: Bool = false) {
        self.topics = topics
        self.maxWaitMs = maxWaitMs
        self.readCommitted = readCommitted
        for t in topics { partitions[t] = Array(repeating: PartitionState(), count: count) }
    }

    /// Reads every partition up to its current high watermark (last stable offset when `readCommitted`), off
    /// the cooperative pool.
    func refresh() async throws {
        try await io.run { try self.readToHighWatermark() }
    }

    func summary(_ topic: String) -> Summary {
        var s = Summary()
        for p in partitions[topic] ?? [] {
            for e in p.entries {
                switch e.outcome {
                case .committed: s.committed[e.key, default: 0] += 1
                case .aborted: s.aborted[e.key, default: 0] += 1
                case .open: s.open += 1
                }
            }
        }
        return s
    }

    func entries(_ topic: String) -> [Entry] { (partitions[topic] ?? []).flatMap(\.entries) }

    /// How many records of `topic` have each outcome (cheaper than `summary`).
    func totals(_ topic: String) -> (committed: Int, aborted: Int, open: Int) {
        var t = (committed: 0, aborted: 0, open: 0)
        for p in partitions[topic] ?? [] {
            for e in p.entries {
                switch e.outcome {
                case .committed: t.committed += 1
                case .aborted: t.aborted += 1
                case .open: t.open += 1
                }
            }
        }
        return t
    }

    /// Data records of `topic` so far, whatever their outcome.
    func count(_ topic: String) -> Int { (partitions[topic] ?? []).reduce(0) { $0 + $1.entries.count } }

    // MARK: - Reading

    private func readToHighWatermark() throws {
        if client == nil { client = try KafkaWireClient(address: IntegrationEnvironment.brokers) }
        var behind = Set(topics.flatMap { t in (0..<partitions[t]!.count).map { "\(t)\u{0}\($0)" } })
        var emptyRounds = 0
        while !behind.isEmpty {
            var progressed = false
            for (topic, partition, end, records) in try fetch(behind) {
                let before = partitions[topic]![partition].next
                if let records { try parseBatches(records, topic: topic, partition: partition) }
                let state = partitions[topic]![partition]
                progressed = progressed || state.next > before
                if state.next >= end { behind.remove("\(topic)\u{0}\(partition)") }
            }
            // Tansu may answer a fetch with nothing when its wait runs out first; ask again, a bounded number of times.
            emptyRounds = progressed ? 0 : emptyRounds + 1
            if emptyRounds > 200 { throw KafkaWireClient.Failure(description: "the broker returns no records below its high watermark for \(behind.count) partitions") }
        }
    }

    /// One Fetch v4 for the given "topic\0partition" names; per partition: where reading ends now, and the batches.
    private func fetch(_ wanted: Set<String>) throws -> [(String, Int, Int64, [UInt8]?)] {
        var byTopic: [String: [Int]] = [:]
        for name in wanted {
            let parts = name.split(separator: "\u{0}", omittingEmptySubsequences: false)
            byTopic[String(parts[0]), default: []].append(Int(parts[1])!)
        }
        var body = WireWriter()
        body.int32(-1)            // replica id: a consumer
        body.int32(maxWaitMs)
        body.int32(1)             // min bytes
        body.int32(64 << 20)      // max bytes
        body.int8(readCommitted ? 1 : 0)  // isolation level; read_uncommitted (the default here) sees open transactions too
        body.int32(Int32(byTopic.count))
        for (topic, ps) in byTopic {
            body.string(topic)
            body.int32(Int32(ps.count))
            for p in ps {
                body.int32(Int32(p))
                body.int64(partitions[topic]![p].next)
                body.int32(16 << 20)
            }
        }
        var r = WireReader(try client!.request(apiKey: 1, version: 4, body: body.bytes))
        _ = try r.int32()  // throttle time
        var result: [(String, Int, Int64, [UInt8]?)] = []
        for _ in 0..<(try r.int32()) {
            let topic = try r.string()
            for _ in 0..<(try r.int32()) {
                let partition = Int(try r.int32())
                let error = try r.int16()
                let highWatermark = try r.int64()
                let lastStable = try r.int64()
                let aborted = try r.int32()
                for _ in 0..<max(aborted, 0) { _ = try r.int64(); _ = try r.int64() }
                listedAbortedTransactions += Int(max(aborted, 0))
                let size = try r.int32()
                let records = size < 0 ? nil : Array(try r.take(Int(size)))
                guard error == 0 else { throw KafkaWireClient.Failure(description: "fetch \(topic)[\(partition)]: error code \(error)") }
                result.append((topic, partition, readCommitted ? lastStable : highWatermark, records))
            }
        }
        return result
    }

    /// Parses record batches (magic 2, uncompressed) and applies them to the partition's state.
    private func parseBatches(_ data: [UInt8], topic: String, partition: Int) throws {
        var r = WireReader(data)
        while r.remaining >= 12 {
            let baseOffset = try r.int64()
            let length = Int(try r.int32())
            guard r.remaining >= length else { break }  // a batch cut off by the size limit: fetched again next time
            var b = WireReader(Array(try r.take(length)))
            _ = try b.int32()  // partition leader epoch
            let magic = try b.int8()
            _ = try b.int32()  // crc
            let attributes = try b.int16()
            let lastOffsetDelta = try b.int32()
            _ = try b.int64(); _ = try b.int64()  // first and max timestamp
            let producerID = try b.int64()
            _ = try b.int16(); _ = try b.int32()  // producer epoch, base sequence
            let count = try b.int32()
            guard magic == 2 else { throw KafkaWireClient.Failure(description: "\(topic)[\(partition)]@\(baseOffset): record batch magic \(magic), expected 2") }
            guard attributes & 0x7 == 0 else { throw KafkaWireClient.Failure(description: "\(topic)[\(partition)]@\(baseOffset): compressed batch; this reader reads uncompressed batches only") }
            let transactional = attributes & 0x10 != 0, control = attributes & 0x20 != 0
            var state = partitions[topic]![partition]
            guard baseOffset >= state.next else { continue }  // already read
            // Offsets are contiguous here (no compaction). A gap means a batch whose offsets the broker has
            // reserved is not stored yet (Tansu lists stored batches below its high watermark): read it next time.
            guard baseOffset == state.next else { break }
            for _ in 0..<count {
                let recordLength = Int(try b.varint())
                var rec = WireReader(Array(try b.take(recordLength)))
                _ = try rec.int8()     // attributes
                _ = try rec.varint()   // timestamp delta
                let offsetDelta = try rec.varint()
                let key = try rec.varbytes()
                let value = try rec.varbytes()
                var worker: String?
                for _ in 0..<(try rec.varint()) {
                    let name = String(decoding: try rec.varbytes() ?? [], as: UTF8.self)
                    let headerValue = try rec.varbytes()
                    if name == HeaderNames.worker, let headerValue { worker = String(decoding: headerValue, as: UTF8.self) }
                }
                if control {
                    // Control record key: version (int16), type (int16): 0 = abort, 1 = commit.
                    var k = WireReader(key ?? [])
                    _ = try k.int16()
                    let outcome: Outcome = try k.int16() == 1 ? .committed : .aborted
                    for i in state.pending.removeValue(forKey: producerID) ?? [] { state.entries[i].outcome = outcome }
                } else {
                    state.entries.append(Entry(topic: topic, partition: Int32(partition), offset: baseOffset + offsetDelta,
                                               key: String(decoding: key ?? [], as: UTF8.self), value: value, worker: worker,
                                               outcome: transactional ? .open : .committed))
                    if transactional { state.pending[producerID, default: []].append(state.entries.count - 1) }
                }
            }
            state.next = baseOffset + Int64(lastOffsetDelta) + 1
            partitions[topic]![partition] = state
        }
    }
}
