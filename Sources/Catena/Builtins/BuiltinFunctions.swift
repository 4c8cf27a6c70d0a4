import Foundation

/// Functions that ship with Catena, for trying chains out, benchmarks and tests.
///
/// | name | does | params |
/// |---|---|---|
/// | `builtin.identity` | returns the payload untouched | |
/// | `builtin.uppercase` | ASCII-uppercases the payload | |
/// | `builtin.append` | appends `suffix` (default `\|<step>`) | `suffix` |
/// | `builtin.json` | checks the payload is JSON (fatal if not) and passes the bytes on untouched | |
/// | `builtin.reject` | fatal failure when the payload contains `needle` (default `poison`) | `needle` |
/// | `builtin.flaky` | retryable failure on attempts <= `fail_attempts` (default 1), then identity; with `needle`, only for payloads containing it | `fail_attempts`, `needle` |
/// | `builtin.sleep` | sleeps `ms` milliseconds (default 100), then identity; with `needle`, only for payloads containing it (the rest pass at once) | `ms`, `needle` |
public enum BuiltinFunctions {
    /// Registers every built-in function.
    public static func register(into registry: inout FunctionRegistry) {
        registry.register("builtin.identity", Identity())
        registry.register("builtin.uppercase", Uppercase())
        registry.register("builtin.json", JSONCheck())
        registry.register("builtin.append") { config in Append(suffix: config.param("suffix") ?? "|\(config.step.name)") }
        registry.register("builtin.reject") { config in Reject(needle: Array((config.param("needle") ?? "poison").utf8)) }
        registry.register("builtin.flaky") { config in
            guard let n = Int(config.param("fail_attempts") ?? "1"), n >= 0 else {
                throw CatenaError.configuration("step '\(config.step.name)': params.fail_attempts must be an integer >= 0")
            }
            return Flaky(failAttempts: n, needle: config.param("needle").map { Array($0.utf8) })
        }
        registry.register("builtin.sleep") { config in
            guard let ms = Int(config.param("ms") ?? "100"), ms >= 0 else {
                throw CatenaError.configuration("step '\(config.step.name)': params.ms must be an integer >= 0")
            }
            return Sleep(ms: ms, needle: config.param("needle").map { Array($0.utf8) })
        }
    }

    /// The registry with the built-ins only.
    public static var registry: FunctionRegistry {
        var r = FunctionRegistry()
        register(into: &r)
        return r
    }

    struct Identity: CatenaFunction {
        func run(_ payload: [UInt8], context: StepContext) async throws -> [UInt8] { payload }
    }

    struct Uppercase: CatenaFunction {
        func run(_ payload: [UInt8], context: StepContext) async throws -> [UInt8] {
            payload.map { (97...122).contains($0) ? $0 - 32 : $0 }
        }
    }

    struct Append: CatenaFunction {
        let suffix: String
        func run(_ payload: [UInt8], context: StepContext) async throws -> [UInt8] { payload + Array(suffix.utf8) }
    }

    struct JSONCheck: CatenaFunction {
        var outputContentType: String? { "application/json" }
        func run(_ payload: [UInt8], context: StepContext) async throws -> [UInt8] {
            do { _ = try JSONSerialization.jsonObject(with: Data(payload), options: [.fragmentsAllowed]) } catch {
                throw StepFailure.fatal("payload is not valid JSON: \(jsonErrorDescription(error))")
            }
            return payload
        }
    }

    struct Reject: CatenaFunction {
        let needle: [UInt8]
        func run(_ payload: [UInt8], context: StepContext) async throws -> [UInt8] {
            if payload.containsBytes(needle) {
                throw StepFailure.fatal("payload contains \"\(String(decoding: needle, as: UTF8.self))\"")
            }
            return payload
        }
    }

    struct Flaky: CatenaFunction {
        let failAttempts: Int
        var needle: [UInt8]? = nil
        func run(_ payload: [UInt8], context: StepContext) async throws -> [UInt8] {
            let targeted = needle.map { payload.containsBytes($0) } ?? true
            if targeted && context.attempt <= failAttempts { throw StepFailure.retryable("simulated transient failure on attempt \(context.attempt)") }
            return payload
        }
    }

    struct Sleep: CatenaFunction {
        let ms: Int
        var needle: [UInt8]? = nil
        func run(_ payload: [UInt8], context: StepContext) async throws -> [UInt8] {
            if needle.map({ payload.containsBytes($0) }) ?? true { try await Task.sleep(nanoseconds: UInt64(ms) * 1_000_000) }
            return payload
        }
    }
}

private extension Array where Element == UInt8 {
    /// Whether `needle` (non-empty) occurs in these bytes.
    func containsBytes(_ needle: [UInt8]) -> Bool {
        !needle.isEmpty && count >= needle.count && (0...(count - needle.count)).contains { self[$0..<($0 + needle.count)].elementsEqual(needle) }
    }
}
