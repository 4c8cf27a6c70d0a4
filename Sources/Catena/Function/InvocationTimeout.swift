import Foundation

/// Raised when an invocation runs past its step's timeout.
public struct InvocationTimeout: Error, Sendable, CustomStringConvertible {
    public var seconds: Double
    public var description: String { "function did not finish within \(seconds) s" }
}
