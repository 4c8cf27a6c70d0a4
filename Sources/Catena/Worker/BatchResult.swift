/// A delivery failed for a reason that may pass (timeout, broker away): the batch must be processed again,
/// not dead-lettered.
struct TransientDeliveryFailure: Error, CustomStringConvertible {
    var message: String
    var code: Int32 = 0
    /// The producer itself was fenced or lost its epoch (PRODUCER_FENCED 90, INVALID_PRODUCER_EPOCH 47): it will
    /// keep failing, so only a fresh producer helps.
    var producerIsBroken: Bool { [90, 47].contains(code) }
    var description: String { "delivery failed, will be retried: \(message)" }
}

/// The records a batch of inputs turned into, in input order, and the offsets that finish the batch.
struct BatchResult: Sendable {
    /// One record per input: its output, its dead letter, its parked record, or its delay-path record.
    var outgoing: [OutgoingRecord]
    /// Whether `outgoing[i]` is an output or a delay-path record (true: if Kafka refuses it, the input is
    /// dead-lettered) or a dead letter or parked record (false).
    var isOutput: [Bool]
    /// How many of `outgoing` are delay-path records.
    var delayed = 0
    /// The offsets to commit once everything is delivered: per partition, the last input's offset + 1.
    var nextOffsets: [TopicPartition: Int64]

    init(records: [ConsumedRecord], outcomes: [StepOutcome]) {
        outgoing = []
        isOutput = []
        outgoing.reserveCapacity(outcomes.count)
        for outcome in outcomes {
            switch outcome {
            case .output(let r): outgoing.append(r); isOutput.append(true)
            case .deadLetter(let r, _): outgoing.append(r); isOutput.append(false)
            case .parked(let r): outgoing.append(r); isOutput.append(false)
            case .delayed(let r): outgoing.append(r); isOutput.append(true); delayed += 1
            }
        }
        nextOffsets = Self.nextOffsets(of: records)
    }

    /// Per partition, the last offset of `records` + 1. Records come in runs of one partition: each run is
    /// hashed once, not each record.
    static func nextOffsets(of records: [ConsumedRecord]) -> [TopicPartition: Int64] {
        var result: [TopicPartition: Int64] = [:]
        var i = records.startIndex
        while i < records.endIndex {
            let first = records[i]
            var next = first.offset + 1
            var j = i + 1
            while j < records.endIndex, records[j].partition == first.partition, records[j].topic == first.topic {
                next = max(next, records[j].offset + 1)
                j += 1
            }
            let tp = TopicPartition(first.topic, first.partition)
            result[tp] = max(result[tp] ?? 0, next)
            i = j
        }
        return result
    }

    /// Outputs to the next step (delay-path records not counted).
    var outputs: Int { isOutput.filter { $0 }.count - delayed }

    /// Replaces what Kafka refused: an output by the dead letter of its input, a dead letter (too large to
    /// fit even as the original record plus error headers) by a stub with the coordinates, the error and a
    /// truncation flag but without the value. Returns the indices replaced, which must be sent again.
    /// - Throws: when a stub itself was refused: it cannot be put anywhere, so the batch must not commit.
    /// `sent[j]` is the report for `outgoing[pending[j]]`.
    mutating func replaceRefused(_ sent: [DeliveryReport], for pending: [Int], inputs: [ConsumedRecord], processor: StepProcessor) throws -> [Int] {
        if let transient = sent.first(where: { !$0.succeeded && !$0.isPermanentRefusal }) {
            throw TransientDeliveryFailure(message: transient.errorMessage, code: transient.errorCode)
        }
        var replaced: [Int] = []
        for (i, report) in zip(pending, sent) where !report.succeeded {
            if isOutput[i] {
                if let path = processor.delayPath, outgoing[i].topic == path.topic {
                    // The record could not be delayed: it is dead-lettered instead, and its key no longer waits for it.
                    path.forget(outgoing[i])
                    delayed -= 1
                }
                let id = IncomingEnvelope.correlationID(of: inputs[i])
                let (record, _) = processor.deadLetterRecord(inputs[i], .outputRejected, "output refused by Kafka: \(report.errorMessage)", attempts: 1, correlationID: id)
                outgoing[i] = record
                isOutput[i] = false
            } else if outgoing[i].headers.contains(where: { $0.name == HeaderNames.errorTruncated }) {
                throw CatenaError.failure("dead-letter topic refused even a stub (\(report.errorMessage)); not committing offset \(inputs[i].offset) of \(inputs[i].topic)[\(inputs[i].partition)]")
            } else {
                outgoing[i] = DeadLetter.stub(replacing: outgoing[i], original: inputs[i], refusal: report.errorMessage)
            }
            replaced.append(i)
        }
        return replaced
    }
}
