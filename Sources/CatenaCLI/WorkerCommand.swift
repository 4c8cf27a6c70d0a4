import Catena
import Foundation

/// `catena worker`: consumes one step's topic, runs its function, produces to the next step.
enum WorkerCommand: Command {
    static let help = """
    usage: catena worker --chain FILE --step NAME [--brokers HOST:PORT] [--batch-size N] [--ready-file PATH]
    environment: CATENA_CHAIN, CATENA_STEP, CATENA_BROKERS, CATENA_KAFKA_<PROPERTY>
    Consumes <chain>.<step> in group catena.<chain>.<step>; SIGTERM finishes the in-flight batch, commits and leaves the group.
    """

    static func run(_ args: [String], registry: FunctionRegistry) async throws -> Int32 {
        let a = try Arguments(args, command: "worker", valued: ["chain", "step", "brokers", "batch-size", "ready-file", "kafka-property"])
        let chain = try ChainFileLoader.load(path: try Environment.chainPath(a, command: "worker"))
        guard let stepName = a.value("step") ?? Environment.variables["CATENA_STEP"] else {
            throw CatenaError.configuration("catena worker: --step NAME is required (steps: \(chain.steps.map(\.name).joined(separator: ", ")))")
        }
        guard let step = chain.step(named: stepName) else {
            throw CatenaError.configuration("catena worker: chain \(chain.name) has no step \"\(stepName)\" (steps: \(chain.steps.map(\.name).joined(separator: ", ")))")
        }
        let function = try registry.make(FunctionConfiguration(chain: chain, step: step))
        let settings = try Environment.kafkaSettings(a, clientID: "catena-\(chain.name)-\(step.name)")
        var options = WorkerOptions()
        options.batchSize = try a.int("batch-size", minimum: 1) ?? options.batchSize
        options.readyFile = a.value("ready-file")
        let stop = StopSignal()
        stop.installSignalHandlers()
        Environment.stopWhenParentExits(stop)
        Log.info("worker[\(step.name)]", "chain \(chain.name), function \(step.function), brokers \(settings.brokers), id \(options.workerID)")
        try TopicProvisioner.ensureTopics(chain, settings: settings)
        let worker = StepWorker(chain: chain, step: step, function: function, settings: settings, options: options)
        try await worker.run(until: stop)
        return 0
    }
}
