/// How a step retries a function that failed with a retryable error, modelled on Step Functions' `Retry`.
///
/// `maxAttempts` counts every attempt including the first, so `maxAttempts == 1` means "never retry".
/// The wait before attempt `n` (n >= 2) is `initialBackoff * backoffRate^(n-2)`, capped at `maxBackoff`.
public struct RetryPolicy: Sendable, Equatable {
    /// Attempts in total, the first included (>= 1).
    public var maxAttempts: Int
    /// Seconds to wait before the second attempt (>= 0).
    public var initialBackoff: Double
    /// Factor applied to the wait after each further failure (>= 1).
    public var backoffRate: Double
    /// Upper bound for any single wait, in seconds (>= initialBackoff).
    public var maxBackoff: Double
    /// `.full` waits a random time between 0 and the computed wait (Step Functions' `FULL` jitter), so
    /// retries of many records do not fire together; `.none` waits exactly the computed time.
    public var jitter: Jitter
    /// Which failures are retried: function errors (`StepFailure.retryable` or any other thrown error),
    /// timeouts, or both. A failure not listed is dead-lettered at once.
    public var retryOn: Set<FailureClass>
    /// Longest wait, in seconds, that is spent in place (the partition waits); a longer wait moves the record
    /// to the step's delay path (`<chain>.<step>.retry`) so other keys keep flowing (`in_place_max`, default 1).
    public var inPlaceMax: Double

    /// Randomisation of the waits between attempts.
    public enum Jitter: String, Sendable, CaseIterable { case none, full }
    /// A kind of failure a policy may retry.
    public enum FailureClass: String, Sendable, CaseIterable { case error, timeout }

    public init(maxAttempts: Int = 3, initialBackoff: Double = 0.2, backoffRate: Double = 2.0, maxBackoff: Double = 10,
                jitter: Jitter = .none, retryOn: Set<FailureClass> = [.error, .timeout], inPlaceMax: Double = 1) {
        self.maxAttempts = maxAttempts
        self.initialBackoff = initialBackoff
        self.backoffRate = backoffRate
        self.maxBackoff = maxBackoff
        self.jitter = jitter
        self.retryOn = retryOn
        self.inPlaceMax = inPlaceMax
    }

    /// Whether a wait of `seconds` before the next attempt is too long to spend in place: the record then
    /// goes to the delay path instead.
    public func movesToDelayPath(wait seconds: Double) -> Bool { seconds > inPlaceMax }

    /// The wait before `attempt` with the policy's jitter applied (`random` returns a value in 0...1).
    public func wait(beforeAttempt attempt: Int, random: () -> Double = { Double.random(in: 0...1) }) -> Double? {
        guard let d = delay(beforeAttempt: attempt) else { return nil }
        return jitter == .full ? d * random() : d
    }

    /// The default policy: 3 attempts, 0.2 s, doubling, at most 10 s.
    public static let standard = RetryPolicy()

    /// Seconds to wait before `attempt` (1-based); `nil` when the policy allows no such attempt.
    /// The first attempt never waits.
    public func delay(beforeAttempt attempt: Int) -> Double? {
        guard attempt >= 1, attempt <= maxAttempts else { return nil }
        if attempt == 1 { return 0 }
        var wait = initialBackoff
        var n = 2
        while n < attempt, wait < maxBackoff {
            wait *= backoffRate
            n += 1
        }
        return min(wait, maxBackoff)
    }

    /// The waits before attempts 2...maxAttempts, in order.
    public var schedule: [Double] {
        guard maxAttempts >= 2 else { return [] }
        return (2...maxAttempts).compactMap { delay(beforeAttempt: $0) }
    }
}
