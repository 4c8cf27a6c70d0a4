import Foundation

/// The broker's answer for one produced record.
public struct DeliveryReport: Sendable, Equatable {
    /// 0 when the record was acknowledged, else librdkafka's error code.
    public var errorCode: Int32
    /// Error text, empty on success.
    public var errorMessage: String
    public var partition: Int32
    public var offset: Int64
    /// True when librdkafka refused the record before it was queued (e.g. larger than `message.max.bytes`):
    /// it never reached the broker, so an open transaction is unaffected.
    public var refusedLocally: Bool = false

    /// Whether Kafka refused this record for what it is (too large, invalid): sending it again cannot succeed,
    /// so it is replaced (output -> dead letter -> stub). Any other failure (a timeout, a broker away) is
    /// transient: the batch is processed again instead, and nothing is dead-lettered for it.
    public var isPermanentRefusal: Bool {
        // INVALID_MSG 2, INVALID_MSG_SIZE 4, MSG_SIZE_TOO_LARGE 10, RECORD_LIST_TOO_LARGE 18, INVALID_RECORD 87
        !succeeded && (refusedLocally || [2, 4, 10, 18, 87].contains(errorCode))
    }

    /// Whether the broker acknowledged the record.
    public var succeeded: Bool { errorCode == 0 }
}

/// Collects the delivery reports of a group of records sent together, and lets one task await them all.
///
/// Made for a known number of records; the delivery callback fills slot `i` for record `i`; `wait()`
/// returns once every slot is filled. The per-message opaque handed to librdkafka points into one
/// allocation of slots (`opaque(for:)`), not at an object per record.
final class DeliveryBatch: @unchecked Sendable {
    /// What a message's opaque points at: its batch (unretained: the sender keeps the batch alive in `wait()`
    /// until the last report is in) and its index.
    struct Slot {
        var batch: UnsafeMutableRawPointer
        var index: Int
    }

    private let lock = NSLock()
    private var reports: [DeliveryReport?]
    private var outstanding: Int
    private var waiter: CheckedContinuation<[DeliveryReport], Never>?
    private let slots: UnsafeMutablePointer<Slot>
    private let count: Int

    /// A batch of `count` records, each reported once with `complete`.
    init(count: Int) {
        self.count = count
        reports = Array(repeating: nil, count: count)
        outstanding = count
        slots = .allocate(capacity: max(count, 1))
        let me = Unmanaged.passUnretained(self).toOpaque()
        for i in 0..<count { (slots + i).initialize(to: Slot(batch: me, index: i)) }
    }

    deinit {
        slots.deinitialize(count: count)
        slots.deallocate()
    }

    /// The opaque for record `index`: valid while the batch lives, which it does until every report is in.
    func opaque(for index: Int) -> UnsafeMutableRawPointer { UnsafeMutableRawPointer(slots + index) }

    /// Records the report of the record whose opaque is `opaque` (from a delivery callback).
    static func complete(opaque: UnsafeMutableRawPointer, _ report: DeliveryReport) {
        let slot = opaque.assumingMemoryBound(to: Slot.self).pointee
        Unmanaged<DeliveryBatch>.fromOpaque(slot.batch).takeUnretainedValue().complete(slot.index, report)
    }

    /// Records the report for slot `index`.
    func complete(_ index: Int, _ report: DeliveryReport) {
        lock.lock()
        reports[index] = report
        outstanding -= 1
        var resume: (CheckedContinuation<[DeliveryReport], Never>, [DeliveryReport])?
        if outstanding == 0, let w = waiter {
            waiter = nil
            resume = (w, reports.map { $0! })
        }
        lock.unlock()
        if let (w, r) = resume { w.resume(returning: r) }
    }

    /// Waits until every slot has its report.
    func wait() async -> [DeliveryReport] {
        await withCheckedContinuation { continuation in
            lock.lock()
            if outstanding == 0 {
                let r = reports.map { $0! }
                lock.unlock()
                continuation.resume(returning: r)
            } else {
                waiter = continuation
                lock.unlock()
            }
        }
    }
}
