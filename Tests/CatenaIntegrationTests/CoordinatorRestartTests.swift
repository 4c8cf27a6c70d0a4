import Catena
import Foundation
import Testing

/// The coordinator keeps no state of its own: killed and restarted mid-run, it rebuilds its counts by
/// replaying the entry, output and dead-letter topics, and ends where an uninterrupted one would.
@Suite("Coordinator restart", .serialized)
struct CoordinatorRestartTests {
    @Test("a coordinator killed with SIGKILL mid-run and restarted reports the same final counts")
    func restartedCoordinatorConverges() async throws {
        let chain = try await TestChain.make(prefix: "coord", partitions: 3, steps: [("check", "builtin.reject"), ("pass", "builtin.identity")])
        defer { chain.signalStop() }
        try await chain.startAllWorkers()
        let coordinator = try chain.startCoordinator()
        let n = 2000
        _ = try await TestProducer.send((0..<n).map { i in
            OutgoingRecord(topic: chain.definition.entryTopic, key: Array("c\(i)".utf8), value: Array((i % 10 == 0 ? "poison \(i)" : "ok \(i)").utf8))
        })
        let definition = chain.definition
        let status = try await BlockingQueue(label: "test.status").run { try StatusReader(chain: definition, settings: IntegrationEnvironment.settings) }
        // Kill it once it has seen part of the run.
        var seen: StatusSnapshot?
        let first = Date().addingTimeInterval(60)
        while (seen.map { $0.started == 0 } ?? true) && Date() < first { seen = await status.next(timeoutSeconds: 2) }
        #expect((seen?.started ?? 0) > 0, "the first coordinator published a snapshot")
        kill(coordinator.pid, SIGKILL)
        #expect(await Wait.exit(of: coordinator, seconds: 10))
        let restarted = try chain.startCoordinator()

        var final: StatusSnapshot?
        let deadline = Date().addingTimeInterval(90)
        while Date() < deadline {
            if let s = await status.next(timeoutSeconds: 2) { final = s }
            if let s = final, s.started == n, s.inFlight == 0, s.completed + s.failed == n { break }
        }
        let s = try #require(final)
        #expect(s.started == n && s.completed == n - n / 10 && s.failed == n / 10 && s.inFlight == 0 && s.unmatchedOutcomes == 0, "\(s)")
        #expect(s.failures.map(\.count) == [n / 10] && s.failures.first?.step == "check")
        #expect(restarted.isRunning)
        let codes = await chain.stop()
        #expect(codes.filter { $0.key != coordinator.name || $0.value != 128 + SIGKILL }.values.allSatisfy { $0 == 0 }, "\(codes)")
    }
}
