import Foundation

/// One thread that runs actions at their deadlines: invocation deadlines and the worker's keep-alive ticks.
/// It is not on Swift's cooperative pool, so it fires on time even when the pool's threads are busy.
/// Scheduling and cancelling are O(number pending), a handful per worker.
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
