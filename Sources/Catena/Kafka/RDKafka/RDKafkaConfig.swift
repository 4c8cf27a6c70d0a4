import CRdKafka

/// Builds librdkafka configuration objects from property dictionaries.
///
/// The returned `rd_kafka_conf_t` is owned by the caller until `rd_kafka_new` succeeds; on failure the
/// caller destroys it (see `RDKafkaHandle.make`).
enum RDKafkaConfig {
    /// Creates a conf with every property set, or throws naming the property librdkafka refused.
    static func make(_ properties: [String: String]) throws -> OpaquePointer {
        guard let conf = rd_kafka_conf_new() else { throw CatenaError.failure("rd_kafka_conf_new failed") }
        var errstr = [CChar](repeating: 0, count: 512)
        for (key, value) in properties.sorted(by: { $0.key < $1.key }) {
            let result = rd_kafka_conf_set(conf, key, value, &errstr, errstr.count)
            if result != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                throw CatenaError.configuration("kafka property \(key)=\(value): \(errorText(errstr))")
            }
        }
        return conf
    }

    /// Creates a client from `conf`; takes ownership of `conf` on success and destroys it on failure.
    static func newClient(type: rd_kafka_type_t, conf: OpaquePointer) throws -> OpaquePointer {
        var errstr = [CChar](repeating: 0, count: 512)
        guard let rk = rd_kafka_new(type, conf, &errstr, errstr.count) else {
            rd_kafka_conf_destroy(conf)
            throw CatenaError.failure("rd_kafka_new: \(errorText(errstr))")
        }
        return rk
    }

    /// librdkafka's version string.
    static var libraryVersion: String { String(cString: rd_kafka_version_str()) }
}

extension CatenaError {
    /// A `CatenaError.kafka` for a librdkafka response code.
    static func rdkafka(_ err: rd_kafka_resp_err_t, _ context: String) -> CatenaError {
        .kafka(code: err.rawValue, message: "\(context): \(String(cString: rd_kafka_err2str(err)))")
    }

    /// A `CatenaError.kafka` from an `rd_kafka_error_t`, which it destroys.
    static func consuming(_ error: OpaquePointer, _ context: String) -> CatenaError {
        defer { rd_kafka_error_destroy(error) }
        return .kafka(code: rd_kafka_error_code(error).rawValue, message: "\(context): \(String(cString: rd_kafka_error_string(error)))")
    }
}

/// The text of a NUL-terminated error buffer filled by librdkafka.
func errorText(_ buffer: [CChar]) -> String {
    buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
}
