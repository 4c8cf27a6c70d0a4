import Catena
import Foundation

/// A chain written to a temporary YAML file, with its topics created on the test broker, and the worker
/// processes started for it. Every wait here is async and every blocking call runs on a `BlockingQueue`,
/// so the tests never hold a thread of Swift's cooperative pool (which unit tests running in parallel need).
final class TestChain: @unchecked Sendable {
    let path: String
    let definition: ChainDefinition
    private let processes = Atomic<[ChildProcess]>([])
    private static let io = BlockingQueue(label: "catena.tests.chain")

    private init(path: String, definition: ChainDefinition) {
        self.path = path
        self.definition = definition
    }

    /// Writes `yaml` (a whole chain file) to a temporary file and creates the chain's topics.
    static func make(yaml: String) async throws -> TestChain {
        let dir = IntegrationEnvironment.logs + "/chains"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = "\(dir)/\(UUID().uuidString).yaml"
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        let definition = try ChainFileLoader.load(path: path)
        try await io.run {
            try TopicProvisioner.ensureTopics(definition, settings: IntegrationEnvironment.settings)
            _ = try TopicProvisioner.awaitTopics(definition, settings: IntegrationEnvironment.settings)
        }
        return TestChain(path: path, definition: definition)
    }

    /// A chain of steps `(name, function)` with optional per-step extra YAML lines.
    static func make(prefix: String, partitions: Int = 3, steps: [(String, String)], stepExtra: [String: String] = [:]) async throws -> TestChain {
        var yaml = "chain: \(IntegrationEnvironment.uniqueName(prefix))\npartitions: \(partitions)\nsteps:\n"
        for (name, function) in steps {
            yaml += "  - name: \(name)\n    function: \(function)\n"
            if let extra = stepExtra[name] { yaml += extra.split(separator: "\n").map { "    \($0)\n" }.joined() }
        }
        return try await make(yaml: yaml)
    }

    /// The ready file (the worker's heartbeat) of worker `instance` of `step`.
    func readyFile(_ step: String, _ instance: Int) -> String {
        "\(IntegrationEnvironment.logs)/\(definition.name)-\(step)-\(instance).ready"
    }

    /// Starts a worker process for `step`; returns it once it has partitions assigned.
    @discardableResult
    func startWorker(_ step: String, instance: Int = 1, waitReady: Bool = true, arguments: [String] = []) async throws -> ChildProcess {
        let name = "\(definition.name)-\(step)-\(instance)"
        let ready = readyFile(step, instance)
        try? FileManager.default.removeItem(atPath: ready)
        let p = try ChildProcess(name: name, executable: IntegrationEnvironment.catena,
                                 arguments: ["worker", "--chain", path, "--step", step, "--brokers", IntegrationEnvironment.brokers, "--ready-file", ready,
                                             "--instance-id", "\(step)-\(instance)"] + arguments,
                                 environment: IntegrationEnvironment.workerEnvironment,
                                 logPath: "\(IntegrationEnvironment.logs)/\(name).log")
        processes.withValue { $0.append(p) }
        if waitReady {
            try await Wait.until("\(name) has partitions", seconds: 60, failIf: { p.isRunning ? nil : "\(name) exited; see \(p.logPath)" }) {
                FileManager.default.fileExists(atPath: ready)
            }
        }
        return p
    }

    /// Starts a coordinator process for the chain.
    func startCoordinator() throws -> ChildProcess {
        let name = "\(definition.name)-coordinator-\(processes.load().filter { $0.name.contains("-coordinator-") }.count + 1)"
        let p = try ChildProcess(name: name, executable: IntegrationEnvironment.catena,
                                 arguments: ["coordinator", "--chain", path, "--brokers", IntegrationEnvironment.brokers],
                                 environment: IntegrationEnvironment.workerEnvironment,
                                 logPath: "\(IntegrationEnvironment.logs)/\(name).log")
        processes.withValue { $0.append(p) }
        return p
    }

    /// The newest still-running worker process of `step`.
    func runningWorker(step: String) -> ChildProcess? {
        processes.load().last { $0.isRunning && $0.name.hasPrefix("\(definition.name)-\(step)-") }
    }

    /// Starts one worker per step and waits until each has partitions.
    func startAllWorkers(arguments: [String] = []) async throws {
        for step in definition.steps { try await startWorker(step.name, waitReady: false, arguments: arguments) }
        let ready = definition.steps.map { readyFile($0.name, 1) }
        try await Wait.until("every step's worker has partitions", seconds: 60,
                             failIf: { self.processes.load().first { !$0.isRunning }.map { "\($0.name) exited; see \($0.logPath)" } }) {
            ready.allSatisfy { FileManager.default.fileExists(atPath: $0) }
        }
    }

    /// Stops every process this chain started (SIGTERM, then SIGKILL after the grace period); returns their exit codes.
    @discardableResult
    func stop() async -> [String: Int32] {
        let all = processes.withValue { p -> [ChildProcess] in let a = p; p = []; return a }
        return await Self.io.run {
            var codes: [String: Int32] = [:]
            for p in all.reversed() { codes[p.name] = p.stop(grace: 20) }
            return codes
        }
    }

    /// For `defer` on a failed test: asks every process to stop without waiting (they also stop when the
    /// test process exits, through CATENA_PARENT_PID).
    func signalStop() {
        for p in processes.load() { p.signal(SIGTERM) }
    }
}

/// Waiting on a condition with a deadline (never a fixed sleep as synchronisation).
enum Wait {
    struct Timeout: Error, CustomStringConvertible { let description: String }

    /// Re-checks `condition` every 20 ms until it holds; throws after `seconds` or when `failIf` returns a reason.
    static func until(_ what: String, seconds: Double, failIf: () -> String? = { nil }, _ condition: () throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while try !condition() {
            if let reason = failIf() { throw Timeout(description: "while waiting for \(what): \(reason)") }
            if Date() > deadline { throw Timeout(description: "timed out after \(seconds) s waiting for \(what)") }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
    }

    /// Like `until`, for a condition that awaits (e.g. a broker read done off the cooperative pool); re-checked
    /// `every` seconds once the previous check returns.
    static func untilAsync(_ what: String, seconds: Double, every: Double = 0.02, failIf: () -> String? = { nil },
                           _ condition: () async throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while try await !condition() {
            if let reason = failIf() { throw Timeout(description: "while waiting for \(what): \(reason)") }
            if Date() > deadline { throw Timeout(description: "timed out after \(seconds) s waiting for \(what)") }
            try await Task.sleep(nanoseconds: UInt64(every * 1e9))
        }
    }

    /// Waits (off the cooperative pool) up to `seconds` for `process` to exit; returns whether it did.
    static func exit(of process: ChildProcess, seconds: Double) async -> Bool {
        await BlockingQueue(label: "catena.tests.exit").run { process.waitForExit(seconds: seconds) }
    }
}
