import Catena

/// `catena functions`: lists registered function names.
enum FunctionsCommand: Command {
    static let help = "usage: catena functions\nLists the function names a chain file's steps can use with this binary."
    static func run(_ args: [String], registry: FunctionRegistry) async throws -> Int32 {
        for name in registry.names { print(name) }
        return 0
    }
}

/// `catena version`.
enum VersionCommand: Command {
    static let help = "usage: catena version"
    static func run(_ args: [String], registry: FunctionRegistry) async throws -> Int32 {
        print("catena 0.1.0 (librdkafka \(KafkaInfo.libraryVersion))")
        return 0
    }
}
