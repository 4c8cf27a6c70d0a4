import Catena

/// Parsed command-line options of one subcommand: `--name value`, `--flag`, and positional arguments.
struct Arguments {
    private(set) var values: [String: [String]] = [:]
    private(set) var flags: Set<String> = []
    private(set) var positional: [String] = []

    /// Parses `args`; `valued` are options that take a value, `boolean` those that don't. Anything else,
    /// and positional arguments unless `positionals` allows them, is refused.
    init(_ args: [String], command: String, valued: Set<String>, boolean: Set<String> = [], positionals: Bool = false) throws {
        var i = 0
        while i < args.count {
            let a = args[i]
            if a == "--" { positional += args[(i + 1)...]; break }
            if a.hasPrefix("--") {
                var name = String(a.dropFirst(2))
                var inline: String?
                if let eq = name.firstIndex(of: "=") { inline = String(name[name.index(after: eq)...]); name = String(name[..<eq]) }
                if boolean.contains(name) && inline == nil {
                    flags.insert(name)
                } else if valued.contains(name) {
                    if let inline { values[name, default: []].append(inline) } else {
                        guard i + 1 < args.count else { throw CatenaError.configuration("catena \(command): --\(name) needs a value") }
                        i += 1
                        values[name, default: []].append(args[i])
                    }
                } else {
                    let known = (valued.union(boolean)).sorted().map { "--\($0)" }.joined(separator: ", ")
                    throw CatenaError.configuration("catena \(command): unknown option --\(name) (known: \(known))")
                }
            } else {
                positional.append(a)
            }
            i += 1
        }
        if !positionals, let stray = positional.first {
            throw CatenaError.configuration("catena \(command): unexpected argument \"\(stray)\" (options start with --; see catena \(command) --help)")
        }
    }

    func value(_ name: String) -> String? { values[name]?.last }
    func all(_ name: String) -> [String] { values[name] ?? [] }
    func flag(_ name: String) -> Bool { flags.contains(name) }

    func int(_ name: String, minimum: Int) throws -> Int? {
        guard let v = value(name) else { return nil }
        guard let n = Int(v), n >= minimum else { throw CatenaError.configuration("--\(name): must be an integer >= \(minimum), got \"\(v)\"") }
        return n
    }

    func double(_ name: String, minimum: Double) throws -> Double? {
        guard let v = value(name) else { return nil }
        guard let n = Double(v), n >= minimum else { throw CatenaError.configuration("--\(name): must be a number >= \(minimum), got \"\(v)\"") }
        return n
    }
}
