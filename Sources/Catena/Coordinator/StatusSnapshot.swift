import Foundation

/// What the coordinator knows about a chain's executions at one moment; published as JSON on `<chain>.status`.
public struct StatusSnapshot: Codable, Sendable, Equatable {
    /// Dead letters grouped by step, kind and message.
    public struct FailureGroup: Codable, Sendable, Equatable {
        public var step: String
        public var kind: String
        public var message: String
        public var count: Int

        public init(step: String, kind: String, message: String, count: Int) {
            self.step = step
            self.kind = kind
            self.message = message
            self.count = count
        }
    }

    public var chain: String
    /// Milliseconds since the epoch when the snapshot was taken.
    public var updatedAtMs: Int64
    /// Entry records seen (executions started).
    public var started: Int
    public var inFlight: Int
    public var completed: Int
    public var failed: Int
    /// Executions without an outcome within the chain's execution timeout (a terminal status: they are not in
    /// flight, and an outcome that arrives later does not make them completed or failed).
    public var timedOut: Int
    /// Outcomes that arrived for executions already timed out.
    public var late: Int
    /// Outcomes that matched no pending execution (a duplicate from reprocessing, or an outcome for a record
    /// produced straight into a later step's topic).
    public var unmatchedOutcomes: Int
    public var failures: [FailureGroup]
    /// The chain's execution timeout (0 = none).
    public var executionTimeoutSeconds: Double
    /// The latest timed-out executions (at most `ExecutionTracker.recentTimeoutsKept`), latest deadline first.
    public var recentTimeouts: [ExecutionTimeout]
    public var latencyP50Ms: Int64?
    public var latencyP95Ms: Int64?
    public var latencyP99Ms: Int64?
    public var latencyMaxMs: Int64?
    /// Timestamp of the first entry record and of the last outcome, for throughput.
    public var firstEntryMs: Int64?
    public var lastOutcomeMs: Int64?

    /// Executions per second from the first entry to the last outcome.
    public var throughput: Double? {
        guard let a = firstEntryMs, let b = lastOutcomeMs, b > a else { return nil }
        return Double(completed + failed) / (Double(b - a) / 1000)
    }

    public func json() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys]
        return Array((try? encoder.encode(self)) ?? Data())
    }

    public static func decode(_ bytes: [UInt8]) throws -> StatusSnapshot {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(StatusSnapshot.self, from: Data(bytes))
    }

    /// A human-readable report.
    public func report() -> String {
        func ms(_ v: Int64?) -> String { v.map { "\($0) ms" } ?? "-" }
        var lines = [
            "chain \(chain)",
            "  started      \(started)",
            "  in flight    \(inFlight)",
            "  completed    \(completed)",
            "  failed       \(failed) (dead-lettered)",
        ]
        if executionTimeoutSeconds > 0 || timedOut > 0 {
            let within = executionTimeoutSeconds > 0 ? "no outcome within \(Self.seconds(executionTimeoutSeconds))" : "no outcome in time"
            lines.append("  timed out    \(timedOut) (\(within)\(late > 0 ? "; \(late) finished late" : ""))")
        }
        if unmatchedOutcomes > 0 { lines.append("  unmatched    \(unmatchedOutcomes) outcomes without a pending execution") }
        lines.append("  latency      p50 \(ms(latencyP50Ms))  p95 \(ms(latencyP95Ms))  p99 \(ms(latencyP99Ms))  max \(ms(latencyMaxMs))")
        if let t = throughput { lines.append(String(format: "  throughput   %.\(t < 10 ? 2 : 0)f executions/s (first entry to last outcome)", t)) }
        if !failures.isEmpty {
            lines.append("  dead letters by step and reason:")
            for f in failures { lines.append("    \(f.count)\t\(f.step)\t\(f.kind)\t\(f.message)") }
        }
        if !recentTimeouts.isEmpty {
            lines.append("  latest timed out (correlation ID, step last seen at, deadline):")
            for t in recentTimeouts {
                let deadline = Timestamp.rfc3339(Date(timeIntervalSince1970: Double(t.deadlineMs) / 1000))
                lines.append("    \(t.correlationID)\t\(t.lastStep)\t\(deadline)")
            }
        }
        return lines.joined(separator: "\n")
    }

    /// `300 s`, `2.5 s`.
    private static func seconds(_ v: Double) -> String {
        v == v.rounded() ? "\(Int64(v)) s" : "\(v) s"
    }
}
