import Testing
@testable import Catena

/// The FIFO a worker buffers each retry partition in: order kept through removals, put-backs and compaction.
struct RecordQueueTests {
    static func record(_ offset: Int64) -> ConsumedRecord {
        ConsumedRecord(topic: "c.s.retry", partition: 0, offset: offset, timestampMs: 0, key: nil, value: nil, headers: [])
    }

    @Test func keepsOrderThroughRemovalsPutBacksAndCompaction() {
        var q = RecordQueue()
        #expect(q.first == nil && q.count == 0)
        for i in 0..<3000 { q.append(Self.record(Int64(i))) }
        var taken: [Int64] = []
        for _ in 0..<2500 { taken.append(q.removeFirst().offset) }
        #expect(taken == (0..<2500).map(Int64.init))
        #expect(q.count == 500 && q.first?.offset == 2500)
        q.prepend(Self.record(2499))
        q.prepend(Self.record(2498))
        #expect(q.count == 502 && q.first?.offset == 2498)
        var rest: [Int64] = []
        while q.first != nil { rest.append(q.removeFirst().offset) }
        #expect(rest == (2498..<3000).map(Int64.init))
        q.prepend(Self.record(7))
        #expect(q.count == 1 && q.removeFirst().offset == 7 && q.count == 0)
    }
}
