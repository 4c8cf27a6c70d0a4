import CRdKafka

/// Where the brokers are and any extra librdkafka properties, shared by every client Catena creates.
///
/// `brokers` maps to `bootstrap.servers`; `extra` is passed through verbatim (an escape hatch for
/// any librdkafka property, e.g. `security.protocol`), and wins over Catena's defaults.
public struct KafkaSettings: Sendable, Equatable {
    /// Comma-separated `host:port` list (`bootstrap.servers`).
    public var brokers: String
    /// Additional librdkafka properties, applied last.
    public var extra: [String: String]
    /// `client.id` prefix of every client.
    public var clientID: String

    public init(brokers: String, extra: [String: String] = [:], clientID: String = "catena") {
        self.brokers = brokers
        self.extra = extra
        self.clientID = clientID
    }

    /// Extra librdkafka properties from `CATENA_KAFKA_<PROPERTY_WITH_UNDERSCORES>` environment variables, then
    /// from `key=value` arguments (`--kafka-property`), which win.
    /// - Throws: `CatenaError.configuration` for an argument without `=`.
    public static func extraProperties(environment: [String: String], arguments: [String]) throws -> [String: String] {
        var extra: [String: String] = [:]
        for (k, v) in environment where k.hasPrefix("CATENA_KAFKA_") {
            extra[k.dropFirst("CATENA_KAFKA_".count).lowercased().replacingOccurrences(of: "_", with: ".")] = v
        }
        for kv in arguments {
            guard let eq = kv.firstIndex(of: "=") else { throw CatenaError.configuration("--kafka-property: expected key=value, got \"\(kv)\"") }
            extra[String(kv[..<eq])] = String(kv[kv.index(after: eq)...])
        }
        return extra
    }

    /// Throws `CatenaError.configuration` naming the first extra property librdkafka refuses (unknown name,
    /// bad value), so a mistyped property stops a command at once instead of looking like a broker outage.
    public func validate() throws {
        for role in [KafkaClientRole.consumer, .producer] {
            let conf = try RDKafkaConfig.make(properties([:], for: role))
            rd_kafka_conf_destroy(conf)
        }
    }

    /// Properties for a client of `role`: bootstrap servers, client id, then the extras meant for that kind of client.
    func properties(_ defaults: [String: String], for role: KafkaClientRole) -> [String: String] {
        var p = defaults
        p["bootstrap.servers"] = brokers
        p["client.id"] = p["client.id"] ?? clientID
        for (k, v) in extra where role.accepts(k) { p[k] = v }
        return p
    }
}
