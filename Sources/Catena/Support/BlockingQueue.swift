import Dispatch

/// Runs blocking calls (librdkafka polls, commits, closes) on a dedicated serial dispatch queue, so they
/// never occupy a thread of Swift's cooperative pool, and lets async code await their result.
public final class BlockingQueue: Sendable {
    private let queue: DispatchQueue

    public init(label: String) { queue = DispatchQueue(label: label) }

    /// Runs `body` on the queue and returns its result.
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }

    /// Runs a non-throwing `body` on the queue and returns its result.
    public func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: body()) }
        }
    }
}
