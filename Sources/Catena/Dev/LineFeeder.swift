import Foundation

/// Turns the lines of a text file into entry records: one record per non-empty line, value = the line's
/// bytes untouched, key = `<keyPrefix><line number>` (1-based, counting data lines only).
public struct LineFeeder: Sendable {
    public var path: String
    public var skipHeader: Bool
    public var limit: Int?
    public var keyPrefix: String
    public var contentType: String

    public init(path: String, skipHeader: Bool, limit: Int?, keyPrefix: String, contentType: String) {
        self.path = path
        self.skipHeader = skipHeader
        self.limit = limit
        self.keyPrefix = keyPrefix
        self.contentType = contentType
    }

    /// The lines to send, in file order.
    public func lines() throws -> [ArraySlice<UInt8>] {
        guard let data = FileManager.default.contents(atPath: path) else { throw CatenaError.configuration("\(path): cannot read input file") }
        let bytes = [UInt8](data)
        var result: [ArraySlice<UInt8>] = []
        var start = 0
        var first = true
        for i in 0...bytes.count where i == bytes.count || bytes[i] == 10 {
            var end = i
            if end > start, bytes[end - 1] == 13 { end -= 1 }
            defer { start = i + 1 }
            if end <= start { continue }
            if first && skipHeader { first = false; continue }
            first = false
            result.append(bytes[start..<end])
            if let limit, result.count >= limit { break }
        }
        return result
    }

    /// The entry record for data line `number` (1-based).
    public func record(line: ArraySlice<UInt8>, number: Int, topic: String) -> OutgoingRecord {
        OutgoingRecord(topic: topic, key: Array("\(keyPrefix)\(number)".utf8), value: Array(line),
                       headers: [KafkaHeader(HeaderNames.contentType, text: contentType)])
    }
}
