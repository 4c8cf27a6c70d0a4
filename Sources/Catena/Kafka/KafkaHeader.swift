/// One Kafka record header. The value may be absent (null), which is different from empty.
public struct KafkaHeader: Sendable, Equatable, Hashable {
    public var name: String
    public var value: [UInt8]?
    /// The name's bytes when they are not valid UTF-8 (Kafka does not require it); `name` is then their repaired
    /// text, for display and matching, and these bytes are what is written back, so a record passes through or
    /// into the dead-letter topic byte-for-byte. nil for a UTF-8 name.
    public var rawName: [UInt8]?

    public init(_ name: String, _ value: [UInt8]?) {
        self.name = name
        self.value = value
    }

    /// A header whose value is the UTF-8 bytes of `text`.
    public init(_ name: String, text: String) {
        self.name = name
        self.value = Array(text.utf8)
    }

    /// A header named by raw bytes, UTF-8 or not.
    public init(nameBytes: [UInt8], _ value: [UInt8]?) {
        if let text = String(validating: nameBytes, as: UTF8.self) {
            self.init(text, value)
        } else {
            self.init(String(decoding: nameBytes, as: UTF8.self), value)
            rawName = nameBytes
        }
    }

    /// The value as UTF-8 text, or `nil` for a null value.
    public var text: String? { value.map { String(decoding: $0, as: UTF8.self) } }
}
