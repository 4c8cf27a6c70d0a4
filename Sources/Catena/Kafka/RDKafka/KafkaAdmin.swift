import CRdKafka
import Foundation

/// Creates topics and reads metadata: owns one librdkafka handle used only for admin requests.
/// All methods block; call them off Swift's cooperative pool.
public final class KafkaAdmin: @unchecked Sendable {
    private let handle: OpaquePointer

    public init(settings: KafkaSettings) throws {
        let conf = try RDKafkaConfig.make(settings.properties(["allow.auto.create.topics": "false"], for: .producer))
        handle = try RDKafkaConfig.newClient(type: RD_KAFKA_PRODUCER, conf: conf)
    }

    deinit { rd_kafka_destroy(handle) }

    /// A topic to create.
    public struct TopicSpec: Sendable, Equatable {
        public var name: String
        public var partitions: Int
        public var replicationFactor: Int
        public var config: [String: String]
        public init(name: String, partitions: Int, replicationFactor: Int = 1, config: [String: String] = [:]) {
            self.name = name
            self.partitions = partitions
            self.replicationFactor = replicationFactor
            self.config = config
        }
    }

    /// Creates each topic that does not exist yet; an existing topic is left as it is.
    /// - Returns: the names of the topics created by this call.
    /// - Throws: `CatenaError.kafka` for any other failure, naming the topic.
    @discardableResult
    public func createTopics(_ specs: [TopicSpec], timeoutMs: Int32 = 15_000) throws -> [String] {
        guard !specs.isEmpty else { return [] }
        var errstr = [CChar](repeating: 0, count: 512)
        var newTopics: [OpaquePointer?] = []
        defer { for t in newTopics { rd_kafka_NewTopic_destroy(t) } }
        for spec in specs {
            guard let nt = rd_kafka_NewTopic_new(spec.name, Int32(spec.partitions), Int32(spec.replicationFactor), &errstr, errstr.count) else {
                throw CatenaError.configuration("topic \(spec.name): \(errorText(errstr))")
            }
            for (k, v) in spec.config { _ = rd_kafka_NewTopic_set_config(nt, k, v) }
            newTopics.append(nt)
        }
        let resultQueue = rd_kafka_queue_new(handle)
        defer { rd_kafka_queue_destroy(resultQueue) }
        let options = rd_kafka_AdminOptions_new(handle, RD_KAFKA_ADMIN_OP_CREATETOPICS)
        defer { rd_kafka_AdminOptions_destroy(options) }
        _ = rd_kafka_AdminOptions_set_operation_timeout(options, timeoutMs, &errstr, errstr.count)
        newTopics.withUnsafeMutableBufferPointer { buf in
            rd_kafka_CreateTopics(handle, buf.baseAddress, buf.count, options, resultQueue)
        }
        guard let event = rd_kafka_queue_poll(resultQueue, timeoutMs + 5000) else {
            throw CatenaError.timeout("creating topics \(specs.map(\.name))")
        }
        defer { rd_kafka_event_destroy(event) }
        let err = rd_kafka_event_error(event)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw CatenaError.rdkafka(err, "create topics: \(String(cString: rd_kafka_event_error_string(event)))")
        }
        guard let result = rd_kafka_event_CreateTopics_result(event) else { throw CatenaError.failure("create topics: no result") }
        var count = 0
        guard let topics = rd_kafka_CreateTopics_result_topics(result, &count) else { return [] }
        var created: [String] = []
        for i in 0..<count {
            let t = topics[i]
            let name = String(cString: rd_kafka_topic_result_name(t))
            let terr = rd_kafka_topic_result_error(t)
            if terr == RD_KAFKA_RESP_ERR_NO_ERROR {
                created.append(name)
            } else if terr != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS {
                let msg = rd_kafka_topic_result_error_string(t).map { String(cString: $0) } ?? ""
                throw CatenaError.rdkafka(terr, "create topic \(name) \(msg)")
            }
        }
        return created
    }

    /// Number of partitions of `topic`, 0 when it does not exist.
    public func partitionCount(_ topic: String, timeoutMs: Int32 = 5000) throws -> Int {
        try KafkaMetadata.partitionCount(handle: handle, topic: topic, timeoutMs: timeoutMs)
    }
}
