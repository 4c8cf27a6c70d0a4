import Foundation

/// A small YAML tree for the generated deployment files, written in a fixed, diff-friendly style:
/// block mappings and sequences with two-space indentation, keys in the order given, no anchors.
///
/// Strings are written plain when that cannot be misread (no YAML keyword, number, or indicator
/// character), otherwise double-quoted with JSON escapes, which YAML reads back unchanged.
public indirect enum DeployYAML: Sendable, Equatable {
    /// A string value.
    case string(String)
    /// A value written as is: numbers and booleans (`3`, `true`).
    case raw(String)
    /// A mapping; entries keep their order.
    case map([(String, DeployYAML)])
    /// A block sequence.
    case list([DeployYAML])
    /// A sequence of strings on one line, `["CMD", "catena", "health"]`.
    case flow([String])

    public static func == (a: DeployYAML, b: DeployYAML) -> Bool { a.text(indent: 0) == b.text(indent: 0) }

    public static func int(_ n: Int) -> DeployYAML { .raw(String(n)) }

    /// The document text (ends with a newline).
    public func document() -> String { text(indent: 0) }

    func text(indent: Int) -> String {
        let pad = String(repeating: " ", count: indent)
        switch self {
        case .map(let entries):
            if entries.isEmpty { return pad + "{}\n" }
            var out = ""
            for (key, value) in entries {
                out += pad + Self.scalar(key) + ":"
                out += value.isBlock ? "\n" + value.text(indent: indent + 2) : " " + value.inline + "\n"
            }
            return out
        case .list(let items):
            if items.isEmpty { return pad + "[]\n" }
            var out = ""
            for item in items {
                if case .map(let entries) = item, !entries.isEmpty {
                    // "- key: value" with the following keys aligned under the first.
                    let body = item.text(indent: indent + 2)
                    out += pad + "- " + body.dropFirst(indent + 2)
                } else if item.isBlock {
                    out += pad + "-\n" + item.text(indent: indent + 2)
                } else {
                    out += pad + "- " + item.inline + "\n"
                }
            }
            return out
        default:
            return pad + inline + "\n"
        }
    }

    private var isBlock: Bool {
        switch self {
        case .map(let e): return !e.isEmpty
        case .list(let i): return !i.isEmpty
        default: return false
        }
    }

    private var inline: String {
        switch self {
        case .string(let s): return Self.scalar(s)
        case .raw(let r): return r
        case .flow(let items): return "[" + items.map(Self.quoted).joined(separator: ", ") + "]"
        case .map: return "{}"
        case .list: return "[]"
        }
    }

    private static let keywords: Set<String> = ["true", "false", "yes", "no", "on", "off", "null", "~", "y", "n"]
    private static let safeFirst = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_/.$")
    private static let safeRest = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_/.-+$:,@=")

    /// `s` plain when unambiguous, else double-quoted.
    static func scalar(_ s: String) -> String {
        guard let first = s.first, safeFirst.contains(first), s.allSatisfy({ safeRest.contains($0) }),
              !keywords.contains(s.lowercased()), Double(s) == nil else { return quoted(s) }
        return s
    }

    /// `s` double-quoted (JSON string escapes are valid YAML double-quoted escapes).
    static func quoted(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }
}
