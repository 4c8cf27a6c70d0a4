/// Creates a chain's topics with the partitions the chain file asks for (existing topics are left alone).
public enum TopicProvisioner {
    /// Creates whatever topics of `chain` are missing; returns the names created.
    @discardableResult
    public static func ensureTopics(_ chain: ChainDefinition, settings: KafkaSettings) throws -> [String] {
        let admin = try KafkaAdmin(settings: settings)
        return try admin.createTopics(chain.topics.map {
            KafkaAdmin.TopicSpec(name: $0.name, partitions: $0.partitions, replicationFactor: chain.replicationFactor)
        })
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
