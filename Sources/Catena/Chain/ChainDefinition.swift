/// A named, ordered list of steps, and the Kafka topics derived from it.
///
/// Topics (all derived, never configured one by one):
/// - `<chain>.<step>`: the input topic of each step; the first step's is the chain's entry topic;
/// - `<chain>.output`: results of the last step (completed executions);
/// - `<chain>.dlq`: dead letters from any step;
/// - `<chain>.dlq.parked`: dead letters sent back more than `maxRedrives` times, parked instead of looping;
/// - `<chain>.status`: the coordinator's status snapshots (one partition);
/// - `<chain>.timeouts`: one event per execution that had no outcome within the execution timeout;
/// - `<chain>.<step>.retry`: each step's delay path, records waiting for a later attempt (same partitions as the input).
/// The step names `output`, `dlq`, `status` and `timeouts` are therefore reserved.
public struct ChainDefinition: Sendable, Equatable {
    /// Chain name: letters, digits, `.`, `_` and `-`; prefix of every topic and consumer group.
    public var name: String
    /// Steps in execution order (at least one).
    public var steps: [StepDefinition]
    /// Partitions for each topic the chain creates (except the status topic, which has one).
    public var partitions: Int
    /// Replication factor for the chain's topics.
    public var replicationFactor: Int
    /// Seconds after its entry record within which an execution must complete or fail; the coordinator marks one
    /// without an outcome by then as timed out and publishes it on `<chain>.timeouts` (0 = never).
    public var executionTimeoutSeconds: Double
    /// How often a dead letter may go back to a step (`catena dlq redrive`, or copied back by hand with its
    /// headers) before it is parked on `<chain>.dlq.parked` instead (`max_redrives`, default 3).
    public var maxRedrives: Int
    /// Directory of the chain file; relative paths in step parameters are resolved against it.
    public var baseDirectory: String

    public init(name: String, steps: [StepDefinition], partitions: Int = 6, replicationFactor: Int = 1,
                executionTimeoutSeconds: Double = 0, maxRedrives: Int = 3, baseDirectory: String = ".") {
        self.name = name
        self.steps = steps
        self.partitions = partitions
        self.replicationFactor = replicationFactor
        self.executionTimeoutSeconds = executionTimeoutSeconds
        self.maxRedrives = maxRedrives
        self.baseDirectory = baseDirectory
    }

    /// Step names that would give a step's input topic (`<chain>.<step>`) the name of another topic: this chain's
    /// output, dead letters, status and timeouts, or, for a chain whose name has a dot (`x.a`), the delay path of
    /// step `a` of chain `x` (`x.a.retry`) or chain `x`'s parked dead letters (`x.dlq.parked`).
    public static let reservedStepNames: Set<String> = ["output", "dlq", "status", "timeouts", "retry", "parked"]

    /// The delay path of `step`: records waiting for a later attempt, in the partition of their input record.
    public func retryTopic(of step: String) -> String { "\(name).\(step).retry" }
    /// The input topic of `step`.
    public func inputTopic(of step: String) -> String { "\(name).\(step)" }
    /// The topic external producers write to: the first step's input topic.
    public var entryTopic: String { inputTopic(of: steps[0].name) }
    /// The topic of completed executions.
    public var outputTopic: String { "\(name).output" }
    /// The dead-letter topic.
    public var deadLetterTopic: String { "\(name).dlq" }
    /// Where dead letters go once they have been sent back `maxRedrives` times.
    public var parkedTopic: String { "\(name).dlq.parked" }
    /// The coordinator's status topic.
    public var statusTopic: String { "\(name).status" }
    /// The coordinator's timed-out execution events.
    public var timeoutsTopic: String { "\(name).timeouts" }
    /// Consumer group of the workers of `step`.
    public func consumerGroup(of step: String) -> String { "catena.\(name).\(step)" }

    /// The step called `name`, if any.
    public func step(named name: String) -> StepDefinition? { steps.first { $0.name == name } }
    /// Index of the step called `name`, if any.
    public func index(ofStep name: String) -> Int? { steps.firstIndex { $0.name == name } }

    /// Where the output of `step` goes: the next step's input topic, or the output topic after the last step.
    public func destinationTopic(after step: String) -> String? {
        guard let i = index(ofStep: step) else { return nil }
        return i + 1 < steps.count ? inputTopic(of: steps[i + 1].name) : outputTopic
    }

    /// Every topic the chain uses, with its partition count.
    public var topics: [(name: String, partitions: Int)] {
        steps.map { (inputTopic(of: $0.name), partitions) }
            + [(outputTopic, partitions), (deadLetterTopic, partitions), (parkedTopic, partitions), (statusTopic, 1), (timeoutsTopic, partitions)]
            + steps.map { (retryTopic(of: $0.name), partitions) }
    }

    /// `path` resolved against the chain file's directory when it is relative.
    public func resolvePath(_ path: String) -> String {
        path.hasPrefix("/") ? path : (baseDirectory as NSString).appendingPathComponent(path)
    }
}

import Foundation
