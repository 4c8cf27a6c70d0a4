/// What a worker guarantees about its outputs, per input record.
public enum DeliveryMode: String, Sendable, CaseIterable {
    /// Consume, produce and commit the input offsets as one Kafka transaction: each input's outcome appears
    /// exactly once for `read_committed` readers, even across crashes and rebalances. Needs a broker with
    /// transactions.
    case exactlyOnce = "exactly-once"
    /// An idempotent producer and a commit after the broker acknowledged the batch's outputs: nothing is
    /// lost, but a crash mid-batch repeats that batch's outputs.
    case atLeastOnce = "at-least-once"
}
