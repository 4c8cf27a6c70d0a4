import Foundation
import Testing
import Catena

/// The backoff schedule of `RetryPolicy`: attempt 1 never waits, attempt n waits
/// `initialBackoff * backoffRate^(n-2)` capped at `maxBackoff`, and there is no attempt after `maxAttempts`.
/// Values are powers of two (or the cap) so floating-point comparisons are exact.
struct RetryPolicyTests {
    @Test func standardPolicyWaitsTwiceAndThenGivesUp() {
        let policy = RetryPolicy.standard
        #expect(policy == RetryPolicy(maxAttempts: 3, initialBackoff: 0.2, backoffRate: 2, maxBackoff: 10))
        #expect(policy.delay(beforeAttempt: 1) == 0)
        #expect(policy.delay(beforeAttempt: 2) == 0.2)
        #expect(policy.delay(beforeAttempt: 3) == 0.4)
        #expect(policy.delay(beforeAttempt: 4) == nil)
        #expect(policy.schedule == [0.2, 0.4])
    }

    @Test func exponentialBackoffIsCappedAtMaxBackoff() {
        let policy = RetryPolicy(maxAttempts: 8, initialBackoff: 0.5, backoffRate: 2, maxBackoff: 5)
        #expect(policy.schedule == [0.5, 1, 2, 4, 5, 5, 5])
        #expect(policy.delay(beforeAttempt: 6) == 5)
        #expect(policy.delay(beforeAttempt: 8) == 5)
        #expect(policy.delay(beforeAttempt: 9) == nil)
    }

    @Test func scheduleMatchesDelayForEveryAttempt() {
        let policy = RetryPolicy(maxAttempts: 6, initialBackoff: 0.25, backoffRate: 4, maxBackoff: 100)
        let delays = (2...6).map { policy.delay(beforeAttempt: $0) }
        #expect(delays == [0.25, 1, 4, 16, 64])
        #expect(policy.schedule == [0.25, 1, 4, 16, 64])
        for attempt in 2...6 {
            #expect(policy.delay(beforeAttempt: attempt) == min(0.25 * pow(4, Double(attempt - 2)), 100))
        }
    }

    @Test func singleAttemptNeverRetries() {
        let policy = RetryPolicy(maxAttempts: 1, initialBackoff: 1, backoffRate: 2, maxBackoff: 10)
        #expect(policy.delay(beforeAttempt: 1) == 0)
        #expect(policy.delay(beforeAttempt: 2) == nil)
        #expect(policy.schedule.isEmpty)
    }

    @Test func attemptsOutsideThePolicyHaveNoDelay() {
        let policy = RetryPolicy.standard
        #expect(policy.delay(beforeAttempt: 0) == nil)
        #expect(policy.delay(beforeAttempt: -3) == nil)
        #expect(policy.delay(beforeAttempt: Int.max) == nil)
    }

    @Test func rateOneGivesConstantBackoff() {
        let policy = RetryPolicy(maxAttempts: 4, initialBackoff: 1.5, backoffRate: 1, maxBackoff: 10)
        #expect(policy.schedule == [1.5, 1.5, 1.5])
    }

    @Test func zeroInitialBackoffRetriesImmediately() {
        let policy = RetryPolicy(maxAttempts: 3, initialBackoff: 0, backoffRate: 2, maxBackoff: 10)
        #expect(policy.schedule == [0, 0])
    }

    @Test func manyAttemptsStayAtTheCap() {
        let policy = RetryPolicy(maxAttempts: 1000, initialBackoff: 1, backoffRate: 10, maxBackoff: 30)
        let schedule = policy.schedule
        #expect(schedule.count == 999)
        #expect(Array(schedule.prefix(3)) == [1, 10, 30])
        #expect(schedule.dropFirst(2).allSatisfy { $0 == 30 })
        #expect(policy.delay(beforeAttempt: 1000) == 30)
    }

    @Test func initialBackoffAboveTheCapIsCapped() {
        // The loader refuses such a policy; the type still never waits longer than maxBackoff.
        let policy = RetryPolicy(maxAttempts: 3, initialBackoff: 10, backoffRate: 2, maxBackoff: 4)
        #expect(policy.schedule == [4, 4])
    }
}
