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
    private let idSuffix: [UInt8]

    init(chain: String, step: String, workerID: String) {
        let template = CloudEventHeaders.output(chain: chain, step: step, correlationID: "", attempt: 1, contentType: nil)
        specVersion = KafkaHeader(HeaderNames.specVersion, text: "1.0")
        source = KafkaHeader(HeaderNames.source, text: template.source)
        type = KafkaHeader(HeaderNames.type, text: template.type)
        self.chain = KafkaHeader(HeaderNames.chain, text: chain)
        self.step = KafkaHeader(HeaderNames.step, text: step)
        worker = KafkaHeader(HeaderNames.worker, text: workerID)
        firstAttempt = KafkaHeader(HeaderNames.attempt, text: "1")
        idSuffix = Array(("/" + step).utf8)
    }

    /// The headers of one output record. `time` is the RFC 3339 time as bytes; `key` is the record's key,
    /// whose bytes are reused for `ce_correlationid` when they spell the correlation ID.
    func headers(correlationID: String, key: [UInt8], attempt: Int, contentType: String?, time: [UInt8], incoming: [KafkaHeader]) -> [KafkaHeader] {
        let idBytes = key.hasBytes(of: correlationID) ? key : Array(correlationID.utf8)
        var h: [KafkaHeader] = []
        h.reserveCapacity(11 + incoming.count)
        h.append(specVersion)
        h.append(KafkaHeader(HeaderNames.id, idBytes + idSuffix))
        h.append(source)
        h.append(type)
        h.append(KafkaHeader(HeaderNames.time, time))
        if let contentType { h.append(contentTypeHeader(contentType, incoming: incoming)) }
        h.append(KafkaHeader(HeaderNames.correlationID, idBytes))
        h.append(chain)
        h.append(step)
        h.append(attempt == 1 ? firstAttempt : KafkaHeader(HeaderNames.attempt, text: String(attempt)))
        incoming.withUnsafeBufferPointer { all in
            for i in all.indices where CloudEventHeaders.passesThrough(all[i].name) { h.append(all[i]) }
        }
        h.append(worker)
        return h
    }

    /// The `content-type` header for `contentType`, sharing the value of the incoming one when it is the same
    /// (a step that passes its input's content type on).
    private func contentTypeHeader(_ contentType: String, incoming: [KafkaHeader]) -> KafkaHeader {
        if let value = incoming.firstContentType?.value, value.hasBytes(of: contentType) { return KafkaHeader(HeaderNames.contentType, value) }
        return KafkaHeader(HeaderNames.contentType, text: contentType)
    }
}
