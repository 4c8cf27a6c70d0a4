import Testing
@testable import Catena

/// Extra Kafka properties reach only the kind of client they are meant for.
struct KafkaPropertyScopeTests {
    @Test("consumer-only extras skip producers, producer-only extras skip consumers, the rest reach both")
    func extrasAreScoped() {
        let settings = KafkaSettings(brokers: "b:9092", extra: ["max.poll.interval.ms": "10000", "linger.ms": "1", "socket.timeout.ms": "9000"])
        let producer = settings.properties([:], for: .producer)
        let consumer = settings.properties([:], for: .consumer)
        #expect(producer["max.poll.interval.ms"] == nil)
        #expect(producer["linger.ms"] == "1")
        #expect(consumer["max.poll.interval.ms"] == "10000")
        #expect(consumer["linger.ms"] == nil)
        #expect(producer["socket.timeout.ms"] == "9000" && consumer["socket.timeout.ms"] == "9000")
        #expect(producer["bootstrap.servers"] == "b:9092" && consumer["bootstrap.servers"] == "b:9092")
    }
}
