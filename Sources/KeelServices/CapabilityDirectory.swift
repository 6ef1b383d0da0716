import KeelCore

/// The capability catalogue as the services see it.
public struct CapabilityDirectory: Sendable {
    public var all: @Sendable () -> [Capability]
    public var resolve: @Sendable ([String]) throws -> [Capability]

    public init(all: @escaping @Sendable () -> [Capability], resolve: @escaping @Sendable ([String]) throws -> [Capability]) {
        self.all = all
        self.resolve = resolve
    }
}
