/// Errors raised by Catena itself (not by user functions).
public enum CatenaError: Error, Sendable, CustomStringConvertible, Equatable {
    /// A chain file or command line that cannot be used; the message names the file, field and problem.
    case configuration(String)
    /// A Kafka operation failed; `code` is librdkafka's error code.
    case kafka(code: Int32, message: String)
    /// A process or broker did not reach the expected state in time.
    case timeout(String)
    /// Anything else that stops a command.
    case failure(String)

    public var description: String {
        switch self {
        case .configuration(let m): return m
        case .kafka(let code, let m): return "kafka error \(code): \(m)"
        case .timeout(let m): return "timed out: \(m)"
        case .failure(let m): return m
        }
    }
}
