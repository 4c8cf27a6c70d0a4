import Glibc

extension UnsafeBufferPointer where Element == UInt8 {
    /// Whether these bytes hold `text`'s at `offset` (and, with `whole`, nothing after it). An inline byte loop:
    /// header names are short, and a call to `memcmp` per comparison cost more than the comparison.
    @inline(__always)
    func hasBytes(_ text: StaticString, at offset: Int = 0, whole: Bool = false) -> Bool {
        let n = text.utf8CodeUnitCount
        if whole ? count != offset + n : count < offset + n { return false }
        let expected = text.utf8Start
        for i in 0..<n where self[offset + i] != expected[i] { return false }
        return true
    }
}

extension String {
    /// Whether this string's UTF-8 bytes start with `prefix`'s, compared in place.
    ///
    /// Header names are checked against prefixes (`ce_`, `catena_`, `catena_error_` ...) for every header of
    /// every record a worker reads; `hasPrefix` and `utf8.starts(with:)` iterate generically and were about 9%
    /// of a busy worker's CPU.
    @inline(__always)
    func utf8HasPrefix(_ prefix: StaticString) -> Bool {
        withUTF8Bytes { $0.hasBytes(prefix) }
    }

    /// Whether this string's UTF-8 bytes equal `other`'s, compared in place.
    @inline(__always)
    func utf8Equals(_ other: StaticString) -> Bool {
        withUTF8Bytes { $0.hasBytes(other, whole: true) }
    }

    /// Runs `body` on this string's UTF-8 bytes in place (a copy only for a string without contiguous UTF-8
    /// storage, which native Swift strings always have).
    @inline(__always)
    func withUTF8Bytes<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        if let result = utf8.withContiguousStorageIfAvailable(body) { return result }
        return Array(utf8).withUnsafeBufferPointer(body)
    }
}

extension Array where Element == UInt8 {
    /// Whether this array holds exactly `bytes`.
    func hasBytes(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard count == bytes.count else { return false }
        if isEmpty { return true }
        return withUnsafeBytes { memcmp($0.baseAddress!, bytes.baseAddress!, bytes.count) == 0 }
    }

    /// Whether this array holds exactly `text`'s UTF-8.
    func hasBytes(of text: String) -> Bool {
        text.withUTF8Bytes { hasBytes(UnsafeRawBufferPointer($0)) }
    }
}

extension Array where Element == KafkaHeader {
    /// The first `content-type` header (the one `ConsumedRecord.header(HeaderNames.contentType)` finds),
    /// compared by bytes and lent through the buffer: this runs for every record.
    var firstContentType: KafkaHeader? {
        withUnsafeBufferPointer { all in
            for i in all.indices where all[i].name.utf8Equals("content-type") { return all[i] }
            return nil
        }
    }
}
