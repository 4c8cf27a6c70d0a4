/// Which keys of each input partition have records on the delay path, and which input offsets those records
/// came from: the same-key ordering rule's bookkeeping.
///
/// A record of key K may run only when no record of K with a smaller input offset is on the delay path; a
/// new input record of K behind one is moved to the delay path too ("waiting"). Records with a null key are
/// not ordered against each other and are not tracked. Counts, not a set, so a record present twice (an
/// aborted write a broker still shows) is released only when both copies are consumed.
///
/// Pure value type; `DelayPath` keeps a working copy and the last committed one.
public struct DelayLedger: Sendable, Equatable {
    /// partition -> key -> input offset -> copies on the delay path
    private var entries: [Int32: [[UInt8]: [Int64: Int]]] = [:]

    public init() {}

    /// Records a record of `key` from input `offset` of `partition` put on the delay path.
    public mutating func add(partition: Int32, key: [UInt8]?, offset: Int64) {
        guard let key else { return }
        entries[partition, default: [:]][key, default: [:]][offset, default: 0] += 1
    }

    /// Records one copy of that record taken off the delay path (it runs, or is dead-lettered).
    public mutating func remove(partition: Int32, key: [UInt8]?, offset: Int64) {
        guard let key, var offsets = entries[partition]?[key], let n = offsets[offset] else { return }
        if n > 1 { offsets[offset] = n - 1 } else { offsets[offset] = nil }
        entries[partition]![key] = offsets.isEmpty ? nil : offsets
        if entries[partition]!.isEmpty { entries[partition] = nil }
    }

    /// Whether a record of `key` from an input offset before `offset` is on the delay path of `partition`.
    public func hasEarlier(partition: Int32, key: [UInt8]?, than offset: Int64) -> Bool {
        guard let key, let offsets = entries[partition]?[key] else { return false }
        return offsets.keys.contains { $0 < offset }
    }

    /// Forgets `partition` (it was revoked: its next owner rebuilds it from the retry partition).
    public mutating func drop(partition: Int32) { entries[partition] = nil }

    /// Keys with records on the delay path of `partition`.
    public func blockedKeys(partition: Int32) -> Int { entries[partition]?.count ?? 0 }
    /// Records on the delay path of `partition`, copies counted.
    public func count(partition: Int32) -> Int { entries[partition]?.values.reduce(0) { $0 + $1.values.reduce(0, +) } ?? 0 }
}
