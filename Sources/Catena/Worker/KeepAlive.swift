import Foundation

/// Keeps a worker in its consumer group while a batch runs long (a slow or hung function call).
///
/// librdkafka evicts a consumer that does not poll within `max.poll.interval.ms`. While a call runs, the
/// worker pauses every assigned partition and polls: the group sees it alive, rebalances are served, and
/// no new records are handed out. Anything a poll does return (a partition assigned meanwhile) is not
/// processed now: the consumer seeks back to it, so it is read again, in order, after the batch.
struct KeepAlive {
    private(set) var paused: Set<TopicPartition> = []
    private var announced = false

    /// Pauses what is assigned and polls once without waiting.
    mutating func poll(_ consumer: KafkaConsumer, io: BlockingQueue, component: String) async {
        let newlyPaused = await io.run { () -> [TopicPartition] in
            let assigned = consumer.assignment()
            consumer.pause(assigned)
            let returned = consumer.poll(maxRecords: 1000, timeoutMs: 0) { Log.warn(component, "consumer: \($0)") }
            let rewind = returned.firstOffsets
            if !rewind.isEmpty {
                consumer.pause(Array(rewind.keys))
                do { try consumer.seek(rewind) } catch { Log.warn(component, "cannot seek back to records polled while busy: \(error)") }
            }
            return assigned + Array(rewind.keys)
        }
        if !announced {
            announced = true
            Log.info(component, "a call is running long; partitions paused, polling to keep group membership")
        }
        paused.formUnion(newlyPaused)
    }

    /// Resumes the partitions paused while the batch ran.
    mutating func resume(_ consumer: KafkaConsumer, io: BlockingQueue) async {
        guard !paused.isEmpty else { return }
        let partitions = Array(paused)
        paused = []
        await io.run { consumer.resume(partitions) }
    }
}
