import CRdKafka
import Foundation

/// The worker's reader of its step's delay path: for every input partition p the worker owns, it reads
/// retry partition p (a second consumer handle, group-less, assigned by hand in step with the group's
/// assignment), buffers what it reads, and hands out the records that are due, in partition order.
///
/// When the worker is given input partition p, `follow` first reads retry partition p from the group's
/// committed offset to its end and rebuilds p's same-key bookkeeping from it (`DelayPath.rebuild`), before
/// any input record of p runs. Those records stay buffered, so they are read once. The retry partitions'
/// offsets are committed by the worker with the input offsets (same group, same transaction).
///
/// Not thread-safe: used from the worker's loop only; the methods that block run on its I/O queue.
final class RetryFeed: @unchecked Sendable {
    let topic: String
    private let inputTopic: String
    private let consumer: KafkaConsumer
    private let path: DelayPath
    private let component: String
    /// Input partitions whose retry partition this worker reads.
    private var owned: Set<Int32> = []
    /// Input partitions this worker owns that have no retry partition (their retries wait in place).
    private var inPlace: Set<Int32> = []
    private var buffers: [Int32: RecordQueue] = [:]
    private var paused: Set<Int32> = []
    private var lastRebuildWarning = Date.distantPast
    /// A partition buffering more than this is paused until it drains below half.
    static let bufferLimit = 2000

    init(chain: ChainDefinition, step: StepDefinition, settings: KafkaSettings, properties: [String: String], path: DelayPath, component: String) throws {
        topic = chain.retryTopic(of: step.name)
        inputTopic = chain.inputTopic(of: step.name)
        // Retry records are due seconds later: an idle retry partition need not be fetched 20 times a second
        // (the broker still answers at once when records arrive).
        var props = ["fetch.wait.max.ms": "500"].merging(properties) { $1 }
        props["group.id"] = nil
        consumer = try KafkaConsumer(settings: settings, groupID: nil, properties: props)
        self.path = path
        self.component = component
    }

    /// The retry partitions read now (for offset commits).
    var ownedPartitions: [TopicPartition] { owned.map { TopicPartition(topic, $0) } }

    /// Follows `main`'s assignment (gained input partitions are rebuilt, lost ones forgotten), then reads
    /// what is available without waiting. A partition whose rebuild failed (brokers unreachable) is tried
    /// again on the next call; until then its input records are held back (`readyInput`). Blocks; call on
    /// the I/O queue.
    func follow(_ main: KafkaConsumer) {
        let input = Set(main.assignment().filter { $0.topic == inputTopic }.map(\.partition))
        for p in inPlace.subtracting(input) { inPlace.remove(p); path.drop(partition: p) }
        let lost = owned.subtracting(input), gained = input.subtracting(owned).subtracting(inPlace)
        if !lost.isEmpty {
            do { try consumer.incrementalUnassign(lost.sorted().map { TopicPartition(topic, $0) }) } catch {
                Log.warn(component, "retry consumer: \(error)")
            }
            for p in lost { buffers[p] = nil; paused.remove(p); path.drop(partition: p) }
            owned.subtract(lost)
        }
        if !gained.isEmpty {
            do { try rebuild(gained, main: main) } catch {
                if Date().timeIntervalSince(lastRebuildWarning) > 5 {
                    lastRebuildWarning = Date()
                    Log.warn(component, "cannot read \(topic) partitions \(gained.sorted()) yet, holding their input back: \(error)")
                }
            }
        }
        fill()
    }

    /// Splits polled input records into those that may run and, per partition whose delay path is not read
    /// yet, the offset to seek back to.
    func readyInput(_ records: [ConsumedRecord]) -> (ready: [ConsumedRecord], heldBack: [TopicPartition: Int64]) {
        let isReady = { (p: Int32) in self.owned.contains(p) || self.inPlace.contains(p) }
        guard records.contains(where: { !isReady($0.partition) }) else { return (records, [:]) }
        return (records.filter { isReady($0.partition) }, records.filter { !isReady($0.partition) }.firstOffsets)
    }

    /// Hands out up to `max` records that are due at `now`, each partition's in order, stopping at a
    /// partition's first record not yet due.
    func takeDue(now: Date, max: Int) -> [ConsumedRecord] {
        let nowMs = RetryRecord.ms(now)
        var out: [ConsumedRecord] = []
        for p in owned.sorted() {
            while out.count < max, let head = buffers[p]?.first, Self.dueMs(head) <= nowMs {
                out.append(buffers[p]!.removeFirst())
            }
        }
        return out
    }

    /// Puts records handed out by `takeDue` but not processed back at the front, in order.
    func putBack(_ records: [ConsumedRecord]) {
        for r in records.reversed() where owned.contains(r.partition) { buffers[r.partition, default: RecordQueue()].prepend(r) }
    }

    /// Milliseconds until the earliest buffered head is due (0 when one is due now), nil when nothing is buffered.
    func msUntilDue(now: Date) -> Int64? {
        let nowMs = RetryRecord.ms(now)
        return owned.compactMap { buffers[$0]?.first.map { Swift.max(0, Self.dueMs($0) - nowMs) } }.min()
    }

    /// After an aborted batch: drops the buffers and reads the retry partitions again from the committed offsets.
    func rewind(_ main: KafkaConsumer) throws {
        let tps = ownedPartitions
        guard !tps.isEmpty else { return }
        let committed = try main.committedOffsets(tps)
        buffers = [:]
        consumer.resume(paused.map { TopicPartition(topic, $0) })
        paused = []
        try consumer.seek(Dictionary(uniqueKeysWithValues: tps.map { ($0, committed[$0] ?? Int64(RD_KAFKA_OFFSET_BEGINNING)) }))
    }

    /// Stops reading. Blocks.
    func close() { consumer.close() }

    // MARK: - Reading

    /// Reads what is available without waiting into the buffers; pauses partitions that buffer too much.
    private func fill() {
        for p in paused where (buffers[p]?.count ?? 0) < Self.bufferLimit / 2 {
            consumer.resume([TopicPartition(topic, p)])
            paused.remove(p)
        }
        let records = consumer.poll(maxRecords: 1000, timeoutMs: 0) { Log.warn(component, "retry consumer: \($0)") }
        buffer(records)
    }

    private func buffer(_ records: [ConsumedRecord]) {
        for r in records where owned.contains(r.partition) {
            buffers[r.partition, default: RecordQueue()].append(r)
        }
        for (p, q) in buffers where q.count >= Self.bufferLimit && !paused.contains(p) {
            consumer.pause([TopicPartition(topic, p)])
            paused.insert(p)
        }
    }

    /// Assigns retry partitions `partitions` from the committed offsets and reads each to its end, adding
    /// what it finds to the bookkeeping (the records stay buffered).
    private func rebuild(_ gained: Set<Int32>, main: KafkaConsumer) throws {
        let count = Int32(try consumer.partitionCount(topic))
        let missing = gained.filter { $0 >= count }
        if !missing.isEmpty {
            // The input topic has more partitions than its retry topic: those partitions' retries wait in place.
            Log.warn(component, "\(topic) has \(count) partitions, the input has more: retries of input partitions \(missing.sorted()) wait in place")
            for p in missing { path.retryInPlace(partition: p) }
            inPlace.formUnion(missing)
        }
        let partitions = gained.subtracting(missing)
        guard !partitions.isEmpty else { return }
        let tps = partitions.sorted().map { TopicPartition(topic, $0) }
        let committed = try main.committedOffsets(tps)
        var ends: [TopicPartition: Int64] = [:]
        var starts: [TopicPartition: Int64] = [:]
        for tp in tps {
            let marks = try consumer.watermarks(tp)
            ends[tp] = marks.high
            starts[tp] = Swift.max(committed[tp] ?? marks.low, marks.low)
        }
        try consumer.incrementalAssign(Dictionary(uniqueKeysWithValues: tps.map { ($0, starts[$0]) }))
        owned.formUnion(partitions)
        var remaining = Set(tps.filter { starts[$0]! < ends[$0]! })
        var found = 0
        var lastProgress = Date()
        while !remaining.isEmpty {
            let records = consumer.poll(maxRecords: 5000, timeoutMs: 100) { Log.warn(component, "retry consumer: \($0)") }
            for r in records {
                let tp = TopicPartition(topic, r.partition)
                if remaining.contains(tp), r.offset < ends[tp]! { path.rebuild(with: r); found += 1 }
                if r.offset + 1 >= ends[tp] ?? .max { remaining.remove(tp) }
            }
            buffer(records)
            if !records.isEmpty { lastProgress = Date() }
            let positions = consumer.positions(Array(remaining))
            remaining = remaining.filter { (positions[$0] ?? -1) < ends[$0]! }
            if !remaining.isEmpty && Date().timeIntervalSince(lastProgress) > 5 {
                // Only transaction markers (or an open transaction of a dead instance) lie before the end.
                Log.warn(component, "rebuilding \(remaining.map { "\($0.topic)[\($0.partition)]" }.sorted()): no records for 5 s before offset \(remaining.map { ends[$0]! }); continuing")
                break
            }
        }
        Log.info(component, "delay path: reading \(topic) partitions \(partitions.sorted()); found \(found) waiting record(s)")
    }

    /// When a retry-topic record is due (0 when it has no due header: run it now).
    static func dueMs(_ record: ConsumedRecord) -> Int64 {
        record.header(HeaderNames.retryDue).flatMap { Int64($0) } ?? 0
    }
}

/// A FIFO of records (amortised O(1) at both ends for the worker's use).
struct RecordQueue {
    private var items: [ConsumedRecord] = []
    private var head = 0
    var count: Int { items.count - head }
    var first: ConsumedRecord? { head < items.count ? items[head] : nil }
    mutating func append(_ r: ConsumedRecord) { items.append(r) }
    mutating func removeFirst() -> ConsumedRecord {
        let r = items[head]
        head += 1
        if head > 1024 && head * 2 > items.count { items.removeFirst(head); head = 0 }
        return r
    }
    mutating func prepend(_ r: ConsumedRecord) {
        if head > 0 { head -= 1; items[head] = r } else { items.insert(r, at: 0) }
    }
}
