import Foundation

/// What one chain step is run with in a bench scenario.
public enum BenchPeer: String, Sendable, CaseIterable {
    /// `catena worker --delivery exactly-once` (a transaction per batch).
    case catenaExactlyOnce = "catena-eos"
    /// `catena worker --delivery at-least-once` (commit after the outputs are acknowledged).
    case catenaAtLeastOnce = "catena-alo"
    /// bench/relay.c: consume -> produce -> flush -> commit, directly on librdkafka.
    case cRelay = "c-relay"
    /// bench/relay.c --transactional: one transaction per batch.
    case cRelayTransactional = "c-relay-eos"
    /// bench/relay.c --envelope: the same relay writing Catena's envelope headers (CloudEvents attributes plus
    /// Catena's) on every output, as a Catena step does: the limit for the same work per record.
    case cRelayEnvelope = "c-relay-envelope"
    /// bench/relay.py: the confluent-kafka consume/produce/flush/commit loop.
    case pythonRelay = "python-relay"

    /// The peers every run compares.
    public static let standard: [BenchPeer] = [.catenaExactlyOnce, .catenaAtLeastOnce, .cRelay, .cRelayEnvelope, .pythonRelay]

    public var isCatena: Bool { self == .catenaExactlyOnce || self == .catenaAtLeastOnce }
    public var usesCRelay: Bool { self == .cRelay || self == .cRelayTransactional || self == .cRelayEnvelope }
}

/// Options of `catena bench`.
public struct BenchOptions: Sendable {
    /// Records of the saturation (throughput) phase.
    public var records = 100_000
    /// Chain lengths to run.
    public var chainLengths = [1, 3, 5]
    public var peers = BenchPeer.standard
    /// Offered rate of the latency phase, records/s.
    public var rate: Double = 1000
    /// Length of the latency phase in seconds (records = rate x seconds).
    public var latencySeconds: Double = 10
    /// Partitions of every topic.
    public var partitions = 6
    public var payloadBytes = 200
    /// Records sent through the whole chain before measuring, to wait until every process has its partitions.
    public var warmupRecords = 100
    /// Rounds: every scenario runs once per round, rounds one after another, and each figure reported is the
    /// median over the rounds (a shared machine moves single runs by tens of percent).
    public var repeats = 1
    /// The `catena` executable started as worker.
    public var executable: String
    /// The repository (holds bench/relay.c, bench/relay.py and .deps/).
    public var root: String
    public var logDirectory: String?
    /// The Markdown table is written here.
    public var outputPath = "BENCHMARKS-latest.md"
    /// Also replace the latest-run section of this file (BENCHMARKS.md) with the table.
    public var benchmarksPath: String?
    /// The command line, as recorded with the results.
    public var commandLine = "catena bench"

    public init(executable: String, root: String) {
        self.executable = executable
        self.root = root
    }

    /// `--quick`: 10,000 records, 3 steps, a 3-second latency phase, every peer.
    public mutating func applyQuick() {
        records = 10_000
        chainLengths = [3]
        latencySeconds = 3
    }

    /// Records of the latency phase.
    public var latencyRecords: Int { Int((rate * latencySeconds).rounded()) }

    /// Finds the repository holding bench/relay.c: `start`, then its parents.
    public static func locateRoot(from starts: [String]) -> String? {
        for start in starts {
            var dir = start
            while true {
                if FileManager.default.fileExists(atPath: (dir as NSString).appendingPathComponent("bench/relay.c")) { return dir }
                let parent = (dir as NSString).deletingLastPathComponent
                if parent == dir || parent.isEmpty { break }
                dir = parent
            }
        }
        return nil
    }
}

/// The figures of one peer at one chain length.
public struct BenchResult: Sendable {
    public var peer: BenchPeer
    public var steps: Int
    /// Records produced (warm-up + latency + throughput phases) and unique ones read on the final topic.
    public var expected = 0
    public var delivered = 0
    public var duplicates = 0
    /// Throughput phase: records/s from the first produce to the last record read on the final topic.
    public var throughput: Double?
    public var throughputComplete = false
    /// Latency phase, final record's timestamp - produce time (ms).
    public var latencyP50: Double?
    public var latencyP99: Double?
    /// Latency phase, arrival at the bench's read_committed consumer - produce time (ms).
    public var seenP50: Double?
    public var seenP99: Double?
    /// Mean over the chain's processes of CPU seconds per 100k records relayed, and the highest.
    public var cpuPer100k: Double?
    public var cpuPer100kMax: Double?
    /// Mean over the chain's processes of CPU seconds per 100k records during the throughput phase alone (under
    /// load: no start-up, group join, idle polling or low-rate batches).
    public var saturatedCPUPer100k: Double?
    /// Highest peak RSS (VmHWM) of the chain's processes, MB.
    public var peakRSSMB: Double?
    /// The broker's CPU seconds per 100k records through the chain.
    public var brokerCPUPer100k: Double?
    /// Why the scenario did not finish, if it did not.
    public var failure: String?
    public var seconds: Double = 0
    /// How many runs these figures are the median of, and the range of throughput and saturated CPU over them.
    public var runs = 1
    public var throughputRange: ClosedRange<Double>?
    public var saturatedCPURange: ClosedRange<Double>?

    public init(peer: BenchPeer, steps: Int) {
        self.peer = peer
        self.steps = steps
    }

    /// Every record produced was read once and only once.
    public var exact: Bool { failure == nil && delivered == expected && duplicates == 0 }
}
