/// One step of a chain: the function it runs, how it retries and how long one invocation may take.
public struct StepDefinition: Sendable, Equatable {
    /// Unique within the chain; part of the step's input topic name and consumer group.
    public var name: String
    /// The registered function name, e.g. `flights.parse` or `builtin.identity`.
    public var function: String
    /// Retry policy for retryable failures.
    public var retry: RetryPolicy
    /// Seconds one invocation may run before it is abandoned and counted as a (retryable) timeout.
    public var timeoutSeconds: Double
    /// Free-form string parameters handed to the function's factory (e.g. a data directory).
    public var params: [String: String]

    public init(name: String, function: String, retry: RetryPolicy = .standard, timeoutSeconds: Double = 30, params: [String: String] = [:]) {
        self.name = name
        self.function = function
        self.retry = retry
        self.timeoutSeconds = timeoutSeconds
        self.params = params
    }
}
