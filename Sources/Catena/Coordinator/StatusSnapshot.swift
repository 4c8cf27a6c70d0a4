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
    /// Executions in flight for longer than the chain's execution timeout.
    public var timedOut: Int
    /// Outcomes that matched no pending execution (a duplicate from reprocessing, or an outcome for a record
    /// produced straight into a later step's topic).
    public var unmatchedOutcomes: Int
    public var failures: [FailureGroup]
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
            "  in flight    \(inFlight)" + (timedOut > 0 ? " (\(timedOut) past the execution timeout)" : ""),
            "  completed    \(completed)",
            "  failed       \(failed) (dead-lettered)",
        ]
        if unmatchedOutcomes > 0 { lines.append("  unmatched    \(unmatchedOutcomes) outcomes without a pending execution") }
        lines.append("  latency      p50 \(ms(latencyP50Ms))  p95 \(ms(latencyP95Ms))  p99 \(ms(latencyP99Ms))  max \(ms(latencyMaxMs))")
        if let t = throughput { lines.append(String(format: "  throughput   %.0f executions/s (first entry to last outcome)", t)) }
        if !failures.isEmpty {
            lines.append("  dead letters by step and reason:")
            for f in failures { lines.append("    \(f.count)\t\(f.step)\t\(f.kind)\t\(f.message)") }
        }
        return lines.joined(separator: "\n")
    }
}
