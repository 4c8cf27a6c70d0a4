/// The headers of the output records one step writes: the CloudEvents attributes and Catena's (see
/// `CloudEventHeaders`), then the incoming headers that pass through, then `catena_worker`.
///
/// What is the same for every record of the step (spec version, source, type, chain, step, worker) is built
/// once; per record only the id, time, content type, correlation ID and attempt are new. The result equals
/// `CloudEventHeaders.output(...).applied(to: incoming) + [worker header]`.
struct OutputHeaders: Sendable {
    private let specVersion: KafkaHeader
    private let source: KafkaHeader
    private let type: KafkaHeader
    private let chain: KafkaHeader
    private let step: KafkaHeader
    private let worker: KafkaHeader
    private let firstAttempt: KafkaHeader
    private let idSuffix: String

    init(chain: String, step: String, workerID: String) {
        let template = CloudEventHeaders.output(chain: chain, step: step, correlationID: "", attempt: 1, contentType: nil)
        specVersion = KafkaHeader(HeaderNames.specVersion, text: "1.0")
        source = KafkaHeader(HeaderNames.source, text: template.source)
        type = KafkaHeader(HeaderNames.type, text: template.type)
        self.chain = KafkaHeader(HeaderNames.chain, text: chain)
        self.step = KafkaHeader(HeaderNames.step, text: step)
        worker = KafkaHeader(HeaderNames.worker, text: workerID)
        firstAttempt = KafkaHeader(HeaderNames.attempt, text: "1")
        idSuffix = "/" + step
    }

    /// The headers of one output record.
    func headers(correlationID: String, attempt: Int, contentType: String?, time: String, incoming: [KafkaHeader]) -> [KafkaHeader] {
        var h: [KafkaHeader] = []
        h.reserveCapacity(11 + incoming.count)
        h.append(specVersion)
        h.append(KafkaHeader(HeaderNames.id, text: correlationID + idSuffix))
        h.append(source)
        h.append(type)
        h.append(KafkaHeader(HeaderNames.time, text: time))
        if let contentType { h.append(KafkaHeader(HeaderNames.contentType, text: contentType)) }
        h.append(KafkaHeader(HeaderNames.correlationID, text: correlationID))
        h.append(chain)
        h.append(step)
        h.append(attempt == 1 ? firstAttempt : KafkaHeader(HeaderNames.attempt, text: String(attempt)))
        for header in incoming where CloudEventHeaders.passesThrough(header.name) { h.append(header) }
        h.append(worker)
        return h
    }
}
