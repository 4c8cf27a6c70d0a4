import Catena
import Foundation

/// A chain written to a temporary YAML file, with its topics created on the test broker, and the worker
/// processes started for it. `stop()` stops every process it started.
final class TestChain: @unchecked Sendable {
    let path: String
    let definition: ChainDefinition
    private(set) var processes: [ChildProcess] = []

    /// Writes `yaml` (which must start with `chain: <name>`) to a file and creates the topics.
    init(yaml: String) throws {
        let dir = IntegrationEnvironment.logs + "/chains"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        path = "\(dir)/\(UUID().uuidString).yaml"
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        definition = try ChainFileLoader.load(path: path)
        try TopicProvisioner.ensureTopics(definition, settings: IntegrationEnvironment.settings)
        _ = try TopicProvisioner.awaitTopics(definition, settings: IntegrationEnvironment.settings)
    }

    /// A chain of steps `(name, function)` with optional per-step extra YAML lines.
    convenience init(prefix: String, partitions: Int = 3, steps: [(String, String)], stepExtra: [String: String] = [:]) throws {
        var yaml = "chain: \(IntegrationEnvironment.uniqueName(prefix))\npartitions: \(partitions)\nsteps:\n"
        for (name, function) in steps {
            yaml += "  - name: \(name)\n    function: \(function)\n"
            if let extra = stepExtra[name] { yaml += extra.split(separator: "\n").map { "    \($0)\n" }.joined() }
        }
        try self.init(yaml: yaml)
    }

    /// Starts a worker process for `step`; returns it once it has partitions assigned.
    @discardableResult
    func startWorker(_ step: String, instance: Int = 1, waitReady: Bool = true) throws -> ChildProcess {
        let name = "\(definition.name)-\(step)-\(instance)"
        let ready = "\(IntegrationEnvironment.logs)/\(name).ready"
        try? FileManager.default.removeItem(atPath: ready)
        let p = try ChildProcess(name: name, executable: IntegrationEnvironment.catena,
                                 arguments: ["worker", "--chain", path, "--step", step, "--brokers", IntegrationEnvironment.brokers, "--ready-file", ready],
                                 environment: IntegrationEnvironment.workerEnvironment,
                                 logPath: "\(IntegrationEnvironment.logs)/\(name).log")
        processes.append(p)
        if waitReady {
            try Wait.until("\(name) has partitions", seconds: 60, failIf: { p.isRunning ? nil : "\(name) exited; see \(p.logPath)" }) {
                FileManager.default.fileExists(atPath: ready)
            }
        }
        return p
    }

    /// Starts one worker per step.
    func startAllWorkers() throws {
        for step in definition.steps { try startWorker(step.name, waitReady: false) }
        for step in definition.steps {
            let ready = "\(IntegrationEnvironment.logs)/\(definition.name)-\(step.name)-1.ready"
            try Wait.until("worker of \(step.name) has partitions", seconds: 60, failIf: { self.processes.first { !$0.isRunning }.map { "\($0.name) exited; see \($0.logPath)" } }) {
                FileManager.default.fileExists(atPath: ready)
            }
        }
    }

    /// Stops every process this chain started (SIGTERM, then SIGKILL after the grace period); returns their exit codes.
    @discardableResult
    func stop() -> [String: Int32] {
        var codes: [String: Int32] = [:]
        for p in processes.reversed() { codes[p.name] = p.stop(grace: 20) }
        processes = []
        return codes
    }

    deinit { stop() }
}

/// Waiting on a condition with a deadline (never a fixed sleep).
enum Wait {
    struct Timeout: Error, CustomStringConvertible { let description: String }

    /// Re-checks `condition` every 20 ms until it holds; throws after `seconds` or when `failIf` returns a reason.
    static func until(_ what: String, seconds: Double, failIf: () -> String? = { nil }, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while try !condition() {
            if let reason = failIf() { throw Timeout(description: "while waiting for \(what): \(reason)") }
            if Date() > deadline { throw Timeout(description: "timed out after \(seconds) s waiting for \(what)") }
            Thread.sleep(forTimeInterval: 0.02)
        }
    }
}
