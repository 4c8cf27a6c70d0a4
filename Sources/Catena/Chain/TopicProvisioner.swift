/// Creates a chain's topics with the partitions the chain file asks for (existing topics are left alone).
public enum TopicProvisioner {
    /// Creates whatever topics of `chain` are missing; returns the names created.
    @discardableResult
    public static func ensureTopics(_ chain: ChainDefinition, settings: KafkaSettings, timeoutMs: Int32 = 15_000) throws -> [String] {
        let admin = try KafkaAdmin(settings: settings)
        // A quick metadata request first, so unreachable brokers are reported in seconds.
        do { _ = try admin.partitionCount(chain.entryTopic, timeoutMs: min(timeoutMs, 3000)) } catch {
            throw CatenaError.failure("brokers \(settings.brokers) unreachable: \(error)")
        }
        return try admin.createTopics(chain.topics.map {
            KafkaAdmin.TopicSpec(name: $0.name, partitions: $0.partitions, replicationFactor: chain.replicationFactor)
        }, timeoutMs: timeoutMs)
    }

    /// Waits until every topic of `chain` is visible in metadata with at least one partition; returns the counts.
    public static func awaitTopics(_ chain: ChainDefinition, settings: KafkaSettings, timeoutSeconds: Double = 30) throws -> [String: Int] {
        let admin = try KafkaAdmin(settings: settings)
        let deadline = ContinuousClock.now + .milliseconds(Int(timeoutSeconds * 1000))
        var counts: [String: Int] = [:]
        for (name, _) in chain.topics {
            while true {
                let n = (try? admin.partitionCount(name)) ?? 0
                if n > 0 { counts[name] = n; break }
                if ContinuousClock.now > deadline { throw CatenaError.timeout("topic \(name) did not appear within \(timeoutSeconds) s") }
                Thread.sleep(forTimeInterval: 0.1)  // polling the broker's metadata until the condition holds
            }
        }
        return counts
    }
}

import Foundation

extension TopicProvisioner {
    /// Creates the chain's missing topics and waits until all are visible, retrying every 2 s with a log line
    /// while the brokers cannot be reached, until it succeeds or `stop` is requested (then it returns false).
    /// Runs the blocking calls on `io`, off Swift's cooperative pool.
    public static func prepare(_ chain: ChainDefinition, settings: KafkaSettings, io: BlockingQueue, stop: StopSignal, component: String) async -> Bool {
        var attempt = 0
        while !stop.isRequested {
            attempt += 1
            do {
                try await io.run {
                    try ensureTopics(chain, settings: settings, timeoutMs: 5000)
                    _ = try awaitTopics(chain, settings: settings, timeoutSeconds: 10)
                }
                if attempt > 1 { Log.info(component, "brokers \(settings.brokers) reachable again; topics ready") }
                return true
            } catch {
                Log.warn(component, "cannot prepare the chain's topics: \(error); retrying in 2 s")
                let deadline = Date().addingTimeInterval(2)
                while !stop.isRequested && Date() < deadline { try? await Task.sleep(nanoseconds: 100_000_000) }
            }
        }
        return false
    }
}
