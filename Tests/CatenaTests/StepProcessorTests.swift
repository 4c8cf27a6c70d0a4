import Foundation
import Testing
import Catena

/// One record through one step: output routing and headers, retries with the policy's backoff,
/// fatal failures, timeouts, undecodable records, and the built-in functions.
struct StepProcessorTests {
    // MARK: fixtures

    /// Records what `sleep` was asked to wait instead of waiting.
    actor Waits {
        private(set) var values: [Double] = []
        func record(_ seconds: Double) { values.append(seconds) }
    }

    /// Records every context a function was called with.
    final class Calls: @unchecked Sendable {
        private let lock = NSLock()
        private var contexts: [StepContext] = []
        func record(_ c: StepContext) { lock.lock(); contexts.append(c); lock.unlock() }
        var all: [StepContext] { lock.lock(); defer { lock.unlock() }; return contexts }
    }

    /// Reverses the payload's bytes.
    struct Reverse: CatenaFunction {
        func run(_ payload: [UInt8], context: StepContext) async throws -> [UInt8] { payload.reversed() }
    }

    /// Fails retryably on the first `failures` attempts, then returns "ok@<attempt>".
    struct FailsThenSucceeds: CatenaFunction {
        let failures: Int
        let calls: Calls
        func run(_ payload: [UInt8], context: StepContext) async throws -> [UInt8] {
            calls.record(context)
            if context.attempt <= failures { throw StepFailure.retryable("busy on attempt \(context.attempt)") }
            return Array("ok@\(context.attempt)".utf8)
        }
    }

    /// Always fails retryably.
    struct AlwaysRetryable: CatenaFunction {
        let calls: Calls
        func run(_ payload: [UInt8], context: StepContext) async throws -> [UInt8] {
            calls.record(context)
            throw StepFailure.retryable("still down")
        }
    }

    /// Fails fatally.
    struct AlwaysFatal: CatenaFunction {
        let calls: Calls
        func run(_ payload: [UInt8], context: StepContext) async throws -> [UInt8] {
            calls.record(context)
            throw StepFailure.fatal("bad input")
        }
    }

    struct PlainError: Error, CustomStringConvertible {
        var description: String { "plain error" }
    }

    /// Throws an error that is not a `StepFailure` once, then succeeds.
    struct PlainErrorOnce: CatenaFunction {
        let calls: Calls
        func run(_ payload: [UInt8], context: StepContext) async throws -> [UInt8] {
            calls.record(context)
            if context.attempt == 1 { throw PlainError() }
            return payload
        }
    }

    /// Always throws an error that is not a `StepFailure`.
    struct AlwaysPlainError: CatenaFunction {
        func run(_ payload: [UInt8], context: StepContext) async throws -> [UInt8] { throw PlainError() }
    }

    /// Sleeps far longer than any test timeout.
    struct Slow: CatenaFunction {
        let seconds: Double
        func run(_ payload: [UInt8], context: StepContext) async throws -> [UInt8] {
            try await Task.sleep(nanoseconds: UInt64(seconds * 1_000_000_000))
            return payload
        }
    }

    /// Ignores cancellation (waits 3 s on a dispatch timer, not on `Task.sleep`): the worker must still not wait for it.
    struct Hung: CatenaFunction {
        func run(_ payload: [UInt8], context: StepContext) async throws -> [UInt8] {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                DispatchQueue.global().asyncAfter(deadline: .now() + 3) { c.resume() }
            }
            return payload
        }
    }

    /// Declares its own output content type.
    struct CSVOutput: CatenaFunction {
        var outputContentType: String? { "text/csv" }
        func run(_ payload: [UInt8], context: StepContext) async throws -> [UInt8] { Array("a,b\n".utf8) }
    }

    static let policy = RetryPolicy(maxAttempts: 3, initialBackoff: 0.25, backoffRate: 2, maxBackoff: 10)

    static func chain(retry: RetryPolicy = policy, timeout: Double = 30, params: [String: String] = [:], function: String = "test") -> ChainDefinition {
        ChainDefinition(name: "orders", steps: [
            StepDefinition(name: "parse", function: function, retry: retry, timeoutSeconds: timeout, params: params),
            StepDefinition(name: "enrich", function: function, retry: retry, timeoutSeconds: timeout, params: params),
            StepDefinition(name: "ship", function: function, retry: retry, timeoutSeconds: timeout, params: params),
        ])
    }

    static func processor(_ function: any CatenaFunction, step: String = "parse", chain: ChainDefinition = chain(), waits: Waits = Waits()) -> StepProcessor {
        StepProcessor(chain: chain, step: chain.step(named: step)!, function: function, workerID: "host-a:77", sleep: { await waits.record($0) })
    }

    static let userHeaders = [KafkaHeader("x-tenant", text: "acme"), KafkaHeader("traceparent", text: "00-1-2-01"), KafkaHeader("x-tenant", text: "globex")]

    static func record(key: [UInt8]? = Array("cust-42".utf8), value: [UInt8]? = Array("hello".utf8), headers: [KafkaHeader] = userHeaders,
                       topic: String = "orders.parse") -> ConsumedRecord {
        ConsumedRecord(topic: topic, partition: 2, offset: 17, timestampMs: 1_700_000_000_000, key: key, value: value, headers: headers)
    }

    static func value(_ headers: [KafkaHeader], _ name: String) -> String? { headers.first { $0.name == name }?.text }

    static func output(_ outcome: StepOutcome, sourceLocation: SourceLocation = #_sourceLocation) throws -> OutgoingRecord {
        guard case .output(let r) = outcome else {
            Issue.record("expected an output, got \(outcome)", sourceLocation: sourceLocation)
            throw PlainError()
        }
        return r
    }

    static func deadLetter(_ outcome: StepOutcome, sourceLocation: SourceLocation = #_sourceLocation) throws -> (OutgoingRecord, DeadLetter) {
        guard case .deadLetter(let r, let l) = outcome else {
            Issue.record("expected a dead letter, got \(outcome)", sourceLocation: sourceLocation)
            throw PlainError()
        }
        return (r, l)
    }

    // MARK: success

    @Test func successGoesToTheNextStepWithTheSameKeyAndTheFunctionsBytes() async throws {
        let waits = Waits()
        let out = try Self.output(await Self.processor(Reverse(), waits: waits).process(Self.record()))
        #expect(out.topic == "orders.enrich")
        #expect(out.partition == nil)
        #expect(out.key == Array("cust-42".utf8))
        #expect(out.value == Array("olleh".utf8))
        #expect(Self.value(out.headers, "ce_specversion") == "1.0")
        #expect(Self.value(out.headers, "ce_id") == "cust-42/parse")
        #expect(Self.value(out.headers, "ce_source") == "/catena/orders/parse")
        #expect(Self.value(out.headers, "ce_type") == "dev.catena.orders.parse.output")
        #expect(Self.value(out.headers, "ce_correlationid") == "cust-42")
        #expect(Self.value(out.headers, "catena_chain") == "orders")
        #expect(Self.value(out.headers, "catena_step") == "parse")
        #expect(Self.value(out.headers, "catena_attempt") == "1")
        #expect(Self.value(out.headers, "catena_worker") == "host-a:77")
        #expect(out.headers.filter { $0.name.hasPrefix("x-") || $0.name == "traceparent" } == Self.userHeaders)
        #expect(await waits.values.isEmpty)
    }

    @Test func theMiddleStepWritesToTheFollowingStep() async throws {
        let out = try Self.output(await Self.processor(Reverse(), step: "enrich").process(Self.record(topic: "orders.enrich")))
        #expect(out.topic == "orders.ship")
        #expect(Self.value(out.headers, "catena_step") == "enrich")
    }

    @Test func theLastStepWritesToTheChainsOutputTopic() async throws {
        let out = try Self.output(await Self.processor(Reverse(), step: "ship").process(Self.record(topic: "orders.ship")))
        #expect(out.topic == "orders.output")
        #expect(Self.value(out.headers, "ce_id") == "cust-42/ship")
    }

    @Test func aBinaryKeyIsKeptAndItsHexIDIsTheCorrelationID() async throws {
        let key: [UInt8] = [0x00, 0xff] + Array("cust-42".utf8)
        let out = try Self.output(await Self.processor(Reverse()).process(Self.record(key: key)))
        #expect(out.key == key)
        #expect(Self.value(out.headers, "ce_correlationid") == "hex:00ff637573742d3432")
    }

    @Test func aKeylessRecordIsKeyedByItsDerivedCorrelationID() async throws {
        let out = try Self.output(await Self.processor(Reverse()).process(Self.record(key: nil)))
        let id = CorrelationID.derived(topic: "orders.parse", partition: 2, offset: 17)
        #expect(out.key == Array(id.utf8))
        #expect(Self.value(out.headers, "ce_correlationid") == id)
    }

    @Test func incomingEnvelopeHeadersAreReplacedNotAppended() async throws {
        // The output of a previous hop, with a worker header and leftovers from a dead letter.
        let previous = CloudEventHeaders.output(chain: "orders", step: "parse", correlationID: "cust-42", attempt: 2, contentType: "text/plain")
        let incoming = previous.applied(to: Self.userHeaders) + [KafkaHeader("catena_worker", text: "host-z:1"), KafkaHeader("catena_error_kind", text: "fatal")]
        let out = try Self.output(await Self.processor(Reverse(), step: "enrich").process(Self.record(headers: incoming, topic: "orders.enrich")))
        for name in HeaderNames.envelope {
            #expect(out.headers.filter { $0.name == name }.count == 1, "\(name) must appear exactly once")
        }
        #expect(!out.headers.contains { HeaderNames.isDeadLetterHeader($0.name) })
        #expect(Self.value(out.headers, "catena_step") == "enrich")
        #expect(Self.value(out.headers, "catena_attempt") == "1")
        #expect(Self.value(out.headers, "catena_worker") == "host-a:77")
        #expect(Self.value(out.headers, "content-type") == "text/plain")
        // The dead-letter leftover makes the record a replay (ReplayGuard): it gains catena_redrive_count.
        #expect(Self.value(out.headers, "catena_redrive_count") == "1")
        #expect(out.headers.count == previous.kafkaHeaders.count + Self.userHeaders.count + 2)
    }

    @Test func headersStayBoundedAcrossManyHops() async throws {
        var record = Self.record()
        var counts: [Int] = []
        for (i, step) in ["parse", "enrich", "ship"].enumerated() {
            let out = try Self.output(await Self.processor(Reverse(), step: step).process(record))
            counts.append(out.headers.count)
            record = ConsumedRecord(topic: out.topic, partition: 0, offset: Int64(i), timestampMs: 0, key: out.key, value: out.value, headers: out.headers)
        }
        #expect(counts[0] == counts[1] && counts[1] == counts[2])
        #expect(record.topic == "orders.output")
        #expect(record.value == Array("olleh".utf8))  // reversed three times
    }

    @Test func theFunctionSeesTheEnvelopeInItsContext() async throws {
        let calls = Calls()
        _ = try Self.output(await Self.processor(FailsThenSucceeds(failures: 0, calls: calls)).process(Self.record()))
        let context = try #require(calls.all.first)
        #expect(context.correlationID == "cust-42")
        #expect(context.chain == "orders")
        #expect(context.step == "parse")
        #expect(context.attempt == 1)
        #expect(context.headers == Self.userHeaders)
        #expect(context.header("x-tenant") == "acme")
    }

    @Test func anEmptyValueIsProcessedAsAnEmptyPayload() async throws {
        let out = try Self.output(await Self.processor(Reverse()).process(Self.record(value: [])))
        #expect(out.value == [])
    }

    // MARK: content type

    @Test func theInputContentTypeIsKeptByDefault() async throws {
        let out = try Self.output(await Self.processor(Reverse()).process(Self.record(headers: [KafkaHeader("content-type", text: "text/plain")])))
        #expect(Self.value(out.headers, "content-type") == "text/plain")
        #expect(out.headers.filter { $0.name == "content-type" }.count == 1)
    }

    @Test func theFunctionsOutputContentTypeOverridesTheInputs() async throws {
        let out = try Self.output(await Self.processor(CSVOutput()).process(Self.record(headers: [KafkaHeader("content-type", text: "application/json")])))
        #expect(Self.value(out.headers, "content-type") == "text/csv")
        #expect(out.headers.filter { $0.name == "content-type" }.count == 1)
    }

    @Test func noContentTypeIsWrittenWhenNoneIsKnown() async throws {
        let out = try Self.output(await Self.processor(Reverse()).process(Self.record(headers: [])))
        #expect(!out.headers.contains { $0.name == "content-type" })
    }

    @Test func aStructuredInputIsUnwrappedBeforeTheFunctionRuns() async throws {
        let json = #"{"specversion":"1.0","id":"evt-1","source":"/shop","type":"order.created","correlationid":"corr-5","datacontenttype":"text/plain","data":"abc"}"#
        let r = Self.record(key: nil, value: Array(json.utf8), headers: [KafkaHeader("content-type", text: "application/cloudevents+json")])
        let out = try Self.output(await Self.processor(Reverse()).process(r))
        #expect(out.value == Array("cba".utf8))
        #expect(out.key == Array("corr-5".utf8))
        #expect(Self.value(out.headers, "content-type") == "text/plain")
        #expect(Self.value(out.headers, "ce_id") == "corr-5/parse")
        #expect(out.headers.filter { $0.name == "ce_id" }.count == 1)
    }

    // MARK: retries

    @Test func aRetryableFailureIsRetriedWithThePolicysBackoff() async throws {
        let waits = Waits(), calls = Calls()
        let out = try Self.output(await Self.processor(FailsThenSucceeds(failures: 2, calls: calls), waits: waits).process(Self.record()))
        #expect(out.value == Array("ok@3".utf8))
        #expect(Self.value(out.headers, "catena_attempt") == "3")
        #expect(Self.value(out.headers, "ce_id") == "cust-42/parse")
        #expect(calls.all.map(\.attempt) == [1, 2, 3])
        #expect(await waits.values == Self.policy.schedule)
        #expect(await waits.values == [0.25, 0.5])
    }

    @Test func retriesThatRunOutAreDeadLetteredAsRetriesExhausted() async throws {
        let policy = RetryPolicy(maxAttempts: 5, initialBackoff: 0.5, backoffRate: 3, maxBackoff: 2)
        let waits = Waits(), calls = Calls()
        let p = Self.processor(AlwaysRetryable(calls: calls), chain: Self.chain(retry: policy), waits: waits)
        let (dlq, letter) = try Self.deadLetter(await p.process(Self.record()))
        #expect(letter.kind == .retriesExhausted)
        #expect(letter.attempts == 5)
        #expect(letter.message == "still down")
        #expect(letter.step == "parse")
        #expect(letter.correlationID == "cust-42")
        #expect(letter.workerID == "host-a:77")
        #expect(calls.all.count == 5)
        #expect(await waits.values == policy.schedule)
        #expect(await waits.values == [0.5, 1.5, 2, 2])
        #expect(dlq.topic == "orders.dlq")
        #expect(dlq.key == Array("cust-42".utf8))
        #expect(dlq.value == Array("hello".utf8))
        #expect(Array(dlq.headers.prefix(Self.userHeaders.count)) == Self.userHeaders)
        #expect(Self.value(dlq.headers, "catena_error_kind") == "retries-exhausted")
        #expect(Self.value(dlq.headers, "catena_error_attempts") == "5")
        #expect(Self.value(dlq.headers, "catena_error_step") == "parse")
        #expect(Self.value(dlq.headers, "catena_origin_topic") == "orders.parse")
        #expect(Self.value(dlq.headers, "catena_origin_offset") == "17")
    }

    @Test func aSingleAttemptPolicyNeverRetries() async throws {
        let waits = Waits(), calls = Calls()
        let p = Self.processor(AlwaysRetryable(calls: calls), chain: Self.chain(retry: RetryPolicy(maxAttempts: 1)), waits: waits)
        let (_, letter) = try Self.deadLetter(await p.process(Self.record()))
        #expect(letter.kind == .retriesExhausted)
        #expect(letter.attempts == 1)
        #expect(calls.all.count == 1)
        #expect(await waits.values.isEmpty)
    }

    @Test func aFatalFailureIsDeadLetteredAtOnce() async throws {
        let waits = Waits(), calls = Calls()
        let (dlq, letter) = try Self.deadLetter(await Self.processor(AlwaysFatal(calls: calls), waits: waits).process(Self.record()))
        #expect(letter.kind == .fatal)
        #expect(letter.attempts == 1)
        #expect(letter.message == "bad input")
        #expect(calls.all.count == 1)
        #expect(await waits.values.isEmpty)
        #expect(Self.value(dlq.headers, "catena_error_kind") == "fatal")
        #expect(Self.value(dlq.headers, "catena_error_message") == "bad input")
    }

    @Test func anErrorThatIsNotAStepFailureIsRetried() async throws {
        let waits = Waits(), calls = Calls()
        let out = try Self.output(await Self.processor(PlainErrorOnce(calls: calls), waits: waits).process(Self.record()))
        #expect(out.value == Array("hello".utf8))
        #expect(Self.value(out.headers, "catena_attempt") == "2")
        #expect(calls.all.count == 2)
        #expect(await waits.values == [0.25])
    }

    @Test func anErrorThatIsNotAStepFailureIsDescribedInTheDeadLetter() async throws {
        let (_, letter) = try Self.deadLetter(await Self.processor(AlwaysPlainError()).process(Self.record()))
        #expect(letter.kind == .retriesExhausted)
        #expect(letter.attempts == 3)
        #expect(letter.message == "plain error")
    }

    // MARK: timeouts

    @Test(.timeLimit(.minutes(1)))
    func aFunctionSlowerThanTheTimeoutIsDeadLetteredAsTimeoutQuickly() async throws {
        let waits = Waits()
        let p = Self.processor(Slow(seconds: 5), chain: Self.chain(timeout: 0.2), waits: waits)
        let start = Date()
        let (dlq, letter) = try Self.deadLetter(await p.process(Self.record()))
        let elapsed = Date().timeIntervalSince(start)
        #expect(letter.kind == .timeout)
        #expect(letter.attempts == 3)
        #expect(letter.message.contains("0.2"))
        #expect(Self.value(dlq.headers, "catena_error_kind") == "timeout")
        // Three attempts of 0.2 s each, no real backoff: far less than one 5 s call.
        #expect(elapsed < 2.5, "took \(elapsed) s")
        #expect(elapsed >= 0.5, "took \(elapsed) s")
        #expect(await waits.values == Self.policy.schedule)
    }

    @Test(.timeLimit(.minutes(1)))
    func aFunctionThatIgnoresCancellationIsAbandonedAtTheTimeout() async throws {
        let p = Self.processor(Hung(), chain: Self.chain(retry: RetryPolicy(maxAttempts: 1), timeout: 0.2))
        let start = Date()
        let (_, letter) = try Self.deadLetter(await p.process(Self.record()))
        let elapsed = Date().timeIntervalSince(start)
        #expect(letter.kind == .timeout)
        #expect(letter.attempts == 1)
        #expect(elapsed < 2, "took \(elapsed) s")
    }

    @Test func aFastFunctionIsNotTimedOut() async throws {
        let out = try Self.output(await Self.processor(Slow(seconds: 0.01), chain: Self.chain(timeout: 5)).process(Self.record()))
        #expect(out.value == Array("hello".utf8))
    }

    // MARK: undecodable

    @Test func aNullValueIsUndecodableWithZeroAttempts() async throws {
        let waits = Waits(), calls = Calls()
        let (dlq, letter) = try Self.deadLetter(await Self.processor(FailsThenSucceeds(failures: 0, calls: calls), waits: waits).process(Self.record(value: nil)))
        #expect(letter.kind == .undecodable)
        #expect(letter.attempts == 0)
        #expect(letter.correlationID == "cust-42")
        #expect(calls.all.isEmpty)
        #expect(await waits.values.isEmpty)
        #expect(dlq.value == nil)
        #expect(dlq.key == Array("cust-42".utf8))
        #expect(Self.value(dlq.headers, "catena_error_kind") == "undecodable")
        #expect(Self.value(dlq.headers, "catena_error_attempts") == "0")
    }

    @Test func aBrokenStructuredEventIsUndecodable() async throws {
        let r = Self.record(key: nil, value: Array("{oops".utf8), headers: [KafkaHeader("content-type", text: "application/cloudevents+json")])
        let (dlq, letter) = try Self.deadLetter(await Self.processor(Reverse()).process(r))
        #expect(letter.kind == .undecodable)
        #expect(letter.attempts == 0)
        #expect(letter.correlationID == CorrelationID.derived(topic: "orders.parse", partition: 2, offset: 17))
        #expect(dlq.key == nil)
        #expect(dlq.value == Array("{oops".utf8))
    }

    // MARK: built-in functions

    static func builtin(_ name: String, step: String = "parse", params: [String: String] = [:], retry: RetryPolicy = policy, waits: Waits = Waits()) throws -> StepProcessor {
        let chain = Self.chain(retry: retry, params: params, function: name)
        let stepDefinition = try #require(chain.step(named: step))
        let function = try BuiltinFunctions.registry.make(FunctionConfiguration(chain: chain, step: stepDefinition))
        return StepProcessor(chain: chain, step: stepDefinition, function: function, workerID: "host-a:77", sleep: { await waits.record($0) })
    }

    @Test func theRegistryListsEveryBuiltin() {
        #expect(BuiltinFunctions.registry.names == [
            "builtin.append", "builtin.flaky", "builtin.identity", "builtin.json", "builtin.reject", "builtin.sleep", "builtin.uppercase",
        ])
    }

    @Test func identityPassesTheBytesThrough() async throws {
        let bytes: [UInt8] = [0x00, 0xff, 0x41]
        let out = try Self.output(await Self.builtin("builtin.identity").process(Self.record(value: bytes)))
        #expect(out.value == bytes)
    }

    @Test func uppercaseUppercasesASCIIOnly() async throws {
        let out = try Self.output(await Self.builtin("builtin.uppercase").process(Self.record(value: Array("hello, wörld-42 {z}".utf8))))
        #expect(out.value == Array("HELLO, WöRLD-42 {Z}".utf8))
    }

    @Test func appendAddsTheStepNameByDefault() async throws {
        let out = try Self.output(await Self.builtin("builtin.append", step: "enrich").process(Self.record(value: Array("a".utf8))))
        #expect(out.value == Array("a|enrich".utf8))
    }

    @Test func appendAddsTheConfiguredSuffix() async throws {
        let out = try Self.output(await Self.builtin("builtin.append", params: ["suffix": "-x"]).process(Self.record(value: Array("a".utf8))))
        #expect(out.value == Array("a-x".utf8))
    }

    @Test func jsonCheckPassesValidJSONThroughUntouched() async throws {
        let json = Array(#"{ "b" : 1,   "a" : [true, null, "x\/y"] }"#.utf8)
        let out = try Self.output(await Self.builtin("builtin.json").process(Self.record(value: json, headers: [KafkaHeader("content-type", text: "text/plain")])))
        #expect(out.value == json)
        #expect(Self.value(out.headers, "content-type") == "application/json")
        let fragment = try Self.output(await Self.builtin("builtin.json").process(Self.record(value: Array("42".utf8))))
        #expect(fragment.value == Array("42".utf8))
    }

    @Test func jsonCheckDeadLettersInvalidJSONAsFatal() async throws {
        let waits = Waits()
        let (_, letter) = try Self.deadLetter(await Self.builtin("builtin.json", waits: waits).process(Self.record(value: Array("{not json".utf8))))
        #expect(letter.kind == .fatal)
        #expect(letter.attempts == 1)
        #expect(letter.message.hasPrefix("payload is not valid JSON"))
        #expect(await waits.values.isEmpty)
        let (_, placed) = try Self.deadLetter(await Self.builtin("builtin.json").process(Self.record(value: Array("{\"a\": 1,\n x}".utf8))))
        #expect(placed.message.contains("character 10"), "the message says where: \(placed.message)")
    }

    @Test func rejectRefusesPayloadsContainingTheDefaultNeedle() async throws {
        let (_, letter) = try Self.deadLetter(await Self.builtin("builtin.reject").process(Self.record(value: Array("a poisoned apple".utf8))))
        #expect(letter.kind == .fatal)
        #expect(letter.attempts == 1)
        #expect(letter.message.contains("poison"))
        let ok = try Self.output(await Self.builtin("builtin.reject").process(Self.record(value: Array("poiso".utf8))))
        #expect(ok.value == Array("poiso".utf8))
    }

    @Test func rejectUsesTheConfiguredNeedle() async throws {
        let p = try Self.builtin("builtin.reject", params: ["needle": "XX"])
        _ = try Self.deadLetter(await p.process(Self.record(value: Array("XX".utf8))))
        _ = try Self.deadLetter(await p.process(Self.record(value: Array("aaXX".utf8))))
        let ok = try Self.output(await p.process(Self.record(value: Array("poison X".utf8))))
        #expect(ok.value == Array("poison X".utf8))
    }

    @Test func flakyFailsTheConfiguredAttemptsThenPassesThrough() async throws {
        let waits = Waits()
        let out = try Self.output(await Self.builtin("builtin.flaky", params: ["fail_attempts": "2"], waits: waits).process(Self.record()))
        #expect(out.value == Array("hello".utf8))
        #expect(Self.value(out.headers, "catena_attempt") == "3")
        #expect(await waits.values == Self.policy.schedule)
    }

    @Test func flakyFailingMoreThanTheRetryPolicyAllowsIsDeadLettered() async throws {
        let (_, letter) = try Self.deadLetter(await Self.builtin("builtin.flaky", params: ["fail_attempts": "3"]).process(Self.record()))
        #expect(letter.kind == .retriesExhausted)
        #expect(letter.attempts == 3)
        #expect(letter.message.contains("attempt 3"))
    }

    @Test func flakyWithZeroFailuresIsIdentity() async throws {
        let out = try Self.output(await Self.builtin("builtin.flaky", params: ["fail_attempts": "0"]).process(Self.record()))
        #expect(Self.value(out.headers, "catena_attempt") == "1")
    }

    @Test func sleepWithANeedleSleepsOnlyForPayloadsContainingIt() async throws {
        // 60 s for "slow" payloads against a 0.3 s step timeout: the slow one times out; the other is an output,
        // so it did not sleep (it would have timed out too).
        let chain = Self.chain(retry: RetryPolicy(maxAttempts: 1), timeout: 0.3, params: ["ms": "60000", "needle": "slow"], function: "builtin.sleep")
        let step = try #require(chain.step(named: "parse"))
        let p = StepProcessor(chain: chain, step: step, function: try BuiltinFunctions.registry.make(FunctionConfiguration(chain: chain, step: step)), workerID: "w")
        let fast = try Self.output(await p.process(Self.record(value: Array("fast one".utf8))))
        #expect(fast.value == Array("fast one".utf8))
        let (_, letter) = try Self.deadLetter(await p.process(Self.record(value: Array("a slow one".utf8))))
        #expect(letter.kind == .timeout)
    }

    @Test func sleepWithoutANeedleSleepsForEveryPayload() async throws {
        let p = try Self.builtin("builtin.sleep", params: ["ms": "50"])
        let started = Date()
        _ = try Self.output(await p.process(Self.record(value: Array("anything".utf8))))
        #expect(Date().timeIntervalSince(started) >= 0.05)
    }

    @Test(arguments: [("builtin.flaky", "fail_attempts", "-1"), ("builtin.flaky", "fail_attempts", "two"), ("builtin.sleep", "ms", "fast")])
    func invalidBuiltinParametersAreRefused(_ name: String, _ key: String, _ value: String) {
        let chain = Self.chain(params: [key: value], function: name)
        #expect(throws: CatenaError.self) { try BuiltinFunctions.registry.make(FunctionConfiguration(chain: chain, step: chain.steps[0])) }
    }

    @Test func anUnknownFunctionNameIsAConfigurationError() {
        let chain = Self.chain(function: "builtin.nope")
        #expect(throws: CatenaError.self) { try BuiltinFunctions.registry.make(FunctionConfiguration(chain: chain, step: chain.steps[0])) }
    }
}

/// Which failures a step retries (`retry_on`).
struct RetryOnTests {
    struct AlwaysFails: CatenaFunction {
        func run(_ payload: [UInt8], context: StepContext) async throws -> [UInt8] { throw StepFailure.retryable("down") }
    }

    @Test func errorsAreNotRetriedWhenOnlyTimeoutsAre() async throws {
        let step = StepDefinition(name: "s", function: "f", retry: RetryPolicy(maxAttempts: 5, initialBackoff: 0, retryOn: [.timeout]))
        let chain = ChainDefinition(name: "c", steps: [step])
        let p = StepProcessor(chain: chain, step: step, function: AlwaysFails(), workerID: "w", sleep: { _ in })
        let record = ConsumedRecord(topic: "c.s", partition: 0, offset: 1, timestampMs: 0, key: Array("k".utf8), value: Array("v".utf8), headers: [])
        guard case .deadLetter(_, let letter) = await p.process(record) else { Issue.record("expected a dead letter"); return }
        #expect(letter.attempts == 1 && letter.kind == .retriesExhausted)
    }
}
