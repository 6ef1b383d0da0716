/// The in-memory store refused a new input because the events it holds reached their cap
/// (`MEMORY_STORE_MAX_MB`). Turns already accepted run to their end; nothing stored is dropped.
public struct StorageFull: Error, Sendable, Hashable {
    /// What the stored events take, by the store's estimate, and the cap, in bytes.
    public var usedBytes: Int
    public var limitBytes: Int

    public init(usedBytes: Int, limitBytes: Int) {
        self.usedBytes = usedBytes
        self.limitBytes = limitBytes
    }
}

extension JSONValue {
    /// About what this value occupies in memory as a `JSONValue` tree, in bytes: its text plus a
    /// fixed cost per node. An estimate for accounting (the in-memory store's cap), not a measure.
    public var approximateBytes: Int {
        switch self {
        case .null, .bool, .number: 16
        case .string(let text): 32 + text.utf8.count
        case .array(let items): items.reduce(48) { $0 + $1.approximateBytes }
        case .object(let members): members.reduce(64) { $0 + 48 + $1.key.utf8.count + $1.value.approximateBytes }
        }
    }
}
