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
