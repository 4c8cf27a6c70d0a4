import Catena
import Foundation
import Testing

/// A broker that stops answering for longer than `message.timeout.ms` must not turn good records into
/// dead letters: the batch is processed again once the broker is back.
@Suite("Broker stall", .serialized)
struct BrokerStallTests {
    @Test("deliveries that time out while the broker is frozen are retried, not dead-lettered")
    func stalledBrokerDoesNotDeadLetterGoodRecords() async throws {
        // A private broker, so freezing it disturbs no other test.
        let logs = "\(IntegrationEnvironment.logs)/stall-\(UUID().uuidString.prefix(6))"
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        let broker = try await BlockingQueue(label: "stall.broker").run { try LocalBroker(logDirectory: logs) }
        defer { broker.stop() }
        let settings = KafkaSettings(brokers: broker.address, clientID: "stall-test")
        let name = IntegrationEnvironment.uniqueName("stall")
        let path = "\(logs)/chain.yaml"
        try "chain: \(name)\npartitions: 1\nsteps:\n  - {name: pass, function: builtin.sleep, params: {ms: \"20\"}}\n".write(toFile: path, atomically: true, encoding: .utf8)
        let chain = try ChainFileLoader.load(path: path)
        try await BlockingQueue(label: "stall.topics").run { _ = try TopicProvisioner.ensureTopics(chain, settings: settings) }
        let ready = "\(logs)/ready"
        let arguments = ["worker", "--chain", path, "--step", "pass", "--brokers", broker.address, "--ready-file", ready,
                                                  "--delivery", "at-least-once", "--batch-size", "50",
                                                  "--kafka-property", "message.timeout.ms=4000"]
        func start() throws -> ChildProcess {
            try ChildProcess(name: "stall-worker", executable: IntegrationEnvironment.catena, arguments: arguments,
                             environment: IntegrationEnvironment.workerEnvironment, logPath: "\(logs)/worker.log")
        }
        var worker = try start()
        var restarts = 0
        defer { worker.signal(SIGTERM) }
        try await Wait.until("the worker has partitions", seconds: 60, failIf: { worker.isRunning ? nil : "worker exited" }) {
            FileManager.default.fileExists(atPath: ready)
        }
        let producer = try KafkaProducer(settings: settings, properties: ["message.timeout.ms": "60000"])
        let n = 400
        _ = await producer.send((0..<n).map { OutgoingRecord(topic: chain.entryTopic, key: Array("r\($0)".utf8), value: Array("v\($0)".utf8)) })

        let reader = try KafkaConsumer(settings: settings, groupID: nil)
        try reader.assign([TopicPartition(chain.outputTopic, 0), TopicPartition(chain.deadLetterTopic, 0)], from: [:])
        var outputs = Set<[UInt8]>(), deadLetters: [ConsumedRecord] = []
        let io = BlockingQueue(label: "stall.read")
        func readSome() async {
            for r in await io.run({ reader.poll(maxRecords: 1000, timeoutMs: 200) }) {
                if r.topic == chain.outputTopic { outputs.insert(r.key ?? []) } else { deadLetters.append(r) }
            }
        }
        // The worker needs about 8 s for the 400 records (20 ms each): freeze the broker once it is under
        // way, for longer than message.timeout.ms plus the 10 s a rewind waits for the committed offsets, then
        // thaw it: the worker keeps trying to rewind until the broker answers.
        let started = Date().addingTimeInterval(60)
        while outputs.count < 50 && Date() < started { await readSome() }
        #expect(outputs.count >= 50 && outputs.count < n, "the broker is frozen mid-run (\(outputs.count) outputs so far)")
        kill(broker.process.pid, SIGSTOP)
        try await Task.sleep(nanoseconds: 16_000_000_000)  // the stall itself is the scenario under test, not a synchronisation
        kill(broker.process.pid, SIGCONT)

        // Like a container restart policy: a worker that stops (its producer fenced by the broker's recovery)
        // is started again; it resumes from the committed offsets.
        let deadline = Date().addingTimeInterval(90)
        while outputs.count < n && Date() < deadline {
            await readSome()
            if !worker.isRunning { restarts += 1; worker = try start() }
        }
        #expect(outputs.count == n, "every record completes after the stall")
        #expect(deadLetters.isEmpty, "no good record is dead-lettered: \(deadLetters.compactMap { $0.header(HeaderNames.errorMessage) }.prefix(3))")
        let log = (try? String(contentsOfFile: "\(logs)/worker.log", encoding: .utf8)) ?? ""
        #expect(!log.contains("committed offsets: Local: Timed out") || log.contains("cannot rewind to the committed offsets yet"),
                "a rewind during the outage is tried again, not the end of the worker; see \(logs)/worker.log")
        worker.signal(SIGTERM)
        #expect(await Wait.exit(of: worker, seconds: 30))
        print("broker stall: \(outputs.count) outputs, \(deadLetters.count) dead letters, \(restarts) worker restarts")
    }
}
