import CYaml

/// A configuration document as a small tree, independent of the syntax it was written in (YAML or JSON).
///
/// Scalars keep their text exactly as written (numbers and booleans are not interpreted here).
/// `plain` is true for unquoted YAML scalars and for JSON numbers, booleans and `null`; only plain
/// scalars can be null. `line` is the 1-based line where the node starts.
indirect enum ConfigNode: Sendable, Equatable {
    /// One key of a mapping, in the order written.
    struct Entry: Sendable, Equatable {
        var key: String
        /// Line of the key.
        var line: Int
        var value: ConfigNode
    }

    case scalar(String, plain: Bool, line: Int)
    case mapping([Entry], line: Int)
    case sequence([ConfigNode], line: Int)

    /// The 1-based line where the node starts.
    var line: Int {
        switch self {
        case .scalar(_, _, let line), .mapping(_, let line), .sequence(_, let line): return line
        }
    }

    /// True for a YAML null (an empty value, `~`, `null`, `Null`, `NULL`) and for JSON `null`.
    var isNull: Bool {
        guard case .scalar(let text, plain: true, _) = self else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(text)
    }

    /// How the node is described in error messages: the quoted value of a scalar, or its kind.
    var summary: String {
        switch self {
        case .scalar(let text, _, _):
            if isNull { return "nothing (null)" }
            let shown = text.count > 60 ? String(text.prefix(60)) + "..." : text
            return String(reflecting: shown)
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        }
    }
}

/// Parses YAML text into a `ConfigNode` tree with libyaml's event API.
///
/// Only what a configuration file needs is supported: one document of mappings, sequences and scalars.
/// Anchors, aliases and tags other than the standard `!!str`, `!!map` and `!!seq` are refused, and so
/// are duplicate mapping keys and non-scalar keys. Every error is a `CatenaError.configuration` whose
/// message starts with `fileName:line` (and the column for syntax errors).
enum YAMLDocument {
    /// Deeper nesting is refused instead of risking the stack.
    static let maxDepth = 128

    /// The document's root node, or `nil` when the text holds no document (empty or only comments).
    static func parse(_ text: String, fileName: String) throws -> ConfigNode? {
        let parser = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)
        defer { parser.deallocate() }
        guard yaml_parser_initialize(parser) == 1 else {
            throw CatenaError.failure("\(fileName): could not initialise the YAML parser (out of memory)")
        }
        defer { yaml_parser_delete(parser) }

        // libyaml reads the bytes lazily, so they must stay put until parsing is over.
        var bytes = Array(text.utf8)
        let count = bytes.count
        bytes.append(0)  // never an empty buffer: libyaml asserts a non-null input pointer
        return try bytes.withUnsafeBufferPointer { buffer in
            yaml_parser_set_input_string(parser, buffer.baseAddress, count)
            var builder = TreeBuilder(fileName: fileName)
            while true {
                var event = yaml_event_t()
                guard yaml_parser_parse(parser, &event) == 1 else {
                    throw syntaxError(parser.pointee, fileName: fileName)
                }
                defer { yaml_event_delete(&event) }
                if event.type == YAML_STREAM_END_EVENT { return builder.root }
                try builder.handle(event)
            }
        }
    }

    private static func syntaxError(_ parser: yaml_parser_t, fileName: String) -> CatenaError {
        let problem = parser.problem.map { String(cString: $0) } ?? "unknown error"
        switch parser.error {
        case YAML_MEMORY_ERROR:
            return .failure("\(fileName): out of memory while parsing YAML")
        case YAML_READER_ERROR:
            return .configuration("\(fileName): YAML syntax error: \(problem) (at byte offset \(parser.problem_offset))")
        default:
            let mark = parser.problem_mark
            var message = "\(fileName):\(mark.line + 1):\(mark.column + 1): YAML syntax error: \(problem)"
            if let context = parser.context {
                let at = parser.context_mark
                message += " (\(String(cString: context)) at line \(at.line + 1), column \(at.column + 1))"
            }
            return .configuration(message)
        }
    }
}

/// Turns the event stream into a tree, with an explicit stack (no recursion).
private struct TreeBuilder {
    private enum Frame {
        case mapping(entries: [ConfigNode.Entry], pendingKey: (key: String, line: Int)?, seen: [String: Int], line: Int)
        case sequence(items: [ConfigNode], line: Int)
    }

    let fileName: String
    private(set) var root: ConfigNode?
    private var stack: [Frame] = []
    private var documents = 0

    init(fileName: String) {
        self.fileName = fileName
    }

    private func error(_ line: Int, _ problem: String) -> CatenaError {
        .configuration("\(fileName):\(line): \(problem)")
    }

    private static let standardTags: Set<String> = ["tag:yaml.org,2002:str", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"]

    private func string(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        pointer.map { String(cString: UnsafePointer($0)) }
    }

    /// Refuses anchors and unsupported tags on a node.
    private func checkProperties(anchor: UnsafeMutablePointer<yaml_char_t>?, tag: UnsafeMutablePointer<yaml_char_t>?, line: Int) throws {
        if let anchor = string(anchor) {
            throw error(line, "YAML anchors (&\(anchor)) and aliases are not supported in chain files; repeat the value or use 'defaults'")
        }
        if let tag = string(tag), !Self.standardTags.contains(tag) {
            throw error(line, "YAML tag \(String(reflecting: tag)) is not supported in chain files")
        }
    }

    mutating func handle(_ event: yaml_event_t) throws {
        let line = Int(event.start_mark.line) + 1
        switch event.type {
        case YAML_DOCUMENT_START_EVENT:
            documents += 1
            if documents > 1 { throw error(line, "a chain file must hold a single YAML document, found a second one") }
        case YAML_ALIAS_EVENT:
            let name = string(event.data.alias.anchor) ?? ""
            throw error(line, "YAML aliases (*\(name)) and anchors are not supported in chain files; repeat the value or use 'defaults'")
        case YAML_SCALAR_EVENT:
            let scalar = event.data.scalar
            try checkProperties(anchor: scalar.anchor, tag: scalar.tag, line: line)
            let text = scalar.value.map { String(decoding: UnsafeBufferPointer(start: $0, count: scalar.length), as: UTF8.self) } ?? ""
            // A `!!str` tag makes even a plain-looking scalar a string.
            let plain = scalar.style == YAML_PLAIN_SCALAR_STYLE && scalar.tag == nil
            try deliver(.scalar(text, plain: plain, line: line))
        case YAML_SEQUENCE_START_EVENT:
            try checkProperties(anchor: event.data.sequence_start.anchor, tag: event.data.sequence_start.tag, line: line)
            try push(.sequence(items: [], line: line), line: line)
        case YAML_MAPPING_START_EVENT:
            try checkProperties(anchor: event.data.mapping_start.anchor, tag: event.data.mapping_start.tag, line: line)
            try push(.mapping(entries: [], pendingKey: nil, seen: [:], line: line), line: line)
        case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
            guard let frame = stack.popLast() else { return }
            switch frame {
            case .sequence(let items, let start): try deliver(.sequence(items, line: start))
            case .mapping(let entries, _, _, let start): try deliver(.mapping(entries, line: start))
            }
        default:
            break  // stream start, document end
        }
    }

    private mutating func push(_ frame: Frame, line: Int) throws {
        if case .mapping(_, nil, _, _)? = stack.last {
            throw error(line, "mapping keys must be simple values, not lists or mappings")
        }
        guard stack.count < YAMLDocument.maxDepth else {
            throw error(line, "nested more than \(YAMLDocument.maxDepth) levels deep")
        }
        stack.append(frame)
    }

    /// Hands a finished node to its parent, or makes it the root.
    private mutating func deliver(_ node: ConfigNode) throws {
        guard let top = stack.popLast() else {
            root = node
            return
        }
        switch top {
        case .sequence(var items, let line):
            items.append(node)
            stack.append(.sequence(items: items, line: line))
        case .mapping(var entries, let pending, var seen, let line):
            if let pending {
                entries.append(ConfigNode.Entry(key: pending.key, line: pending.line, value: node))
                stack.append(.mapping(entries: entries, pendingKey: nil, seen: seen, line: line))
            } else {
                guard case .scalar(let key, _, let keyLine) = node else {
                    throw error(node.line, "mapping keys must be simple values, not lists or mappings")
                }
                if let first = seen[key] {
                    throw error(keyLine, "duplicate key \(String(reflecting: key)) (first at line \(first))")
                }
                seen[key] = keyLine
                stack.append(.mapping(entries: entries, pendingKey: (key, keyLine), seen: seen, line: line))
            }
        }
    }
}
