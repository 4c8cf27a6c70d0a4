import Catena
import Foundation
import Testing

/// A dead letter sent back to a step with its headers, through `StepProcessor`: outputs and new dead letters
/// carry the raised `catena_redrive_count` and none of the old dead-letter headers; past the chain's
/// `max_redrives` the record is parked and the function is not called.
struct StepProcessorReplayTests {
    typealias Fixtures = StepProcessorTests

    /// The dead letter `enrich` wrote for `Fixtures.record(topic: "orders.enrich")`, with `count` as its redrive count.
    static func deadLetterCopiedBack(count: Int?) -> ConsumedRecord {
        let headers = Fixtures.userHeaders + (count.map { [KafkaHeader("catena_redrive_count", text: String($0))] } ?? [])
        let original = Fixtures.record(headers: headers, topic: "orders.enrich")
        let dead = DeadLetter(step: "enrich", kind: .fatal, message: "bad input", attempts: 1, correlationID: "cust-42", workerID: "host-b:9")
            .record(for: original, topic: "orders.dlq")
        return ConsumedRecord(topic: "orders.enrich", partition: 0, offset: 99, timestampMs: 1_700_000_000_900, key: dead.key, value: dead.value, headers: dead.headers)
    }

    @Test func aReplayThatSucceedsOutputsWithoutTheOldDeadLetterHeadersAndWithTheCount() async throws {
        let calls = Fixtures.Calls()
        let out = try Fixtures.output(await Fixtures.processor(Fixtures.FailsThenSucceeds(failures: 0, calls: calls), step: "enrich")
            .process(Self.deadLetterCopiedBack(count: nil)))
        #expect(out.topic == "orders.ship")
        #expect(!out.headers.contains { HeaderNames.isDeadLetterHeader($0.name) }, "\(out.headers.map(\.name))")
        #expect(out.headers.filter { $0.name == "catena_redrive_count" }.map(\.text) == ["1"])
        #expect(out.headers.filter { $0.name.hasPrefix("x-") || $0.name == "traceparent" } == Fixtures.userHeaders)
        let seen = try #require(calls.all.first).headers
        #expect(!seen.contains { HeaderNames.isDeadLetterHeader($0.name) }, "the function sees the record without them, too")
    }

    @Test func aReplayThatFailsAgainIsDeadLetteredWithTheNextCountAndOneSetOfErrorHeaders() async throws {
        let arriving = Self.deadLetterCopiedBack(count: 1)
        let (dead, _) = try Fixtures.deadLetter(await Fixtures.processor(Fixtures.AlwaysFatal(calls: Fixtures.Calls()), step: "enrich").process(arriving))
        #expect(dead.topic == "orders.dlq")
        #expect(RedrivePlan.redriveCount(of: dead.headers) == 2)
        #expect(dead.headers.count == arriving.headers.count, "same number of headers as the dead letter it came from")
        for name in Set(dead.headers.map(\.name)) where HeaderNames.isDeadLetterHeader(name) || name == "catena_redrive_count" {
            #expect(dead.headers.filter { $0.name == name }.count == 1, "\(name) once")
        }
        #expect(dead.headers.first { $0.name == "catena_origin_offset" }?.text == "99", "the origin is where the replay was read")
    }

    @Test func pastTheChainsLimitTheRecordIsParkedAndTheFunctionIsNotCalled() async throws {
        var chain = Fixtures.chain()
        chain.maxRedrives = 2
        let calls = Fixtures.Calls()
        let arriving = Self.deadLetterCopiedBack(count: 2)
        let outcome = await Fixtures.processor(Fixtures.AlwaysFatal(calls: calls), step: "enrich", chain: chain).process(arriving)
        guard case .parked(let p) = outcome else { Issue.record("expected parked, got \(outcome)"); return }
        #expect(calls.all.isEmpty, "the function did not run")
        #expect(p.topic == "orders.dlq.parked")
        #expect(p.key == arriving.key && p.value == arriving.value)
        #expect(Array(p.headers.dropLast(2)) == arriving.headers)
        #expect(p.headers.last?.text?.contains("max_redrives 2") == true)

        // One below the limit it still runs.
        let below = await Fixtures.processor(Fixtures.AlwaysFatal(calls: calls), step: "enrich", chain: chain).process(Self.deadLetterCopiedBack(count: 1))
        guard case .deadLetter = below else { Issue.record("count 1 + 1 <= 2 runs the step, got \(below)"); return }
        #expect(calls.all.count == 1)
    }
}
