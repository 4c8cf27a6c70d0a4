import Catena
import Foundation
import Testing

/// Jitter and the choice of which failures are retried, in the policy and in chain files.
struct RetryJitterTests {
    @Test func fullJitterWaitsARandomFractionOfTheComputedWait() {
        let policy = RetryPolicy(maxAttempts: 4, initialBackoff: 1, backoffRate: 2, maxBackoff: 10, jitter: .full)
        #expect(policy.wait(beforeAttempt: 3, random: { 0.25 }) == 0.5)
        #expect(policy.wait(beforeAttempt: 3, random: { 1 }) == 2)
        #expect(policy.wait(beforeAttempt: 5) == nil)
        for _ in 0..<100 { #expect((0...2).contains(policy.wait(beforeAttempt: 3)!)) }
    }

    @Test func noJitterWaitsExactly() {
        let policy = RetryPolicy(maxAttempts: 3, initialBackoff: 1, backoffRate: 2, maxBackoff: 10)
        #expect(policy.jitter == .none && policy.retryOn == [.error, .timeout])
        #expect(policy.wait(beforeAttempt: 3, random: { 0 }) == 2)
    }

    @Test func chainFilesSetJitterAndRetryOn() throws {
        let chain = try ChainFileLoader.parse(text: """
            chain: c
            defaults:
              retry: {jitter: full, retry_on: [timeout]}
            steps:
              - {name: a, function: f}
              - {name: b, function: f, retry: {jitter: none, retry_on: [error, timeout]}}
            """, format: .yaml, fileName: "c.yaml", baseDirectory: "/")
        #expect(chain.steps[0].retry.jitter == .full && chain.steps[0].retry.retryOn == [.timeout])
        #expect(chain.steps[1].retry.jitter == .none && chain.steps[1].retry.retryOn == [.error, .timeout])
    }

    @Test(arguments: [
        ("steps: [{name: a, function: f, retry: {jitter: some}}]", "steps[0].retry.jitter: must be none or full"),
        ("steps: [{name: a, function: f, retry: {retry_on: [errors]}}]", "steps[0].retry.retry_on[0]: must be error or timeout"),
        ("steps: [{name: a, function: f, retry: {retry_on: error}}]", "steps[0].retry.retry_on: must be a list of error and/or timeout"),
    ])
    func badRetrySettingsAreRefused(_ steps: String, _ message: String) {
        #expect {
            _ = try ChainFileLoader.parse(text: "chain: c\n\(steps)\n", format: .yaml, fileName: "c.yaml", baseDirectory: "/")
        } throws: { error in
            String(describing: error).contains("c.yaml") && String(describing: error).contains(message)
        }
    }
}
