import Foundation

/// How a worker consumes and commits.
public struct WorkerOptions: Sendable {
    /// Most records taken per poll (a poll returns what is there without waiting for a full batch); outputs of
    /// one batch are awaited together, then the batch's offsets are committed (in one transaction when exactly-once).
    public var batchSize: Int = 2000
    /// A batch stops taking new records after this long, so slow functions still deliver and commit often;
    /// the rest is read again by the next poll.
    public var maxBatchSeconds: Double = 1
    /// A poll that returns less than a full batch keeps collecting records for up to this long, so at low rates
    /// one batch (one transaction when exactly-once, one round of acknowledgements) covers many records instead
    /// of one each. It bounds the latency a step adds while waiting; at saturation batches are full at once.
    /// Default: 50 ms exactly-once (a transaction costs the broker several requests), 20 ms at-least-once.
    public var batchLingerMs: Int32?

    /// `batchLingerMs`, or its default for the delivery mode.
    public var effectiveBatchLingerMs: Int32 { batchLingerMs ?? (delivery == .exactlyOnce ? 50 : 20) }
    /// At-least-once: input offsets are committed at most this often (and when the worker stops); between
    /// commits a crash repeats at most this much work.
    public var commitIntervalSeconds: Double = 0.1
    /// Longest blocking poll, in milliseconds (also how quickly a stop request is noticed when idle).
    public var pollTimeoutMs: Int32 = 100
    /// Identifies this worker in logs and dead letters; defaults to `host:pid`.
    public var workerID: String = "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier)"
    /// Exactly-once (transactions) or at-least-once.
    public var delivery: DeliveryMode = .exactlyOnce
    /// Stable identity of this worker instance, part of its `transactional.id`: a restarted instance with the
    /// same id fences its predecessor. Defaults to `CATENA_INSTANCE_ID`, else `host-pid`.
    public var instanceID: String = ProcessInfo.processInfo.environment["CATENA_INSTANCE_ID"]
        ?? "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)"
    /// A heartbeat file: created once the worker has partitions, rewritten every 5 s while it holds partitions
    /// and keeps polling, removed when it holds none or stops. `catena dev` waits for it; `catena health
    /// --file PATH --max-age S` (container health checks) tests its age.
    public var readyFile: String?
    /// Extra consumer properties (e.g. `max.poll.interval.ms`).
    public var consumerProperties: [String: String] = [:]
    /// Extra producer properties.
    public var producerProperties: [String: String] = [:]

    public init() {}
}
