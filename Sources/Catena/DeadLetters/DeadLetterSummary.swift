import Foundation

/// Dead letters grouped by failing step and error kind, with counts and the oldest and newest
/// dead-lettering time of each group (what `catena dlq list` prints).
public struct DeadLetterSummary: Sendable, Equatable {
    /// One (step, kind) group.
    public struct Group: Sendable, Equatable {
        public var step: String
        public var kind: String
        public var count: Int
        public var oldest: Date?
        public var newest: Date?
        /// How many are stubs (cannot be redriven).
        public var stubs: Int
        /// How many carry `catena_redrive_count` > 0.
        public var redriven: Int
        /// The message of the newest dead letter of the group.
        public var lastMessage: String
    }

    private var byKey: [String: Group] = [:]
    /// Dead letters added.
    public private(set) var total = 0

    public init() {}

    /// Counts `letter` in its group.
    public mutating func add(_ letter: DeadLetterRecord) {
        total += 1
        let step = letter.step ?? "?", kind = letter.kind ?? "?"
        let key = step + "\u{0}" + kind
        var g = byKey[key] ?? Group(step: step, kind: kind, count: 0, oldest: nil, newest: nil, stubs: 0, redriven: 0, lastMessage: "")
        g.count += 1
        if letter.isStub { g.stubs += 1 }
        if letter.redriveCount > 0 { g.redriven += 1 }
        if let t = letter.time {
            if g.oldest.map({ t < $0 }) ?? true { g.oldest = t }
            if g.newest.map({ t >= $0 }) ?? true { g.newest = t; g.lastMessage = letter.message ?? "" }
        } else if g.lastMessage.isEmpty {
            g.lastMessage = letter.message ?? ""
        }
        byKey[key] = g
    }

    /// Groups, largest first (then by step and kind).
    public var groups: [Group] {
        byKey.values.sorted { ($0.count, $1.step, $1.kind) > ($1.count, $0.step, $0.kind) }
    }

    /// A table for people.
    public func report(topic: String) -> String {
        var lines = ["dead letters on \(topic): \(total)"]
        guard total > 0 else { return lines[0] }
        lines.append("count\tstep\tkind\toldest\tnewest\tredriven\tstubs\tlast message")
        for g in groups {
            lines.append([String(g.count), g.step, g.kind, g.oldest.map(Timestamp.rfc3339) ?? "-", g.newest.map(Timestamp.rfc3339) ?? "-",
                          String(g.redriven), String(g.stubs), String(g.lastMessage.prefix(200))].joined(separator: "\t"))
        }
        return lines.joined(separator: "\n")
    }

    /// The same as JSON: `{"topic", "total", "groups": [{"step", "kind", "count", "oldest", "newest", ...}]}`.
    public func json(topic: String) -> [UInt8] {
        let groups: [[String: Any]] = groups.map { g in
            ["step": g.step, "kind": g.kind, "count": g.count, "oldest": g.oldest.map(Timestamp.rfc3339) ?? NSNull(),
             "newest": g.newest.map(Timestamp.rfc3339) ?? NSNull(), "stubs": g.stubs, "redriven": g.redriven, "last_message": g.lastMessage]
        }
        let object: [String: Any] = ["topic": topic, "total": total, "groups": groups]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return Array(data)
    }
}
