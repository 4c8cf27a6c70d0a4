import Foundation

/// A value guarded by a lock, shareable across threads.
public final class Atomic<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    public init(_ value: Value) { self.value = value }

    public func load() -> Value {
        lock.lock(); defer { lock.unlock() }
        return value
    }

    public func store(_ newValue: Value) {
        lock.lock(); defer { lock.unlock() }
        value = newValue
    }

    /// Applies `body` to the value under the lock and returns its result.
    @discardableResult
    public func withValue<R>(_ body: (inout Value) -> R) -> R {
        lock.lock(); defer { lock.unlock() }
        return body(&value)
    }
}
