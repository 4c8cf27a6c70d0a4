import Catena
import Foundation
import Testing

/// Workers of a 3-step chain killed with SIGKILL at random moments of a 10,000-record run, each restarted at
/// once with the same `--instance-id` (as a container restart policy would), in both delivery modes.
///
/// At-least-once: every correlation ID reaches `<chain>.output` at least once, none is lost.
///
/// Exactly-once is judged on *committed* data, read with the broker's transaction markers (`TransactionalLog`):
/// - per step, every record the step was handed yields exactly one output in a committed transaction: no
///   record lost, none doubled by Catena (a real bug if this fails);
/// - on `<chain>.output`, each ID is committed exactly once, unless an upstream step was handed records of
///   an aborted transaction. A killed worker's open transaction is aborted when its successor starts
///   (`init_transactions`). Apache Kafka hides aborted records from `read_committed` readers; the Tansu
///   build used here returns them (`BrokerTransactionProbeTests`), so the next step processes them too and
///   commits outputs for them. Those doubles are the broker's doing: they are recorded as a known issue,
///   and only when the log shows aborted records upstream.
@Suite("Crash recovery", .serialized)
struct CrashRecoveryTests {
    static let records = 10_000
    static let kills = 6

    @Test("kill -9 of workers at random moments, each restarted: none lost; exactly once in committed data in exactly-once mode", arguments: [DeliveryMode.exactlyOnce, .atLeastOnce])
    func killedWorkersLoseNothing(mode: DeliveryMode) async throws {
        let chain = try await TestChain.make(prefix: "crash", partitions: 3,
                                             steps: [("a", "builtin.append"), ("b", "builtin.append"), ("c", "builtin.append")])
        defer { chain.signalStop() }
        let d = chain.definition
        let steps = ["a", "b", "c"]
        let inputOf = Dictionary(uniqueKeysWithValues: steps.map { ($0, d.inputTopic(of: $0)) })
        let outputOf = ["a": d.inputTopic(of: "b"), "b": d.inputTopic(of: "c"), "c": d.outputTopic]
        // A short session, so a killed worker's partitions are free again within a few seconds.
        let args = ["--delivery", mode.rawValue, "--batch-size", "50",
                    "--kafka-property", "session.timeout.ms=3000", "--kafka-property", "heartbeat.interval.ms=500"]
        try await chain.startAllWorkers(arguments: args)
        _ = try await TestProducer.send((0..<Self.records).map { i in
            OutgoingRecord(topic: d.entryTopic, key: Array("id-\(i)".utf8), value: Array("v\(i)".utf8))
        })

        // The plan: every step killed at least once, the others at random steps; each kill when its step has
        // written a random share (5-90 %) of its outputs, so the worker is busy. Kills fire independently, as
        // each step reaches its share; a step's next kill waits until its restarted worker has written 2 % more.
        let killSteps = steps.shuffled() + (0..<(Self.kills - steps.count)).map { _ in steps.randomElement()! }
        var pending = killSteps.map { (step: $0, target: Int(Double(Self.records) * Double.random(in: 0.05...0.9))) }
        print("crash recovery (\(mode.rawValue)) kill plan: \(pending.map { "\($0.step)@\($0.target)" }.joined(separator: ", "))")

        let log = TransactionalLog(topics: [d.entryTopic] + steps.map { outputOf[$0]! }, partitions: 3)
        let exitedOnItsOwn = { steps.first { chain.runningWorker(step: $0) == nil }.map { "every worker of step \($0) has exited; see its log in \(IntegrationEnvironment.logs)" } }
        var killedAt: [String] = []
        try await Wait.untilAsync("the planned kills", seconds: 150, every: 0.01, failIf: exitedOnItsOwn) {
            try await log.refresh()
            for step in steps {
                let written = log.count(outputOf[step]!)
                guard let next = pending.indices.filter({ pending[$0].step == step }).min(by: { pending[$0].target < pending[$1].target }),
                      written >= pending[next].target else { continue }
                let worker = try #require(chain.runningWorker(step: step))
                kill(worker.pid, SIGKILL)
                killedAt.append("\(step) at \(written) records written")
                pending.remove(at: next)
                for i in pending.indices where pending[i].step == step {
                    pending[i].target = max(pending[i].target, min(written + Self.records / 50, Self.records * 95 / 100))
                }
                try await chain.startWorker(step, instance: 1, waitReady: false, arguments: args)
            }
            return pending.isEmpty
        }
        #expect(killedAt.count >= 5)

        if mode == .exactlyOnce {
            // Settled: each step has committed as many outputs as it was handed records, with no transaction open.
            try await Wait.untilAsync("every step has committed an output for each record it was handed", seconds: 150, every: 0.25, failIf: exitedOnItsOwn) {
                try await log.refresh()
                return steps.allSatisfy { s in
                    let handed = log.totals(inputOf[s]!), out = log.totals(outputOf[s]!)
                    return out.open == 0 && handed.open == 0 && out.committed >= handed.committed + handed.aborted
                }
            }
        } else {
            try await Wait.untilAsync("every execution's output", seconds: 150, every: 0.25, failIf: exitedOnItsOwn) {
                try await log.refresh()
                return log.summary(d.outputTopic).committed.count >= Self.records
            }
        }

        let ids = (0..<Self.records).map { "id-\($0)" }
        let output = log.summary(d.outputTopic)
        let lost = ids.filter { output.committed[$0] == nil }
        #expect(lost.count == 0, "none lost: \(lost.count) IDs have no committed output, e.g. \(lost.prefix(5))")
        let wrong = log.entries(d.outputTopic).filter { $0.outcome == .committed && $0.value != Array("v\($0.key.dropFirst(3))|a|b|c".utf8) }
        #expect(wrong.count == 0, "outputs carry every step's suffix, e.g. \(wrong.prefix(3).map { "\($0.key): \(String(decoding: $0.value ?? [], as: UTF8.self))" })")
        // What a read_committed consumer (librdkafka) is handed: every ID, too.
        let readCommitted = try await TopicReader.make([d.outputTopic]).read(until: "every ID through a read_committed consumer", seconds: 60) {
            Set($0.compactMap(\.key)).count >= Self.records
        }
        let doubled = output.committed.filter { $0.value > 1 }
        print("crash recovery (\(mode.rawValue)): kills: \(killedAt.joined(separator: "; ")); output: \(output.committedTotal) committed records for \(output.committed.count) IDs (\(doubled.count) IDs more than once), \(output.abortedTotal) in aborted transactions; a read_committed consumer was handed \(readCommitted.count)")

        if mode == .exactlyOnce {
            // Catena's own guarantee, step by step: one committed output per record handed, for every ID.
            for s in steps {
                let handed = log.summary(inputOf[s]!).delivered, out = log.summary(outputOf[s]!).committed
                let extra = out.filter { $0.value > handed[$0.key, default: 0] }
                let missing = handed.filter { $0.value > out[$0.key, default: 0] }
                #expect(extra.count == 0, "step \(s) committed more outputs than it was handed records for \(extra.count) IDs, e.g. \(extra.sorted { $0.key < $1.key }.prefix(3))")
                #expect(missing.count == 0, "step \(s) committed fewer outputs than it was handed records for \(missing.count) IDs, e.g. \(missing.sorted { $0.key < $1.key }.prefix(3))")
            }
            let abortedHandedOn = steps.dropFirst().map { log.totals(inputOf[$0]!).aborted }.reduce(0, +)
            print("crash recovery (exactly-once): \(abortedHandedOn) records of aborted transactions were handed to steps b and c by the broker")
            if abortedHandedOn == 0 {
                #expect(doubled.count == 0, "exactly once on \(d.outputTopic): \(doubled.count) IDs committed more than once")
            } else {
                withKnownIssue("Tansu hands records of aborted transactions to read_committed readers, so a later step processes them too", isIntermittent: true) {
                    #expect(doubled.count == 0, "exactly once on \(d.outputTopic): \(doubled.count) IDs committed more than once, all explained by the \(abortedHandedOn) aborted records handed on")
                }
            }
        }
        let codes = await chain.stop()
        #expect(codes.values.filter { $0 != 0 && $0 != 128 + SIGKILL }.isEmpty, "restarted workers exit cleanly: \(codes)")
    }
}
