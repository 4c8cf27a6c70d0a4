import Catena
import Foundation
import Testing

/// The pure part of `catena dlq redrive`: filters, header rewrite, redrive count, parking and refusals,
/// and the grouping of `catena dlq list`.
struct RedrivePlanTests {
    static let chain = ChainDefinition(name: "orders", steps: [
        StepDefinition(name: "parse", function: "builtin.identity"),
        StepDefinition(name: "enrich", function: "builtin.identity"),
    ])
    static let now = Date(timeIntervalSince1970: 1_700_000_000.5)  // 2023-11-14T22:13:20.500Z

    /// A dead letter as a worker writes it, read back from `orders.dlq`.
    static func letter(step: String = "enrich", kind: DeadLetterKind = .fatal, key: [UInt8]? = Array("cust-42".utf8),
                       value: [UInt8]? = Array("payload".utf8), headers: [KafkaHeader] = [KafkaHeader("x-tenant", text: "a")],
                       at time: Date = now, correlationID: String = "cust-42") -> DeadLetterRecord {
        let original = ConsumedRecord(topic: "orders.\(step)", partition: 1, offset: 7, timestampMs: 1, key: key, value: value, headers: headers)
        let out = DeadLetter(step: step, kind: kind, message: "boom", attempts: 1, correlationID: correlationID, workerID: "h:1")
            .record(for: original, topic: "orders.dlq", now: time)
        return DeadLetterRecord(ConsumedRecord(topic: "orders.dlq", partition: 2, offset: 40, timestampMs: 2,
                                               key: out.key, value: out.value, headers: out.headers))
    }

    @Test func aSelectedDeadLetterGoesBackToTheFailedStepWithTheSameKeyValueAndUserHeadersAndCountOne() throws {
        let headers = [KafkaHeader("x-tenant", text: "a"), KafkaHeader("x-null", nil), KafkaHeader("x-bin", [0, 255]), KafkaHeader("x-tenant", text: "b")]
        let l = Self.letter(key: [0x00, 0xff, 0x41], value: [0xde, 0xad], headers: headers)
        guard case .redrive(let r) = RedrivePlan(chain: Self.chain).decide(l) else { Issue.record("expected a redrive"); return }
        #expect(r.topic == "orders.enrich", "the step that failed, not the entry topic")
        #expect(r.partition == nil)
        #expect(r.key == [0x00, 0xff, 0x41])
        #expect(r.value == [0xde, 0xad])
        #expect(r.headers == headers + [KafkaHeader("catena_redrive_count", text: "1")], "user headers in order, error/origin headers gone")
        #expect(!r.headers.contains { $0.name.hasPrefix("catena_error_") || $0.name.hasPrefix("catena_origin_") })
    }

    @Test func nullAndEmptyValuesStayAsTheyAre() {
        for value: [UInt8]? in [nil, []] {
            guard case .redrive(let r) = RedrivePlan(chain: Self.chain).decide(Self.letter(value: value)) else { Issue.record("expected a redrive"); return }
            #expect(r.value == value)
        }
    }

    @Test func theCountIsIncrementedInPlaceAndDuplicatesDropped() {
        let headers = [KafkaHeader("a", text: "1"), KafkaHeader("catena_redrive_count", text: "2"), KafkaHeader("b", text: "2"),
                       KafkaHeader("catena_redrive_count", text: "9"), KafkaHeader("catena_error_step", text: "x")]
        #expect(RedrivePlan.redriveCount(of: headers) == 2, "the first one counts")
        #expect(RedrivePlan.redriveHeaders(headers, count: 3) == [KafkaHeader("a", text: "1"), KafkaHeader("catena_redrive_count", text: "3"), KafkaHeader("b", text: "2")])
        #expect(RedrivePlan.redriveCount(of: [KafkaHeader("catena_redrive_count", text: "x")]) == 0)
        #expect(RedrivePlan.redriveCount(of: [KafkaHeader("catena_redrive_count", nil)]) == 0)
        #expect(RedrivePlan.redriveCount(of: []) == 0)

        let once = Self.letter(headers: [KafkaHeader("catena_redrive_count", text: "1"), KafkaHeader("x", text: "y")])
        #expect(once.redriveCount == 1)
        guard case .redrive(let r) = RedrivePlan(chain: Self.chain).decide(once) else { Issue.record("expected a redrive"); return }
        #expect(r.headers == [KafkaHeader("catena_redrive_count", text: "2"), KafkaHeader("x", text: "y")])
    }

    @Test func atTheLimitTheDeadLetterIsParkedWithAllItsHeaders() {
        let plan = RedrivePlan(chain: Self.chain, maxRedrives: 3)
        let two = Self.letter(headers: [KafkaHeader("catena_redrive_count", text: "2")])
        guard case .redrive(let r) = plan.decide(two) else { Issue.record("count 2 < 3 is redriven"); return }
        #expect(RedrivePlan.redriveCount(of: r.headers) == 3)

        let three = Self.letter(headers: [KafkaHeader("catena_redrive_count", text: "3")])
        guard case .park(let p) = plan.decide(three) else { Issue.record("count 3 reached the limit: parked"); return }
        #expect(p.topic == "orders.dlq.parked")
        #expect(p.key == three.record.key && p.value == three.record.value)
        #expect(p.headers == three.record.headers, "parked as it is, error headers included")

        guard case .park = RedrivePlan(chain: Self.chain, maxRedrives: 0).decide(Self.letter()) else { Issue.record("max 0 parks everything"); return }
    }

    @Test func withoutAnExplicitLimitTheChainsMaxRedrivesApplies() {
        #expect(RedrivePlan(chain: Self.chain).maxRedrives == 3, "the chain's default")
        var strict = Self.chain
        strict.maxRedrives = 1
        let plan = RedrivePlan(chain: strict)
        #expect(plan.maxRedrives == 1)
        guard case .redrive = plan.decide(Self.letter()) else { Issue.record("count 0 < 1 is redriven"); return }
        guard case .park = plan.decide(Self.letter(headers: [KafkaHeader("catena_redrive_count", text: "1")])) else { Issue.record("count 1 reached the chain's limit 1"); return }
        #expect(RedrivePlan(chain: strict, maxRedrives: 4).maxRedrives == 4, "--max-redrives overrides the chain")
    }

    @Test func stubsUnknownStepsAndForeignRecordsAreRefused() {
        let original = ConsumedRecord(topic: "orders.parse", partition: 0, offset: 1, timestampMs: 1, key: Array("k".utf8), value: Array("v".utf8), headers: [])
        let full = DeadLetter(step: "parse", kind: .outputRejected, message: "too big", attempts: 1, correlationID: "k", workerID: "h:1")
            .record(for: original, topic: "orders.dlq", now: Self.now)
        let stub = DeadLetter.stub(replacing: full, original: original, refusal: "Message size too large")
        let stubLetter = DeadLetterRecord(ConsumedRecord(topic: "orders.dlq", partition: 0, offset: 3, timestampMs: 1, key: stub.key, value: stub.value, headers: stub.headers))
        #expect(stubLetter.isStub)
        guard case .refuse(let why) = RedrivePlan(chain: Self.chain).decide(stubLetter) else { Issue.record("a stub is refused"); return }
        #expect(why.contains("stub"))

        guard case .refuse(let unknown) = RedrivePlan(chain: Self.chain).decide(Self.letter(step: "gone")) else { Issue.record("unknown step"); return }
        #expect(unknown.contains("gone"))

        let foreign = DeadLetterRecord(ConsumedRecord(topic: "orders.dlq", partition: 0, offset: 0, timestampMs: 1, key: nil, value: [1], headers: []))
        guard case .refuse = RedrivePlan(chain: Self.chain).decide(foreign) else { Issue.record("no error headers"); return }
    }

    @Test func filtersSelectByStepKindTimeWindowAndCorrelationID() throws {
        let t0 = try #require(RFC3339.parse("2023-11-14T22:13:20.500Z"))
        #expect(t0 == Self.now)
        #expect(RFC3339.parse("2023-11-14T23:13:20+01:00") == Date(timeIntervalSince1970: 1_700_000_000))
        #expect(RFC3339.parse("yesterday") == nil)

        let l = Self.letter(step: "enrich", kind: .retriesExhausted, at: t0, correlationID: "cust-42")
        #expect(DeadLetterFilter().matches(l))
        #expect(DeadLetterFilter(steps: ["enrich"]).matches(l))
        #expect(!DeadLetterFilter(steps: ["parse"]).matches(l))
        #expect(DeadLetterFilter(steps: ["parse", "enrich"]).matches(l))
        #expect(DeadLetterFilter(kinds: ["retries-exhausted"]).matches(l))
        #expect(!DeadLetterFilter(kinds: ["fatal"]).matches(l))
        #expect(DeadLetterFilter(since: t0).matches(l), "since is inclusive")
        #expect(!DeadLetterFilter(until: t0).matches(l), "until is exclusive")
        #expect(DeadLetterFilter(since: t0.addingTimeInterval(-1), until: t0.addingTimeInterval(1)).matches(l))
        #expect(!DeadLetterFilter(since: t0.addingTimeInterval(0.001)).matches(l))
        #expect(DeadLetterFilter(correlationID: "cust-42").matches(l))
        #expect(!DeadLetterFilter(correlationID: "cust-43").matches(l))
        #expect(!DeadLetterFilter(steps: ["enrich"], kinds: ["fatal"]).matches(l), "every criterion must hold")

        var noTime = l
        noTime.errorTime = nil
        #expect(!DeadLetterFilter(since: t0.addingTimeInterval(-10)).matches(noTime), "a time window needs catena_error_time")
        #expect(RedrivePlan(chain: Self.chain, filter: DeadLetterFilter(steps: ["parse"])).decide(l) == .skip)
    }

    @Test func aKeylessEntryDeadLetterKeepsItsCorrelationIDThroughAHeader() {
        let l = Self.letter(step: "parse", key: nil, headers: [], correlationID: "0190aaaa-bbbb-8ccc-9ddd-eeeeeeeeeeee")
        guard case .redrive(let r) = RedrivePlan(chain: Self.chain).decide(l) else { Issue.record("expected a redrive"); return }
        #expect(r.topic == "orders.parse")
        #expect(r.key == nil, "the key stays null")
        #expect(r.headers == [KafkaHeader("catena_redrive_count", text: "1"), KafkaHeader("ce_correlationid", text: "0190aaaa-bbbb-8ccc-9ddd-eeeeeeeeeeee")])
    }

    @Test func theSummaryGroupsByStepAndKindWithOldestAndNewest() throws {
        var s = DeadLetterSummary()
        let t = Self.now
        s.add(Self.letter(step: "enrich", kind: .fatal, at: t.addingTimeInterval(10)))
        s.add(Self.letter(step: "enrich", kind: .fatal, at: t))
        s.add(Self.letter(step: "enrich", kind: .fatal, headers: [KafkaHeader("catena_redrive_count", text: "1")], at: t.addingTimeInterval(5)))
        s.add(Self.letter(step: "parse", kind: .timeout, at: t))
        #expect(s.total == 4)
        let g = s.groups
        #expect(g.map(\.step) == ["enrich", "parse"] && g.map(\.kind) == ["fatal", "timeout"] && g.map(\.count) == [3, 1])
        #expect(g[0].oldest == t && g[0].newest == t.addingTimeInterval(10))
        #expect(g[0].redriven == 1 && g[0].stubs == 0 && g[0].lastMessage == "boom")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(s.json(topic: "orders.dlq"))) as? [String: Any])
        #expect(json["total"] as? Int == 4)
        let first = try #require((json["groups"] as? [[String: Any]])?.first)
        #expect(first["step"] as? String == "enrich" && first["count"] as? Int == 3 && first["oldest"] as? String == "2023-11-14T22:13:20.500Z")
        #expect(s.report(topic: "orders.dlq").contains("3\tenrich\tfatal\t2023-11-14T22:13:20.500Z\t2023-11-14T22:13:30.500Z"))
    }

    @Test func showPrintsTextOrHexAndMarksErrorHeaders() {
        let text = Self.letter(value: Array("héllo".utf8)).detail()
        #expect(text.contains("key: cust-42"))
        #expect(text.contains("  x-tenant: a"))
        #expect(text.contains("* catena_error_step: enrich"))
        #expect(text.contains("value (6 bytes, text):\nhéllo"))
        let binary = Self.letter(key: [0x00, 0xff], value: [0xff, 0x00, 0x01]).detail()
        #expect(binary.contains("key: hex:00ff"))
        #expect(binary.contains("hex: ff0001") && binary.contains("base64: /wAB"))
        #expect(Self.letter(value: nil).detail().contains("value: (null)"))
    }
}
