/// Facts about the Kafka client library in use.
public enum KafkaInfo {
    /// librdkafka's version, e.g. `2.8.0`.
    public static var libraryVersion: String { RDKafkaConfig.libraryVersion }
}
