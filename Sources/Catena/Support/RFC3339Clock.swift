import Foundation

/// The current time as RFC 3339 bytes (`Timestamp.rfc3339Bytes`), built once per millisecond.
///
/// A busy worker stamps `ce_time` on about a hundred records a millisecond; they share one array instead of
/// each formatting (and allocating) its own.
final class RFC3339Clock: @unchecked Sendable {
    private let lock = NSLock()
    private var lastMs = Int64.min
    private var last: [UInt8] = []

    /// Now, as `Timestamp.rfc3339Bytes(Date())` would write it.
    func now() -> [UInt8] {
        let ms = Timestamp.nowMs()
        lock.lock()
        defer { lock.unlock() }
        if ms != lastMs {
            last = Timestamp.rfc3339Bytes(ms: ms)
            lastMs = ms
        }
        return last
    }
}
