import Catena

/// `catena coordinator`: follows every execution to completion, failure or its deadline, and publishes status.
enum CoordinatorCommand: Command {
    static let help = """
    usage: catena coordinator --chain FILE [--brokers HOST:PORT]
    Reads <chain>'s entry, output and dlq topics from the beginning (with an execution_timeout also every later
    step's topic and <chain>.timeouts) and publishes snapshots to <chain>.status; executions without an outcome
    within the chain's execution_timeout are marked timed out and published once each on <chain>.timeouts.
    """

    static func run(_ args: [String], registry: FunctionRegistry) async throws -> Int32 {
        let a = try Arguments(args, command: "coordinator", valued: ["chain", "brokers", "kafka-property"])
        let chain = try ChainFileLoader.load(path: try Environment.chainPath(a, command: "coordinator"))
        let settings = try Environment.kafkaSettings(a, clientID: "catena-\(chain.name)-coordinator")
        let stop = StopSignal()
        stop.installSignalHandlers()
        Environment.stopWhenParentExits(stop)
        try await Coordinator(chain: chain, settings: settings).run(until: stop)
        return 0
    }
}
