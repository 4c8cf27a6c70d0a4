/// One Kafka record header. The value may be absent (null), which is different from empty.
public struct KafkaHeader: Sendable, Equatable, Hashable {
    public var name: String
    public var value: [UInt8]?

    public init(_ name: String, _ value: [UInt8]?) {
        self.name = name
        self.value = value
    }

    /// A header whose value is the UTF-8 bytes of `text`.
    public init(_ name: String, text: String) {
        self.name = name
        self.value = Array(text.utf8)
    }

    /// The value as UTF-8 text, or `nil` for a null value.
    public var text: String? { value.map { String(decoding: $0, as: UTF8.self) } }
}
