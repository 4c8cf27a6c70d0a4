/// A function that a chain step runs: payload bytes in, payload bytes out.
///
/// Implementations are created once per worker by a factory registered in a `FunctionRegistry`, and then
/// called for every record of the step, one at a time per worker. Throw a `StepFailure` to say whether the
/// failure is worth retrying; any other thrown error is treated as retryable.
public protocol CatenaFunction: Sendable {
    /// Runs the function on one record's payload.
    /// - Returns: the payload of the output record (sent to the next step, or to `<chain>.output`).
    /// - Throws: `StepFailure` (retryable or fatal), or any error (treated as retryable).
    func run(_ payload: [UInt8], context: StepContext) async throws -> [UInt8]

    /// The `content-type` of the output; `nil` (the default) keeps the input's.
    var outputContentType: String? { get }
}

extension CatenaFunction {
    public var outputContentType: String? { nil }
}

/// What a function knows about the record it is processing.
public struct StepContext: Sendable {
    /// The execution's correlation ID (the record key).
    public var correlationID: String
    /// Chain name.
    public var chain: String
    /// Step name.
    public var step: String
    /// 1-based attempt number of this invocation.
    public var attempt: Int
    /// The incoming record's headers, in order (duplicates included).
    public var headers: [KafkaHeader]

    public init(correlationID: String, chain: String, step: String, attempt: Int, headers: [KafkaHeader]) {
        self.correlationID = correlationID
        self.chain = chain
        self.step = step
        self.attempt = attempt
        self.headers = headers
    }

    /// The value of the first header called `name`, as UTF-8 text.
    public func header(_ name: String) -> String? {
        headers.first { $0.name == name }?.value.map { String(decoding: $0, as: UTF8.self) }
    }
}

/// A failure a function reports on purpose, saying whether another attempt could succeed.
public struct StepFailure: Error, Sendable, CustomStringConvertible {
    /// Whether the worker should retry (per the step's retry policy) or dead-letter at once.
    public enum Kind: String, Sendable {
        /// A transient failure: retry with backoff until attempts run out.
        case retryable
        /// The input can never succeed (bad data, business rule): dead-letter at once.
        case fatal
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// A failure that should be retried.
    public static func retryable(_ message: String) -> StepFailure { StepFailure(.retryable, message) }
    /// A failure that must not be retried.
    public static func fatal(_ message: String) -> StepFailure { StepFailure(.fatal, message) }

    public var description: String { "\(kind.rawValue): \(message)" }
}
