import Catena
import Foundation

/// `catena status`: prints the coordinator's latest snapshot.
enum StatusCommand: Command {
    static let help = """
    usage: catena status --chain FILE [--brokers HOST:PORT] [--json] [--timeout SECONDS]
    Prints in-flight, completed, failed and timed-out counts (with the latest timed-out executions and the step
    each was last seen at) and end-to-end latency percentiles from <chain>.status; --json prints the snapshot as is.
    """

    static func run(_ args: [String], registry: FunctionRegistry) async throws -> Int32 {
        let a = try Arguments(args, command: "status", valued: ["chain", "brokers", "timeout", "kafka-property"], boolean: ["json"])
        let chain = try ChainFileLoader.load(path: try Environment.chainPath(a, command: "status"))
        let settings = try Environment.kafkaSettings(a, clientID: "catena-\(chain.name)-status")
        let reader = try StatusReader(chain: chain, settings: settings)
        guard let snapshot = await reader.next(timeoutSeconds: try a.double("timeout", minimum: 0) ?? 10) else {
            FileHandle.standardError.write(Data("catena status: no status on \(chain.statusTopic) yet; is `catena coordinator --chain ...` running?\n".utf8))
            return 1
        }
        if a.flag("json") { print(String(decoding: snapshot.json(), as: UTF8.self)) } else { print(snapshot.report()) }
        return 0
    }
}
