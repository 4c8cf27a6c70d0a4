/// Parses JSON text (RFC 8259) into the same `ConfigNode` tree as `YAMLDocument`.
///
/// A small strict parser rather than `JSONSerialization`, because the latter silently keeps the last of
/// duplicate keys, loses key order and line numbers, and turns numbers into floating point. Here:
/// - strings become non-plain scalars; numbers keep their exact text as plain scalars;
/// - `true`/`false` become plain scalars `"true"`/`"false"`, `null` a plain scalar `"null"` (so `isNull`);
/// - duplicate keys, trailing commas, comments and anything after the top-level value are refused.
/// Every error is a `CatenaError.configuration` whose message starts with `fileName:line:column`.
enum JSONDocument {
    /// Deeper nesting is refused instead of risking the stack.
    static let maxDepth = 128

    /// The root value, or `nil` when the text is empty or only whitespace.
    static func parse(_ text: String, fileName: String) throws -> ConfigNode? {
        var parser = Parser(bytes: Array(text.utf8), fileName: fileName)
        return try parser.document()
    }

    private struct Parser {
        let bytes: [UInt8]
        let fileName: String
        var pos = 0
        var line = 1
        var lineStart = 0

        init(bytes: [UInt8], fileName: String) {
            self.bytes = bytes
            self.fileName = fileName
        }

        mutating func document() throws -> ConfigNode? {
            if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { pos = 3; lineStart = 3 }  // UTF-8 byte order mark
            skipWhitespace()
            guard pos < bytes.count else { return nil }
            let root = try value(depth: 0)
            skipWhitespace()
            guard pos == bytes.count else { throw error("unexpected \(describeCurrent()) after the end of the JSON value") }
            return root
        }

        // MARK: Errors

        func error(_ problem: String, line: Int? = nil, column: Int? = nil) -> CatenaError {
            .configuration("\(fileName):\(line ?? self.line):\(column ?? (pos - lineStart + 1)): JSON syntax error: \(problem)")
        }

        func describeCurrent() -> String {
            guard pos < bytes.count else { return "end of input" }
            let byte = bytes[pos]
            if byte >= 0x21, byte < 0x7F { return "character '\(Character(Unicode.Scalar(byte)))'" }
            return byte < 0x80 ? "character \\u{\(String(byte, radix: 16))}" : "non-ASCII character"
        }

        // MARK: Lexing

        var current: UInt8? { pos < bytes.count ? bytes[pos] : nil }

        mutating func skipWhitespace() {
            while pos < bytes.count {
                switch bytes[pos] {
                case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"):
                    pos += 1
                case UInt8(ascii: "\n"):
                    pos += 1
                    line += 1
                    lineStart = pos
                default:
                    return
                }
            }
        }

        mutating func expect(_ char: Character, _ what: String) throws {
            guard current == char.asciiValue else { throw error("expected \(what), found \(describeCurrent())") }
            pos += 1
        }

        // MARK: Values

        mutating func value(depth: Int) throws -> ConfigNode {
            guard depth < JSONDocument.maxDepth else { throw error("nested more than \(JSONDocument.maxDepth) levels deep") }
            let startLine = line
            guard let c = current else { throw error("expected a value, found end of input") }
            switch c {
            case UInt8(ascii: "{"): return try object(depth: depth)
            case UInt8(ascii: "["): return try array(depth: depth)
            case UInt8(ascii: "\""): return .scalar(try string(), plain: false, line: startLine)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .scalar(try number(), plain: true, line: startLine)
            case UInt8(ascii: "t"): return try literal("true")
            case UInt8(ascii: "f"): return try literal("false")
            case UInt8(ascii: "n"): return try literal("null")
            default: throw error("expected a value, found \(describeCurrent())")
            }
        }

        mutating func literal(_ word: String) throws -> ConfigNode {
            let startLine = line
            let utf8 = Array(word.utf8)
            guard bytes[pos...].starts(with: utf8) else { throw error("expected a value, found \(describeCurrent())") }
            pos += utf8.count
            return .scalar(word, plain: true, line: startLine)
        }

        mutating func object(depth: Int) throws -> ConfigNode {
            let startLine = line
            pos += 1  // {
            var entries: [ConfigNode.Entry] = []
            var seen: [String: Int] = [:]
            skipWhitespace()
            if current == UInt8(ascii: "}") {
                pos += 1
                return .mapping(entries, line: startLine)
            }
            while true {
                skipWhitespace()
                guard current == UInt8(ascii: "\"") else { throw error("expected a string key, found \(describeCurrent())") }
                let keyLine = line, keyColumn = pos - lineStart + 1
                let key = try string()
                if let first = seen[key] {
                    throw error("duplicate key \(String(reflecting: key)) (first at line \(first))", line: keyLine, column: keyColumn)
                }
                seen[key] = keyLine
                skipWhitespace()
                try expect(":", "':' after the key")
                skipWhitespace()
                entries.append(ConfigNode.Entry(key: key, line: keyLine, value: try value(depth: depth + 1)))
                skipWhitespace()
                if current == UInt8(ascii: ",") {
                    pos += 1
                    continue
                }
                try expect("}", "',' or '}' after an object member")
                return .mapping(entries, line: startLine)
            }
        }

        mutating func array(depth: Int) throws -> ConfigNode {
            let startLine = line
            pos += 1  // [
            var items: [ConfigNode] = []
            skipWhitespace()
            if current == UInt8(ascii: "]") {
                pos += 1
                return .sequence(items, line: startLine)
            }
            while true {
                skipWhitespace()
                items.append(try value(depth: depth + 1))
                skipWhitespace()
                if current == UInt8(ascii: ",") {
                    pos += 1
                    continue
                }
                try expect("]", "',' or ']' after an array element")
                return .sequence(items, line: startLine)
            }
        }

        mutating func number() throws -> String {
            let start = pos
            func digits(_ parser: inout Parser) -> Int {
                let from = parser.pos
                while let c = parser.current, c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") { parser.pos += 1 }
                return parser.pos - from
            }
            if current == UInt8(ascii: "-") { pos += 1 }
            if current == UInt8(ascii: "0") {
                pos += 1
            } else if digits(&self) == 0 {
                throw error("invalid number: expected a digit, found \(describeCurrent())")
            }
            if current == UInt8(ascii: ".") {
                pos += 1
                guard digits(&self) > 0 else { throw error("invalid number: expected a digit after '.', found \(describeCurrent())") }
            }
            if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
                pos += 1
                if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { pos += 1 }
                guard digits(&self) > 0 else { throw error("invalid number: expected a digit in the exponent, found \(describeCurrent())") }
            }
            return String(decoding: bytes[start..<pos], as: UTF8.self)
        }

        mutating func string() throws -> String {
            pos += 1  // opening quote
            var out: [UInt8] = []
            while true {
                guard let c = current else { throw error("unterminated string") }
                switch c {
                case UInt8(ascii: "\""):
                    pos += 1
                    return String(decoding: out, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    pos += 1
                    try escape(into: &out)
                case 0..<0x20:
                    throw error("control character in a string (write newlines and tabs as \\n and \\t)")
                default:
                    out.append(c)
                    pos += 1
                }
            }
        }

        mutating func escape(into out: inout [UInt8]) throws {
            guard let c = current else { throw error("unterminated string") }
            pos += 1
            switch c {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(c)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var code = try hex4()
                if (0xD800..<0xDC00).contains(code) {
                    guard bytes[pos...].starts(with: Array("\\u".utf8)) else { throw error("unpaired UTF-16 surrogate in \\u escape") }
                    pos += 2
                    let low = try hex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw error("unpaired UTF-16 surrogate in \\u escape") }
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let scalar = Unicode.Scalar(code) else { throw error("unpaired UTF-16 surrogate in \\u escape") }
                out.append(contentsOf: String(Character(scalar)).utf8)
            default:
                pos -= 1
                throw error("invalid escape '\\\(Character(Unicode.Scalar(c)))' in a string")
            }
        }

        mutating func hex4() throws -> UInt32 {
            var code: UInt32 = 0
            for _ in 0..<4 {
                guard let c = current, let digit = Character(Unicode.Scalar(c)).hexDigitValue else {
                    throw error("expected 4 hexadecimal digits in \\u escape")
                }
                code = code << 4 | UInt32(digit)
                pos += 1
            }
            return code
        }
    }
}
