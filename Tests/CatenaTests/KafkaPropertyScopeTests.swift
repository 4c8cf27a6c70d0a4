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

    @Test("a property librdkafka does not know, or a bad value, is refused at once with its name")
    func badExtrasAreRefused() throws {
        for (key, value) in [("nonsense.prop", "1"), ("session.timeout.ms", "abc")] {
            let settings = KafkaSettings(brokers: "b:9092", extra: [key: value])
            #expect(throws: CatenaError.self) { try settings.validate() }
            do { try settings.validate() } catch { #expect("\(error)".contains(key)) }
        }
        try KafkaSettings(brokers: "b:9092", extra: ["max.poll.interval.ms": "10000", "linger.ms": "1"]).validate()
    }
}
