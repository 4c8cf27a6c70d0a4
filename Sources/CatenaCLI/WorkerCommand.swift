import Catena
import Foundation

/// `catena worker`: consumes one step's topic, runs its function, produces to the next step.
enum WorkerCommand: Command {
    static let help = """
    usage: catena worker --chain FILE --step NAME [--brokers HOST:PORT] [--delivery exactly-once|at-least-once]
                         [--instance-id ID] [--batch-size N] [--ready-file PATH]
    environment: CATENA_CHAIN, CATENA_STEP, CATENA_BROKERS, CATENA_DELIVERY, CATENA_INSTANCE_ID, CATENA_KAFKA_<PROPERTY>
    --delivery exactly-once (default) runs consume -> function -> produce -> commit as one Kafka transaction per batch;
    at-least-once uses an idempotent producer and commits after the outputs are acknowledged (for brokers without transactions).
    --instance-id names this instance in its transactional.id (default host-pid): a restart with the same id fences the old one.
    Consumes <chain>.<step> in group catena.<chain>.<step>; SIGTERM finishes the in-flight batch, commits and leaves the group.
    """

    static func run(_ args: [String], registry: FunctionRegistry) async throws -> Int32 {
        let a = try Arguments(args, command: "worker", valued: ["chain", "step", "brokers", "batch-size", "ready-file", "kafka-property", "delivery", "instance-id"])
        MemoryTuning.apply()
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
        if let d = a.value("delivery") ?? Environment.variables["CATENA_DELIVERY"] {
            guard let mode = DeliveryMode(rawValue: d) else {
                throw CatenaError.configuration("--delivery: expected exactly-once or at-least-once, got \"\(d)\"")
            }
            options.delivery = mode
        }
        if let id = a.value("instance-id") { options.instanceID = id }
        let stop = StopSignal()
        stop.installSignalHandlers()
        Environment.stopWhenParentExits(stop)
        Log.info("worker[\(step.name)]", "chain \(chain.name), function \(step.function), brokers \(settings.brokers), id \(options.workerID)")
        guard await TopicProvisioner.prepare(chain, settings: settings, io: BlockingQueue(label: "catena.worker.setup"), stop: stop, component: "worker[\(step.name)]") else {
            return 0  // stopped before the broker was reachable
        }
        let worker = StepWorker(chain: chain, step: step, function: function, settings: settings, options: options)
        try await worker.run(until: stop)
        return 0
    }
}
