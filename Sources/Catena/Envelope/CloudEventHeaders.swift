import Foundation

/// The envelope attributes of one record: CloudEvents binary-mode headers plus Catena's.
public struct CloudEventHeaders: Sendable, Equatable {
    public var id: String
    public var source: String
    public var type: String
    public var time: String
    public var contentType: String?
    public var correlationID: String
    public var chain: String
    public var step: String
    public var attempt: Int

    public init(id: String, source: String, type: String, time: String, contentType: String?, correlationID: String, chain: String, step: String, attempt: Int) {
        self.id = id
        self.source = source
        self.type = type
        self.time = time
        self.contentType = contentType
        self.correlationID = correlationID
        self.chain = chain
        self.step = step
        self.attempt = attempt
    }

    /// The attributes of the output of `step` for execution `correlationID`.
    /// `ce_id` is `<correlationID>/<step>`: stable across retries, so consumers can use it as an idempotency key.
    public static func output(chain: String, step: String, correlationID: String, attempt: Int, contentType: String?, now: Date = Date()) -> CloudEventHeaders {
        CloudEventHeaders(id: "\(correlationID)/\(step)", source: "/catena/\(chain)/\(step)", type: "dev.catena.\(chain).\(step).output",
                          time: Timestamp.rfc3339(now), contentType: contentType, correlationID: correlationID,
                          chain: chain, step: step, attempt: attempt)
    }

    /// The headers, in a fixed order. `content-type` is omitted when unknown.
    public var kafkaHeaders: [KafkaHeader] {
        var h = [
            KafkaHeader(HeaderNames.specVersion, text: "1.0"),
            KafkaHeader(HeaderNames.id, text: id),
            KafkaHeader(HeaderNames.source, text: source),
            KafkaHeader(HeaderNames.type, text: type),
            KafkaHeader(HeaderNames.time, text: time),
        ]
        if let contentType { h.append(KafkaHeader(HeaderNames.contentType, text: contentType)) }
        h += [
            KafkaHeader(HeaderNames.correlationID, text: correlationID),
            KafkaHeader(HeaderNames.chain, text: chain),
            KafkaHeader(HeaderNames.step, text: step),
            KafkaHeader(HeaderNames.attempt, text: String(attempt)),
        ]
        return h
    }

    /// Reads the attributes back from headers; `nil` when a required one is missing or malformed.
    public init?(headers: [KafkaHeader]) {
        func get(_ n: String) -> String? { headers.first { $0.name == n }?.text }
        guard get(HeaderNames.specVersion) == "1.0", let id = get(HeaderNames.id), let source = get(HeaderNames.source),
              let type = get(HeaderNames.type), let correlationID = get(HeaderNames.correlationID) else { return nil }
        self.init(id: id, source: source, type: type, time: get(HeaderNames.time) ?? "", contentType: get(HeaderNames.contentType),
                  correlationID: correlationID, chain: get(HeaderNames.chain) ?? "", step: get(HeaderNames.step) ?? "",
                  attempt: get(HeaderNames.attempt).flatMap { Int($0) } ?? 1)
    }

    /// `incoming` headers with every envelope header replaced by `self`'s: user headers (e.g. `x-tenant`)
    /// pass through in order, Catena's and CloudEvents' are never duplicated, so headers stay bounded hop after hop.
    public func applied(to incoming: [KafkaHeader]) -> [KafkaHeader] {
        kafkaHeaders + incoming.filter { Self.passesThrough($0.name) }
    }

    /// Whether an incoming header called `name` is carried to the output: user headers are; CloudEvents
    /// attributes (`ce_*`, `content-type`), Catena's envelope headers and dead-letter headers are not (they
    /// are replaced). Compares bytes: it runs for every header of every record.
    public static func passesThrough(_ name: String) -> Bool {
        name.withUTF8Bytes { b in
            if b.hasBytes("ce_") { return false }
            if b.hasBytes("catena_") { return !(HeaderNames.isCatenaEnvelopeHeader(bytes: b) || HeaderNames.isDeadLetterHeader(bytes: b)) }
            return !b.hasBytes("content-type", whole: true)
        }
    }
}
