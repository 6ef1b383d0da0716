/// An agent referenced a capability id the catalog does not offer (unknown, or experimental
/// while experimental capabilities are disabled), or one this host cannot run safely.
public struct UnknownCapability: Error, Sendable, Hashable, CustomStringConvertible {
    public var id: String
    /// The capability exists but this host cannot offer it (such as `python` without a sandbox).
    public var unavailableOnHost: Bool

    public init(_ id: String, unavailableOnHost: Bool = false) {
        self.id = id
        self.unavailableOnHost = unavailableOnHost
    }

    public var description: String {
        unavailableOnHost
            ? "capability '\(id)' is unavailable on this server: it needs a sandbox that cannot be set up on this host"
            : "unknown capability '\(id)'"
    }
}
