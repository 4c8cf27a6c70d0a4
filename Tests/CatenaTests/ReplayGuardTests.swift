import Catena
import Foundation
import Testing

/// The pure part of the worker's replay limit: a record carrying dead-letter headers is a replay, counted in
/// `catena_redrive_count` and processed without its old dead-letter headers, and parked past `max_redrives`.
struct ReplayGuardTests {
    static let chain = ChainDefinition(name: "orders", steps: [
        StepDefinition(name: "parse", function: "builtin.reject"),
        StepDefinition(name: "enrich", function: "builtin.identity"),
    ])
    static let guardOfParse = ReplayGuard(chain: chain, step: "parse")
    static let userHeaders = [KafkaHeader("x-tenant", text: "a"), KafkaHeader("x-null", nil), KafkaHeader("x-bin", [0, 255]), KafkaHeader("x-tenant", text: "b")]

    static func input(key: [UInt8]? = Array("cust-42".utf8), value: [UInt8]? = Array("poison".utf8),
                      headers: [KafkaHeader] = userHeaders, offset: Int64 = 7) -> ConsumedRecord {
        ConsumedRecord(topic: "orders.parse", partition: 1, offset: offset, timestampMs: 1_700_000_000_000, key: key, value: value, headers: headers)
    }

    /// The dead letter a `parse` worker writes for `record`, as it reads back, i.e. as kcat would copy it.
    static func deadLetter(of record: ConsumedRecord, offset: Int64 = 40) -> ConsumedRecord {
        let out = DeadLetter(step: "parse", kind: .fatal, message: "poison found", attempts: 1, correlationID: "cust-42", workerID: "h:1")
            .record(for: record, topic: "orders.dlq")
        return ConsumedRecord(topic: "orders.dlq", partition: 0, offset: offset, timestampMs: 1_700_000_000_500, key: out.key, value: out.value, headers: out.headers)
    }

    /// `record` as it arrives after being copied back to `orders.parse` by hand.
    static func copiedBack(_ record: ConsumedRecord, offset: Int64 = 8) -> ConsumedRecord {
        ConsumedRecord(topic: "orders.parse", partition: 1, offset: offset, timestampMs: 1_700_000_001_000, key: record.key, value: record.value, headers: record.headers)
    }

    static func headerBytes(_ headers: [KafkaHeader]) -> Int { headers.reduce(0) { $0 + $1.name.utf8.count + ($1.value?.count ?? 0) } }

    @Test func recordsWithoutDeadLetterHeadersAreProcessedAsTheyAre() {
        #expect(Self.guardOfParse.decide(Self.input()) == .process)
        #expect(Self.guardOfParse.decide(Self.input(headers: [])) == .process)
        // What `catena dlq redrive` sends: the count, without dead-letter headers. Counted by the redrive already.
        #expect(Self.guardOfParse.decide(Self.input(headers: Self.userHeaders + [KafkaHeader("catena_redrive_count", text: "3")])) == .process)
        #expect(!ReplayGuard.isReplay(Self.input(headers: [KafkaHeader("catena_errorless", text: "x"), KafkaHeader("x-catena_error_step", text: "x")])))
    }

    @Test func anyDeadLetterOrParkedHeaderMakesARecordAReplay() {
        for name in ["catena_error_step", "catena_error_kind", "catena_origin_offset", "catena_parked_reason"] {
            #expect(ReplayGuard.isReplay(Self.input(headers: [KafkaHeader(name, text: "x")])), "\(name)")
        }
    }

    @Test func aDeadLetterCopiedBackIsProcessedWithoutItsDeadLetterHeadersAndCountOne() throws {
        let arriving = Self.copiedBack(Self.deadLetter(of: Self.input()))
        guard case .replay(let r, let count) = Self.guardOfParse.decide(arriving) else { Issue.record("expected a replay"); return }
        #expect(count == 1)
        #expect(r.headers == Self.userHeaders + [KafkaHeader("catena_redrive_count", text: "1")], "user headers in order, duplicates and nulls kept, then the count")
        #expect(r.key == arriving.key && r.value == arriving.value)
        #expect(r.topic == arriving.topic && r.partition == arriving.partition && r.offset == arriving.offset && r.timestampMs == arriving.timestampMs,
                "still the record read from the step's topic (its dead letter names this position)")
    }

    @Test func theCountRisesInPlaceAndIsSharedWithRedrive() throws {
        let headers = [KafkaHeader("x-a", text: "1"), KafkaHeader("catena_redrive_count", text: "2"), KafkaHeader("x-b", text: "2"), KafkaHeader("catena_redrive_count", text: "9")]
        let arriving = Self.copiedBack(Self.deadLetter(of: Self.input(headers: headers)))
        guard case .replay(let r, let count) = Self.guardOfParse.decide(arriving) else { Issue.record("expected a replay"); return }
        #expect(count == 3, "the first catena_redrive_count (2, as redrive set it) + 1")
        #expect(r.headers == [KafkaHeader("x-a", text: "1"), KafkaHeader("catena_redrive_count", text: "3"), KafkaHeader("x-b", text: "2")])
    }

    @Test func copyingTheNewestDeadLetterBackAgainAndAgainStaysBoundedAndEndsParked() throws {
        // The cycle of case 4, without Kafka: dead letter -> copied back -> guard -> the step fails -> dead letter.
        let first = Self.deadLetter(of: Self.input())
        var newest = first
        var counts: [Int] = []
        var sizes: [Int] = []
        var parked: OutgoingRecord?
        for hop in 1...10 {
            let arriving = Self.copiedBack(newest, offset: 8 + Int64(hop))
            switch Self.guardOfParse.decide(arriving) {
            case .process:
                Issue.record("hop \(hop): a copied-back dead letter must be a replay")
                return
            case .replay(let r, let count):
                counts.append(count)
                newest = Self.deadLetter(of: r, offset: 40 + Int64(hop))  // builtin.reject fails again
                sizes.append(Self.headerBytes(newest.headers))
                #expect(newest.headers.count == first.headers.count + 1, "hop \(hop): the first dead letter's headers plus the count")
                #expect(newest.headers.filter { $0.name == "catena_error_step" }.count == 1)
                #expect(RedrivePlan.redriveCount(of: newest.headers) == count)
            case .park(let p, _):
                parked = p
            }
            if parked != nil { break }
        }
        #expect(counts == [1, 2, 3], "the chain's default max_redrives 3")
        #expect(sizes.allSatisfy { $0 <= Self.headerBytes(first.headers) + 32 }, "\(sizes) vs \(Self.headerBytes(first.headers))")
        let p = try #require(parked, "parked after the limit: no endless cycle")
        #expect(p.topic == "orders.dlq.parked")
        #expect(p.key == newest.key && p.value == newest.value)
        #expect(Array(p.headers.dropLast(2)) == newest.headers, "headers byte-for-byte, in order")
        #expect(p.headers.suffix(2).map(\.name) == ["catena_parked_step", "catena_parked_reason"])
        #expect(p.headers.first { $0.name == "catena_parked_step" }?.text == "parse")
        #expect(p.headers.last?.text?.contains("catena_redrive_count reached max_redrives 3") == true, "\(p.headers.last?.text ?? "")")
    }

    @Test func pastTheLimitTheRecordIsParkedAsItArrivedNullKeyAndValueKept() throws {
        let limited = ReplayGuard(step: "enrich", maxRedrives: 1, parkedTopic: "orders.dlq.parked")
        let headers = [KafkaHeader("catena_redrive_count", text: "1"), KafkaHeader("catena_error_step", text: "enrich"), KafkaHeader("x", nil)]
        let arriving = ConsumedRecord(topic: "orders.enrich", partition: 0, offset: 3, timestampMs: 1, key: nil, value: nil, headers: headers)
        guard case .park(let p, let reason) = limited.decide(arriving) else { Issue.record("count 1 + 1 > max 1: parked"); return }
        #expect(p.key == nil && p.value == nil, "null stays null")
        #expect(p.partition == nil)
        #expect(p.headers == headers + [KafkaHeader("catena_parked_step", text: "enrich"), KafkaHeader("catena_parked_reason", text: reason)])
        #expect(reason.contains("step enrich") && reason.contains("max_redrives 1"))
    }

    @Test func maxRedrivesZeroParksTheFirstReplay() {
        let none = ReplayGuard(step: "parse", maxRedrives: 0, parkedTopic: "orders.dlq.parked")
        guard case .park = none.decide(Self.copiedBack(Self.deadLetter(of: Self.input()))) else { Issue.record("max 0: parked"); return }
        #expect(none.decide(Self.input()) == .process, "ordinary records are not affected")
    }

    @Test func aParkedRecordSentBackIsParkedAgainWithItsParkedHeadersReplacedNotPiledUp() throws {
        let limited = ReplayGuard(step: "parse", maxRedrives: 0, parkedTopic: "orders.dlq.parked")
        let dead = Self.copiedBack(Self.deadLetter(of: Self.input()))
        guard case .park(let once, _) = limited.decide(dead) else { Issue.record("parked"); return }
        let again = ConsumedRecord(topic: "orders.parse", partition: 1, offset: 9, timestampMs: 1, key: once.key, value: once.value, headers: once.headers)
        guard case .park(let twice, _) = limited.decide(again) else { Issue.record("parked again"); return }
        #expect(twice.headers == once.headers, "same headers, not two sets of parked headers")
    }

    @Test func aStubIsParkedAtOnceBecauseItHasNoValue() throws {
        let original = Self.input()
        let full = DeadLetter(step: "parse", kind: .outputRejected, message: "too big", attempts: 1, correlationID: "cust-42", workerID: "h:1")
            .record(for: original, topic: "orders.dlq")
        let stub = DeadLetter.stub(replacing: full, original: original, refusal: "Message size too large")
        let arriving = ConsumedRecord(topic: "orders.parse", partition: 1, offset: 9, timestampMs: 1, key: stub.key, value: stub.value, headers: stub.headers)
        guard case .park(let p, let reason) = Self.guardOfParse.decide(arriving) else { Issue.record("a stub is parked"); return }
        #expect(reason.contains("stub"))
        #expect(Array(p.headers.dropLast(2)) == stub.headers)
    }

    @Test func aKeylessDeadLetterKeepsItsCorrelationIDInCeCorrelationID() throws {
        let original = Self.input(key: nil, headers: [])
        let out = DeadLetter(step: "parse", kind: .fatal, message: "x", attempts: 1, correlationID: "8f0c-uuid", workerID: "h:1")
            .record(for: original, topic: "orders.dlq")
        let arriving = ConsumedRecord(topic: "orders.parse", partition: 0, offset: 99, timestampMs: 1, key: out.key, value: out.value, headers: out.headers)
        guard case .replay(let r, _) = Self.guardOfParse.decide(arriving) else { Issue.record("expected a replay"); return }
        #expect(r.headers == [KafkaHeader("catena_redrive_count", text: "1"), KafkaHeader("ce_correlationid", text: "8f0c-uuid")])
        #expect(IncomingEnvelope.correlationID(of: r) == "8f0c-uuid", "the same execution, not a new one from the new position")
    }
}
