import Catena
import Foundation
import Testing

/// Workers killed with SIGKILL mid-run and restarted: exactly-once mode shows every execution once on
/// `<chain>.output` (read_committed), at-least-once mode at least once; nothing is lost either way.
@Suite("Crash recovery", .serialized)
struct CrashRecoveryTests {
    static let records = 3000

    @Test("kill -9 of workers mid-run and restarts: no execution is lost (and, on Kafka, none is doubled in exactly-once mode)", arguments: [DeliveryMode.exactlyOnce, .atLeastOnce])
    func killedWorkersLoseNothing(mode: DeliveryMode) async throws {
        let chain = try await TestChain.make(prefix: "crash", partitions: 3,
                                             steps: [("a", "builtin.append"), ("b", "builtin.append"), ("c", "builtin.append")])
        defer { chain.signalStop() }
        let args = ["--delivery", mode.rawValue, "--batch-size", "50"]
        try await chain.startAllWorkers(arguments: args)
        _ = try await TestProducer.send((0..<Self.records).map { i in
            OutgoingRecord(topic: chain.definition.entryTopic, key: Array("id-\(i)".utf8), value: Array("v\(i)".utf8))
        })

        let reader = try await TopicReader.make([chain.definition.outputTopic])
        var kills = 0
        for (threshold, step) in [(300, "a"), (900, "b"), (1500, "c"), (2100, "b"), (2500, "a")] {
            try await reader.read(until: "\(threshold) outputs", seconds: 120) { Set($0.compactMap(\.key)).count >= threshold }
            let pid = try #require(chain.runningWorker(step: step)).pid
            kill(pid, SIGKILL)
            kills += 1
            try await chain.startWorker(step, instance: 1, waitReady: false, arguments: args)
        }
        #expect(kills == 5)
        let outputs = try await reader.read(until: "every execution's output", seconds: 180) { Set($0.compactMap(\.key)).count >= Self.records }
        var counts: [String: Int] = [:]
        for r in outputs {
            let key = String(decoding: r.key ?? [], as: UTF8.self)
            counts[key, default: 0] += 1
            #expect(r.value == Array("v\(key.dropFirst(3))|a|b|c".utf8))
        }
        #expect(counts.count == Self.records, "none lost")
        print("crash recovery (\(mode.rawValue)): \(outputs.count) output records for \(counts.count) executions after \(kills) kills")
        if mode == .exactlyOnce {
            let repeated = counts.filter { $0.value > 1 }
            // Holds on Apache Kafka; the test broker (Tansu) shows aborted transactions to read_committed
            // readers (see BrokerTransactionProbeTests), so a kill mid-transaction may surface a batch twice.
            withKnownIssue("Tansu does not hide aborted transactions from read_committed readers", isIntermittent: true) {
                #expect(repeated.isEmpty, "exactly once: \(repeated.count) correlation IDs appear more than once, e.g. \(repeated.prefix(3))")
            }
        }
        let codes = await chain.stop()
        #expect(codes.values.filter { $0 != 0 && $0 != 128 + SIGKILL }.isEmpty, "restarted workers exit cleanly: \(codes)")
    }
}
