import Foundation

/// Raised when an invocation runs past its step's timeout.
public struct InvocationTimeout: Error, Sendable, CustomStringConvertible {
    public var seconds: Double
    public var description: String { "function did not finish within \(seconds) s" }
}

/// Runs one function call with a deadline. A call that overruns is abandoned (cancelled, and no longer
/// awaited) so a hung function cannot stall the worker; its eventual result is ignored.
enum TimedInvocation {
    static func run(seconds: Double, _ body: @escaping @Sendable () async throws -> [UInt8]) async throws -> [UInt8] {
        let first = FirstResult()
        let work = Task {
            do { first.offer(.success(try await body())) } catch { first.offer(.failure(error)) }
        }
        // The deadline fires on a dispatch queue, not on Swift's cooperative pool, so it fires on time even
        // when the pool's threads are busy.
        let timer = DispatchWorkItem { first.offer(.failure(InvocationTimeout(seconds: seconds))) }
        DispatchQueue.global().asyncAfter(deadline: .now() + max(seconds, 0.001), execute: timer)
        let result = await first.value()
        work.cancel()
        timer.cancel()
        return try result.get()
    }
}

/// Holds the first of several results offered concurrently and hands it to one waiter.
final class FirstResult: @unchecked Sendable {
    private let lock = NSLock()
    private var result: Result<[UInt8], any Error>?
    private var waiter: CheckedContinuation<Result<[UInt8], any Error>, Never>?

    func offer(_ r: Result<[UInt8], any Error>) {
        lock.lock()
        guard result == nil else { lock.unlock(); return }
        result = r
        let w = waiter
        waiter = nil
        lock.unlock()
        w?.resume(returning: r)
    }

    func value() async -> Result<[UInt8], any Error> {
        await withCheckedContinuation { c in
            lock.lock()
            if let r = result { lock.unlock(); c.resume(returning: r) } else { waiter = c; lock.unlock() }
        }
    }
}
