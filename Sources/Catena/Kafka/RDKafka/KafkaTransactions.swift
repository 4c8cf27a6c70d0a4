import CRdKafka

/// How a failed transactional call should be handled, from librdkafka's error flags.
public struct TransactionError: Error, Sendable, CustomStringConvertible {
    public var code: Int32
    public var message: String
    /// The producer cannot continue (e.g. fenced by a newer instance): stop and let a fresh one take over.
    public var isFatal: Bool
    /// The current transaction must be aborted; its input is then processed again.
    public var requiresAbort: Bool
    /// The same call may simply be retried.
    public var isRetriable: Bool

    public var description: String {
        "\(message) (code \(code)\(isFatal ? ", fatal" : "")\(requiresAbort ? ", abort required" : "")\(isRetriable ? ", retriable" : ""))"
    }

    init(code: Int32, message: String, isFatal: Bool = false, requiresAbort: Bool = false, isRetriable: Bool = false) {
        (self.code, self.message, self.isFatal, self.requiresAbort, self.isRetriable) = (code, message, isFatal, requiresAbort, isRetriable)
    }

    /// Takes ownership of `error` and destroys it.
    init(consuming error: OpaquePointer, context: String) {
        code = rd_kafka_error_code(error).rawValue
        message = "\(context): \(String(cString: rd_kafka_error_string(error)))"
        isFatal = rd_kafka_error_is_fatal(error) != 0
        requiresAbort = rd_kafka_error_txn_requires_abort(error) != 0
        isRetriable = rd_kafka_error_is_retriable(error) != 0
        rd_kafka_error_destroy(error)
    }
}

/// The transactional calls of a producer created with a `transactional.id`. Every call blocks (up to
/// `timeoutMs`); run them off Swift's cooperative pool.
extension KafkaProducer {
    /// Registers the transactional id with the broker, fencing any older producer with the same id.
    public func initTransactions(timeoutMs: Int32 = 30_000) throws(TransactionError) {
        try check(rd_kafka_init_transactions(rawHandle, timeoutMs), "init_transactions")
    }

    public func beginTransaction() throws(TransactionError) {
        try check(rd_kafka_begin_transaction(rawHandle), "begin_transaction")
    }

    /// Adds the consumer's input offsets (next offset to read) to the transaction, with the consumer's group
    /// metadata so a zombie from an older group generation is fenced.
    public func sendOffsetsToTransaction(_ offsets: [TopicPartition: Int64], consumer: KafkaConsumer, timeoutMs: Int32 = 30_000) throws(TransactionError) {
        guard !offsets.isEmpty else { return }
        let list = PartitionList(offsets)
        let metadata = consumer.groupMetadata()
        defer { rd_kafka_consumer_group_metadata_destroy(metadata) }
        try check(list.withPointer { rd_kafka_send_offsets_to_transaction(rawHandle, $0, metadata, timeoutMs) }, "send_offsets_to_transaction")
    }

    public func commitTransaction(timeoutMs: Int32 = 30_000) throws(TransactionError) {
        try check(rd_kafka_commit_transaction(rawHandle, timeoutMs), "commit_transaction")
    }

    public func abortTransaction(timeoutMs: Int32 = 30_000) throws(TransactionError) {
        try check(rd_kafka_abort_transaction(rawHandle, timeoutMs), "abort_transaction")
    }

    private func check(_ error: OpaquePointer?, _ context: String) throws(TransactionError) {
        if let error { throw TransactionError(consuming: error, context: context) }
    }
}

extension KafkaConsumer {
    /// The consumer's group metadata (caller destroys it).
    func groupMetadata() -> OpaquePointer {
        rd_kafka_consumer_group_metadata(rawHandle)
    }

    /// Throws an error that requires aborting the transaction unless the consumer has held `partitions` (those
    /// of the batch about to be committed) throughout since it polled the batch, when `revocationCount` was
    /// `revocationsAtPoll`. Otherwise another member may process the same records again: librdkafka considers
    /// the assignment lost (no successful heartbeat within `session.timeout.ms`, e.g. the process was stopped,
    /// or `max.poll.interval.ms` exceeded; it flags this as soon as the process runs again and, see
    /// `applyRebalance`, until the next poll), or a rebalance since took partitions away (even if they came
    /// back). Apache Kafka would refuse such a commit itself (it aborts transactions open past
    /// `transaction.timeout.ms` and checks the group generation of transactional offset commits); a broker
    /// that does neither (Tansu) would take it.
    public func ensureAssignmentHeld(_ partitions: [TopicPartition], revocationsAtPoll: Int) throws(TransactionError) {
        let lost = rd_kafka_assignment_lost(rawHandle) != 0
        let held = Set(assignment())
        let gone = partitions.filter { !held.contains($0) }
        guard lost || !gone.isEmpty || revocationCount != revocationsAtPoll else { return }
        let why = lost ? "the consumer lost its partitions (group session timed out)"
            : gone.isEmpty ? "a rebalance took partitions away since the batch was polled"
            : "partitions \(gone.map { "\($0.topic)[\($0.partition)]" }) were revoked"
        throw TransactionError(code: RD_KAFKA_RESP_ERR__ASSIGNMENT_LOST.rawValue,
                               message: "\(why); not committing a batch another member may process again", requiresAbort: true)
    }

    /// Moves every assigned partition back to its last committed offset (after an aborted transaction, so
    /// the aborted batch is read and processed again). Partitions without a commit go to the group's reset point.
    public func rewindToCommitted(timeoutMs: Int32 = 10_000) throws {
        let assigned = assignment()
        guard !assigned.isEmpty else { return }
        let committed = try committedOffsets(assigned, timeoutMs: timeoutMs)
        try seek(Dictionary(uniqueKeysWithValues: assigned.map { ($0, committed[$0] ?? Int64(RD_KAFKA_OFFSET_BEGINNING)) }), timeoutMs: timeoutMs)
    }

    /// Moves the given partitions to the given offsets (the next record to read).
    public func seek(_ offsets: [TopicPartition: Int64], timeoutMs: Int32 = 10_000) throws {
        guard !offsets.isEmpty else { return }
        if let error = PartitionList(offsets).withPointer({ rd_kafka_seek_partitions(rawHandle, $0, timeoutMs) }) {
            throw CatenaError.consuming(error, "seek")
        }
    }
}
