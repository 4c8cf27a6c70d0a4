import Catena

/// `catena validate`: loads a chain file and checks every step's function can be built.
enum ValidateCommand: Command {
    static let help = "usage: catena validate --chain FILE\nChecks the file and that every step's function exists and accepts its params."

    static func run(_ args: [String], registry: FunctionRegistry) async throws -> Int32 {
        let a = try Arguments(args, command: "validate", valued: ["chain"])
        let chain = try ChainFileLoader.load(path: try Environment.chainPath(a, command: "validate"))
        for step in chain.steps { _ = try registry.make(FunctionConfiguration(chain: chain, step: step)) }
        print("chain \(chain.name): \(chain.steps.count) steps, OK")
        for (name, partitions) in chain.topics { print("  topic \(name) (\(partitions) partitions)") }
        return 0
    }
}
