/// What a function factory receives: the step it serves and the chain it belongs to.
public struct FunctionConfiguration: Sendable {
    public var chain: ChainDefinition
    public var step: StepDefinition

    public init(chain: ChainDefinition, step: StepDefinition) {
        self.chain = chain
        self.step = step
    }

    /// A step parameter, or `nil`.
    public func param(_ key: String) -> String? { step.params[key] }

    /// A step parameter naming a path, resolved against the chain file's directory.
    public func pathParam(_ key: String) -> String? { step.params[key].map { chain.resolvePath($0) } }
}

/// Maps function names (as written in chain files) to factories that build the function for a step.
public struct FunctionRegistry: Sendable {
    /// Builds a function for one step; throws when the step's parameters are unusable.
    public typealias Factory = @Sendable (FunctionConfiguration) throws -> any CatenaFunction

    private var factories: [String: Factory] = [:]

    public init() {}

    /// Registers `factory` under `name`, replacing any earlier registration.
    public mutating func register(_ name: String, factory: @escaping Factory) {
        factories[name] = factory
    }

    /// Registers a function that needs no configuration.
    public mutating func register(_ name: String, _ function: any CatenaFunction) {
        factories[name] = { _ in function }
    }

    /// Registered names, sorted.
    public var names: [String] { factories.keys.sorted() }

    /// Whether `name` is registered.
    public func contains(_ name: String) -> Bool { factories[name] != nil }

    /// Builds the function for `configuration.step`.
    /// - Throws: `CatenaError.configuration` when the name is unknown, or whatever the factory throws.
    public func make(_ configuration: FunctionConfiguration) throws -> any CatenaFunction {
        guard let factory = factories[configuration.step.function] else {
            throw CatenaError.configuration("step '\(configuration.step.name)': unknown function '\(configuration.step.function)' (known: \(names.joined(separator: ", ")))")
        }
        return try factory(configuration)
    }
}
