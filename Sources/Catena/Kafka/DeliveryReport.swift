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
/// `expect()` reserves a slot before each send; the delivery callback fills it; `wait()` returns once
/// every reserved slot is filled.
final class DeliveryBatch: @unchecked Sendable {
    private let lock = NSLock()
    private var reports: [DeliveryReport?] = []
    private var outstanding = 0
    private var waiter: CheckedContinuation<[DeliveryReport], Never>?

    /// Reserves the slot for the next record and returns its index.
    func expect() -> Int {
        lock.lock(); defer { lock.unlock() }
        reports.append(nil)
        outstanding += 1
        return reports.count - 1
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

    /// Waits until every reserved slot has its report.
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

/// The per-message opaque handed to librdkafka: which batch and slot a delivery report belongs to.
final class DeliveryTicket {
    let batch: DeliveryBatch
    let index: Int
    init(batch: DeliveryBatch, index: Int) {
        self.batch = batch
        self.index = index
    }
}
