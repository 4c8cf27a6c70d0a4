import Catena
import CatenaTestSupport
import Foundation
import Testing

/// Runs docker-compose.yml without Docker: every Catena service's command and environment, as written in
/// the file, becomes a local process against a private Tansu broker (the `kafka` service's address swapped
/// for Tansu's, the image's /app mapped to the repository, each container's /tmp to its own directory),
/// in `depends_on` order, with the services' own health checks as readiness conditions. One step runs
/// as three replicas, as `docker compose up --scale <step>=3` would.
@Suite("docker-compose.yml emulated with local processes", .serialized)
struct ComposeEmulationTests {
    static let scaledStep = "enrich"
    static let replicas = 3
    static let firstBatch = 1000
    static let secondBatch = 1000

    /// One emulated container.
    final class Container: @unchecked Sendable {
        let name: String
        let service: ComposeFile.Service
        let tmp: String
        let process: ChildProcess
        init(name: String, service: ComposeFile.Service, tmp: String, process: ChildProcess) {
            self.name = name; self.service = service; self.tmp = tmp; self.process = process
        }
    }

    /// Maps the container's paths and addresses to this machine.
    struct Mapping {
        let root: String
        let brokers: String
        let tmp: String

        func path(_ s: String) -> String {
            if s == "/app" || s.hasPrefix("/app/") { return root + s.dropFirst("/app".count) }
            if s == "/tmp" || s.hasPrefix("/tmp/") { return tmp + s.dropFirst("/tmp".count) }
            return s
        }

        func environment(_ service: ComposeFile.Service) throws -> [String: String] {
            var env: [String: String] = [:]
            for (k, v) in service.environment {
                if k == "CATENA_BROKERS" {
                    #expect(v == DeployGenerator.composeBrokers, "\(service.name) uses the kafka service's internal listener")
                    env[k] = brokers
                } else {
                    env[k] = path(v)
                }
            }
            // Not in the compose file: Tansu delays a group's first join by half the session timeout, and the
            // processes must not outlive the test.
            env["CATENA_KAFKA_SESSION_TIMEOUT_MS"] = "6000"
            env["CATENA_PARENT_PID"] = String(ProcessInfo.processInfo.processIdentifier)
            return env
        }
    }

    static let io = BlockingQueue(label: "catena.tests.compose")

    /// Runs a health check's `test` (`["CMD", "catena", ...]`) for `container`; true when it exits 0.
    static func healthy(_ c: Container, mapping: Mapping, logs: String) async throws -> Bool {
        guard let test = c.service.healthcheck, test.first == "CMD", test.count >= 2, test[1] == "catena" else {
            throw Wait.Timeout(description: "\(c.name): unsupported health check \(c.service.healthcheck ?? [])")
        }
        let args = test.dropFirst(2).map(mapping.path)
        let env = try mapping.environment(c.service)
        return try await io.run {
            let p = try ChildProcess(name: "\(c.name)-health", executable: IntegrationEnvironment.catena, arguments: Array(args),
                                     environment: env, logPath: "\(logs)/\(c.name)-health.log")
            return p.waitForExit(seconds: 30) && p.exitStatus == 0
        }
    }

    @Test("every service of docker-compose.yml runs as written; with enrich scaled to 3, flights complete or are dead-lettered, nothing is lost when a replica stops")
    func composeServicesRunAsLocalProcesses() async throws {
        let root = IntegrationEnvironment.packageRoot
        let logs = "\(IntegrationEnvironment.logs)/compose-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        let compose = try ComposeFile.load(path: "\(root)/docker-compose.yml")

        // The `kafka` service becomes a private Tansu (the compose file's chain name is fixed, so it gets a broker of its own).
        let kafka = try #require(compose.service("kafka"))
        #expect(kafka.image?.hasPrefix("apache/kafka:") == true)
        let broker = try await Self.io.run { try LocalBroker(tansuPath: LocalBroker.locateTansu() ?? "\(root)/.deps/bin/tansu", logDirectory: logs) }
        let settings = KafkaSettings(brokers: broker.address, clientID: "catena-tests-compose")
        let containers = Atomic<[Container]>([])
        defer {
            // Only on failure is anything left: signal without waiting (CATENA_PARENT_PID stops the rest with the test process).
            for c in containers.load() { c.process.signal(SIGTERM) }
            broker.process.signal(SIGINT)
        }

        // Catena services, each started once everything it depends on is in the required state.
        let catena = compose.services.filter { $0.image == compose.service("topics")?.image && $0.name != "kafka" }
        #expect(catena.map(\.name).sorted() == (["coordinator", "topics"] + FlightsExpectation.steps).sorted())
        var done: Set<String> = ["kafka"]  // Tansu listens: kafka is "healthy"
        var pending = catena
        func start(_ s: ComposeFile.Service, replica: Int) throws -> Container {
            let name = "\(s.name)-\(replica)"
            let tmp = "\(logs)/\(name)-tmp"
            try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
            let mapping = Mapping(root: root, brokers: broker.address, tmp: tmp)
            let p = try ChildProcess(name: name, executable: IntegrationEnvironment.catena, arguments: s.command.map(mapping.path),
                                     environment: try mapping.environment(s), logPath: "\(logs)/\(name).log")
            let c = Container(name: name, service: s, tmp: tmp, process: p)
            containers.withValue { $0.append(c) }
            return c
        }
        while !pending.isEmpty {
            let ready = pending.filter { s in s.dependsOn.allSatisfy { done.contains($0.service) } }
            try #require(!ready.isEmpty, "depends_on has no cycle and names only known services: \(pending.map(\.name))")
            pending.removeAll { s in ready.contains { $0.name == s.name } }
            var started: [Container] = []
            for s in ready {
                for i in 1...(s.name == Self.scaledStep ? Self.replicas : 1) { started.append(try start(s, replica: i)) }
            }
            for c in started {
                let conditions = Set(catena.flatMap { $0.dependsOn.filter { $0.service == c.service.name }.map(\.condition) })
                if conditions.contains("service_completed_successfully") || c.service.restart == "no" {
                    #expect(await Wait.exit(of: c.process, seconds: 60) && c.process.exitStatus == 0, "\(c.name) completes successfully; see \(c.process.logPath)")
                } else {
                    // Wait for the service's own health check to pass.
                    let mapping = Mapping(root: root, brokers: broker.address, tmp: c.tmp)
                    let deadline = Date().addingTimeInterval(90)
                    while try await !Self.healthy(c, mapping: mapping, logs: logs) {
                        try #require(c.process.isRunning, "\(c.name) exited; see \(c.process.logPath)")
                        try #require(Date() < deadline, "\(c.name) healthy within 90 s")
                        try await Task.sleep(nanoseconds: 200_000_000)  // re-run the health check until its deadline
                    }
                }
            }
            for s in ready { done.insert(s.name) }
        }

        let chainPath = try #require(compose.service("coordinator")?.environment.first { $0.key == "CATENA_CHAIN" }?.value)
        let chain = try ChainFileLoader.load(path: Mapping(root: root, brokers: "", tmp: "").path(chainPath))
        let afterScaled = try #require(chain.destinationTopic(after: Self.scaledStep))
        let scaled = containers.load().filter { $0.service.name == Self.scaledStep }
        #expect(scaled.count == Self.replicas)

        // An independent client (Python confluent-kafka, its own librdkafka) produces flights to the entry topic.
        let data = IntegrationEnvironment.flightsData
        try await Self.produce(brokers: broker.address, topic: chain.entryTopic, csv: "\(data)/flights.csv", first: 1, count: Self.firstBatch, logs: logs)

        // All three replicas of the scaled step process records: their host:pid is on the records they produce.
        let reader = try await Reader.make(settings: settings, topics: [afterScaled, chain.outputTopic, chain.deadLetterTopic])
        let pids = scaled.map { ":\($0.process.pid)" }
        try await reader.read(until: "records from all \(Self.replicas) \(Self.scaledStep) replicas on \(afterScaled)", seconds: 120) { records in
            let workers = Set(records.filter { $0.topic == afterScaled }.compactMap { $0.header(HeaderNames.worker) })
            return pids.allSatisfy { pid in workers.contains { $0.hasSuffix(pid) } }
        }

        // More flights, and one replica is stopped (SIGTERM, as `docker compose stop` or a scale-down does) while they are in flight.
        try await Self.produce(brokers: broker.address, topic: chain.entryTopic, csv: "\(data)/flights.csv", first: Self.firstBatch + 1, count: Self.secondBatch, logs: logs)
        let victim = scaled[Self.replicas - 1]
        let outcomesBeforeStop = Set(reader.records.filter { $0.topic != afterScaled }.compactMap { $0.key }).count
        victim.process.signal(SIGTERM)
        let grace = Double(victim.service.stopGracePeriod?.dropLast() ?? "30") ?? 30
        #expect(await Wait.exit(of: victim.process, seconds: grace), "the stopped replica exits within the stop grace period")
        #expect(victim.process.exitStatus == 0, "a stopped worker finishes its batch, commits and exits 0; see \(victim.process.logPath)")

        let total = Self.firstBatch + Self.secondBatch
        let records = try await reader.read(until: "\(total) outcomes", seconds: 240) { records in
            Set(records.filter { $0.topic != afterScaled }.compactMap { $0.key }).count >= total
        }
        #expect(outcomesBeforeStop < total, "the replica was stopped mid-run (\(outcomesBeforeStop) of \(total) outcomes before)")

        // Every flight has its outcome, as the chain defines it (independent computation from the CSV files).
        let lines = try String(contentsOfFile: "\(data)/flights.csv", encoding: .utf8).split(separator: "\n").dropFirst().prefix(total).map(String.init)
        let oracle = try FlightsExpectation.load(dataDir: data)
        var outcome: [Int: String] = [:]  // line number -> "completed" or the dead-lettering step
        for r in records where r.topic != afterScaled {
            let key = String(decoding: r.key ?? [], as: UTF8.self)
            let n = try #require(Int(key.dropFirst("flight-".count)), "key \(key)")
            let result = r.topic == chain.outputTopic ? "completed" : "dlq:\(r.header(HeaderNames.errorStep) ?? "?")"
            if let earlier = outcome[n] { #expect(earlier == result, "\(key): a repeated outcome agrees") }
            outcome[n] = result
        }
        #expect(outcome.count == total, "no flight lost")
        var deadLetters = 0
        for n in 1...total {
            guard let result = outcome[n] else { Issue.record("flight-\(n) has no outcome"); continue }
            switch oracle.expected(forCSVLine: lines[n - 1]) {
            case .deadLetter(let step):
                deadLetters += 1
                #expect(result == "dlq:\(step)", "flight-\(n)")
            default:
                #expect(result == "completed", "flight-\(n)")
            }
        }
        #expect(deadLetters > 0, "the slice has dead letters")

        // The remaining containers stop cleanly within their stop grace periods.
        let rest = containers.withValue { c -> [Container] in let a = c.filter { $0.process.isRunning }; c = []; return a }
        let codes = await Self.io.run { rest.map { ($0.name, $0.process.stop(grace: Double($0.service.stopGracePeriod?.dropLast() ?? "30") ?? 30)) } }
        #expect(codes.allSatisfy { $0.1 == 0 }, "every service exits 0 on SIGTERM: \(codes)")
        await Self.io.run { reader.close(); broker.stop() }
    }

    /// Produces lines `first ..< first + count` of the CSV file (1-based, header excluded), keyed `flight-<n>`,
    /// with the Python client from .deps/venv.
    static func produce(brokers: String, topic: String, csv: String, first: Int, count: Int, logs: String) async throws {
        let script = """
        import sys
        from confluent_kafka import Producer
        brokers, topic, csv, first, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
        p = Producer({"bootstrap.servers": brokers, "enable.idempotence": True, "acks": "all"})
        failed = []
        def report(err, msg):
            if err is not None:
                failed.append(err)
        with open(csv, "rb") as f:
            next(f)
            for n, line in enumerate(f, start=1):
                if n < first:
                    continue
                if n >= first + count:
                    break
                p.produce(topic, key=b"flight-%d" % n, value=line.rstrip(b"\\r\\n"), headers=[("content-type", b"text/csv")], on_delivery=report)
                p.poll(0)
        left = p.flush(60)
        if failed or left:
            sys.exit(f"produce failed: {failed[:3]}, {left} undelivered")
        print(f"produced {count} records to {topic}")
        """
        let path = "\(logs)/produce.py"
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        let python = "\(IntegrationEnvironment.packageRoot)/.deps/venv/bin/python"
        let p = try ChildProcess(name: "produce", executable: python, arguments: [path, brokers, topic, csv, String(first), String(count)],
                                 logPath: "\(logs)/produce-\(first).log")
        let exited = await Wait.exit(of: p, seconds: 120)
        let log = (try? String(contentsOfFile: p.logPath, encoding: .utf8)) ?? ""
        try #require(exited && p.exitStatus == 0, "python producer (.deps/venv from scripts/setup.sh) succeeds: \(log)")
    }

    /// Reads every partition of topics on the private broker from the beginning, without a consumer group.
    final class Reader: @unchecked Sendable {
        private let consumer: KafkaConsumer
        private(set) var records: [ConsumedRecord] = []
        private init(consumer: KafkaConsumer) { self.consumer = consumer }

        static func make(settings: KafkaSettings, topics: [String]) async throws -> Reader {
            let consumer = try KafkaConsumer(settings: settings, groupID: nil)
            try await io.run {
                var partitions: [TopicPartition] = []
                for t in topics { partitions += (0..<Int32(max(try consumer.partitionCount(t), 1))).map { TopicPartition(t, $0) } }
                try consumer.assign(partitions, from: [:])
            }
            return Reader(consumer: consumer)
        }

        func close() { consumer.close() }

        @discardableResult
        func read(until what: String, seconds: Double, _ condition: ([ConsumedRecord]) -> Bool) async throws -> [ConsumedRecord] {
            let deadline = Date().addingTimeInterval(seconds)
            let consumer = self.consumer
            while !condition(records) {
                if Date() > deadline { throw Wait.Timeout(description: "timed out after \(seconds) s waiting for \(what); have \(records.count) records") }
                records += await ComposeEmulationTests.io.run { consumer.poll(maxRecords: 5000, timeoutMs: 100) }
            }
            return records
        }
    }
}
