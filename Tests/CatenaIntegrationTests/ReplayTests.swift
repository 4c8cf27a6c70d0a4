import Catena
import Foundation
import Testing

/// A dead letter copied back to the entry topic by hand (key, every header, value, as kcat would) is a
/// replay: its headers stay bounded hop after hop, its replay count (`catena_redrive_count`) rises, and past
/// the chain's `max_redrives` the worker parks it on `<chain>.dlq.parked` instead of running the step, so
/// the record cannot cycle forever.
@Suite("Dead letters copied back by hand", .serialized)
struct ReplayTests {
    /// Bytes of header names and values.
    static func headerBytes(_ r: ConsumedRecord) -> Int {
        r.headers.reduce(0) { $0 + $1.name.utf8.count + ($1.value?.count ?? 0) }
    }

    @Test("a dead letter copied back to the entry topic five times: bounded headers, count 1, 2, 3, then parked; no new dead letter; lag 0")
    func deadLetterCopiedBackFiveTimes() async throws {
        let chain = try await TestChain.make(yaml: """
            chain: \(IntegrationEnvironment.uniqueName("replay"))
            partitions: 2
            max_redrives: 3
            steps:
              - name: first
                function: builtin.reject
            """)
        defer { chain.signalStop() }
        let d = chain.definition
        let parkedTopic = d.parkedTopic
        try await chain.startAllWorkers()
        _ = try chain.startCoordinator()
        let key = Array("loop-1".utf8), value = Array(#"{"msg":"poison"}"#.utf8)
        let userHeaders = [KafkaHeader("x-tenant", text: "a"), KafkaHeader("x-bin", [0, 255])]
        _ = try await TestProducer.send([OutgoingRecord(topic: d.entryTopic, key: key, value: value, headers: userHeaders)])

        // Everything the step writes for this key: dead letters and parked records, in the order read.
        let reader = try await TopicReader.make([d.deadLetterTopic, parkedTopic])
        var seen = try await reader.read(until: "the first dead letter", seconds: 30) { !$0.isEmpty }.count
        var newest = try #require(reader.records.last { $0.topic == d.deadLetterTopic })
        let first = newest
        #expect(RedrivePlan.redriveCount(of: first.headers) == 0 && first.header(HeaderNames.errorStep) == "first")

        var deadLetters: [ConsumedRecord] = []   // one per hop, while under the limit
        var parked: [(copied: ConsumedRecord, parked: ConsumedRecord)] = []
        var dlqEndBeforeParking: Int64?
        for hop in 1...5 {
            // Copy the newest dead letter back by hand: key, all headers in order, value.
            let copied = newest
            if hop == 4 { dlqEndBeforeParking = try await RedriveTests.recordCount(d.deadLetterTopic) }
            _ = try await TestProducer.send([OutgoingRecord(topic: d.entryTopic, key: copied.key, value: copied.value, headers: copied.headers)])
            let records = try await reader.read(until: "what hop \(hop) turned into", seconds: 30) { $0.count > seen }
            #expect(records.count == seen + 1, "one record per hop")
            let result = records[seen]
            seen = records.count
            if result.topic == d.deadLetterTopic {
                deadLetters.append(result)
                newest = result
            } else {
                parked.append((copied, result))
            }
        }

        // Hops 1-3 came back as dead letters with the replay count 1, 2, 3; headers bounded.
        #expect(deadLetters.map { RedrivePlan.redriveCount(of: $0.headers) } == [1, 2, 3], "\(deadLetters.map { $0.headers.map(\.name) })")
        for letter in deadLetters {
            #expect(letter.key == key && letter.value == value)
            #expect(Array(letter.headers.prefix(3)) == userHeaders + [KafkaHeader(HeaderNames.redriveCount, text: String(RedrivePlan.redriveCount(of: letter.headers)))],
                    "user headers in order, then one replay count: \(letter.headers.map(\.name))")
            #expect(letter.headers.count == first.headers.count + 1, "the first dead letter's headers plus one count header: \(letter.headers.map(\.name))")
            #expect(Self.headerBytes(letter) <= Self.headerBytes(first) + 64, "header bytes \(Self.headerBytes(letter)) vs first \(Self.headerBytes(first))")
            for name in Set(letter.headers.map(\.name)) where HeaderNames.isDeadLetterHeader(name) || name == HeaderNames.redriveCount {
                #expect(letter.headers.filter { $0.name == name }.count == 1, "\(name) appears once")
            }
        }
        // Hops 4 and 5 exceeded max_redrives (3): parked as they arrived, plus the reason; the step did not run.
        #expect(parked.count == 2, "hops 4 and 5 parked")
        for (copied, p) in parked {
            #expect(p.key == copied.key && p.value == copied.value)
            #expect(Array(p.headers.dropLast(2)) == copied.headers, "headers kept byte-for-byte, in order")
            #expect(Array(p.headers.suffix(2).map(\.name)) == [HeaderNames.parkedStep, HeaderNames.parkedReason])
            #expect(p.header(HeaderNames.parkedStep) == "first")
            #expect(p.header(HeaderNames.parkedReason)?.contains("reached max_redrives 3") == true, "\(p.header(HeaderNames.parkedReason) ?? "-")")
        }

        // The worker committed past the parked records, and nothing new reached the DLQ.
        try await ConsumerLag.waitForZero(group: d.consumerGroup(of: "first"), topic: d.entryTopic, seconds: 30)
        let dlqEnd = try await RedriveTests.recordCount(d.deadLetterTopic)
        #expect(dlqEndBeforeParking != nil && dlqEnd == dlqEndBeforeParking, "no dead letter after the limit: \(dlqEnd) vs \(dlqEndBeforeParking ?? -1)")

        // The coordinator: 6 entries (the record and 5 copies), each failed: 4 dead letters and 2 parked; none in flight.
        let status = try await BlockingQueue(label: "test.status").run { try StatusReader(chain: d, settings: IntegrationEnvironment.settings) }
        var final: StatusSnapshot?
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if let s = await status.next(timeoutSeconds: 2) { final = s }
            if let s = final, s.started == 6, s.inFlight == 0, s.failed == 6 { break }
        }
        let s = try #require(final)
        #expect(s.started == 6 && s.failed == 6 && s.inFlight == 0 && s.unmatchedOutcomes == 0, "\(s)")
        #expect(s.failures.first { $0.kind == "parked" }?.count == 2 && s.failures.first { $0.kind == "fatal" }?.count == 4, "\(s.failures)")
        #expect(await chain.stop().values.allSatisfy { $0 == 0 }, "workers exit 0 on SIGTERM")
    }
}
