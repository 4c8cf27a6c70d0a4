import Catena
import Foundation

/// Defaults that come from environment variables, so containers can be configured without flags.
enum Environment {
    static var variables: [String: String] { ProcessInfo.processInfo.environment }

    /// `--brokers`, else `CATENA_BROKERS`, else `127.0.0.1:9092`.
    static func brokers(_ args: Arguments) -> String {
        args.value("brokers") ?? variables["CATENA_BROKERS"] ?? "127.0.0.1:9092"
    }

    /// `--chain`, else `CATENA_CHAIN`.
    static func chainPath(_ args: Arguments, command: String) throws -> String {
        guard let p = args.value("chain") ?? variables["CATENA_CHAIN"] else {
            throw CatenaError.configuration("catena \(command): --chain FILE is required (or set CATENA_CHAIN)")
        }
        return p
    }

    /// Extra librdkafka properties from `--kafka-property k=v` and `CATENA_KAFKA_<PROPERTY_WITH_UNDERSCORES>` variables.
    static func kafkaSettings(_ args: Arguments, clientID: String) throws -> KafkaSettings {
        let extra = try KafkaSettings.extraProperties(environment: variables, arguments: args.all("kafka-property"))
        let settings = KafkaSettings(brokers: brokers(args), extra: extra, clientID: clientID)
        try settings.validate()
        return settings
    }

    /// The running executable's absolute path.
    static var executablePath: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    /// When `CATENA_PARENT_PID` is set, requests a stop as soon as that process is gone (so children of
    /// `catena dev` never outlive it, even when it is killed).
    static func stopWhenParentExits(_ stop: StopSignal) {
        guard let pid = variables["CATENA_PARENT_PID"].flatMap({ Int32($0) }) else { return }
        let thread = Thread {
            while !stop.isRequested {
                if kill(pid, 0) != 0 && errno == ESRCH {
                    Log.warn("catena", "parent process \(pid) is gone: stopping")
                    stop.request()
                    return
                }
                Thread.sleep(forTimeInterval: 1)  // liveness check of the parent, once a second
            }
        }
        thread.start()
    }
}
