import Catena
import Foundation
import Testing

/// A worker frozen with SIGSTOP (a long GC-like pause, a VM stall) for longer than its session and transaction
/// timeouts, while a second instance of the step (another `--instance-id`, so another `transactional.id`)
/// takes its partitions over and processes the frozen batch again. After SIGCONT the old instance must not
/// commit that stale batch.
///
/// Who stops it: Apache Kafka aborts a transaction open longer than `transaction.timeout.ms` (bumping the
/// producer epoch, so the zombie's commit is refused as fenced), and refuses transactional offset commits
/// from a stale group generation (KIP-447). The Tansu build used here does neither (measured: a commit 10 s
/// past a 3 s `transaction.timeout.ms`, and a `send_offsets_to_transaction` with the group metadata of a
/// member that had been replaced, both succeed). So Catena checks itself: before committing, a worker whose
/// consumer has lost its assignment (librdkafka notices the session timed out as soon as the process runs
/// again) aborts the batch and rejoins the group instead (`KafkaConsumer.ensureAssignmentHeld`).
@Suite("Stopped worker", .serialized)
struct StoppedWorkerTests {
    static let records = 600
    static let transactionTimeoutMs = 2000
    static let sessionTimeoutMs = 3000

    @Test("a worker stopped past its transaction timeout while another instance takes over commits nothing stale, recovers, and nothing is lost")
    func stoppedWorkerCommitsNothingStale() async throws {
        // 40 ms per record, 20 records a batch: each batch is about 0.8 s of work, so the worker is stopped mid-batch.
        let chain = try await TestChain.make(prefix: "zombie", partitions: 3, steps: [("s", "builtin.sleep")], stepExtra: ["s": "params: {ms: \"40\"}"])
        defer { chain.signalStop() }
        let args = ["--delivery", "exactly-once", "--batch-size", "20",
                    "--kafka-property", "transaction.timeout.ms=\(Self.transactionTimeoutMs)",
                    "--kafka-property", "session.timeout.ms=\(Self.sessionTimeoutMs)", "--kafka-property", "heartbeat.interval.ms=500"]
        let old = try await chain.startWorker("s", instance: 1, arguments: args)
        try await chain.startWorker("s", instance: 2, arguments: args)
        let entry = chain.definition.entryTopic, output = chain.definition.outputTopic
        _ = try await TestProducer.send((0..<Self.records).map { i in
            OutgoingRecord(topic: entry, key: Array("id-\(i)".utf8), value: Array("v\(i)".utf8))
        })
        let log = TransactionalLog(topics: [entry, output], partitions: 3, maxWaitMs: 5)
        let isOld: (TransactionalLog.Entry) -> Bool = { $0.worker?.hasSuffix(":\(old.pid)") == true }
        try await Wait.untilAsync("the old instance has committed a batch", seconds: 60) {
            try await log.refresh()
            return log.entries(output).contains { isOld($0) && $0.outcome == .committed }
        }

        // Stop it while it has a transaction open (its records written, no marker yet) if that moment is caught
        // within a few seconds; otherwise anywhere in a batch (then the stale batch is still being processed).
        let catchUntil = Date().addingTimeInterval(5)
        var stoppedAt = Date()
        while true {
            try await log.refresh()
            let open = log.entries(output).contains { isOld($0) && $0.outcome == .open }
            if open || Date() > catchUntil {
                kill(old.pid, SIGSTOP)
                stoppedAt = Date()
                break
            }
        }
        try await log.refresh()
        let seenAtStop = Set(log.entries(output).map { "\($0.partition)/\($0.offset)" })

        // The scenario: stay stopped past the transaction and session timeouts, until the second instance has
        // written outputs for every input partition the old one had been working on.
        let partitionOf = Dictionary(log.entries(entry).map { ($0.key, $0.partition) }, uniquingKeysWith: { a, _ in a })
        let oldPartitions = Set(log.entries(output).filter(isOld).compactMap { partitionOf[$0.key] })
        try await Wait.untilAsync("the second instance has taken over partitions \(oldPartitions.sorted())", seconds: 60) {
            try await log.refresh()
            let takenOver = Set(log.entries(output).filter { !isOld($0) && !seenAtStop.contains("\($0.partition)/\($0.offset)") }.compactMap { partitionOf[$0.key] })
            return oldPartitions.isSubset(of: takenOver) && Date().timeIntervalSince(stoppedAt) * 1000 > Double(max(Self.transactionTimeoutMs, Self.sessionTimeoutMs))
        }
        let openAtResume = log.entries(output).filter { isOld($0) && $0.outcome == .open }
        let stoppedFor = Date().timeIntervalSince(stoppedAt)
        kill(old.pid, SIGCONT)

        try await Wait.untilAsync("every execution committed once and no transaction left open", seconds: 90) {
            try await log.refresh()
            let s = log.summary(output)
            return s.committed.count >= Self.records && s.open == 0
        }
        let summary = log.summary(output)
        let lost = (0..<Self.records).map { "id-\($0)" }.filter { summary.committed[$0] == nil }
        #expect(lost.count == 0, "none lost: \(lost.count) correlation IDs have no committed output, e.g. \(lost.prefix(5))")
        let doubled = summary.committed.filter { $0.value > 1 }
        let committedBy = { (key: String) in log.entries(output).filter { $0.key == key && $0.outcome == .committed }.map { $0.worker ?? "?" } }
        let staleCommitted = openAtResume.filter { e in log.entries(output).contains { $0.partition == e.partition && $0.offset == e.offset && $0.outcome == .committed } }
        let oldLog = (try? String(contentsOfFile: old.logPath, encoding: .utf8)) ?? ""
        let abortLine = oldLog.split(separator: "\n").first { $0.contains("transaction aborted, batch will be processed again") }
        // Stopped after its last check and before librdkafka sent the commit: no client-side check covers that
        // moment; Kafka fences the commit, this Tansu takes it. The worker says so, and only then is a stale
        // commit the broker's known limitation rather than Catena's bug.
        let stalledWhileCommitting = oldLog.contains("WARN worker[s]: \(StepWorker.stalledWhileCommitting)")
        withKnownIssue("stopped after its last check, while committing: Tansu takes the stale commit Kafka would fence", isIntermittent: true) {
            #expect(doubled.count == 0, "exactly once in committed data: \(doubled.count) IDs committed more than once, e.g. \(doubled.keys.sorted().prefix(3).map { "\($0) by \(committedBy($0))" })")
            #expect(staleCommitted.count == 0, "the transaction open when the old instance was stopped is not committed: \(staleCommitted.count) of its records are, e.g. \(staleCommitted.prefix(3).map { "\($0.key) at \($0.partition)/\($0.offset)" })")
            if !openAtResume.isEmpty {
                #expect(abortLine != nil, "the old instance aborts the transaction it had open and says so; see \(old.logPath)")
            }
        } when: {
            stalledWhileCommitting
        }
        print("stopped worker: stopped for \(String(format: "%.1f", stoppedFor)) s with \(openAtResume.count) records of an open transaction; afterwards \(summary.committedTotal) committed outputs for \(summary.committed.count) IDs, \(summary.abortedTotal) aborted; old instance: \(abortLine.map(String.init) ?? "no abort logged")")

        // Recovered: the old instance is still running, rejoins the group and processes new records.
        #expect(old.isRunning, "the old instance recovers rather than exiting; see \(old.logPath)")
        let more = (0..<60).map { "more-\($0)" }
        _ = try await TestProducer.send(more.map { OutgoingRecord(topic: entry, key: Array($0.utf8), value: Array($0.utf8)) })
        try await Wait.untilAsync("the old instance commits new work", seconds: 60) {
            try await log.refresh()
            let s = log.summary(output)
            return more.allSatisfy { s.committed[$0] != nil } && log.entries(output).contains { isOld($0) && $0.key.hasPrefix("more-") && $0.outcome == .committed }
        }
        #expect(log.summary(output).committed.filter { $0.key.hasPrefix("more-") && $0.value != 1 }.isEmpty, "new records are committed once each")
        let codes = await chain.stop()
        #expect(codes.values.allSatisfy { $0 == 0 }, "both instances exit 0 on SIGTERM: \(codes)")
    }
}
