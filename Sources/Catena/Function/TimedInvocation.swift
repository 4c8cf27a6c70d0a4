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
        // The deadline is kept by one watchdog thread, not by a timer per call and not on Swift's cooperative
        // pool: it fires on time even when the pool's threads are busy, and costs nothing once the call is done.
        let ticket = DeadlineWatchdog.shared.schedule(after: max(seconds, 0.001)) { [weak first] in
            first?.offer(.failure(InvocationTimeout(seconds: seconds)))
        }
        let result = await first.value()
        DeadlineWatchdog.shared.cancel(ticket)
        work.cancel()
        return try result.get()
    }
}

/// One thread that runs actions at their deadlines; scheduling and cancelling are O(number pending), which
/// is the number of invocations in flight (one per worker).
final class DeadlineWatchdog: @unchecked Sendable {
    static let shared = DeadlineWatchdog()

    private let condition = NSCondition()
    private var pending: [UInt64: (deadline: Date, action: @Sendable () -> Void)] = [:]
    private var nextTicket: UInt64 = 0
    /// When the watchdog thread will wake next (nil: it waits for a signal), so scheduling a later deadline
    /// than that needs no wake-up: the common case, since every call's deadline is now + its timeout.
    private var wakesAt: Date?

    private init() {
        let thread = Thread { [unowned self] in self.loop() }
        thread.name = "catena-deadlines"
        thread.start()
    }

    func schedule(after seconds: Double, _ action: @escaping @Sendable () -> Void) -> UInt64 {
        condition.lock()
        nextTicket += 1
        let ticket = nextTicket
        let deadline = Date().addingTimeInterval(seconds)
        pending[ticket] = (deadline, action)
        if wakesAt.map({ deadline < $0 }) ?? true { condition.signal() }
        condition.unlock()
        return ticket
    }

    func cancel(_ ticket: UInt64) {
        condition.lock()
        pending[ticket] = nil
        condition.unlock()
    }

    private func loop() {
        while true {
            condition.lock()
            let now = Date()
            let due = pending.filter { $0.value.deadline <= now }
            for key in due.keys { pending[key] = nil }
            if due.isEmpty {
                if let earliest = pending.values.map(\.deadline).min() {
                    wakesAt = earliest
                    _ = condition.wait(until: earliest)
                } else {
                    wakesAt = nil
                    condition.wait()
                }
                wakesAt = Date.distantPast  // awake: the next schedule need not signal until it waits again
            }
            condition.unlock()
            for (_, entry) in due { entry.action() }
        }
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
