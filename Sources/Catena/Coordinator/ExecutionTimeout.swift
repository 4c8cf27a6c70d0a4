/// Where an execution's entry record was read on the entry topic. Unique per execution, so it tells apart
/// executions that share a correlation ID.
public struct EntryPosition: Codable, Sendable, Hashable {
    public var partition: Int32
    public var offset: Int64

    public init(partition: Int32, offset: Int64) {
        self.partition = partition
        self.offset = offset
    }
}

/// An execution that had no outcome (completed or dead-lettered) within its chain's execution timeout.
/// The coordinator marks it once, publishes it on `<chain>.timeouts` and lists the latest in status snapshots.
public struct ExecutionTimeout: Codable, Sendable, Equatable {
    /// The execution's correlation ID.
    public var correlationID: String
    /// The step it was last seen at: the furthest step whose input topic held one of its records (the first
    /// step when it never got further).
    public var lastStep: String
    /// Timestamp of its entry record (milliseconds since the epoch).
    public var entryMs: Int64
    /// `entryMs` plus the chain's execution timeout: it had no outcome by then.
    public var deadlineMs: Int64
    /// Where its entry record is.
    public var entry: EntryPosition

    // `correlationId`, so that snake-case coding (as in status snapshots) round-trips `correlation_id`.
    private enum CodingKeys: String, CodingKey {
        case correlationID = "correlationId", lastStep, entryMs, deadlineMs, entry
    }

    public init(correlationID: String, lastStep: String, entryMs: Int64, deadlineMs: Int64, entry: EntryPosition) {
        self.correlationID = correlationID
        self.lastStep = lastStep
        self.entryMs = entryMs
        self.deadlineMs = deadlineMs
        self.entry = entry
    }
}
