import Catena

/// One `catena` subcommand.
protocol Command {
    /// Usage text shown by `--help`.
    static var help: String { get }
    /// Runs the command; returns the exit code.
    static func run(_ args: [String], registry: FunctionRegistry) async throws -> Int32
}
