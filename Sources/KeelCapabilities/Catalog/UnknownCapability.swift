/// An agent referenced a capability id the catalog does not offer (unknown, or experimental
/// while experimental capabilities are disabled).
public struct UnknownCapability: Error, Sendable, Hashable, CustomStringConvertible {
    public var id: String

    public init(_ id: String) {
        self.id = id
    }

    public var description: String { "unknown capability '\(id)'" }
}
