import Catena
import Foundation

/// `catena health`: a container health check that needs no HTTP endpoint.
enum HealthCommand: Command {
    static let help = """
    usage: catena health --file PATH [--max-age SECONDS]
           catena health --kafka [--chain FILE] [--brokers HOST:PORT] [--timeout SECONDS]
    --file: healthy when PATH exists (a worker creates its --ready-file once it has partitions), and, with
            --max-age, was modified at most SECONDS ago.
    --kafka: healthy when the brokers answer and every topic of the chain exists (CATENA_CHAIN, CATENA_BROKERS).
    Exits 0 when healthy, 1 (with the reason on standard error) when not.
    """

    static func run(_ args: [String], registry: FunctionRegistry) async throws -> Int32 {
        let a = try Arguments(args, command: "health", valued: ["file", "max-age", "chain", "brokers", "timeout", "kafka-property"], boolean: ["kafka"])
        guard a.value("file") != nil || a.flag("kafka") else { throw CatenaError.configuration("catena health: give --file PATH or --kafka") }
        if let path = a.value("file") {
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else { return unhealthy("\(path) does not exist (no partitions assigned yet?)") }
            if let maxAge = try a.double("max-age", minimum: 0), let modified = attributes[.modificationDate] as? Date {
                let age = Date().timeIntervalSince(modified)
                if age > maxAge { return unhealthy(String(format: "%@ was last touched %.0f s ago (more than %.0f s)", path, age, maxAge)) }
            }
        }
        if a.flag("kafka") {
            let chain = try ChainFileLoader.load(path: try Environment.chainPath(a, command: "health"))
            let settings = try Environment.kafkaSettings(a, clientID: "catena-\(chain.name)-health")
            do {
                _ = try TopicProvisioner.awaitTopics(chain, settings: settings, timeoutSeconds: try a.double("timeout", minimum: 0.1) ?? 5)
            } catch {
                return unhealthy("kafka \(settings.brokers): \(error)")
            }
        }
        return 0
    }

    private static func unhealthy(_ reason: String) -> Int32 {
        FileHandle.standardError.write(Data("catena health: unhealthy: \(reason)\n".utf8))
        return 1
    }
}
