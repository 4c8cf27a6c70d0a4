import Catena

/// `catena topics`: creates the chain's topics with the partitions the chain file asks for.
enum TopicsCommand: Command {
    static let help = """
    usage: catena topics --chain FILE [--brokers HOST:PORT]
    Creates every topic of the chain that does not exist yet, then lists them.
    """

    static func run(_ args: [String], registry: FunctionRegistry) async throws -> Int32 {
        let a = try Arguments(args, command: "topics", valued: ["chain", "brokers", "kafka-property"])
        let chain = try ChainFileLoader.load(path: try Environment.chainPath(a, command: "topics"))
        let settings = try Environment.kafkaSettings(a, clientID: "catena-\(chain.name)-topics")
        let created = Set(try TopicProvisioner.ensureTopics(chain, settings: settings))
        let counts = try TopicProvisioner.awaitTopics(chain, settings: settings)
        for (name, _) in chain.topics {
            print("\(name)\t\(counts[name] ?? 0) partitions\t\(created.contains(name) ? "created" : "existed")")
        }
        return 0
    }
}
